package service

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// A State is a service's sub-state, as systemctl shows it.
type State string

const (
	Dead         State = "dead"
	Condition    State = "condition"
	StartPre     State = "start-pre"
	Start        State = "start"
	StartPost    State = "start-post"
	Running      State = "running"
	Exited       State = "exited" // RemainAfterExit=: active with no process
	Stop         State = "stop"
	StopSigterm  State = "stop-sigterm"
	StopSigkill  State = "stop-sigkill"
	StopPost     State = "stop-post"
	FinalSigterm State = "final-sigterm"
	FinalSigkill State = "final-sigkill"
	Failed       State = "failed"
)

// Active returns the unit's active state in the sub-state: activating,
// active, deactivating, inactive or failed.
func (s State) Active() string {
	switch s {
	case Condition, StartPre, Start, StartPost:
		return "activating"
	case Running, Exited:
		return "active"
	case Stop, StopSigterm, StopSigkill, StopPost, FinalSigterm, FinalSigkill:
		return "deactivating"
	case Failed:
		return "failed"
	}
	return "inactive"
}

// A Spec is what an activation runs, and where it reports.
type Spec struct {
	Service *unit.ServiceSection
	// Env is the environment of its commands: the manager's, the unit's
	// settings and the activation's (INVOCATION_ID, TRIGGER_…).
	Env []string
	// Dir is the working directory, resolved; "" is the manager's.
	Dir string
	// DirMissingOK is WorkingDirectory='s "-": a missing directory is
	// no failure.
	DirMissingOK bool
	// Credential, if set, is the user and groups to run as.
	Credential *syscall.Credential
	// Search is where commands named without a slash are looked for; nil
	// is systemd's default.
	Search []string

	Clock clock.Clock // nil: the real one
	// Output receives the lines the processes write.
	Output func(Line)
	// Log receives the messages systemd logs about the unit, without the
	// unit's name: "Main process exited, code=exited, status=1/FAILURE".
	Log func(level slog.Level, msg string)
	// State is told of each sub-state entered.
	State func(State)
	// MainPID is told of the main process when it starts.
	MainPID func(pid int)
}

// A Record is one command an activation ran, as systemctl status lists
// them ("Process: 42 ExecStartPre=/bin/true (code=exited, status=0/SUCCESS)").
type Record struct {
	Setting string // "ExecStartPre", "ExecStart", …
	Command unit.ExecCommand
	PID     int // 0 if it could not be started
	Exit    Exit
}

// An Outcome is how an activation ended.
type Outcome struct {
	Result Result
	// ConditionFailed is set when ExecCondition= said to skip the unit.
	ConditionFailed bool
	// MainPID and Main are the main process and how it ended (for
	// Type=oneshot, the last ExecStart= command).
	MainPID int
	Main    Exit
	// Records are the commands run, in order.
	Records []Record
}

// A Run is one activation of a service.
type Run struct {
	spec  Spec
	clk   clock.Clock
	stop  chan struct{}
	once  sync.Once
	done  chan struct{}
	out   Outcome
	state State

	mu     sync.Mutex
	groups []*process // every process started, to signal their groups
	main   *process
}

// Begin starts an activation.
func Begin(spec Spec) *Run {
	r := &Run{spec: spec, clk: clock.Or(spec.Clock), stop: make(chan struct{}), done: make(chan struct{}), state: Dead, out: Outcome{Result: Success}}
	go func() {
		defer close(r.done)
		r.activate()
	}()
	return r
}

// Stop asks the activation to stop, as systemctl stop does; it returns at
// once.
func (r *Run) Stop() { r.once.Do(func() { close(r.stop) }) }

// Wait waits until the activation has ended and every process it started
// has been reaped, and returns how it ended.
func (r *Run) Wait() Outcome {
	<-r.done
	return r.out
}

func (r *Run) log(level slog.Level, format string, args ...any) {
	if r.spec.Log != nil {
		r.spec.Log(level, fmt.Sprintf(format, args...))
	}
}

func (r *Run) setState(s State) {
	r.state = s
	if r.spec.State != nil {
		r.spec.State(s)
	}
}

// fail records the first failure's result.
func (r *Run) fail(res Result) {
	if r.out.Result == Success {
		r.out.Result = res
	}
}

// activate runs the activation through its states, as service.c's
// service_enter_* functions do.
func (r *Run) activate() {
	s := r.spec.Service
	oneshot := s.Type == "oneshot"
	startDeadline := r.deadline(s.TimeoutStartSec)

	if len(s.ExecCondition) > 0 {
		r.setState(Condition)
		for _, c := range s.ExecCondition {
			e, ok, stopped := r.control("ExecCondition", c, startDeadline)
			switch {
			case stopped:
				r.stopPhase(false)
				return
			case !ok:
				r.fail(Timeout)
				r.stopPhase(false)
				return
			case e.Code == CodeExited && e.Status > 0 && e.Status < 255 && c.Flags&unit.ExecIgnoreFailure == 0:
				r.out.ConditionFailed = true
				r.log(slog.LevelInfo, "Skipped due to 'exec-condition'.")
				r.finish()
				return
			case !e.Clean(false, unit.ExitStatusSet{}) && c.Flags&unit.ExecIgnoreFailure == 0:
				r.fail(resultOf(e))
				r.stopPhase(false)
				return
			}
		}
	}
	if len(s.ExecStartPre) > 0 {
		r.setState(StartPre)
		if !r.controls("ExecStartPre", s.ExecStartPre, startDeadline) {
			r.stopPhase(false)
			return
		}
	}
	r.setState(Start)
	if oneshot {
		// The commands run one after another, each the main process in
		// its turn.
		for _, c := range s.ExecStart {
			e, ok, stopped := r.runMain(c, startDeadline)
			if stopped || !ok || !r.judgeMain(c, e, false) {
				if !ok {
					r.log(slog.LevelWarn, "Start operation timed out. Terminating.")
					r.fail(Timeout)
				}
				r.stopPhase(false)
				return
			}
		}
	} else if len(s.ExecStart) > 0 {
		if !r.startMain(s.ExecStart[0]) {
			r.stopPhase(true)
			return
		}
	}
	if len(s.ExecStartPost) > 0 {
		r.setState(StartPost)
		if !r.controls("ExecStartPost", s.ExecStartPost, startDeadline) {
			r.stopPhase(true)
			return
		}
	}
	if r.main != nil && !oneshot {
		r.setState(Running)
		r.waitMain()
	}
	if s.RemainAfterExit && r.out.Result == Success {
		r.setState(Exited)
		<-r.stop
	}
	r.stopPhase(true)
}

// deadline returns when a phase of span must end; nil for infinity.
func (r *Run) deadline(span timespan.Span) <-chan time.Time {
	d, ok := span.Duration()
	if span == timespan.Infinity || !ok {
		return nil
	}
	c, _ := r.clk.After(d)
	return c
}

// waitMain waits in the running state until the main process exits,
// RuntimeMaxSec= passes or a stop is asked for.
func (r *Run) waitMain() {
	s := r.spec.Service
	runtime := r.deadline(s.RuntimeMaxSec)
	select {
	case <-r.main.exited:
		r.record("ExecStart", s.ExecStart[0], r.main)
		r.judgeMain(s.ExecStart[0], r.main.exit, true)
	case <-runtime:
		r.log(slog.LevelWarn, "Service reached runtime time limit. Stopping.")
		r.fail(Timeout)
	case <-r.stop:
	}
}

// judgeMain logs how the main process ended and records the result; it
// reports whether that counts as success.
func (r *Run) judgeMain(c unit.ExecCommand, e Exit, daemon bool) bool {
	r.out.Main = e
	clean := e.Clean(daemon, r.spec.Service.SuccessExitStatus) || c.Flags&unit.ExecIgnoreFailure != 0
	level := slog.LevelDebug
	if !clean {
		level = slog.LevelWarn + 1 // notice, as systemd logs it
	}
	r.log(level, "Main process exited, %s", e)
	if !clean {
		r.fail(resultOf(e))
	}
	return clean
}

// startMain starts the main process of a non-oneshot service.
func (r *Run) startMain(c unit.ExecCommand) bool {
	p, e, ok := r.spawn("ExecStart", c)
	if !ok {
		r.judgeMain(c, e, true)
		return false
	}
	r.main = p
	r.out.MainPID = p.pid
	if r.spec.MainPID != nil {
		r.spec.MainPID(p.pid)
	}
	return true
}

// runMain runs one ExecStart= command of a oneshot service to its end.
// ok is false on a timeout; stopped when a stop was asked for.
func (r *Run) runMain(c unit.ExecCommand, deadline <-chan time.Time) (e Exit, ok, stopped bool) {
	p, e, started := r.spawn("ExecStart", c)
	if !started {
		return e, true, false
	}
	r.main = p
	r.out.MainPID = p.pid
	if r.spec.MainPID != nil {
		r.spec.MainPID(p.pid)
	}
	select {
	case <-p.exited:
		r.record("ExecStart", c, p)
		return p.exit, true, false
	case <-deadline:
		return Exit{}, false, false
	case <-r.stop:
		return Exit{}, true, true
	}
}

// controls runs control commands one after another; a failing one ends
// them, unless it has the "-" prefix. It reports whether all went well.
func (r *Run) controls(setting string, cmds []unit.ExecCommand, deadline <-chan time.Time) bool {
	for _, c := range cmds {
		e, ok, stopped := r.control(setting, c, deadline)
		switch {
		case stopped:
			return false
		case !ok:
			r.log(slog.LevelWarn, "%s operation timed out. Terminating.", phaseName(r.state))
			r.fail(Timeout)
			return false
		case !e.Clean(false, unit.ExitStatusSet{}) && c.Flags&unit.ExecIgnoreFailure == 0:
			r.log(levelNotice, "Control process exited, %s", e)
			r.fail(resultOf(e))
			return false
		}
	}
	return true
}

func phaseName(s State) string {
	switch s {
	case StartPre, Start, StartPost, Condition:
		return "Start"
	}
	return "Stop"
}

// control runs one control command to its end. ok is false on a
// timeout; stopped when a stop was asked for.
func (r *Run) control(setting string, c unit.ExecCommand, deadline <-chan time.Time) (e Exit, ok, stopped bool) {
	p, e, started := r.spawn(setting, c)
	if !started {
		return e, true, false
	}
	var stop <-chan struct{} = r.stop
	if r.state == Stop || r.state == StopPost {
		stop = nil // stopping already
	}
	select {
	case <-p.exited:
		r.record(setting, c, p)
		return p.exit, true, false
	case <-deadline:
		return Exit{}, false, false
	case <-stop:
		return Exit{}, true, true
	}
}

// spawn starts a command: its variables expanded, its executable found.
// A command that cannot be started ends as systemd's child then exits:
// with status 203/EXEC, or 200/CHDIR.
func (r *Run) spawn(setting string, c unit.ExecCommand) (*process, Exit, bool) {
	env := r.spec.Env
	if r.main != nil && setting != "ExecStart" {
		env = unit.MergeEnv(slices.Clip(env), fmt.Sprintf("MAINPID=%d", r.main.pid))
	}
	if setting == "ExecStopPost" {
		env = unit.MergeEnv(slices.Clip(env), StopPostEnv(r.out)...)
	}
	argv := c.Argv
	if c.Flags&unit.ExecNoEnvExpand == 0 {
		var unset, bad []string
		argv, unset, bad = unit.ExpandArgv(argv, env)
		for _, n := range unset {
			r.log(slog.LevelInfo, "Referenced but unset environment variable evaluates to an empty string: %s", n)
		}
		for _, n := range bad {
			r.log(slog.LevelInfo, "Invalid environment variable name evaluates to an empty string: %s", n)
		}
	}
	path, err := unit.FindExecutable(c.Path, r.spec.Search)
	if err != nil {
		r.log(slog.LevelError, "Unable to locate executable '%s': %s", c.Path, errText(err))
		r.log(slog.LevelError, "Failed at step EXEC spawning %s: %s", c.Path, errText(err))
		e := Exit{CodeExited, statusExec}
		r.out.Records = append(r.out.Records, Record{Setting: setting, Command: c, Exit: e})
		return nil, e, false
	}
	fail := func(status int, step string, err error) (*process, Exit, bool) {
		r.log(slog.LevelError, "Failed at step %s spawning %s: %s", step, path, errText(err))
		e := Exit{CodeExited, status}
		r.out.Records = append(r.out.Records, Record{Setting: setting, Command: c, Exit: e})
		return nil, e, false
	}
	// The child would fail to enter it; looked at here, so that the
	// failure is told apart from one to execute.
	dir := r.spec.Dir
	if info, err := os.Stat(dir); dir != "" && (err != nil || !info.IsDir()) {
		if err == nil {
			err = syscall.ENOTDIR
		}
		if !r.spec.DirMissingOK {
			r.log(slog.LevelError, "Changing to the requested working directory failed: %s", errText(err))
			return fail(statusChdir, "CHDIR", err)
		}
		dir = ""
	}
	p, err := start(Command{Path: path, Argv: argv, Env: env, Dir: dir, Credential: r.spec.Credential, Output: r.spec.Output})
	if err != nil {
		return fail(statusExec, "EXEC", err)
	}
	r.mu.Lock()
	r.groups = append(r.groups, p)
	r.mu.Unlock()
	return p, Exit{}, true
}

func (r *Run) record(setting string, c unit.ExecCommand, p *process) {
	p.settle()
	r.out.Records = append(r.out.Records, Record{Setting: setting, Command: c, PID: p.pid, Exit: p.exit})
}

// stopPhase runs ExecStop= (if the start went well, started), then
// signals what is left, then ExecStopPost=, then what is left again, as
// service_enter_stop, service_enter_signal and service_enter_stop_post.
func (r *Run) stopPhase(started bool) {
	s := r.spec.Service
	stopDeadline := r.deadline(s.TimeoutStopSec)
	if started && r.out.Result == Success && len(s.ExecStop) > 0 {
		r.setState(Stop)
		r.controls("ExecStop", s.ExecStop, stopDeadline)
	}
	r.kill(StopSigterm, StopSigkill, r.deadline(s.TimeoutStopSec))
	if len(s.ExecStopPost) > 0 {
		r.setState(StopPost)
		r.controls("ExecStopPost", s.ExecStopPost, r.deadline(s.TimeoutStopSec))
	}
	r.kill(FinalSigterm, FinalSigkill, r.deadline(s.TimeoutStopSec))
	r.finish()
}

// kill signals the processes left, as KillMode= says, waits for them
// until the deadline, then kills them with SIGKILL if SendSIGKILL=.
func (r *Run) kill(term, kill State, deadline <-chan time.Time) {
	s := r.spec.Service
	alive := r.alive()
	if len(alive) == 0 || s.KillMode == "none" {
		return
	}
	r.setState(term)
	for _, p := range alive {
		switch s.KillMode {
		case "process":
			if p == r.main {
				p.signal(syscall.Signal(s.KillSignal), false)
			}
		case "mixed":
			p.signal(syscall.Signal(s.KillSignal), false)
		default:
			p.signal(syscall.Signal(s.KillSignal), true)
			if s.SendSIGHUP {
				p.signal(syscall.SIGHUP, true)
			}
		}
	}
	if r.waitGone(deadline) {
		return
	}
	if !s.SendSIGKILL {
		return
	}
	r.log(slog.LevelWarn, "State '%s' timed out. Killing.", term)
	r.fail(Timeout)
	r.setState(kill)
	for _, p := range r.alive() {
		p.signal(syscall.Signal(s.FinalKillSignal), s.KillMode != "process" || p != r.main)
	}
	if !r.waitGone(nil) {
		r.log(slog.LevelWarn, "Processes still around after %s. Ignoring.", unit.SignalName(s.FinalKillSignal))
	}
}

// alive returns the processes whose groups still have members (or, for
// KillMode=process, the main process if not reaped).
func (r *Run) alive() []*process {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ps []*process
	for _, p := range r.groups {
		select {
		case <-p.exited:
			if p.groupAlive() {
				ps = append(ps, p)
			}
		default:
			ps = append(ps, p)
		}
	}
	return ps
}

// waitGone waits until every process started is gone, or the deadline;
// a group whose leader is reaped is polled, as there is nothing to wait
// on for the rest of it.
func (r *Run) waitGone(deadline <-chan time.Time) bool {
	for {
		ps := r.alive()
		if len(ps) == 0 {
			return true
		}
		var leader <-chan struct{}
		for _, p := range ps {
			select {
			case <-p.exited:
			default:
				leader = p.exited
			}
		}
		var tick <-chan time.Time
		var stop func() bool
		if leader == nil {
			tick, stop = r.clk.After(10 * time.Millisecond)
		}
		select {
		case <-leader:
		case <-tick:
		case <-deadline:
			if stop != nil {
				stop()
			}
			return len(r.alive()) == 0
		}
		if stop != nil {
			stop()
		}
	}
}

// finish waits for every output to be read and enters the final state,
// logging the result as systemd does.
func (r *Run) finish() {
	r.mu.Lock()
	groups := r.groups
	r.mu.Unlock()
	for _, p := range groups {
		<-p.exited
		p.output.Wait()
	}
	if r.out.Result != Success {
		r.log(slog.LevelWarn, "Failed with result '%s'.", r.out.Result)
		r.setState(Failed)
		return
	}
	r.log(slog.LevelInfo, "Deactivated successfully.")
	r.setState(Dead)
}

// levelNotice is syslog's notice, between info and warning.
const levelNotice = slog.Level(2)

// errText is an error as systemd's %m prints it: the C library's text.
func errText(err error) string {
	if e, ok := errors.AsType[syscall.Errno](err); ok {
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
