package service

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/unit"
)

// loadService reads a service's settings from the text of its [Service]
// section.
func loadService(t testing.TB, text string) *unit.ServiceSection {
	t.Helper()
	l := &unit.Loader{FS: fstest.MapFS{"units/x.service": {Data: []byte("[Service]\n" + text + "\n")}}, Path: []string{"/units"}}
	u, err := l.Load("x.service")
	if err != nil || u.LoadState != unit.Loaded {
		t.Fatalf("loading: %v %v %v", err, u.LoadState, u.Diagnostics)
	}
	return u.Service
}

// A trace is what an activation reported.
type trace struct {
	mu     sync.Mutex
	lines  []string
	logs   []string
	states []State
	status []string
}

func (tr *trace) spec(s *unit.ServiceSection, env ...string) Spec {
	return Spec{
		Service: s,
		Env:     append([]string{"PATH=/usr/bin:/bin"}, env...),
		Output: func(l Line) {
			tr.mu.Lock()
			tr.lines = append(tr.lines, l.Text)
			tr.mu.Unlock()
		},
		Log: func(_ slog.Level, msg string, _ ...string) {
			tr.mu.Lock()
			tr.logs = append(tr.logs, msg)
			tr.mu.Unlock()
		},
		State: func(s State) {
			tr.mu.Lock()
			tr.states = append(tr.states, s)
			tr.mu.Unlock()
		},
	}
}

func (tr *trace) waitFor(t *testing.T, s State) {
	t.Helper()
	await.Until(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return slices.Contains(tr.states, s)
	}, "the state %s", s)
}

// waitForLines waits until the processes have written n lines.
func (tr *trace) waitForLines(t *testing.T, n int) {
	t.Helper()
	await.Until(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.lines) >= n
	}, "%d lines of output", n)
}

func checkList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func states(s []State) []string {
	var out []string
	for _, x := range s {
		out = append(out, string(x))
	}
	return out
}

func TestOneshot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		env    []string
		result Result
		lines  []string
		logs   []string
		states []string
	}{
		{
			name: "success", text: "Type=oneshot\nExecStartPre=/bin/echo pre\nExecStart=/bin/echo one\nExecStart=/bin/sh -c 'echo two; echo err >&2'\nExecStartPost=/bin/echo post\nExecStop=/bin/echo stop\nExecStopPost=/bin/echo stop-post",
			result: Success, lines: []string{"pre", "one", "two", "err", "post", "stop", "stop-post"},
			logs:   []string{"Main process exited, code=exited, status=0/SUCCESS", "Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"start-pre", "start", "start-post", "stop", "stop-post", "dead"},
		},
		{
			name: "a failing command", text: "Type=oneshot\nExecStart=/bin/sh -c 'exit 3'\nExecStart=/bin/echo not reached\nExecStop=/bin/echo not run\nExecStopPost=/bin/echo stop-post",
			result: ExitCode, lines: []string{"stop-post"},
			logs:   []string{"Main process exited, code=exited, status=3/NOTIMPLEMENTED", "Failed with result 'exit-code'."},
			states: []string{"start", "stop-post", "failed"},
		},
		{
			name: "a failure that may be", text: "Type=oneshot\nExecStart=-/bin/sh -c 'exit 1'\nExecStart=/bin/echo on",
			result: Success, lines: []string{"on"},
			logs:   []string{"Main process exited, code=exited, status=1/FAILURE", "Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"start", "dead"},
		},
		{
			name: "SuccessExitStatus", text: "Type=oneshot\nExecStart=/bin/sh -c 'exit 42'\nSuccessExitStatus=42",
			result: Success, logs: []string{"Main process exited, code=exited, status=42/n/a", "Deactivated successfully."},
			states: []string{"start", "dead"},
		},
		{
			name: "a killed command", text: "Type=oneshot\nExecStart=/bin/sh -c 'kill -TERM $$$$'",
			result: Signal, logs: []string{"Main process exited, code=killed, status=15/TERM", "Failed with result 'signal'."},
			states: []string{"start", "failed"},
		},
		{
			name: "ExecStopPost is told the result", text: "Type=oneshot\nExecStart=/bin/sh -c 'exit 3'\nExecStopPost=/bin/sh -c 'echo $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS'",
			result: ExitCode, lines: []string{"exit-code exited 3"},
			logs:   []string{"Main process exited, code=exited, status=3/NOTIMPLEMENTED", "Failed with result 'exit-code'."},
			states: []string{"start", "stop-post", "failed"},
		},
		{
			name: "ExecStartPre fails", text: "Type=oneshot\nExecStartPre=/bin/false\nExecStart=/bin/echo not reached\nExecStopPost=/bin/echo stop-post",
			result: ExitCode, lines: []string{"stop-post"},
			logs:   []string{"Control process exited, code=exited, status=1/FAILURE", "Failed with result 'exit-code'."},
			states: []string{"start-pre", "stop-post", "failed"},
		},
		{
			// service_sigchld_event: 1–254 skips, ExecStopPost= runs and
			// is told so, and service_enter_dead's unit_log_skip comes last.
			name: "ExecCondition skips", text: "Type=oneshot\nExecCondition=/bin/sh -c 'exit 254'\nExecStart=/bin/echo not reached\nExecStopPost=/bin/sh -c 'echo $SERVICE_RESULT'",
			result: SkipCondition, lines: []string{"exec-condition"}, logs: []string{"Skipped due to 'exec-condition'."},
			states: []string{"condition", "stop-post", "dead"},
		},
		{
			name: "ExecCondition fails with 255", text: "Type=oneshot\nExecCondition=/bin/sh -c 'exit 255'\nExecStart=/bin/echo not reached",
			result: ExitCode, logs: []string{"Condition check process exited, code=exited, status=255/EXCEPTION", "Failed with result 'exit-code'."},
			states: []string{"condition", "failed"},
		},
		{
			name: "ExecCondition killed", text: "Type=oneshot\nExecCondition=/bin/sh -c 'kill -TERM $$$$'\nExecStart=/bin/echo not reached",
			result: Signal, logs: []string{"Condition check process exited, code=killed, status=15/TERM", "Failed with result 'signal'."},
			states: []string{"condition", "failed"},
		},
		{
			// Both make the exit a success before it is looked at.
			name: "ExecCondition ignored or successful", text: "Type=oneshot\nExecCondition=-/bin/sh -c 'exit 1'\nExecCondition=/bin/sh -c 'exit 3'\nSuccessExitStatus=3\nExecStart=/bin/echo ran",
			result: Success, lines: []string{"ran"}, logs: []string{"Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"condition", "start", "dead"},
		},
		{
			name: "no such executable", text: "Type=oneshot\nExecStart=/nonexistent/tool x",
			result: ExitCode,
			logs: []string{"Unable to locate executable '/nonexistent/tool': No such file or directory",
				"Failed at step EXEC spawning /nonexistent/tool: No such file or directory",
				"Main process exited, code=exited, status=203/EXEC", "Failed with result 'exit-code'."},
			states: []string{"start", "failed"},
		},
		{
			name: "variables", text: "Type=oneshot\nExecStart=/bin/echo $FOO ${FOO} ${BAR}x $UNSET\nExecStart=:/bin/echo $FOO",
			env: []string{"FOO=a  b", "BAR=c"}, result: Success, lines: []string{"a b a  b cx", "$FOO"},
			logs:   []string{"Referenced but unset environment variable evaluates to an empty string: UNSET", "Main process exited, code=exited, status=0/SUCCESS", "Main process exited, code=exited, status=0/SUCCESS", "Deactivated successfully."},
			states: []string{"start", "dead"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trace{}
			out := Begin(tr.spec(loadService(t, tc.text), tc.env...)).Wait()
			if out.Result != tc.result {
				t.Errorf("result %s, want %s", out.Result, tc.result)
			}
			checkList(t, "lines", tr.lines, tc.lines)
			checkList(t, "logs", slices.DeleteFunc(tr.logs, func(s string) bool { return false }), tc.logs)
			checkList(t, "states", states(tr.states), tc.states)
		})
	}
}

func TestSimpleStop(t *testing.T) {
	// Stopped by hand: ExecStop runs with $MAINPID, the main process gets
	// SIGTERM, which counts as a clean end for a daemon.
	tr := &trace{}
	r := Begin(tr.spec(loadService(t, "ExecStart=/bin/sh -c 'echo up; exec sleep 30'\nExecStop=/bin/sh -c 'echo stopping $MAINPID'")))
	tr.waitForLines(t, 1)
	r.Stop()
	out := r.Wait()
	if out.Result != Success || out.MainPID == 0 || out.Main != (Exit{CodeKilled, int(syscall.SIGTERM)}) {
		t.Errorf("outcome %+v", out)
	}
	if len(tr.lines) != 2 || tr.lines[1] != "stopping "+strconv.Itoa(out.MainPID) {
		t.Errorf("lines %q", tr.lines)
	}
	checkList(t, "states", states(tr.states), []string{"start", "running", "stop", "stop-sigterm", "dead"})
}

func TestStopTimeout(t *testing.T) {
	// A main process that ignores SIGTERM is killed when TimeoutStopSec=
	// has passed; the result is timeout.
	tr := &trace{}
	r := Begin(tr.spec(loadService(t, "ExecStart=/bin/sh -c 'trap \"\" TERM; echo up; while :; do sleep 0.05; done'\nTimeoutStopSec=300ms")))
	tr.waitForLines(t, 1)
	r.Stop()
	out := r.Wait()
	if out.Result != Timeout {
		t.Errorf("result %s, want timeout", out.Result)
	}
	checkList(t, "states", states(tr.states), []string{"start", "running", "stop-sigterm", "stop-sigkill", "failed"})
	if !slices.Contains(tr.logs, "State 'stop-sigterm' timed out. Killing.") {
		t.Errorf("logs %q", tr.logs)
	}
}

func TestStartTimeout(t *testing.T) {
	tr := &trace{}
	out := Begin(tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/sleep 30\nTimeoutStartSec=200ms"))).Wait()
	if out.Result != Timeout {
		t.Errorf("result %s, want timeout", out.Result)
	}
	checkList(t, "logs", tr.logs, []string{"start operation timed out. Terminating.", "Failed with result 'timeout'."})
}

func TestLeftoverProcesses(t *testing.T) {
	// What the main process leaves behind in its group is stopped with
	// it (KillMode=control-group), and its output still read.
	tr := &trace{}
	out := Begin(tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/sh -c '(sleep 30; echo late) & echo early'"))).Wait()
	if out.Result != Success {
		t.Errorf("result %s", out.Result)
	}
	checkList(t, "lines", tr.lines, []string{"early"})
	checkList(t, "states", states(tr.states), []string{"start", "stop-sigterm", "dead"})
}

func TestRemainAfterExit(t *testing.T) {
	tr := &trace{}
	r := Begin(tr.spec(loadService(t, "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=/bin/echo stop")))
	tr.waitFor(t, Exited)
	r.Stop()
	if out := r.Wait(); out.Result != Success {
		t.Errorf("result %s", out.Result)
	}
	checkList(t, "states", states(tr.states), []string{"start", "exited", "stop", "dead"})
}

func TestWorkingDirectory(t *testing.T) {
	tr := &trace{}
	spec := tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/pwd"))
	spec.Dir = t.TempDir()
	Begin(spec).Wait()
	checkList(t, "lines", tr.lines, []string{spec.Dir})

	tr = &trace{}
	spec = tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/pwd"))
	spec.Dir = "/nonexistent"
	out := Begin(spec).Wait()
	if out.Main != (Exit{CodeExited, 200}) {
		t.Errorf("main exit %v, want 200/CHDIR", out.Main)
	}
}

func TestExitText(t *testing.T) {
	for _, tc := range []struct {
		e           Exit
		log, status string
	}{
		{Exit{CodeExited, 0}, "code=exited, status=0/SUCCESS", "code=exited, status=0/SUCCESS"},
		{Exit{CodeExited, 203}, "code=exited, status=203/EXEC", "code=exited, status=203/EXEC"},
		{Exit{CodeExited, 99}, "code=exited, status=99/n/a", "code=exited, status=99/n/a"},
		{Exit{CodeKilled, 15}, "code=killed, status=15/TERM", "code=killed, signal=TERM"},
		{Exit{CodeDumped, 11}, "code=dumped, status=11/SEGV", "code=dumped, signal=SEGV"},
	} {
		if got := tc.e.String(); got != tc.log {
			t.Errorf("%+v.String() = %q, want %q", tc.e, got, tc.log)
		}
		if got := tc.e.StatusText(); got != tc.status {
			t.Errorf("%+v.StatusText() = %q, want %q", tc.e, got, tc.status)
		}
	}
}

// TestStraysStopped starts a oneshot whose child leaves its process
// group and session, keeping its environment: the activation's end stops
// it, as the end of a systemd service stops what its control group
// holds, and under KillMode=process leaves it.
func TestStraysStopped(t *testing.T) {
	for _, c := range []struct {
		mode    string
		stopped bool
	}{{"control-group", true}, {"mixed", true}, {"process", false}} {
		_, pid := runWithStray(t, "Type=oneshot\nKillMode="+c.mode, "setsid sh", nil)
		if alive := pidAlive(pid); alive == c.stopped {
			t.Errorf("KillMode=%s: the process that left its group alive: %v", c.mode, alive)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// runWithStray runs the service of text, whose main process starts a
// child through leave (a command that runs the shell after it makes
// its escape), and exits once the child has written its PID; it returns
// how the activation ended and the child's PID, the child left for t
// to kill. spec, if set, changes the activation's Spec.
func runWithStray(t *testing.T, text, leave string, spec func(*Spec)) (Outcome, int) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	text += "\nExecStart=/bin/sh -c '" + leave + " -c \"echo \\$$$$ >" + pidFile + "; exec sleep 1000\" & until [ -s " + pidFile + " ]; do sleep 0.01; done'"
	tr := &trace{}
	s := tr.spec(loadService(t, text), "INVOCATION_ID="+newInvocation())
	if spec != nil {
		spec(&s)
	}
	out := Begin(s).Wait()
	data, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("%s: no PID written: %q", text, data)
	}
	return out, pid
}

func TestLeftRunning(t *testing.T) {
	// What the settings leave running is left, and the activation ends
	// all the same: KillMode=process keeps a child, SendSIGKILL=no a
	// process that ignores SIGTERM; a process that left the group and
	// cleared its environment, holding the output, does not hold the
	// activation up. The processes left write their PIDs, for the test to
	// stop them.
	dir := t.TempDir()
	pids, left := filepath.Join(dir, "pids"), filepath.Join(dir, "left")
	for _, text := range []string{
		"Type=oneshot\nKillMode=process\nExecStart=/bin/sh -c 'sleep 30 & echo $$! >>" + pids + "; echo done'",
		"Type=oneshot\nSendSIGKILL=no\nTimeoutStopSec=200ms\nExecStart=/bin/sh -c 'trap \"\" TERM; sleep 30 & echo $$! >>" + pids + "; echo done'",
		// The shell waits for the PID, so that the end of the activation
		// does not catch the child before it left the group.
		"Type=oneshot\nExecStart=/bin/sh -c 'setsid env -i /bin/sh -c \"echo \\$$$$ >>" + left + "; exec /bin/sleep 30\" & until [ -s " + left + " ]; do sleep 0.01; done; echo done'",
	} {
		tr := &trace{}
		start := time.Now()
		// Each activation has an ID of its own, which what it left keeps.
		Begin(tr.spec(loadService(t, text), "INVOCATION_ID="+newInvocation())).Wait()
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%q: held up for %v", text, d)
		}
		if len(tr.lines) == 0 || tr.lines[0] != "done" {
			t.Errorf("%q: lines %q", text, tr.lines)
		}
	}
	data, _ := os.ReadFile(pids)
	more, _ := os.ReadFile(left)
	data = append(data, more...)
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if n := len(strings.Fields(string(data))); n != 3 {
		t.Errorf("%d processes left, want 3", n)
	}
}

// newInvocation returns an invocation ID no other activation has.
func newInvocation() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestOutputAfterRunning: what a simple service writes reaches Output
// only once State has returned from Running, which a manager logs
// "Started …" in; the output of a notify service, which is active only
// at READY=1, is not held.
func TestOutputAfterRunning(t *testing.T) {
	// The command writes, then makes a file: once the file is there,
	// what it wrote is waiting in the pipe.
	written := filepath.Join(t.TempDir(), "written")
	echo := "ExecStart=/bin/sh -c 'echo hi; : >" + written
	for _, tt := range []struct {
		text string
		held bool
	}{
		{"Type=simple\n" + echo + "'", true},
		{"Type=exec\n" + echo + "'", true},
		{"Type=notify\nNotifyAccess=all\n" + echo + "; systemd-notify --ready 2>/dev/null || exit 0'", false},
	} {
		os.Remove(written)
		var mu sync.Mutex
		var got []string
		add := func(s string) {
			mu.Lock()
			got = append(got, s)
			mu.Unlock()
		}
		spec := Spec{Service: loadService(t, tt.text), Env: []string{"PATH=/usr/bin:/bin"},
			Output: func(l Line) { add(l.Text) },
			State: func(s State) {
				if s != Running {
					return
				}
				// Told from the activation's goroutine: a failure to
				// wait is reported, not fatal.
				if tt.held {
					await.Until(reporter{t}, func() bool { _, err := os.Stat(written); return err == nil }, "the output to be written")
				} else {
					await.Until(reporter{t}, func() bool {
						mu.Lock()
						defer mu.Unlock()
						return slices.Contains(got, "hi")
					}, "the output before READY=1")
				}
				add("running")
			}}
		Begin(spec).Wait()
		want := []string{"hi"}
		if tt.held {
			want = []string{"running", "hi"}
		}
		mu.Lock()
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("%q: %q, want %q first", tt.text, got, want)
		}
		mu.Unlock()
	}
}

// TestActiveAtFork: a simple service is active once its process is
// forked, so what fails in systemd's child (the executable, the working
// directory) comes after it was running; Type=exec waits for the exec,
// and fails its start.
func TestActiveAtFork(t *testing.T) {
	for _, tt := range []struct {
		text, dir string
		states    []string
		main      Exit
	}{
		{"Type=simple\nExecStart=/nonexistent/x", "", []string{"start", "running", "failed"}, Exit{CodeExited, statusExec}},
		{"Type=simple\nExecStart=/bin/true", "/nonexistent", []string{"start", "running", "failed"}, Exit{CodeExited, statusChdir}},
		{"Type=exec\nExecStart=/nonexistent/x", "", []string{"start", "failed"}, Exit{CodeExited, statusExec}},
		{"Type=simple\nExecStart=/nonexistent/x\nExecStartPost=/bin/true", "", []string{"start", "failed"}, Exit{CodeExited, statusExec}},
	} {
		tr := &trace{}
		spec := tr.spec(loadService(t, tt.text))
		spec.Dir = tt.dir
		out := Begin(spec).Wait()
		if out.Result != ExitCode || out.Main != tt.main {
			t.Errorf("%q: %+v", tt.text, out)
		}
		checkList(t, tt.text, states(tr.states), tt.states)
	}
}

// reporter fails a test from a goroutine other than the test's, where
// Fatalf may not be called: it reports, and the test goes on.
type reporter struct{ t *testing.T }

func (r reporter) Fatalf(format string, args ...any) { r.t.Errorf(format, args...) }
