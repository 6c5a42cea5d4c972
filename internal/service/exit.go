package service

import (
	"fmt"
	"syscall"

	"sundial.dev/sundial/unit"
)

// A Code tells how a process ended, as the si_code of SIGCHLD.
type Code int

const (
	CodeExited Code = iota + 1 // CLD_EXITED: it exited
	CodeKilled                 // CLD_KILLED: a signal killed it
	CodeDumped                 // CLD_DUMPED: a signal killed it, dumping core
)

var codeNames = [...]string{CodeExited: "exited", CodeKilled: "killed", CodeDumped: "dumped"}

func (c Code) String() string { return codeNames[c] }

// ParseCode reads a Code's name; 0 for none.
func ParseCode(name string) Code {
	for c, n := range codeNames {
		if n != "" && n == name {
			return Code(c)
		}
	}
	return 0
}

// An Exit is how a process ended: its exit status, or the signal that
// killed it.
type Exit struct {
	Code   Code
	Status int // the exit status, or the signal
}

// exitOf reads a wait status.
func exitOf(ws syscall.WaitStatus) Exit {
	switch {
	case ws.Signaled() && ws.CoreDump():
		return Exit{CodeDumped, int(ws.Signal())}
	case ws.Signaled():
		return Exit{CodeKilled, int(ws.Signal())}
	}
	return Exit{CodeExited, ws.ExitStatus()}
}

// statusName is the status's name: the exit status's or the signal's,
// "n/a" for none (systemd's strna).
func (e Exit) statusName() string {
	var s string
	if e.Code == CodeExited {
		s = unit.ExitStatusName(e.Status)
	} else {
		s = unit.SignalName(e.Status)
	}
	if s == "" {
		return "n/a"
	}
	return s
}

// String is the exit as systemd logs it: "code=exited, status=1/FAILURE",
// "code=killed, status=15/TERM".
func (e Exit) String() string {
	return fmt.Sprintf("code=%s, status=%d/%s", e.Code, e.Status, e.statusName())
}

// StatusText is the exit as systemctl status shows it: "code=exited,
// status=1/FAILURE", "code=killed, signal=TERM".
func (e Exit) StatusText() string {
	if e.Code == CodeExited {
		return fmt.Sprintf("code=exited, status=%d/%s", e.Status, e.statusName())
	}
	return fmt.Sprintf("code=%s, signal=%s", e.Code, e.statusName())
}

// Clean reports whether the exit counts as success, as systemd's
// is_clean_exit: status 0, a status or signal of SuccessExitStatus=, and
// for a daemon (not a command run to its end) the signals it is stopped
// with: HUP, INT, TERM and PIPE.
func (e Exit) Clean(daemon bool, success unit.ExitStatusSet) bool {
	switch e.Code {
	case CodeExited:
		return e.Status == 0 || contains(success.Status, e.Status)
	case CodeKilled:
		if daemon {
			switch syscall.Signal(e.Status) {
			case syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE:
				return true
			}
		}
		return contains(success.Signals, e.Status)
	}
	return false
}

func contains(set []int, n int) bool {
	for _, x := range set {
		if x == n {
			return true
		}
	}
	return false
}

// A Result is how an activation ended, as the Result property names it.
type Result string

const (
	Success   Result = "success"
	Resources Result = "resources" // what it needed could not be set up
	Timeout   Result = "timeout"   // a Timeout…Sec= passed
	ExitCode  Result = "exit-code" // a command exited with a failing status
	Signal    Result = "signal"    // a signal killed a command
	CoreDump  Result = "core-dump" // a signal killed a command, dumping core
	Protocol  Result = "protocol"  // the service broke its type's protocol: no READY=1, no PID file
	// SkipCondition is systemd's SERVICE_SKIP_CONDITION: an ExecCondition=
	// command exited 1–254, and the unit was skipped.
	SkipCondition Result = "exec-condition"
)

// Failed reports whether an activation that ended so leaves the unit
// failed, as service_enter_dead chooses between SERVICE_DEAD and
// SERVICE_FAILED: every result but success and a skip.
func (r Result) Failed() bool { return r != Success && r != SkipCondition }

// resultOf is the result of a command's unclean exit.
func resultOf(e Exit) Result {
	switch e.Code {
	case CodeKilled:
		return Signal
	case CodeDumped:
		return CoreDump
	}
	return ExitCode
}

// The exit status of a command that could not be executed (EXIT_EXEC),
// and of one whose working directory could not be entered (EXIT_CHDIR).
const (
	statusExec  = 203
	statusChdir = 200
)

// The exit statuses of the namespace steps of exec_child.
const (
	statusNetwork   = 225
	statusNamespace = 226
)
