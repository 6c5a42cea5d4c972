package service

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"sundial.dev/sundial/unit"
)

// TestExitOf decodes wait statuses as the kernel encodes them (the exit
// status in bits 8–15; the signal in bits 0–6, with bit 7 set when core
// was dumped): a core dump is CLD_DUMPED, not a plain kill.
func TestExitOf(t *testing.T) {
	for _, tc := range []struct {
		ws   syscall.WaitStatus
		want Exit
	}{
		{0, Exit{CodeExited, 0}},
		{1 << 8, Exit{CodeExited, 1}},
		{203 << 8, Exit{CodeExited, 203}},
		{syscall.WaitStatus(syscall.SIGTERM), Exit{CodeKilled, int(syscall.SIGTERM)}},
		{syscall.WaitStatus(syscall.SIGKILL), Exit{CodeKilled, int(syscall.SIGKILL)}},
		{syscall.WaitStatus(syscall.SIGSEGV), Exit{CodeKilled, int(syscall.SIGSEGV)}},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, Exit{CodeDumped, int(syscall.SIGSEGV)}},
		{syscall.WaitStatus(syscall.SIGABRT) | 0x80, Exit{CodeDumped, int(syscall.SIGABRT)}},
		{syscall.WaitStatus(syscall.SIGQUIT) | 0x80, Exit{CodeDumped, int(syscall.SIGQUIT)}},
	} {
		if got := exitOf(tc.ws); got != tc.want {
			t.Errorf("exitOf(%#x) = %v, want %v", uint32(tc.ws), got, tc.want)
		}
	}
}

// TestCoreDumped kills a command with SIGSEGV under LimitCORE=infinity:
// it ends code=dumped and the result is core-dump, as systemd's
// CLD_DUMPED. Skipped where the kernel makes no core dump (a limit that
// cannot be raised, a core_pattern that refuses), as a shell shows first.
func TestCoreDumped(t *testing.T) {
	dir := t.TempDir() // where core_pattern "core" writes it
	probe := exec.Command("/bin/sh", "-c", "ulimit -c unlimited && kill -SEGV $$")
	probe.Dir = dir
	var ee *exec.ExitError
	if err := probe.Run(); !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).CoreDump() {
		pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
		t.Skipf("no core dump here (%v; core_pattern %q)", err, pattern)
	}
	spec := (&trace{}).spec(loadService(t, "Type=oneshot\nLimitCORE=infinity\nExecStart=/bin/sh -c 'kill -SEGV $$$$'"))
	spec.Dir = dir
	out := Begin(spec).Wait()
	if want := (Exit{CodeDumped, int(syscall.SIGSEGV)}); out.Main != want || out.Result != CoreDump {
		t.Errorf("main %v, result %s; want %v, %s", out.Main, out.Result, want, CoreDump)
	}
}

// TestClean is is_clean_exit: status 0 or one of SuccessExitStatus=, and
// for a daemon, not a command run to its end, death by SIGHUP, SIGINT,
// SIGTERM or SIGPIPE; never a core dump.
func TestClean(t *testing.T) {
	success := unit.ExitStatusSet{Status: []int{42}, Signals: []int{int(syscall.SIGUSR1)}}
	for _, tc := range []struct {
		e              Exit
		daemon, oneRun bool // clean for a daemon, for a command run to its end
	}{
		{Exit{CodeExited, 0}, true, true},
		{Exit{CodeExited, 1}, false, false},
		{Exit{CodeExited, 42}, true, true},
		{Exit{CodeKilled, int(syscall.SIGHUP)}, true, false},
		{Exit{CodeKilled, int(syscall.SIGINT)}, true, false},
		{Exit{CodeKilled, int(syscall.SIGTERM)}, true, false},
		{Exit{CodeKilled, int(syscall.SIGPIPE)}, true, false},
		{Exit{CodeKilled, int(syscall.SIGKILL)}, false, false},
		{Exit{CodeKilled, int(syscall.SIGUSR1)}, true, true},
		{Exit{CodeKilled, int(syscall.SIGUSR2)}, false, false},
		{Exit{CodeDumped, int(syscall.SIGTERM)}, false, false},
		{Exit{CodeDumped, int(syscall.SIGUSR1)}, false, false},
	} {
		if got := tc.e.Clean(true, success); got != tc.daemon {
			t.Errorf("%v clean for a daemon: %v, want %v", tc.e, got, tc.daemon)
		}
		if got := tc.e.Clean(false, success); got != tc.oneRun {
			t.Errorf("%v clean for a command run to its end: %v, want %v", tc.e, got, tc.oneRun)
		}
	}
}
