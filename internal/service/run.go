package service

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	Reload       State = "reload" // ExecReload= runs
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
	case Reload:
		return "reloading"
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
	// Bases are where the service's own directories are made
	// (StateDirectory=, …); those of types without one are not.
	Bases ExecBases
	// Search is where commands named without a slash are looked for; nil
	// is systemd's default.
	Search []string
	// DynamicUsers is the directory of the user IDs of DynamicUser=
	// held (see acquireDynamicUser); a service with it and without a
	// Credential runs as the one it gets there for its User=.
	DynamicUsers string
	// CGroup, if set, is the directory of the service's control group
	// in the cgroup v2 hierarchy (under [CGroupRoot]), made if need be:
	// its processes begin there, and all that are there are its own,
	// as systemd's unit cgroup; it is removed once empty. Without one,
	// they are followed by their process groups and INVOCATION_ID.
	CGroup string

	// NotifyDir is where the socket is made through which the service
	// tells its state (sd_notify), when NotifyAccess= lets it; "" is
	// [os.TempDir]. Its name, with the directory's, must fit a socket
	// address (108 bytes on Linux, 104 on macOS).
	NotifyDir string

	Clock clock.Clock // nil: the real one
	// Output receives the lines the processes write.
	Output func(Line)
	// Log receives the messages systemd logs about the unit, without the
	// unit's name: "Main process exited, code=exited, status=1/FAILURE".
	// It may be called from another goroutine. fields are the other
	// fields systemd gives the message, "MESSAGE_ID=…" among them.
	Log func(level slog.Level, msg string, fields ...string)
	// State is told of each sub-state entered. The main process's output
	// is held until State has returned from the state that makes the
	// unit active, where nothing else comes between (Type=simple, exec or
	// idle without ExecStartPost=), so that a State that logs "Started …"
	// before it returns has it come before what the service writes, as
	// systemd's does.
	State func(State)
	// MainPID is told of the main process when it starts, and each time
	// another becomes it (MAINPID=, PIDFile=, guessed).
	MainPID func(pid int)
	// Status is told of the status text the service sets with STATUS=,
	// each time it changes; it may be called from another goroutine.
	Status func(text string)
	// Record is told of each command once it has ended, as the
	// activation's Outcome will list it, while the activation goes on.
	Record func(Record)
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
	// MainPID and Main are the main process and how it ended (for
	// Type=oneshot, the last ExecStart= command). Main is the zero Exit
	// when that is not known, as for a main process not a child of ours.
	MainPID int
	Main    Exit
	// StatusText and StatusErrno are what the service last told with
	// STATUS= and ERRNO=.
	StatusText  string
	StatusErrno int
	// Records are the commands run, in order.
	Records []Record
	// CPU is the CPU time its processes used, those reaped: what systemd's
	// CPU accounting of the unit's cgroup counts, less the processes
	// that are not children of ours.
	CPU time.Duration
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

	main *process
	quit chan struct{} // closed when the activation has ended
	// reloads takes the requests of Reload, each with where to tell
	// how it went.
	reloads chan chan bool
	// hold keeps the main process's output back until releaseOutput
	// closes it, as State's doc says; nil where nothing is held.
	hold     chan struct{}
	released sync.Once
	watch    sync.WaitGroup

	// notify is the socket, if the service takes notifications; wake has
	// a value when notes have come.
	notify         *notifySocket
	wake           chan struct{}
	notifyStopping bool // STOPPING=1 was the last of READY=1 and STOPPING=1

	// privateTmp are the directories bound on /tmp and /var/tmp of its
	// processes with PrivateTmp=, made at the first one's start and
	// removed when the activation ends, as the exec runtime's.
	privateTmp [2]string
	// dynamic is the user ID of DynamicUser=, held from the first
	// command's start until the activation ends.
	dynamic *dynamicUser
	// ns are the network and IPC namespaces its commands share, made
	// at the first one's start; where the manager makes none, nsOwn
	// counts the commands that made their own.
	ns    *sharedNamespaces
	nsOwn int

	// resumed is set for an activation a manager before this one began:
	// its processes are not below this one.
	resumed bool
	// cg is the control group, if the activation has one.
	cg *cgroup

	mu       sync.Mutex
	groups   []*process // every process started or adopted, to signal their groups
	endFiles []*os.File // closed when the activation ends
	// For the socket's reader: the main and the control process (0 if
	// none), NotifyAccess= (as NOTIFYACCESS= overrides it), what has come.
	mainPID, controlPID      int
	access, configuredAccess string
	notes                    []note
	status                   string
	statusErrno              int
}

// Begin starts an activation.
func Begin(spec Spec) *Run { return begin(spec, false, (*Run).activate) }

// Resume takes up an activation that a manager before this one began,
// as systemd's manager takes up its units after daemon-reexec
// (service_coldplug): pid, its main process, still running, is watched
// until it ends, then the activation stops as one begun here does; with
// pid 0 (none known), what is left of it is stopped at once. An
// activation whose main process had ended (at Exited, RemainAfterExit=)
// is active with none until it is stopped, with ExecStop=; one whose
// stop had begun (at StopSigterm) is stopped at once, pid with it. Its
// processes, not children of ours, are found by their INVOCATION_ID, on
// Linux. How the main process ends is not known. Its output went to the
// manager before and is not read any more, nor its notifications: its
// notification socket went with that manager.
func Resume(spec Spec, pid int, at State) *Run {
	return begin(spec, true, func(r *Run) { r.stopPhase(r.resume(pid, at)) })
}

func begin(spec Spec, resumed bool, activate func(*Run)) *Run {
	r := &Run{spec: spec, clk: clock.Or(spec.Clock), stop: make(chan struct{}), done: make(chan struct{}), quit: make(chan struct{}), reloads: make(chan chan bool), state: Dead,
		out: Outcome{Result: Success}, resumed: resumed}
	go func() {
		defer close(r.done)
		if spec.CGroup != "" {
			var err error
			if r.cg, err = openCGroup(spec.CGroup); err != nil {
				r.log(slog.LevelError, "Failed to create cgroup %s: %s", spec.CGroup, ErrnoText(err))
				if !resumed {
					r.fail(Resources)
					r.finish()
					return
				}
			} else if !resumed {
				applyResources(spec.CGroup, &spec.Service.Confinement, func(msg string) { r.log(slog.LevelWarn, "%s", msg) })
			}
		}
		activate(r)
	}()
	return r
}

// resume waits for the main process of an activation resumed, and
// returns where the stop phase that follows begins.
func (r *Run) resume(pid int, at State) next {
	if at == Exited {
		return r.remainAfterExit(enterStop)
	}
	if pid == 0 {
		return enterSignal
	}
	// Held (by a pidfd, on Linux) before it is looked at: carrying the
	// activation's INVOCATION_ID then, it is the one the manager before
	// started, not another that took its number since it was found, and
	// the handle watches and signals that one alone.
	h, err := os.FindProcess(pid)
	if err != nil {
		return enterSignal
	}
	if !Survives(pid, strings.TrimPrefix(r.invocationMark(), "INVOCATION_ID=")) {
		h.Release()
		return enterSignal
	}
	p := r.adoptHandle(pid, h)
	if g, err := syscall.Getpgid(pid); err == nil && g == pid {
		p.pgid = pid // the group it was started to lead
	}
	r.setMain(p)
	if at == StopSigterm {
		return enterSignal
	}
	if r.spec.Service.Type == "oneshot" {
		// The rest of its ExecStart= commands, and ExecStartPost=, are
		// not run: where it was among them is not known.
		r.setState(Start)
	} else {
		r.setState(Running)
	}
	return r.remainAfterExit(r.waitMain())
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
	r.logFields(level, nil, format, args...)
}

// logFields logs a message with the fields systemd gives it.
func (r *Run) logFields(level slog.Level, fields []string, format string, args ...any) {
	if r.spec.Log != nil {
		r.spec.Log(level, fmt.Sprintf(format, args...), fields...)
	}
}

// ActiveAtFork reports whether a service is active as soon as its main
// process is forked (Type=simple or idle, without ExecStartPost=): its
// start job is done then, even if the command then fails to execute.
func ActiveAtFork(s *unit.ServiceSection) bool {
	return (s.Type == "simple" || s.Type == "idle") && len(s.ExecStartPost) == 0
}

func (r *Run) activeAtFork() bool { return ActiveAtFork(r.spec.Service) }

// releaseOutput lets the main process's output go, if it was held.
func (r *Run) releaseOutput() {
	if r.hold != nil {
		r.released.Do(func() { close(r.hold) })
	}
}

func (r *Run) setState(s State) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
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
// service_enter_* functions do, then stops it.
func (r *Run) activate() {
	if err := r.openNotify(); err != nil {
		r.log(slog.LevelError, "Failed to set up notification socket: %s", ErrnoText(err))
		r.fail(Resources)
		r.finish()
		return
	}
	r.stopPhase(r.start())
}

// A next is where the stop phase begins.
type next int

const (
	enterStop     next = iota // service_enter_stop: ExecStop=, then the signals
	enterSignal               // service_enter_signal: the signals
	enterStopPost             // service_enter_stop_post: ExecStopPost=
)

// start runs the start of the activation and waits while it runs; it
// returns where the stop phase that follows begins. Each command has
// TimeoutStartSec= of its own, as service_spawn arms it; so has the wait
// for READY=1 of a notify service, and the wait of a forking one for its
// first process to exit and its PID file.
func (r *Run) start() next {
	s := r.spec.Service
	oneshot := s.Type == "oneshot"
	if r.activeAtFork() || s.Type == "exec" && len(s.ExecStartPost) == 0 {
		r.hold = make(chan struct{})
		defer r.releaseOutput()
	}
	if len(s.ExecCondition) > 0 {
		r.setState(Condition)
		for _, c := range s.ExecCondition {
			e, ok, stopped := r.control("ExecCondition", c, s.TimeoutStartSec)
			switch {
			case stopped:
				return enterSignal
			case !ok:
				r.timedOut()
				return enterSignal
			case e.Clean(false, s.SuccessExitStatus) || c.Flags&unit.ExecIgnoreFailure != 0:
			case e.Code == CodeExited && e.Status < 255:
				// service_sigchld_event: not a failure, the unit is
				// skipped; the exit is logged at debug level only.
				r.fail(SkipCondition)
				return enterSignal
			default:
				r.logExit("Condition check process", "ExecCondition", e, false)
				r.fail(resultOf(e))
				return enterSignal
			}
		}
	}
	if len(s.ExecStartPre) > 0 {
		r.setState(StartPre)
		if !r.controls("ExecStartPre", s.ExecStartPre, s.TimeoutStartSec) {
			return enterSignal
		}
	}
	r.setState(Start)
	forking := s.Type == "forking"
	switch {
	case oneshot:
		// The commands run one after another, each the main process in
		// its turn.
		for _, c := range s.ExecStart {
			e, ok, stopped := r.runMain(c, s.TimeoutStartSec)
			switch {
			case stopped:
				return enterSignal
			case !ok:
				r.timedOut()
				return enterSignal
			case !r.judgeMain(c, e, false):
				return enterSignal
			}
		}
	case len(s.ExecStart) == 0:
	case forking:
		if n, ok := r.startForking(s.ExecStart[0]); !ok {
			return n
		}
	default:
		if !r.startMain(s.ExecStart[0]) {
			return enterSignal
		}
		if isNotify(s.Type) {
			if n, ok := r.waitReady(); !ok {
				return n
			}
		}
	}
	if len(s.ExecStartPost) > 0 {
		r.setState(StartPost)
		if !r.controls("ExecStartPost", s.ExecStartPost, s.TimeoutStartSec) {
			return enterSignal
		}
		if forking {
			if n, ok := r.mainAfterStartPost(); !ok {
				return n
			}
		}
	}
	// What came while ExecStartPost= ran: MAINPID=, STOPPING=1. Without
	// it, what comes after READY=1 finds the service running.
	if len(s.ExecStartPost) > 0 {
		r.takeNotes()
	}
	n := enterStop
	switch {
	case oneshot:
	case r.main != nil && r.notifyStopping && !r.main.reaped():
		return r.stopByNotify()
	case r.main != nil:
		r.setState(Running)
		r.releaseOutput()
		n = r.waitMain()
	case forking && r.groupsAlive():
		r.setState(Running)
		n = r.waitGroups()
	}
	return r.remainAfterExit(n)
}

// remainAfterExit keeps a service of RemainAfterExit= that ended well
// (n is enterStop) in the exited state until a stop is asked for; it
// returns n.
func (r *Run) remainAfterExit(n next) next {
	if n == enterStop && r.spec.Service.RemainAfterExit && r.out.Result == Success && !r.stopping() {
		r.setState(Exited)
		for {
			select {
			case <-r.stop:
				return n
			case done := <-r.reloads:
				done <- r.reload(Exited)
			}
		}
	}
	return n
}

// Reload runs the ExecReload= commands of an activation that is active,
// running or exited, as service_enter_reload; done tells whether they
// all went well. One not active then (starting, stopping, ended) is not
// reloaded: done tells false.
func (r *Run) Reload() (done <-chan bool) {
	c := make(chan bool, 1)
	go func() {
		// Ends when the activation takes the request, or stops.
		select {
		case r.reloads <- c:
		case <-r.stop:
			c <- false
		case <-r.done:
			c <- false
		}
	}()
	return c
}

// reload runs ExecReload=, then returns to the state it was in, as
// service_enter_reload and service_enter_running: a command that fails
// or times out (killed, then) fails the reload, not the service.
func (r *Run) reload(back State) bool {
	r.setState(Reload)
	defer r.setState(back)
	for _, c := range r.spec.Service.ExecReload {
		p, e, started := r.spawn("ExecReload", c)
		if started {
			deadline := r.deadline(r.spec.Service.TimeoutStartSec)
			select {
			case <-p.exited:
			case <-deadline:
				r.log(slog.LevelWarn, "Reload operation timed out. Killing reload process.")
				p.signal(syscall.SIGKILL, true)
				<-p.exited
				r.setControl(0)
				return false
			case <-r.stop:
				r.setControl(0)
				return false
			}
			r.setControl(0)
			r.record("ExecReload", c, p)
			e = p.exit
		}
		if !e.Clean(false, r.spec.Service.SuccessExitStatus) && c.Flags&unit.ExecIgnoreFailure == 0 {
			r.log(levelNotice, "Control process exited, %s", e)
			return false
		}
	}
	return true
}

// stopping reports whether a stop was asked for.
func (r *Run) stopping() bool { return closed(r.stop) }

// closed reports whether a channel that is only ever closed is.
func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// timedOut logs that the state's time ran out, as service_dispatch_timer.
func (r *Run) timedOut() {
	r.log(slog.LevelWarn, "%s operation timed out. Terminating.", r.state)
	r.fail(Timeout)
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
// RuntimeMaxSec= passes, the service says it is stopping or a stop is
// asked for. ExecStop= is to run, but not after a main process that
// failed.
func (r *Run) waitMain() next {
	runtime := r.deadline(r.spec.Service.RuntimeMaxSec)
	for {
		select {
		case <-r.main.exited:
			p := r.main
			r.syncNotify()
			if r.takeNotes(); r.main != p {
				continue // MAINPID= came first
			}
			if r.notifyStopping {
				return r.stopByNotify()
			}
			if r.mainMoved() {
				continue
			}
			if !r.mainEnded() {
				return enterSignal
			}
			return enterStop
		case <-r.wake:
			if r.takeNotes(); r.notifyStopping {
				return r.stopByNotify()
			}
		case <-runtime:
			r.log(slog.LevelWarn, "Service reached runtime time limit. Stopping.")
			r.fail(Timeout)
			return enterStop
		case <-r.stop:
			return enterStop
		case done := <-r.reloads:
			done <- r.reload(Running)
		}
	}
}

// waitReady waits in the start state of a notify service for READY=1,
// until TimeoutStartSec= passes. A main process that exits first fails
// the start, as one that exits cleanly fails it with the result protocol,
// unless RemainAfterExit= and a NotifyAccess= other than main let another
// process still tell; then it fails so only once none is left.
func (r *Run) waitReady() (n next, ok bool) {
	s := r.spec.Service
	deadline := r.deadline(s.TimeoutStartSec)
	for {
		var exited <-chan struct{}
		var tick <-chan time.Time
		stop := func() bool { return false }
		if r.main != nil {
			exited = r.main.exited
		} else {
			tick, stop = r.clk.After(pollInterval)
		}
		select {
		case <-r.wake:
			if r.takeNotes() {
				stop()
				return 0, true
			}
		case <-exited:
			p := r.main
			r.syncNotify()
			ready := r.takeNotes()
			switch {
			case ready:
				return 0, true // READY=1 came first; the end is taken when running
			case r.main != p:
				continue // MAINPID= came first
			case r.mainMoved():
				continue
			}
			if !r.mainEnded() {
				return enterSignal, false
			}
			r.mu.Lock()
			access := r.access
			r.mu.Unlock()
			if !s.RemainAfterExit || access == "main" {
				r.fail(Protocol)
				return enterSignal, false
			}
			r.main = nil
		case <-tick:
			if !r.groupsAlive() {
				r.fail(Protocol)
				return enterStopPost, false
			}
		case <-deadline:
			stop()
			r.timedOut()
			return enterSignal, false
		case <-r.stop:
			stop()
			return enterSignal, false
		}
		stop()
	}
}

// mainMoved reports whether the PID file, read again as the main process
// exits, names another: forking services may move to a new PID.
func (r *Run) mainMoved() bool {
	if r.spec.Service.PIDFile == "" {
		return false
	}
	_, changed := r.loadPIDFile(false)
	return changed
}

// mainEnded takes the end of the main process, as service_sigchld_event,
// and reports whether it counts as success. How a process that is not a
// child of ours ended is not known: nothing is said of it, and it counts
// as success.
func (r *Run) mainEnded() bool {
	p, c := r.main, r.spec.Service.ExecStart[0]
	r.mu.Lock()
	r.mainPID = 0
	r.mu.Unlock()
	if p.alien {
		return true
	}
	if p.cmd != nil {
		r.record("ExecStart", c, p)
	}
	return r.judgeMain(c, p.exit, true)
}

// stopByNotify is service_enter_stop_by_notify: the service said it is
// stopping, which is as if it had been sent SIGTERM. It waits for the
// main process (or what is left) until TimeoutStopSec=; ExecStop= is not
// run.
func (r *Run) stopByNotify() next {
	r.setState(StopSigterm)
	deadline := r.deadline(r.spec.Service.TimeoutStopSec)
	if r.main == nil {
		if !r.waitGone(deadline) {
			r.killHard(StopSigterm, StopSigkill)
		}
		return enterStopPost
	}
	select {
	case <-r.main.exited:
		r.mainEnded()
	case <-deadline:
		r.killHard(StopSigterm, StopSigkill)
	}
	return enterStopPost
}

// judgeMain logs how the main process ended and records the result; it
// reports whether that counts as success.
func (r *Run) judgeMain(c unit.ExecCommand, e Exit, daemon bool) bool {
	r.out.Main = e
	clean := e.Clean(daemon, r.spec.Service.SuccessExitStatus) || c.Flags&unit.ExecIgnoreFailure != 0
	r.logExit("Main process", "ExecStart", e, clean)
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
	r.setMain(p)
	return true
}

// runMain runs one ExecStart= command of a oneshot service to its end.
// ok is false on a timeout; stopped when a stop was asked for.
func (r *Run) runMain(c unit.ExecCommand, timeout timespan.Span) (e Exit, ok, stopped bool) {
	p, e, started := r.spawn("ExecStart", c)
	if !started {
		return e, true, false
	}
	deadline := r.deadline(timeout)
	r.setMain(p)
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
func (r *Run) controls(setting string, cmds []unit.ExecCommand, timeout timespan.Span) bool {
	for _, c := range cmds {
		e, ok, stopped := r.control(setting, c, timeout)
		switch {
		case stopped:
			return false
		case !ok:
			r.timedOut()
			return false
		case !e.Clean(false, r.spec.Service.SuccessExitStatus) && c.Flags&unit.ExecIgnoreFailure == 0:
			r.logExit("Control process", setting, e, false)
			r.fail(resultOf(e))
			return false
		}
	}
	return true
}

// control runs one control command to its end. ok is false on a
// timeout; stopped when a stop was asked for.
func (r *Run) control(setting string, c unit.ExecCommand, timeout timespan.Span) (e Exit, ok, stopped bool) {
	p, e, started := r.spawn(setting, c)
	if !started {
		return e, true, false
	}
	deadline := r.deadline(timeout)
	var stop <-chan struct{} = r.stop
	if r.state == Stop || r.state == StopPost {
		stop = nil // stopping already
	}
	defer r.setControl(0)
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

// spawn starts a command: its variables expanded, its executable found,
// the process set up as UMask=, Nice= and Limit…= say. It is the main
// process (but for ExecStart= of Type=forking) or the control process.
// A command that cannot be started ends as systemd's child then exits:
// with status 203/EXEC, 200/CHDIR, 205/LIMITS, ….
func (r *Run) spawn(setting string, c unit.ExecCommand) (*process, Exit, bool) {
	s := r.spec.Service
	main := setting == "ExecStart" && s.Type != "forking"
	env := r.notifyEnv(r.spec.Env, setting == "ExecStart")
	if r.main != nil && setting != "ExecStart" && !r.main.reaped() {
		env = unit.MergeEnv(slices.Clip(env), fmt.Sprintf("MAINPID=%d", r.main.pid))
	}
	if setting == "ExecStop" || setting == "ExecStopPost" {
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
	// What fails in systemd's child, after the fork that made a simple
	// service active.
	told := false
	forked := func() {
		if main && r.activeAtFork() && !told {
			told = true
			r.setState(Running)
			r.releaseOutput()
		}
	}
	path, err := unit.FindExecutable(c.Path, r.spec.Search)
	if err != nil {
		forked()
		r.log(slog.LevelError, "Unable to locate executable '%s': %s", c.Path, ErrnoText(err))
		r.log(slog.LevelError, "Failed at step EXEC spawning %s: %s", c.Path, ErrnoText(err))
		e := Exit{CodeExited, statusExec}
		r.addRecord(Record{Setting: setting, Command: c, Exit: e})
		return nil, e, false
	}
	fail := func(status int, step string, err error) (*process, Exit, bool) {
		forked()
		r.log(slog.LevelError, "Failed at step %s spawning %s: %s", step, path, ErrnoText(err))
		e := Exit{CodeExited, status}
		r.addRecord(Record{Setting: setting, Command: c, Exit: e})
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
			forked()
			r.log(slog.LevelError, "Changing to the requested working directory failed: %s", ErrnoText(err))
			return fail(statusChdir, "CHDIR", err)
		}
		dir = ""
	}
	if s.Confinement.PrivateTmp && haveNamespaces && r.privateTmp[0] == "" {
		if r.privateTmp, err = makePrivateTmp(); err != nil {
			return fail(statusNamespace, "NAMESPACE", err)
		}
	}
	if x := &s.Confinement; (x.PrivateNetwork || x.PrivateIPC) && haveNamespaces && namespacesAllowed() {
		switch {
		case sharesNamespaces() && r.ns == nil:
			var e *setupError
			if r.ns, e = makeSharedNamespaces(x.PrivateNetwork, x.PrivateIPC); e != nil {
				r.log(slog.LevelError, "%s: %s", e.What, ErrnoText(e.Errno))
				return fail(e.Status, e.Step, e.Errno)
			}
		case !sharesNamespaces():
			if r.nsOwn++; r.nsOwn == 2 {
				r.log(slog.LevelWarn, "PrivateNetwork= and PrivateIPC= give each command of the service namespaces of its own here: "+
					"the manager is not root, and a command in a user namespace of its own cannot enter another's.")
			}
		}
	}
	cred := r.spec.Credential
	// A manager that is not root has no other user to give.
	if s.Confinement.DynamicUser && cred == nil && os.Geteuid() == 0 && haveNamespaces {
		if r.dynamic == nil {
			if s.User == "" {
				return fail(statusUser, "USER", syscall.EINVAL)
			}
			if r.dynamic, err = acquireDynamicUser(r.spec.DynamicUsers, s.User); err != nil {
				return fail(statusUser, "USER", err)
			}
		}
		cred = &syscall.Credential{Uid: r.dynamic.UID, Gid: r.dynamic.UID, Groups: []uint32{}}
	}
	cmd := Command{Path: path, Argv: argv, Env: env, Dir: dir, Credential: cred, Output: r.spec.Output,
		UMask: &s.UMask, Nice: s.Nice, NiceSet: s.NiceSet, Limits: s.Limits, IgnoreSIGPIPE: s.IgnoreSIGPIPE,
		Dirs: execDirsOf(s, r.spec.Bases), Exec: &s.Confinement, PrivateTmp: r.privateTmp, WritableDirs: writableDirs(s, r.spec.Bases),
		PrivateRoots: privateRoots(s, r.spec.Bases), cgroup: r.cg, namespaces: r.ns, Warn: func(msg string) { r.log(slog.LevelWarn, "%s", msg) }}
	if main {
		cmd.Hold = r.hold
	}
	// Held while the process starts, so that the reader of the socket
	// knows it before it can send.
	r.mu.Lock()
	p, err := start(cmd)
	if err == nil {
		r.groups = append(r.groups, p)
		if main {
			r.mainPID = p.pid
		} else {
			r.controlPID = p.pid
		}
	}
	r.mu.Unlock()
	if e, ok := errors.AsType[*setupError](err); ok {
		if e.What != "" {
			r.log(slog.LevelError, "%s: %s", e.What, ErrnoText(e.Errno))
		}
		return fail(e.Status, e.Step, e.Errno)
	}
	if err != nil {
		return fail(statusExec, "EXEC", err)
	}
	return p, Exit{}, true
}

func (r *Run) record(setting string, c unit.ExecCommand, p *process) {
	p.settle(r.clk)
	r.addRecord(Record{Setting: setting, Command: c, PID: p.pid, Exit: p.exit})
}

// addRecord keeps a command that ended, and tells Spec.Record of it.
func (r *Run) addRecord(rec Record) {
	r.out.Records = append(r.out.Records, rec)
	if r.spec.Record != nil {
		r.spec.Record(rec)
	}
}

// stopPhase runs ExecStop=, then signals what is left, then
// ExecStopPost=, then what is left again, as service_enter_stop,
// service_enter_signal and service_enter_stop_post; n says where it
// begins.
func (r *Run) stopPhase(n next) {
	s := r.spec.Service
	if n == enterStop && len(s.ExecStop) > 0 {
		r.setState(Stop)
		r.controls("ExecStop", s.ExecStop, s.TimeoutStopSec)
	}
	if n != enterStopPost {
		r.kill(StopSigterm, StopSigkill)
	}
	if len(s.ExecStopPost) > 0 {
		r.setState(StopPost)
		r.controls("ExecStopPost", s.ExecStopPost, s.TimeoutStopSec)
	}
	r.kill(FinalSigterm, FinalSigkill)
	r.finish()
}

// kill signals the processes left, as KillMode= says, waits for them
// until TimeoutStopSec=, then kills them with SIGKILL if SendSIGKILL=.
func (r *Run) kill(term, kill State) {
	s := r.spec.Service
	if r.stopsWholeGroup() {
		r.adoptStrays()
	}
	alive := r.alive()
	if len(alive) == 0 && !r.cgroupLeft() || s.KillMode == "none" {
		return
	}
	r.setState(term)
	sig := syscall.Signal(s.KillSignal)
	for _, p := range alive {
		// The whole group in control-group mode; the process alone in
		// the others (mixed kills the group with SIGKILL).
		group := s.KillMode == "control-group"
		p.signal(sig, group)
		if sig != syscall.SIGCONT && sig != syscall.SIGKILL {
			p.signal(syscall.SIGCONT, group)
		}
		if s.SendSIGHUP {
			p.signal(syscall.SIGHUP, group)
		}
	}
	if s.KillMode == "control-group" && r.cg != nil {
		// And every process the control group holds, wherever its
		// process group, as unit_kill_context signals the cgroup.
		r.cg.signal(sig, true)
		if s.SendSIGHUP {
			r.cg.signal(syscall.SIGHUP, false)
		}
	}
	if deadline := r.deadline(s.TimeoutStopSec); !r.waitGone(deadline) {
		r.killHard(term, kill)
	}
}

// killHard follows when term's time has run out: FinalKillSignal= if
// SendSIGKILL=, then a wait until TimeoutStopSec= again.
func (r *Run) killHard(term, kill State) {
	s := r.spec.Service
	r.fail(Timeout)
	if !s.SendSIGKILL || s.KillMode == "none" {
		r.log(slog.LevelWarn, "State '%s' timed out. Skipping SIGKILL.", term)
		return
	}
	r.log(slog.LevelWarn, "State '%s' timed out. Killing.", term)
	r.setState(kill)
	whole := r.stopsWholeGroup()
	if whole {
		r.adoptStrays()
	}
	for _, p := range r.alive() {
		p.signal(syscall.Signal(s.FinalKillSignal), whole)
	}
	if whole && r.cg != nil {
		r.cg.signal(syscall.Signal(s.FinalKillSignal), false)
	}
	if !r.waitGone(r.deadline(s.TimeoutStopSec)) {
		r.log(slog.LevelWarn, "Processes still around after %s. Ignoring.", unit.SignalName(s.FinalKillSignal))
	}
}

// invocationMark is the activation's INVOCATION_ID entry, "" if none.
func (r *Run) invocationMark() string {
	mark := ""
	for _, v := range r.spec.Env {
		if strings.HasPrefix(v, "INVOCATION_ID=") {
			mark = v
		}
	}
	return mark
}

// adoptStrays takes in the processes that left the activation's process
// groups (setsid, a double fork) but are in its control group or, where
// it has none, still carry its INVOCATION_ID, as the control group of
// systemd still holds them, for them to be signalled with the rest. One
// that leads a process group of its own is signalled with its group.
func (r *Run) adoptStrays() {
	var strays []procStat
	if r.cg != nil {
		strays = r.cg.members()
	} else if mark := r.invocationMark(); mark != "" {
		strays = marked(mark, r.resumed)
	} else {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	known := map[int]bool{}
	for _, p := range r.groups {
		known[p.pid] = true
		if p.pgid > 0 {
			known[-p.pgid] = true
		}
	}
	for _, st := range strays {
		if known[st.pid] || known[-st.pgrp] {
			continue
		}
		p := &process{pid: st.pid, alien: true, output: make(chan struct{}), exited: make(chan struct{})}
		close(p.output)
		p.proc, _ = os.FindProcess(st.pid)
		if st.pgrp == st.pid {
			p.pgid = st.pid
			known[-st.pid] = true
		}
		known[st.pid] = true
		go func() {
			// Owned by the process: it ends when the process is gone,
			// or with the activation.
			if r.awaitGone(p) {
				close(p.exited)
			}
		}()
		r.groups = append(r.groups, p)
	}
}

// alive returns the processes to be stopped: in control-group and mixed
// mode those whose groups still have members, in the others those not
// reaped. Groups seen empty are forgotten, so that their number, once
// free, is never signalled.
func (r *Run) alive() []*process {
	r.mu.Lock()
	defer r.mu.Unlock()
	wholeGroup := r.stopsWholeGroup()
	var ps []*process
	kept := r.groups[:0]
	for _, p := range r.groups {
		switch {
		case !p.reaped():
			ps = append(ps, p)
		case wholeGroup && p.groupAlive():
			ps = append(ps, p)
		case !p.groupAlive():
			p.finishOutput(r.clk)
			r.out.CPU += p.cpu
			continue
		}
		kept = append(kept, p)
	}
	r.groups = kept
	return ps
}

// stopsWholeGroup reports whether the stop reaches every process of
// the service, not its main process alone, as KillMode=control-group
// and mixed (with its SIGKILL) do.
func (r *Run) stopsWholeGroup() bool {
	m := r.spec.Service.KillMode
	return m == "control-group" || m == "mixed"
}

// cgroupLeft reports whether, where the stop reaches every process, a
// process is left in the control group.
func (r *Run) cgroupLeft() bool {
	return r.cg != nil && r.stopsWholeGroup() && r.cg.populated()
}

// waitGone waits until every process to be stopped is gone, or the
// deadline. A group whose leader is reaped is waited for through the
// control group, which tells when it empties; without one, it is
// polled, as there is nothing to wait on for the rest of it.
func (r *Run) waitGone(deadline <-chan time.Time) bool {
	for {
		// Asked first: a group that empties after is told.
		emptied := r.emptied()
		ps := r.alive()
		if len(ps) == 0 && r.cgroupLeft() {
			// Started by those signalled before they went: systemd
			// waits for its cgroup to empty.
			r.adoptStrays()
			ps = r.alive()
		}
		if len(ps) == 0 {
			return true
		}
		var leader <-chan struct{}
		for _, p := range ps {
			if !p.reaped() {
				leader = p.exited
			}
		}
		// Every process started is in the control group, and what
		// was left there was adopted above: the rest of the groups
		// goes with the last of it.
		var tick <-chan time.Time
		stop := func() bool { return false }
		if leader == nil && emptied == nil {
			tick, stop = r.clk.After(10 * time.Millisecond)
		}
		select {
		case <-leader:
		case <-emptied:
		case <-tick:
		case <-deadline:
			stop()
			return len(r.alive()) == 0
		}
		stop()
	}
}

// emptied returns a channel that has a value when the control group may
// have emptied, where it tells that (see cgroup.changes) and holds a
// process; nil where the caller has to poll: without one, or for a
// process a privileged service moved out of it, or a zombie of its own
// not reaped yet, which the group no longer holds. It is asked before
// what is left is looked at, so that a group emptied in between is told.
func (r *Run) emptied() <-chan struct{} {
	if r.cg == nil || r.cg.changes() == nil || !r.cg.populated() {
		return nil
	}
	return r.cg.changes()
}

// finish reads what is left of the output of the processes gone, and
// enters the final state, logging the result as systemd does. Processes
// that were left running (KillMode=none, SendSIGKILL=no) are left.
func (r *Run) finish() {
	r.closeNotify()
	r.mu.Lock()
	close(r.quit)
	groups, files := r.groups, r.endFiles
	r.out.StatusText, r.out.StatusErrno = r.status, r.statusErrno
	r.mu.Unlock()
	for _, f := range files {
		f.Close()
	}
	if r.cg != nil {
		r.cg.close()
	}
	if r.ns != nil {
		r.ns.close()
	}
	for _, d := range r.privateTmp {
		if d != "" {
			os.RemoveAll(filepath.Dir(d))
		}
	}
	r.watch.Wait()
	if r.dynamic != nil {
		r.dynamic.release()
	}
	for _, p := range groups {
		if p.reaped() {
			p.finishOutput(r.clk)
			r.out.CPU += p.cpu
		}
	}
	// How a main process the stop ended went: systemd records it however
	// the main process ends (ExecMainCode=, ExecMainStatus=).
	if m := r.main; m != nil && m.cmd != nil && !m.alien && m.reaped() && r.out.Main == (Exit{}) {
		r.out.Main = m.exit
	}
	// service_enter_dead: unit_log_success, unit_log_skip or
	// unit_log_failure.
	result := "UNIT_RESULT=" + string(r.out.Result)
	switch r.out.Result {
	case Success:
		r.logFields(slog.LevelInfo, []string{"MESSAGE_ID=" + MessageUnitSuccess}, "Deactivated successfully.")
	case SkipCondition:
		r.logFields(slog.LevelInfo, []string{"MESSAGE_ID=" + MessageUnitSkipped, result}, "Skipped due to '%s'.", r.out.Result)
	default:
		r.logFields(slog.LevelWarn, []string{"MESSAGE_ID=" + MessageUnitFailureResult, result}, "Failed with result '%s'.", r.out.Result)
		r.setState(Failed)
		return
	}
	r.setState(Dead)
}

// logExit logs how a process of kind ("Main process") of the setting
// (ExecStart) ended, as unit_log_process_exit: a success at debug level,
// a failure by exit() as a notice, the service having said why itself,
// and by a signal as a warning.
func (r *Run) logExit(kind, setting string, e Exit, success bool) {
	level := slog.LevelDebug
	switch {
	case !success && e.Code == CodeExited:
		level = levelNotice
	case !success:
		level = slog.LevelWarn
	}
	r.logFields(level, ExitFields(setting, e), "%s exited, %s", kind, e)
}

// ExitFields are the fields of systemd's message about how a process of
// a unit ended (unit_log_process_exit), the command of kind (ExecStart).
func ExitFields(kind string, e Exit) []string {
	return []string{"MESSAGE_ID=" + MessageUnitProcessExit, "EXIT_CODE=" + e.Code.String(), fmt.Sprintf("EXIT_STATUS=%d", e.Status), "COMMAND=" + kind}
}

// levelNotice is syslog's notice, between info and warning.
const levelNotice = slog.Level(2)

// ErrnoText is an error as systemd's %m prints it: the C library's text
// of the errno it carries, else its own.
func ErrnoText(err error) string {
	if e, ok := errors.AsType[syscall.Errno](err); ok {
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
