package service

import (
	"fmt"
	"net"
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

// notifierEnv makes the test binary a service that notifies: see notifier.
const notifierEnv = "SERVICE_TEST_NOTIFIER=1"

// notifierPath is the test binary, to be run as a notifying service.
var notifierPath string

func TestMain(m *testing.M) {
	if slices.Contains(os.Environ(), notifierEnv) {
		os.Exit(notifier(os.Args[1:]))
	}
	notifierPath, _ = os.Executable()
	os.Exit(m.Run())
}

// notifier does what its arguments say, in order: "print:TEXT" writes a
// line; "wait:PATH" waits until the file is there; "exit:N" exits;
// "sleep" waits for a signal; anything else is sent to $NOTIFY_SOCKET
// as one message, with "\n" read as a newline.
func notifier(args []string) int {
	for _, a := range args {
		switch verb, arg, _ := strings.Cut(a, ":"); verb {
		case "print":
			fmt.Println(arg)
		case "wait":
			for {
				if _, err := os.Stat(arg); err == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		case "exit":
			n, _ := strconv.Atoi(arg)
			return n
		case "sleep":
			select {}
		default:
			addr := &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"}
			c, err := net.DialUnix("unixgram", nil, addr)
			if err != nil {
				fmt.Println(err)
				return 99
			}
			if _, err := c.Write([]byte(strings.ReplaceAll(a, `\n`, "\n"))); err != nil {
				fmt.Println(err)
				return 99
			}
			c.Close()
		}
	}
	return 0
}

// notifySpec is a spec whose service is the notifier with args, its
// socket in a directory of the test's.
func (tr *trace) notifySpec(t *testing.T, text string, args ...string) Spec {
	t.Helper()
	spec := tr.spec(loadService(t, text+"\nExecStart="+notifierPath+" "+strings.Join(args, " ")), notifierEnv)
	spec.NotifyDir = t.TempDir()
	spec.Status = tr.statusFunc()
	return spec
}

// statusFunc is a Spec.Status that keeps the texts.
func (tr *trace) statusFunc() func(string) {
	return func(s string) {
		tr.mu.Lock()
		tr.status = append(tr.status, s)
		tr.mu.Unlock()
	}
}

func (tr *trace) snapshot() (lines, logs []string, states []State) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.lines), slices.Clone(tr.logs), slices.Clone(tr.states)
}

func TestNotifyReady(t *testing.T) {
	// The service is active once READY=1 has come, not before; it says
	// what it is doing with STATUS=.
	tr := &trace{}
	goFile := filepath.Join(t.TempDir(), "go")
	spec := tr.notifySpec(t, "Type=notify", "STATUS=starting", "print:up", "wait:"+goFile, `READY=1\nSTATUS=serving`, "sleep")
	r := Begin(spec)
	tr.waitForLines(t, 1)
	if _, _, st := tr.snapshot(); !slices.Equal(st, []State{Start}) {
		t.Errorf("before READY=1: states %v, want [start]", st)
	}
	sockets, _ := os.ReadDir(spec.NotifyDir)
	if len(sockets) != 1 {
		t.Errorf("sockets %v", sockets)
	}
	os.WriteFile(goFile, nil, 0o644)
	tr.waitFor(t, Running)
	r.Stop()
	out := r.Wait()
	if out.Result != Success || out.StatusText != "serving" {
		t.Errorf("outcome %+v", out)
	}
	checkList(t, "status", tr.status, []string{"starting", "serving"})
	checkList(t, "states", states(tr.states), []string{"start", "running", "stop-sigterm", "dead"})
	if sockets, _ := os.ReadDir(spec.NotifyDir); len(sockets) != 0 {
		t.Errorf("socket left: %v", sockets)
	}
}

func TestNotifyEndsEarly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		args   []string
		result Result
		logs   []string
		states []string
	}{
		{
			// A clean exit before READY=1: the service never was active.
			name: "exit before READY", text: "Type=notify", args: []string{"exit:0"},
			result: Protocol, logs: []string{"Main process exited, code=exited, status=0/SUCCESS", "Failed with result 'protocol'."},
			states: []string{"start", "failed"},
		},
		{
			name: "failure before READY", text: "Type=notify", args: []string{"exit:1"},
			result: ExitCode, logs: []string{"Main process exited, code=exited, status=1/FAILURE", "Failed with result 'exit-code'."},
			states: []string{"start", "failed"},
		},
		{
			// Ready, then gone: as a simple service that ends.
			name: "READY then exit", text: "Type=notify\nExecStop=/bin/echo stop", args: []string{"READY=1", "exit:0"},
			result: Success, logs: []string{"Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"start", "running", "stop", "dead"},
		},
		{
			name: "start timeout", text: "Type=notify\nTimeoutStartSec=1s", args: []string{"sleep"},
			result: Timeout, logs: []string{"start operation timed out. Terminating.", "Failed with result 'timeout'."},
			states: []string{"start", "stop-sigterm", "failed"},
		},
		{
			// STOPPING=1 is as if SIGTERM had been sent: ExecStop= does
			// not run.
			name: "STOPPING", text: "Type=notify\nExecStop=/bin/echo not run\nExecStopPost=/bin/echo stop-post", args: []string{"READY=1", "STOPPING=1", "exit:0"},
			result: Success, logs: []string{"Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"start", "running", "stop-sigterm", "stop-post", "dead"},
		},
		{
			name: "NotifyAccess=none", text: "Type=simple\nNotifyAccess=none", args: []string{"READY=1"},
			result: ExitCode, logs: []string{"Main process exited, code=exited, status=99/n/a", "Failed with result 'exit-code'."},
			states: []string{"start", "running", "failed"},
		},
		{
			name: "bad fields", text: "Type=notify", args: []string{`MAINPID=x\nERRNO=5000\nNOTIFYACCESS=some\nREADY=1`, "exit:0"},
			result: Success,
			logs: []string{"Failed to parse MAINPID=x field in notification message, ignoring: Invalid argument",
				"Failed to parse NOTIFYACCESS= field value 'some' in notification message, ignoring: Invalid argument",
				"Failed to parse ERRNO= field value '5000' in notification message: Numerical result out of range",
				"Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"start", "running", "dead"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trace{}
			out := Begin(tr.notifySpec(t, tc.text, tc.args...)).Wait()
			if out.Result != tc.result {
				t.Errorf("result %s, want %s", out.Result, tc.result)
			}
			logs := slices.DeleteFunc(tr.logs, func(s string) bool { return strings.HasPrefix(s, "Got notification message from PID") })
			checkList(t, "logs", logs, tc.logs)
			checkList(t, "states", states(tr.states), tc.states)
		})
	}
}

func TestNotifyMainPID(t *testing.T) {
	// The main process hands over to a child with MAINPID= and exits; the
	// child, not ours once its parent is gone, is the main process until
	// it is gone, and how it ended is not known. READY=1 comes in the same
	// message: a message of its own would come from a process no longer
	// the main one, and not be heard.
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	tr := &trace{}
	var mainPIDs []int
	spec := tr.spec(loadService(t, "Type=notify\nExecStop=/bin/echo stopping $MAINPID\n"+
		"ExecStart=/bin/sh -c 'sleep 30 & echo $$! >"+pidFile+"; exec "+notifierPath+" \"MAINPID=$$!\\\\nREADY=1\" exit:0'"), notifierEnv)
	spec.NotifyDir = dir
	spec.MainPID = func(pid int) {
		tr.mu.Lock()
		mainPIDs = append(mainPIDs, pid)
		tr.mu.Unlock()
	}
	r := Begin(spec)
	tr.waitFor(t, Running)
	data, _ := os.ReadFile(pidFile)
	child, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// Once the first main process is reaped, only the child is left.
	tr.mu.Lock()
	first := mainPIDs[0]
	tr.mu.Unlock()
	await.Until(t, func() bool { _, err := os.Stat(fmt.Sprintf("/proc/%d", first)); return err != nil }, "process %d to be reaped", first)
	syscall.Kill(child, syscall.SIGTERM)
	out := r.Wait()
	if out.Result != Success || out.MainPID != child || out.Main != (Exit{}) {
		t.Errorf("outcome %+v, want main PID %d, exit unknown", out, child)
	}
	if len(mainPIDs) != 2 || mainPIDs[1] != child {
		t.Errorf("main PIDs %v, want the shell's then %d", mainPIDs, child)
	}
	checkList(t, "lines", tr.lines, []string{"stopping"})
	if !slices.Contains(tr.logs, fmt.Sprintf("Supervising process %d which is not our child. We'll most likely not notice when it exits.", child)) {
		t.Errorf("logs %q", tr.logs)
	}
	checkList(t, "states", states(tr.states), []string{"start", "running", "stop", "dead"})
}

func TestNotifyAccess(t *testing.T) {
	// With NotifyAccess=main a child's READY=1 is not heard, and the main
	// process's clean exit ends a start that never finished; with all it
	// is heard.
	for _, tc := range []struct {
		access string
		ready  bool
	}{{"main", false}, {"all", true}} {
		t.Run(tc.access, func(t *testing.T) {
			tr := &trace{}
			goFile := filepath.Join(t.TempDir(), "go")
			spec := tr.spec(loadService(t, "Type=notify\nNotifyAccess="+tc.access+"\n"+
				"ExecStart=/bin/sh -c '"+notifierPath+" READY=1; exec "+notifierPath+" wait:"+goFile+" exit:0'"), notifierEnv)
			spec.NotifyDir = t.TempDir()
			r := Begin(spec)
			if tc.ready {
				tr.waitFor(t, Running)
			} else {
				tr.waitForLog(t, "but reception only permitted for main PID")
			}
			os.WriteFile(goFile, nil, 0o644)
			out := r.Wait()
			if got := slices.Contains(tr.states, Running); got != tc.ready {
				t.Errorf("running %v, want %v; logs %q", got, tc.ready, tr.logs)
			}
			if want := map[bool]Result{true: Success, false: Protocol}[tc.ready]; out.Result != want {
				t.Errorf("result %s, want %s", out.Result, want)
			}
		})
	}
}

// waitForLog waits until a message logged contains text.
func (tr *trace) waitForLog(t *testing.T, text string) {
	t.Helper()
	await.Until(t, func() bool {
		_, logs, _ := tr.snapshot()
		return slices.ContainsFunc(logs, func(s string) bool { return strings.Contains(s, text) })
	}, "a message with %q", text)
}

func TestSystemdNotify(t *testing.T) {
	// systemd's own client is heard, as its parent (the main process)
	// when it may say so, else as itself.
	path, err := exec.LookPath("systemd-notify")
	if err != nil {
		t.Skip("no systemd-notify")
	}
	tr := &trace{}
	spec := tr.spec(loadService(t, "Type=notify\nNotifyAccess=all\nExecStart=/bin/sh -c '"+path+" --ready --status=\"up and running\"; exec sleep 30'"))
	spec.NotifyDir = t.TempDir()
	spec.Status = tr.statusFunc()
	r := Begin(spec)
	tr.waitFor(t, Running)
	r.Stop()
	if out := r.Wait(); out.Result != Success || out.StatusText != "up and running" {
		t.Errorf("outcome %+v; logs %q", out, tr.logs)
	}
}
