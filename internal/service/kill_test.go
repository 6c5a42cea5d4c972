package service

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"sundial.dev/sundial/internal/await"
)

// TestKill: systemctl kill's main, control and all; SIGKILL to all ends
// the service with the result signal.
func TestKill(t *testing.T) {
	tr := &trace{}
	r := Begin(tr.spec(loadService(t, "ExecStart=/bin/sh -c 'echo up; sleep 30 & wait'")))
	tr.waitForLines(t, 1)
	if err := r.Kill(syscall.SIGKILL, "control"); err == nil || err.Error() != "No control process to kill" {
		t.Errorf("control: %v", err)
	}
	if err := r.Kill(syscall.SIGKILL, "someone"); err == nil || err.Error() != "Invalid who argument: someone" {
		t.Errorf("someone: %v", err)
	}
	if err := r.Kill(syscall.SIGKILL, "all"); err != nil {
		t.Errorf("all: %v", err)
	}
	out := r.Wait()
	if out.Result != Signal || out.Main.Code != CodeKilled || out.Main.Status != int(syscall.SIGKILL) {
		t.Errorf("outcome %+v", out)
	}
	if err := r.Kill(syscall.SIGTERM, "main"); err == nil || err.Error() != "No main process to kill" {
		t.Errorf("main, after the end: %v", err)
	}
}

// TestCPU: the CPU time of the processes reaped is counted.
func TestCPU(t *testing.T) {
	tr := &trace{}
	out := Begin(tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'"))).Wait()
	if out.Result != Success || out.CPU <= 0 {
		t.Errorf("outcome %+v, CPU %v", out, out.CPU)
	}
}

// TestKillStrays: systemctl kill's all reaches a process that left the
// service's process group, carrying its INVOCATION_ID; KillMode=process
// does not keep it from that.
func TestKillStrays(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	tr := &trace{}
	r := Begin(tr.spec(loadService(t, "KillMode=process\nExecStart=/bin/sh -c 'setsid sh -c \"echo \\$$$$ >"+pidFile+"; exec sleep 30\" & until [ -s "+pidFile+" ]; do sleep 0.01; done; echo up; sleep 30'"),
		"INVOCATION_ID="+newInvocation()))
	tr.waitForLines(t, 1)
	data, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("no PID written: %q", data)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	if err := r.Kill(syscall.SIGKILL, "all"); err != nil {
		t.Errorf("all: %v", err)
	}
	r.Wait()
	await.Until(t, func() bool { return !pidAlive(pid) }, "the process that left the group, %d, to die", pid)
}
