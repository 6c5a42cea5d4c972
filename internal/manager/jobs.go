package manager

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// The results of a job, as systemd names them.
const (
	jobDone       = "done"
	jobFailed     = "failed"
	jobSkipped    = "skipped" // JOB_SKIPPED: ExecCondition= skipped the unit
	jobDependency = "dependency"
	jobCanceled   = "canceled"
)

// An activation is why a service starts: a timer, by hand, a restart,
// another unit's failure; with what its processes are told.
type activation struct {
	timer  string // the timer that fired, if one did
	reason string // the run history's: OnCalendar, manual, restart, OnFailure, …
	// runID and invocation are the run recorded already, with the
	// trigger; 0 and "" for none.
	runID      int64
	invocation string
	env        []string
	// tested is when the start job tested the unit's conditions, if it
	// did: a run the job begins begins then, so that the history keeps
	// the instant a daemon started again shows as the test's
	// (restoreTests).
	tested timer.Instant
}

// settleJobs tells the jobs waiting on a unit that it changed; those it
// settles are done with.
func (m *Manager) settleJobs(e *entry) {
	if len(e.waiters) == 0 {
		return
	}
	waiters := e.waiters
	e.waiters = nil
	for _, w := range waiters {
		if !w() {
			e.waiters = append(e.waiters, w)
		}
	}
}

// start starts a unit as a start job: the units it requires or wants
// first, and once those it is ordered after have started, the unit
// itself. done, if set, is told the job's result.
func (m *Manager) start(e *entry, act activation, done func(string)) {
	m.startJob(e, act, done, map[*entry]bool{})
}

func (m *Manager) startJob(e *entry, act activation, done func(string), seen map[*entry]bool) {
	if m.down {
		// The start part of a restart whose stop the daemon's own stop
		// waited for, or the start its end would make: canceled, as the
		// jobs of systemd going down are.
		m.endRun(e, act.runID, nil)
		if done != nil {
			done(jobCanceled)
		}
		return
	}
	if seen[e] {
		if done != nil {
			done(jobDone) // a cycle: systemd breaks it too
		}
		return
	}
	seen[e] = true
	if e.jobIs("start") {
		// A start asked for while one is under way merges with it, and
		// ends with it (job_merge_into_installed); the trigger's run is
		// that one's.
		m.endRun(e, act.runID, nil)
		if done != nil {
			e.job.joined = append(e.job.joined, done)
		}
		return
	}
	finish := m.jobOf(e, "start", done)
	u := e.u()
	for _, name := range u.Unit.Deps["Conflicts"] {
		if c := m.units[name]; c != nil && c.isActive() {
			m.stop(c, nil)
		}
	}
	// The loop that asks for the dependencies counts as one pending: a
	// dependency whose job ends at once (a target, a failed assert) does
	// not let the unit go on before the others are asked, nor twice.
	pending, failed := 1, false
	settle := func() {
		if pending--; pending > 0 {
			return
		}
		if failed {
			m.jobLog(u.Name, "", "start", jobDependency, "Dependency failed for "+describe(e)+".")
			finish(jobDependency)
			return
		}
		m.activate(e, act, finish)
	}
	for _, kind := range []string{"Requires", "BindsTo", "Wants"} {
		required := kind != "Wants"
		for _, name := range u.Unit.Deps[kind] {
			d, err := m.get(name)
			if err != nil || d.loadState != unit.Loaded {
				if required {
					failed = true
				}
				continue
			}
			ordered := slices.Contains(u.Unit.Deps["After"], name) || slices.Contains(d.u().Unit.Deps["Before"], u.Name)
			depDone := func(r string) {
				if r != jobDone && required {
					failed = true
				}
				settle()
			}
			switch {
			case d.isActive() && !d.deactivating() && !d.jobIs("start"):
			case !ordered:
				m.startJob(d, activation{reason: "manual"}, nil, seen)
			default:
				// Its start may be under way, activating or waiting for
				// its own dependencies: the unit ordered after it waits
				// for that job's end, as job_is_runnable waits for the
				// jobs of the units a job is ordered after.
				pending++
				m.startJob(d, activation{reason: "manual"}, depDone, seen)
			}
		}
	}
	settle()
}

// deactivating reports whether the unit is a service whose activation
// is stopping: asked to stop, or in a stop state of its own.
func (e *entry) deactivating() bool {
	a, _ := e.activeSub()
	return a == "deactivating"
}

// activate starts the unit itself.
func (m *Manager) activate(e *entry, act activation, done func(string)) {
	if !m.testConditions(e, &act, done) {
		return
	}
	switch {
	case e.timer != nil:
		if !m.startTimer(context.Background(), e) {
			done(jobFailed)
			return
		}
		done(jobDone)
	case e.typ == unit.Target:
		if !e.targetActive {
			e.targetActive = true
			m.changed(e)
			m.jobLog(e.name, "", "start", jobDone, "Reached target "+describe(e)+".")
		}
		done(jobDone)
	case e.typ == unit.Service && (e.loadState == unit.Loaded || e.loadState == unit.BadSetting):
		m.startService(e, act, done)
	default:
		m.unitLog(e.name, "", 4, fmt.Sprintf("Unit type %s is not supported by sundial; not starting it.", e.typ))
		done(jobFailed)
	}
}

// startService starts an activation of a service, unless one runs; done
// is told when the start job is: when the service is active, or for a
// oneshot, has finished.
func (m *Manager) startService(e *entry, act activation, done func(string)) {
	e.own()
	name := e.name
	if e.deactivating() {
		// service_start refuses with -EAGAIN while the service stops:
		// the start job waits for the stop to end, then starts anew.
		e.waiters = append(e.waiters, func() bool {
			if e.run != nil {
				return false
			}
			// Once the end is told in full (OnSuccess=, OnFailure=).
			m.later = append(m.later, func() { m.startService(e, act, done) })
			return true
		})
		return
	}
	if e.restartPending {
		e.restartPending = false // started now instead
	} else if e.isActive() {
		m.endRun(e, act.runID, nil) // the trigger's run: none began
		done(jobDone)
		return
	}
	u := e.u()
	s := u.Service
	now := m.clk.Now()
	if !m.startAllowed(e, &u.Unit, now) {
		m.unitLog(name, "", 4, name+": Start request repeated too quickly.")
		m.unitLog(name, "", 4, fmt.Sprintf("%s: Failed with result '%s'.", name, startLimitHit), failureFields(startLimitHit)...)
		m.jobLog(name, "", "start", jobFailed, "Failed to start "+describe(e)+".")
		e.sub, e.result = "", startLimitHit
		m.endRun(e, act.runID, &service.Outcome{Result: startLimitHit})
		m.changed(e)
		m.tellTimers(e)
		m.afterEnd(e, service.Outcome{Result: startLimitHit})
		done(jobFailed)
		return
	}
	invocation := act.invocation
	if invocation == "" {
		invocation = newID()
	}
	if act.runID == 0 {
		began := now
		if act.tested != (timer.Instant{}) {
			began = act.tested
		}
		r := store.Run{Unit: name, Timer: act.timer, Reason: act.reason, Invocation: invocation, Started: began.Realtime,
			StartedMonotonic: began.Monotonic, Boot: m.boot}
		act.runID = m.recordRun("a run of "+name, func(ctx context.Context) (int64, error) { return m.writes.StartRun(ctx, r) })
	}
	m.observeStart(name, act.runID, now)
	e.invocation, e.runID, e.result, e.mainPID, e.stopping, e.status, e.records = invocation, act.runID, service.Success, 0, false, "", nil
	e.waiters = append(e.waiters, m.startWaiter(e, done))
	cred, userInfo, step, err := credentials(s)
	if err != nil {
		// As the child systemd forks fails, before any command runs: a
		// simple service is started by then.
		if service.ActiveAtFork(s) {
			e.sub = service.Running
			m.changed(e)
		}
		m.unitLog(name, invocation, 3, fmt.Sprintf("%s: Failed to determine %s credentials: %s", name, strings.ToLower(step), service.ErrnoText(err)))
		m.unitLog(name, invocation, 3, fmt.Sprintf("%s: Failed at step %s spawning %s: %s", name, step, firstCommand(s), service.ErrnoText(err)))
		status := 217 // USER
		if step == "GROUP" {
			status = 216
		}
		out := service.Outcome{Result: service.ExitCode, Main: service.Exit{Code: service.CodeExited, Status: status}}
		m.unitLog(name, invocation, 5, fmt.Sprintf("%s: Main process exited, %s", name, out.Main), service.ExitFields("ExecStart", out.Main)...)
		m.unitLog(name, invocation, 4, fmt.Sprintf("%s: Failed with result '%s'.", name, out.Result), failureFields(out.Result)...)
		m.failStart(e, act, out)
		return
	}
	env, err := service.Environment(s, service.EnvSource{Manager: m.Env, Activation: act.env, InvocationID: invocation, User: userInfo, Bases: m.execBases()})
	if err != nil {
		m.unitLog(name, invocation, 3, name+": Failed to load environment files: "+service.ErrnoText(err))
		m.unitLog(name, invocation, 3, name+": Failed to run 'start' task: "+service.ErrnoText(err))
		m.unitLog(name, invocation, 4, fmt.Sprintf("%s: Failed with result '%s'.", name, service.Resources), failureFields(service.Resources)...)
		m.failStart(e, act, service.Outcome{Result: service.Resources})
		return
	}
	e.sub = firstState(s)
	m.changed(e)
	// After the state: status shows the journal from there.
	m.jobLog(name, invocation, "start", "", "Starting "+describe(e)+"...")
	m.runService(e, service.Spec{Service: s, Env: env, Dir: workingDir(s, userInfo), DirMissingOK: s.WorkingDirectoryMissingOK, Credential: cred, CGroup: m.cgroupDir(name)}, service.Begin)
}

// cgroupDir is the directory of a service's control group, "" where
// the manager has none: <root>/<unit>, escaped as cg_escape.
func (m *Manager) cgroupDir(name string) string {
	if m.CGroup == "" {
		return ""
	}
	return filepath.Join(m.CGroup, service.CGroupEscape(name))
}

// workingDir is a service's WorkingDirectory=, "~" its user's home.
func workingDir(s *unit.ServiceSection, userInfo *service.UserInfo) string {
	if s.WorkingDirectory != "~" {
		return s.WorkingDirectory
	}
	if userInfo != nil {
		return userInfo.Home
	}
	home, _ := os.UserHomeDir()
	return home
}

// runService runs the activation of a service that begin starts from
// spec, and tells the service's entry of its states, main process and
// status, the journal of its messages and output, and the loop of its
// end.
func (m *Manager) runService(e *entry, spec service.Spec, begin func(service.Spec) *service.Run) {
	name, invocation, ident := e.name, e.invocation, spec.Service.SyslogIdentifier
	var run *service.Run
	// Told in the loop, once run is set; what an activation before
	// this one tells is stale. The channel is closed once the loop has
	// taken it.
	current := func(f func()) <-chan struct{} {
		done := make(chan struct{})
		m.events <- func() {
			if e.run == run {
				f()
			}
			close(done)
		}
		return done
	}
	spec.Clock = m.clk
	levelPrefix, level := spec.Service.SyslogLevelPrefix, spec.Service.SyslogLevel
	spec.Output = func(l service.Line) {
		msg, priority, ok := service.JournalMessage(l.Text, levelPrefix, level)
		if !ok {
			return
		}
		id := ident
		if id == "" {
			id = l.Command
		}
		now := m.clk.Now()
		m.journal <- store.Entry{Realtime: now.Realtime, Monotonic: now.Monotonic, Boot: m.boot, Unit: name, Invocation: invocation, PID: l.PID, Identifier: id, Priority: priority, Message: msg}
	}
	// Through the loop, in order with the states, and so with the job's
	// messages ("Started …" before "Deactivated …").
	spec.Log = func(level slog.Level, msg string, fields ...string) {
		m.events <- func() { m.unitLog(name, invocation, levelPriority(level), name+": "+msg, fields...) }
	}
	// Waited for: its messages come before the output that follows.
	spec.State = func(st service.State) { <-current(func() { m.serviceState(e, st) }) }
	spec.MainPID = func(pid int) {
		current(func() {
			e.mainPID, e.mainStart, e.mainExit = pid, m.clk.Now().Realtime, 0
			m.recordMainPID(name, e.runID, pid, store.SubRunning)
		})
	}
	spec.Status = func(text string) { current(func() { e.status = text }) }
	spec.Record = func(rec service.Record) { current(func() { e.records = append(e.records, rec) }) }
	spec.NotifyDir = m.notifyDir()
	spec.Bases = m.execBases()
	spec.DynamicUsers = filepath.Join(m.StateDir, "dynamic-uid")
	run = begin(spec)
	e.run = run
	m.runs.Go(func() {
		out := run.Wait()
		m.events <- func() { m.serviceEnded(e, run, out) }
	})
}

// notifyDir is where services' notification sockets are made: beside
// the control socket, in a directory only the daemon's user may enter.
func (m *Manager) notifyDir() string {
	if m.Socket == "" {
		return ""
	}
	return filepath.Dir(m.Socket)
}

// failStart ends an activation that failed before any command ran.
func (m *Manager) failStart(e *entry, act activation, out service.Outcome) {
	m.endRun(e, act.runID, &out)
	e.sub, e.result, e.last = "", out.Result, &out
	m.changed(e)
	// It never left the inactive states: told all the same, as systemd
	// tells of the failed start.
	m.tellTimers(e)
	m.afterEnd(e, out)
}

// firstCommand is the executable of the first command an activation
// runs, as systemd's messages about a failed spawn name it.
func firstCommand(s *unit.ServiceSection) string {
	for _, cmds := range [][]unit.ExecCommand{s.ExecCondition, s.ExecStartPre, s.ExecStart} {
		if len(cmds) > 0 {
			return cmds[0].Path
		}
	}
	return ""
}

// startLimitHit is the result of a unit started too often.
const startLimitHit service.Result = "start-limit-hit"

// firstState is the sub-state an activation of s begins in.
func firstState(s *unit.ServiceSection) service.State {
	switch {
	case len(s.ExecCondition) > 0:
		return service.Condition
	case len(s.ExecStartPre) > 0:
		return service.StartPre
	}
	return service.Start
}

// startAllowed counts a start against StartLimitIntervalSec= and
// StartLimitBurst=, and reports whether it is within them.
func (m *Manager) startAllowed(e *entry, u *unit.UnitSection, now timer.Instant) bool {
	interval, burst := uint64(u.StartLimitInterval), int(u.StartLimitBurst)
	if interval == 0 || burst == 0 {
		return true
	}
	e.starts = slices.DeleteFunc(e.starts, func(t uint64) bool { return t+interval <= now.Monotonic })
	if len(e.starts) >= burst {
		return false
	}
	e.starts = append(e.starts, now.Monotonic)
	return true
}

// startWaiter is a start job waiting for its service to be active, or,
// having run, inactive: the job is then done, or failed, as the
// service's result says.
func (m *Manager) startWaiter(e *entry, done func(string)) func() bool {
	return func() bool {
		if e.stopping {
			// A stop asked for while the start ran: the stop job takes
			// the start job's place, which ends canceled, without a word
			// in the journal (job_type_merge_and_collapse, JOB_CANCELED).
			done(jobCanceled)
			return true
		}
		active, _ := e.activeSub()
		switch {
		case active == "active" || active == "inactive" && e.result == service.Success:
			m.jobLog(e.name, e.invocation, "start", jobDone, startedMessage(e))
			done(jobDone)
		case active == "inactive" && e.result == service.SkipCondition:
			// unit_process_job: JOB_SKIPPED, which has no message.
			done(jobSkipped)
		case active == "failed" || active == "inactive":
			m.jobLog(e.name, e.invocation, "start", jobFailed, "Failed to start "+describe(e)+".")
			done(jobFailed)
		default:
			return false
		}
		return true
	}
}

// resourcesPriority is the level unit_log_resources logs the CPU time
// a unit consumed at: info from a second (MENTIONWORTHY_CPU_NSEC),
// notice from ten minutes (NOTICEWORTHY_CPU_NSEC), debug below, which
// the journal does not keep.
func resourcesPriority(cpu time.Duration) int {
	switch {
	case cpu > 10*time.Minute:
		return 5
	case cpu > time.Second:
		return 6
	}
	return 7
}

// failureFields are those of unit_log_failure's message, "Failed with
// result".
func failureFields(result service.Result) []string {
	return []string{"MESSAGE_ID=" + service.MessageUnitFailureResult, "UNIT_RESULT=" + string(result)}
}

// startedMessage is what the journal says of a start job done:
// "Finished" for a oneshot, whether it remains active or has ended
// (service_finished_job), else job_done_message_format's "Started", also
// for a service that ended before the job was done.
func startedMessage(e *entry) string {
	if e.u().Service.Type == "oneshot" {
		return "Finished " + describe(e) + "."
	}
	return "Started " + describe(e) + "."
}

// serviceState notes the sub-state an activation entered; its end is
// serviceEnded's.
func (m *Manager) serviceState(e *entry, st service.State) {
	if st == service.Dead || st == service.Failed {
		return
	}
	// Where the run is, for the daemon started again to take it up
	// there: active with no process, or being stopped.
	switch {
	case e.runID == 0:
	case st == service.Exited:
		m.recordMainPID(e.name, e.runID, 0, store.SubExited)
	case st.Active() == "deactivating" && e.sub.Active() != "deactivating":
		m.recordMainPID(e.name, e.runID, e.mainPID, store.SubStopping)
	}
	e.sub = st
	m.changed(e)
}

// serviceEnded records how an activation ended, then restarts the
// service as Restart= says, or starts its OnFailure= or OnSuccess= units.
func (m *Manager) serviceEnded(e *entry, run *service.Run, out service.Outcome) {
	if e.run != run {
		return
	}
	e.run = nil
	m.endRun(e, e.runID, &out)
	e.sub, e.result, e.last, e.mainPID = "", out.Result, &out, 0
	if e.mainStart > 0 {
		e.mainExit = m.clk.Now().Realtime
	}
	if out.Result == service.SkipCondition {
		// service_sigchld_event: what ConditionResult= shows; its
		// timestamp stays that of the unit's conditions.
		e.cond.ok = false
	}
	restarting := !e.stopping && m.restart(e, out)
	// unit_destroy_runtime_data, as service_enter_dead calls it.
	if s := e.u().Service; s != nil && (s.Confinement.RuntimeDirectoryPreserve == "no" || s.Confinement.RuntimeDirectoryPreserve == "restart" && !restarting) {
		service.RemoveRuntimeDirectories(s, m.execBases())
	}
	m.changed(e)
	if restarting && e.job == nil && e.u().Service.RestartMode != "direct" {
		// service_enter_dead passes through an inactive state on its way
		// to auto-restart (SERVICE_DEAD_BEFORE_AUTO_RESTART, and its
		// failed twin), which stops the units bound to it, as any
		// unexpected stop; RestartMode=direct goes straight there.
		m.queueBindsCheck(e, true)
	}
	// After the job's message, as unit_log_resources.
	if p := resourcesPriority(out.CPU); p <= 6 {
		m.unitLog(e.name, e.invocation, p, fmt.Sprintf("%s: Consumed %s CPU time.", e.name, timespan.Span(out.CPU/time.Microsecond).Format(timespan.Millisecond)),
			"MESSAGE_ID="+service.MessageUnitResources, fmt.Sprintf("CPU_USAGE_NSEC=%d", out.CPU.Nanoseconds()))
	}
	if !restarting {
		m.afterEnd(e, out)
	}
}

// restart schedules the service's start again if Restart= says so for
// how it ended, and reports whether it did.
func (m *Manager) restart(e *entry, out service.Outcome) bool {
	s := e.u().Service
	if !restartWanted(s, out) {
		return false
	}
	e.restartPending = true
	name := e.name
	d, _ := s.RestartSec.Duration()
	wake, _ := m.clk.After(d)
	go func() {
		// Ends with the wait; the loop checks the restart is still wanted.
		<-wake
		m.events <- func() {
			if !e.restartPending {
				return
			}
			e.restarts++
			m.unitLog(name, "", 6, fmt.Sprintf("%s: Scheduled restart job, restart counter is at %d.", name, e.restarts),
				"MESSAGE_ID="+service.MessageUnitRestartScheduled, fmt.Sprintf("N_RESTARTS=%d", e.restarts))
			m.start(e, activation{reason: "restart"}, nil)
		}
	}()
	return true
}

// restartWanted is service_shall_restart: Restart= for the result, with
// RestartPreventExitStatus= and RestartForceExitStatus=.
func restartWanted(s *unit.ServiceSection, out service.Outcome) bool {
	if out.Result == service.SkipCondition {
		return false
	}
	main := out.Main
	inSet := func(set unit.ExitStatusSet) bool {
		switch main.Code {
		case service.CodeExited:
			return slices.Contains(set.Status, main.Status)
		case service.CodeKilled, service.CodeDumped:
			return slices.Contains(set.Signals, main.Status)
		}
		return false
	}
	if inSet(s.RestartForceExitStatus) {
		return true
	}
	if inSet(s.RestartPreventExitStatus) {
		return false
	}
	r := out.Result
	switch s.Restart {
	case "always":
		return r != startLimitHit
	case "on-success":
		return r == service.Success
	case "on-failure":
		return r != service.Success && r != startLimitHit
	case "on-abnormal":
		return r == service.Signal || r == service.CoreDump || r == service.Timeout || r == "watchdog"
	case "on-watchdog":
		return r == "watchdog"
	case "on-abort":
		return r == service.Signal || r == service.CoreDump
	}
	return false
}

// afterEnd starts the OnFailure= or OnSuccess= units of a service that
// ended, with the MONITOR_… variables systemd gives them.
func (m *Manager) afterEnd(e *entry, out service.Outcome) {
	kind := "OnSuccess"
	if out.Result.Failed() {
		kind = "OnFailure"
	}
	env := []string{"MONITOR_INVOCATION_ID=" + e.invocation, "MONITOR_UNIT=" + e.name}
	// As ExecStopPost= is told: SERVICE_RESULT, EXIT_CODE, EXIT_STATUS.
	for _, v := range service.StopPostEnv(out) {
		env = append(env, "MONITOR_"+v)
	}
	for _, name := range e.u().Unit.Deps[kind] {
		o, err := m.get(name)
		if err != nil || o.loadState != unit.Loaded {
			m.unitLog(e.name, "", 4, fmt.Sprintf("Failed to enqueue %s job, ignoring: Unit %s not found.", kind, name))
			continue
		}
		m.start(o, activation{reason: kind, env: env}, nil)
	}
}

// A job is a job under way for a unit.
type job struct {
	kind string // "start" or "stop"
	// joined are told the job's result: the start jobs of units ordered
	// after the unit, that wait for it.
	joined []func(string)
}

// jobIs reports whether the job under way for e is of the kind.
func (e *entry) jobIs(kind string) bool { return e.job != nil && e.job.kind == kind }

// jobOf notes a job of the kind under way for the unit, and returns what
// ends it: that tells done, if set, and those that joined the job, its
// result.
func (m *Manager) jobOf(e *entry, kind string, done func(string)) func(string) {
	j := &job{kind: kind}
	e.job = j
	return func(r string) {
		if e.job == j {
			e.job = nil
		}
		if done != nil {
			done(r)
		}
		for _, f := range j.joined {
			f(r)
		}
		// job_finish_and_invalidate: the unit may now be bound to one
		// inactive.
		m.queueBindsCheck(e, false)
	}
}

// stop stops a unit as a stop job, with the units its stop propagates to
// (transaction_add_job_and_dependencies, JOB_STOP to the units of
// UNIT_ATOM_PROPAGATE_STOP): those that Requires=, Requisite=, BindsTo= or
// PartOf= it, its PropagatesStopTo= and those StopPropagatedFrom= it
// (UNIT_ATOM_PROPAGATE_STOP_GRACEFUL). As
// the stop jobs of a transaction are ordered, a unit ordered after another
// stops before it. done, if set, is told the unit's result.
func (m *Manager) stop(e *entry, done func(string)) {
	m.stopJob(e, done, map[*entry]bool{}, false, true)
}

// stopJob stops e and the units its stop propagates to. A stop goes on
// through a unit inactive, whose own stop job is dropped as redundant
// (transaction_drop_redundant): a unit active that requires it is still
// stopped. The stop part of a restart does not: systemd gives those units
// try-restart jobs, which job_type_collapse makes nothing for a unit
// inactive, with no jobs for those beyond it. With graceful, e is the unit
// stopped or restarted, or one a stop reached by PropagatesStopTo=: its
// own PropagatesStopTo= units are stopped too, after the others, and stay
// stopped in a restart, as UNIT_ATOM_PROPAGATE_STOP_GRACEFUL is followed
// only from there.
func (m *Manager) stopJob(e *entry, done func(string), seen map[*entry]bool, restart, graceful bool) {
	if seen[e] {
		if done != nil {
			done(jobDone)
		}
		return
	}
	seen[e] = true
	type edge struct {
		d                 *entry
		restart, graceful bool
	}
	var edges []edge
	for _, d := range m.stopPropagatesTo(e) {
		if !restart || d.isActive() || d.jobIs("start") {
			edges = append(edges, edge{d, restart, false})
		}
	}
	if graceful {
		for _, d := range m.propagatesStopTo(e) {
			edges = append(edges, edge{d, false, true})
		}
	}
	var then []edge // to stop once e has: e is ordered after them
	pending := 1
	settle := func(string) {
		if pending--; pending > 0 {
			return
		}
		m.stopUnit(e, func(r string) {
			for _, x := range then {
				m.stopJob(x.d, nil, seen, x.restart, x.graceful)
			}
			if done != nil {
				done(r)
			}
		})
	}
	for _, x := range edges {
		switch {
		case orderedAfter(x.d, e):
			pending++
			m.stopJob(x.d, settle, seen, x.restart, x.graceful)
		case orderedAfter(e, x.d):
			then = append(then, x)
		default:
			m.stopJob(x.d, nil, seen, x.restart, x.graceful)
		}
	}
	settle(jobDone)
}

// restartJob restarts a unit as a restart job: the units its stop
// propagates to that are active are stopped with it, and started again
// once it has, as the try-restart jobs systemd gives them
// (UNIT_ATOM_PROPAGATE_RESTART, which reaches the same units); those of
// its PropagatesStopTo= are only stopped.
func (m *Manager) restartJob(e *entry, done func(string)) {
	var again []*entry
	var walk func(*entry)
	walk = func(x *entry) {
		for _, d := range m.stopPropagatesTo(x) {
			if d != e && d.isActive() && !slices.Contains(again, d) {
				again = append(again, d)
				walk(d)
			}
		}
	}
	walk(e)
	m.stopJob(e, func(string) {
		m.start(e, activation{reason: "manual"}, func(r string) {
			if r == jobCanceled {
				// So are theirs, without a word (job_done_message_format
				// has none for a canceled start).
				done(r)
				return
			}
			// Their restart jobs are in e's transaction: one that needs
			// a unit whose start failed fails with it (job_fail_dependencies,
			// UNIT_ATOM_PROPAGATE_START_FAILURE), its start not tried again.
			failed := map[string]bool{}
			if r != jobDone {
				failed[e.name] = true
			}
			needsFailed := func(d *entry) bool {
				deps := d.u().Unit.Deps
				return slices.ContainsFunc([]string{"Requires", "Requisite", "BindsTo"}, func(kind string) bool {
					return slices.ContainsFunc(deps[kind], func(n string) bool { return failed[n] })
				})
			}
			for _, d := range again {
				if needsFailed(d) {
					failed[d.name] = true
					m.jobLog(d.name, "", "start", jobDependency, "Dependency failed for "+describe(d)+".")
					continue
				}
				m.start(d, activation{reason: "manual"}, nil)
			}
			done(r)
		})
	}, map[*entry]bool{}, true, true)
}

// stopPropagatesTo returns the units a stop of e propagates to, and a
// restart of it as a try-restart (UNIT_ATOM_PROPAGATE_STOP and
// UNIT_ATOM_PROPAGATE_RESTART): those that require it (Requires=,
// Requisite=), are bound to it or part of it, in the order of their names.
func (m *Manager) stopPropagatesTo(e *entry) []*entry {
	return m.naming(e, listStopFrom)
}

// propagatesStopTo returns the units of e's PropagatesStopTo=, and those
// that StopPropagatedFrom= it, in the order of their names.
func (m *Manager) propagatesStopTo(e *entry) []*entry {
	to := m.naming(e, listStopPropagatedFrom)
	for _, name := range e.u().Unit.Deps["PropagatesStopTo"] {
		if d := m.units[name]; d != nil && d != e && !slices.Contains(to, d) {
			to = append(to, d)
		}
	}
	slices.SortFunc(to, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	return to
}

// orderedAfter reports whether a is ordered after b: a has After=b, or b
// Before=a.
func orderedAfter(a, b *entry) bool {
	return slices.Contains(a.u().Unit.Deps["After"], b.name) || slices.Contains(b.u().Unit.Deps["Before"], a.name)
}

// boundTo returns the units that have BindsTo= on e, in the order of
// their names.
func (m *Manager) boundTo(e *entry) []*entry {
	return m.naming(e, listBindsTo)
}

// A nameList is one of the lists of units' names an entry keeps.
type nameList int

const (
	listStopFrom nameList = iota
	listStopPropagatedFrom
	listBindsTo
)

func (e *entry) names(l nameList) []string {
	switch l {
	case listStopFrom:
		return e.stopFrom
	case listStopPropagatedFrom:
		return e.stopPropagatedFrom
	}
	return e.bindsTo
}

// naming returns the other units whose list l holds e's name, in the
// order of their names. They are found in an index of the lists by the
// names they hold, made at the first call since the units last changed:
// a search of every unit at each change of a unit's state costs a
// daemon of many units more than all else.
func (m *Manager) naming(e *entry, l nameList) []*entry {
	if m.named == nil {
		m.named = map[nameList]map[string][]*entry{}
	}
	index, ok := m.named[l]
	if !ok {
		index = map[string][]*entry{}
		for _, d := range m.units {
			for _, name := range d.names(l) {
				if !slices.Contains(index[name], d) {
					index[name] = append(index[name], d)
				}
			}
		}
		m.named[l] = index
	}
	var found []*entry
	for _, d := range index[e.name] {
		if d != e {
			found = append(found, d)
		}
	}
	slices.SortFunc(found, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	return found
}

// unitsChanged drops the index of naming and the list of cluster
// timers, when a unit is added, dropped or loaded again.
func (m *Manager) unitsChanged() { m.named, m.cluster.listed = nil, nil }

// queueBindsCheck has the loop check, once the work at hand is done,
// whether e, or a unit bound to it, is bound to a unit that is inactive
// (the stop-when-bound queue). With unexpected, e left the active states
// of itself, not by a job: the units bound to it are stopped, as
// retroactively_stop_dependencies stops them.
func (m *Manager) queueBindsCheck(e *entry, unexpected bool) {
	m.later = append(m.later, func() {
		bound := m.boundTo(e)
		if unexpected {
			for _, d := range bound {
				if d.isActive() && !d.deactivating() && !d.jobIs("stop") {
					m.stop(d, nil)
				}
			}
		}
		for _, d := range append([]*entry{e}, bound...) {
			m.checkBindsTo(d)
		}
	})
}

// checkBindsTo is unit_check_binds_to: a unit active, with no job, that
// is bound to a unit inactive, with no job, is stopped.
func (m *Manager) checkBindsTo(e *entry) {
	if a, _ := e.activeSub(); e.job != nil || a != "active" || m.units[e.name] != e {
		return
	}
	for _, name := range e.bindsTo {
		o := m.units[name]
		if o == nil || o.job != nil || o.isActive() {
			continue
		}
		m.unitLog(e.name, "", 6, fmt.Sprintf("%s: Unit is bound to inactive unit %s. Stopping, too.", e.name, name))
		m.stop(e, nil)
		return
	}
}

// stopUnit stops the unit itself; done, if set, is told its result.
func (m *Manager) stopUnit(e *entry, done func(string)) {
	finish := m.jobOf(e, "stop", done)
	switch {
	case e.timer != nil:
		if e.timer.State != timer.Dead {
			e.timer.Stop(m.clk.Now())
			m.changed(e)
			m.jobLog(e.name, "", "stop", jobDone, "Stopped "+describe(e)+".")
		}
	case e.typ == unit.Target:
		if e.targetActive {
			e.targetActive = false
			m.changed(e)
			m.jobLog(e.name, "", "stop", jobDone, "Stopped target "+describe(e)+".")
		}
	case e.restartPending:
		e.restartPending = false
		m.changed(e)
		m.jobLog(e.name, "", "stop", jobDone, "Stopped "+describe(e)+".")
	case e.run != nil && e.stopping:
		// Stopping already: the job waits for that stop.
		e.waiters = append(e.waiters, func() bool {
			if e.run != nil {
				return false
			}
			finish(jobDone)
			return true
		})
		return
	case e.run != nil:
		e.stopping = true
		m.jobLog(e.name, e.invocation, "stop", "", "Stopping "+describe(e)+"...")
		e.run.Stop()
		m.changed(e) // deactivating from now, as service_stop leaves it
		e.waiters = append(e.waiters, func() bool {
			if e.run != nil {
				return false
			}
			m.jobLog(e.name, e.invocation, "stop", jobDone, "Stopped "+describe(e)+".")
			finish(jobDone)
			return true
		})
		return
	}
	finish(jobDone)
}

// endRun records the end of a run: how it ended, or with none, that it
// did not begin.
func (m *Manager) endRun(e *entry, runID int64, out *service.Outcome) {
	if runID == 0 {
		return
	}
	var result, code string
	var status int
	if out != nil {
		result, status = string(out.Result), out.Main.Status
		if out.Result == service.SkipCondition {
			result = skippedExecCondition
		}
		if out.Main.Code != 0 {
			code = out.Main.Code.String()
		}
	}
	m.recordEnd(e.name, runID, m.clk.Now(), result, code, status)
}

// stopAll stops every unit running, in the reverse of their start order
// (After=, Before=), each once those ordered after it have stopped, and
// waits for them.
func (m *Manager) stopAll() {
	m.down = true
	deps := map[*entry]map[string][]string{} // parsed once each
	depsOf := func(e *entry) map[string][]string {
		d, ok := deps[e]
		if !ok {
			d = e.u().Unit.Deps
			deps[e] = d
		}
		return d
	}
	after := func(a, b *entry) bool { // a is ordered after b
		return slices.Contains(depsOf(a)["After"], b.name) || slices.Contains(depsOf(b)["Before"], a.name)
	}
	stopped := map[*entry]bool{}
	for {
		var left []*entry
		for _, e := range m.units {
			if e.run != nil || e.restartPending {
				left = append(left, e)
			}
		}
		if len(left) == 0 {
			break
		}
		var next []*entry
		for _, e := range left {
			if !stopped[e] && !slices.ContainsFunc(left, func(o *entry) bool { return o != e && after(o, e) }) {
				next = append(next, e)
			}
		}
		if len(next) == 0 && !slices.ContainsFunc(left, func(e *entry) bool { return stopped[e] }) {
			next = left // ordered in a cycle: all at once
		}
		for _, e := range next {
			stopped[e] = true
			m.stopUnit(e, nil)
		}
		if len(next) == 0 || slices.ContainsFunc(left, func(e *entry) bool { return e.run != nil }) {
			// Each run stopped ends within its timeouts, and tells the loop.
			f := <-m.events
			f()
		}
	}
	done := make(chan struct{})
	go func() {
		m.runs.Wait()
		close(done)
	}()
	for {
		select {
		case f := <-m.events:
			f()
		case <-done:
			for {
				select {
				case f := <-m.events:
					f()
				default:
					return
				}
			}
		}
	}
}
