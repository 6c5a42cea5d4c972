//go:build linux

package service

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
)

// TestResume takes up an activation whose processes a manager before
// started: its main process, found by its INVOCATION_ID, runs on as the
// activation's, and a stop stops it and what else carries the ID.
func TestResume(t *testing.T) {
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	dir := t.TempDir()
	// Left behind, as by a manager killed: the shell is gone, its
	// children run on, not in its group.
	sh := exec.Command("/bin/sh", "-c", `sleep 600 & echo $! >main; setsid sleep 600 & echo $! >stray`)
	sh.Dir, sh.Env = dir, []string{"PATH=/usr/bin:/bin", "INVOCATION_ID=" + id}
	if err := sh.Run(); err != nil {
		t.Fatal(err)
	}
	pid := func(name string) int {
		data, err := os.ReadFile(filepath.Join(dir, name))
		n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || n == 0 {
			t.Fatalf("%s: %q, %v", name, data, err)
		}
		return n
	}
	main, stray := pid("main"), pid("stray")
	t.Cleanup(func() {
		syscall.Kill(main, syscall.SIGKILL)
		syscall.Kill(stray, syscall.SIGKILL)
	})
	// Once they run sleep: a process in the middle of its execve shows
	// no environment, and would not be taken for the activation's.
	for _, p := range []int{main, stray} {
		await.Until(t, func() bool {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
			return strings.HasPrefix(string(cmdline), "sleep\x00")
		}, "process %d running sleep", p)
	}
	if !Survives(main, id) || Survives(main, strings.Repeat("0", 32)) || !Leftovers(id) {
		t.Fatalf("Survives(%d): %v, with another ID: %v; Leftovers: %v", main, Survives(main, id), Survives(main, strings.Repeat("0", 32)), Leftovers(id))
	}
	var tr trace
	spec := tr.spec(loadService(t, "ExecStart=/bin/sleep 600"), "INVOCATION_ID="+id)
	var told []int
	spec.MainPID = func(pid int) { told = append(told, pid) }
	r := Resume(spec, main, Running)
	tr.waitFor(t, Running)
	if len(told) != 1 || told[0] != main {
		t.Errorf("main PID told: %v, want %d", told, main)
	}
	r.Stop()
	done := make(chan Outcome)
	go func() { done <- r.Wait() }()
	select {
	case out := <-done:
		if out.Result != Success || out.MainPID != main {
			t.Errorf("outcome: %+v", out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the activation resumed did not stop")
	}
	for _, p := range []int{main, stray} {
		if pidAlive(p) {
			t.Errorf("process %d still there", p)
		}
	}
	if Leftovers(id) {
		t.Error("leftovers after the stop")
	}
}

// TestResumeAnother is given, as the main process to take up, the number
// of a process that does not carry the activation's INVOCATION_ID: one
// that took the number of the main process since it was found. It is
// neither taken up nor stopped, and the activation ends.
func TestResumeAnother(t *testing.T) {
	dir := t.TempDir()
	sh := exec.Command("/bin/sh", "-c", `sleep 600 & echo $! >other`)
	sh.Dir, sh.Env = dir, []string{"PATH=/usr/bin:/bin"}
	if err := sh.Run(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "other"))
	other, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || other == 0 {
		t.Fatalf("other: %q, %v", data, err)
	}
	t.Cleanup(func() { syscall.Kill(other, syscall.SIGKILL) })
	var tr trace
	r := Resume(tr.spec(loadService(t, "ExecStart=/bin/sleep 600"), "INVOCATION_ID="+newInvocation()), other, Running)
	done := make(chan Outcome)
	go func() { done <- r.Wait() }()
	select {
	case out := <-done:
		if out.MainPID != 0 {
			t.Errorf("outcome: %+v", out)
		}
	case <-time.After(30 * time.Second):
		r.Stop()
		t.Fatal("another process taken up as the main process")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if slices.Contains(tr.states, Running) {
		t.Errorf("states %v", tr.states)
	}
	if !pidAlive(other) {
		t.Error("the other process was stopped")
	}
}
