package manager

import (
	"context"
	"fmt"
	"hash/maphash"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// An entry is a unit in memory: its files as loaded, and its state.
type entry struct {
	unitInfo

	// active is the active state last seen, for the timestamps of its
	// changes: when it last left and entered the states.
	active        string
	inactiveExit  timer.Dual
	activeEnter   timer.Dual
	activeExit    timer.Dual
	inactiveEnter timer.Dual

	waiters      []func() bool // the jobs waiting for it to settle: true once one is
	job          *job          // the job under way for it; nil for none
	targetActive bool          // a target's state

	triggeredBy []*entry // the timers that start it

	cond, assert condResult // the last tests of its conditions and asserts

	// A timer's.
	timer  *timer.Timer
	tstate store.TimerState

	// A service's; the units of other types, and the services that
	// never ran, share noService.
	*serviceState
}

// A unitInfo is what an entry keeps of the unit read: its name, type and
// load state, the description, a timer's unit to trigger, and the
// snapshot that the rest is parsed again from when asked for; u does.
type unitInfo struct {
	name      string
	typ       unit.Type
	loadState unit.LoadState
	desc      string
	trigger   string
	// collectFailed is CollectMode=inactive-or-failed.
	collectFailed bool
	// stopFrom are the units a stop of which stops this one (Requires=,
	// Requisite=, BindsTo=, PartOf=); stopPropagatedFrom those of
	// StopPropagatedFrom=; bindsTo those of BindsTo=. Kept, not parsed
	// again, for the loop looks at them on each change.
	stopFrom, stopPropagatedFrom, bindsTo []string
	snap                                  *unit.Snapshot
	files                                 uint64 // its files' stamp when loaded, for NeedDaemonReload
}

// noService is the serviceState of the units that have none of their
// own: read, never written.
var noService = &serviceState{}

// own gives a service a serviceState of its own, for it to be written.
func (e *entry) own() {
	if e.serviceState == noService {
		e.serviceState = new(serviceState)
	}
}

// A serviceState is what a service has that other units do not.
type serviceState struct {
	run            *service.Run
	runID          int64
	sub            service.State // "" when no activation runs
	result         service.Result
	invocation     string
	last           *service.Outcome // how the last activation ended
	records        []service.Record // the commands of the one running that ended
	mainPID        int
	status         string   // what the service told with STATUS=
	mainStart      uint64   // realtime µs the main process last started
	mainExit       uint64   // and exited
	stopping       bool     // a stop was asked for: no restart, no OnFailure=
	starts         []uint64 // monotonic µs of the starts within StartLimitIntervalSec=
	restarts       int      // automatic restarts since the last manual start
	restartPending bool     // between a Restart= and the start again
}

// u returns the unit, parsed again from its snapshot: the settings read
// when it was loaded. The many units a manager has are kept so, not
// parsed, for their memory.
func (e *entry) u() *unit.Unit { return e.snap.Unit() }

// A loadedUnit is a unit just read: its entry, its state still to come,
// a timer's settings if it is loaded, and what is to be said of its
// files.
type loadedUnit struct {
	e     *entry
	timer *unit.TimerSection
	notes []note
}

// A note is a message for a unit's journal.
type note struct {
	priority int
	msg      string
}

// readUnit keeps what the manager needs of a unit just loaded: copies,
// for a unit that Inspect hands over.
func readUnit(u *unit.Unit, snap *unit.Snapshot) loadedUnit {
	e := &entry{serviceState: noService, unitInfo: unitInfo{name: u.Name, typ: u.Type, loadState: u.LoadState, snap: snap, files: u.Stamp,
		// Cloned, not to hold on to the strings they were parsed with.
		desc:          strings.Clone(u.Unit.Description),
		collectFailed: u.Unit.CollectMode == "inactive-or-failed"}}
	for _, kind := range []string{"Requires", "Requisite", "BindsTo", "PartOf"} {
		for _, name := range u.Unit.Deps[kind] {
			if !slices.Contains(e.stopFrom, name) {
				e.stopFrom = append(e.stopFrom, strings.Clone(name))
			}
		}
	}
	for _, name := range u.Unit.Deps["BindsTo"] {
		e.bindsTo = append(e.bindsTo, strings.Clone(name))
	}
	for _, name := range u.Unit.Deps["StopPropagatedFrom"] {
		e.stopPropagatedFrom = append(e.stopPropagatedFrom, strings.Clone(name))
	}
	l := loadedUnit{e: e, notes: notes(u)}
	if u.Timer != nil {
		e.trigger = strings.Clone(u.Timer.Unit)
		if u.LoadState == unit.Loaded {
			cfg := *u.Timer
			cfg.Values, cfg.Unit = slices.Clone(cfg.Values), e.trigger
			l.timer = &cfg
		}
	}
	return l
}

// activeSub is the unit's active state and sub-state, as systemctl shows
// them.
func (e *entry) activeSub() (active, sub string) {
	switch {
	case e.timer != nil:
		st := e.timer.State
		switch {
		case st == timer.Failed:
			return "failed", st.String()
		case st.Active():
			return "active", st.String()
		}
		return "inactive", st.String()
	case e.typ == unit.Service:
		if e.restartPending {
			return "activating", "auto-restart"
		}
		if e.sub == "" {
			if e.result != "" && e.result.Failed() {
				return "failed", "failed"
			}
			return "inactive", "dead"
		}
		if e.stopping && e.run != nil {
			// Stopped, though the activation has not told its stop
			// state yet: service_stop enters one at once.
			return "deactivating", string(e.sub)
		}
		return e.sub.Active(), string(e.sub)
	case e.typ == unit.Target:
		if e.targetActive {
			return "active", "active"
		}
	}
	return "inactive", "dead"
}

// isActive reports whether the unit is active, activating or
// deactivating: running in some way.
func (e *entry) isActive() bool {
	a, _ := e.activeSub()
	return a != "inactive" && a != "failed"
}

// changed notes a change of the unit's state: the timestamps of the
// active state, the timers of a service, and the jobs waiting on it.
func (m *Manager) changed(e *entry) {
	now := m.clk.Now()
	at := timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}
	active, _ := e.activeSub()
	was := e.active
	if was == "" {
		was = "inactive"
	}
	e.active = active
	up := func(s string) bool { return s != "inactive" && s != "failed" }
	switch {
	case !up(was) && up(active):
		e.inactiveExit = at
	case up(was) && !up(active):
		e.inactiveEnter = at
	}
	if active == "active" && was != "active" {
		e.activeEnter = at
	}
	if was == "active" && active != "active" {
		e.activeExit = at
	}
	if up(was) != up(active) {
		if e.timer != nil {
			m.storeActive(e)
		}
		m.tellTimers(e)
	}
	// Told before the jobs settle: a change a job made is not one the
	// unit made of itself.
	if was != active {
		// unit_notify: a unit that leaves the active or activating
		// states for the inactive or deactivating ones without a job
		// stops the units bound to it at once, not when its stop is over.
		on := func(s string) bool { return up(s) && s != "deactivating" }
		m.queueBindsCheck(e, e.job == nil && on(was) && !on(active))
	}
	m.settleJobs(e)
}

// tellTimers tells the timers of a service that it changed state.
func (m *Manager) tellTimers(e *entry) {
	now := m.clk.Now()
	for _, te := range e.triggeredBy {
		if te.timer == nil {
			continue
		}
		te.timer.UnitChanged(now, timer.UnitState{Inactive: !e.isActive(), ActiveAt: e.inactiveExit.Monotonic, InactiveAt: e.inactiveEnter.Monotonic})
		m.changed(te)
	}
}

// get returns the unit called name, loading it if it is not in memory.
// A unit that is not found is returned, not kept.
func (m *Manager) get(name string) (*entry, error) {
	if e := m.units[name]; e != nil {
		return e, nil
	}
	l, ok := m.preload.units[name]
	switch {
	case ok:
		delete(m.preload.units, name)
	case m.missing[name] != nil && m.missingDirs == m.dirStamp():
		l = readUnit(m.missing[name].Unit(), m.missing[name])
	default:
		u, snap, err := m.unitLoader().LoadSnapshot(name)
		if err != nil {
			return nil, err
		}
		l = readUnit(u, snap)
		if l.e.loadState == unit.NotFound {
			m.noteMissing(name, snap)
		}
	}
	e := l.e
	if known := m.units[e.name]; known != nil {
		return known, nil // name was an alias
	}
	if e.loadState == unit.NotFound {
		return e, nil
	}
	m.report(e, l.notes)
	m.add(e)
	if l.timer != nil {
		e.timer = m.engine.Add(e.name, l.timer)
	}
	if e.trigger != "" {
		m.linkTimer(e)
	}
	if e.typ == unit.Service {
		m.restoreLast(e)
	}
	return e, nil
}

// noteMissing notes a unit not found, not to look for it again while the
// unit directories stay as they are: systemd builds its name map again
// only once they changed.
func (m *Manager) noteMissing(name string, snap *unit.Snapshot) {
	if m.missing == nil || m.loaderDirs != m.missingDirs {
		m.missing, m.missingDirs = map[string]*unit.Snapshot{}, m.loaderDirs
	}
	m.missing[name] = snap
}

// dirStamp tells the unit directories as they are: a hash of their
// modification times, which a file added, removed or renamed changes.
func (m *Manager) dirStamp() uint64 {
	h := maphash.Hash{}
	h.SetSeed(dirSeed)
	var st unix.Stat_t
	for _, d := range m.UnitPath {
		h.WriteString(d)
		if unix.Stat(d, &st) == nil {
			maphash.WriteComparable(&h, st.Mtim)
		}
	}
	return h.Sum64()
}

var dirSeed = maphash.MakeSeed()

// add keeps a unit in memory.
func (m *Manager) add(e *entry) {
	m.units[e.name] = e
	m.unitsChanged()
	m.noteTransient(e.name, e)
}

// noteTransient notes the unit in memory by name if its files are
// transient ones.
func (m *Manager) noteTransient(name string, e *entry) {
	if m.isTransient(e) {
		if m.transient == nil {
			m.transient = map[string]bool{}
		}
		m.transient[name] = true
	}
}

// linkTimer loads the unit a timer triggers and tells it of the timer.
func (m *Manager) linkTimer(e *entry) {
	se, err := m.get(e.trigger)
	if err != nil || se.loadState == unit.NotFound {
		return
	}
	if !slices.Contains(se.triggeredBy, e) {
		se.triggeredBy = append(se.triggeredBy, e)
	}
}

// restoreLast shows a service's last run, from the history, after the
// daemon started again: how it ended, and failed if it failed. A start a
// condition skipped or an assert failed is not one: unit_start returned
// before the service began, which kept its state and result.
func (m *Manager) restoreLast(e *entry) {
	runs, tested, asserted := m.preload.runs, m.preload.tested, m.preload.asserted
	if runs == nil {
		ctx := context.Background()
		var err error
		if runs, err = m.store.LastRuns(ctx, e.name, unstarted...); err != nil {
			return
		}
		if tested, err = m.store.LastTested(ctx, e.name); err != nil {
			return
		}
		if asserted, err = m.store.LastTested(ctx, e.name, "skipped", skippedCondition); err != nil {
			return
		}
	}
	if r, ok := runs[e.name]; ok {
		m.restoreRun(e, r)
	}
	var cond, assert *store.Run
	if r, ok := tested[e.name]; ok {
		cond = &r
	}
	if r, ok := asserted[e.name]; ok {
		assert = &r
	}
	m.restoreTests(e, cond, assert)
}

// restoreRun shows a run that ended as the service's last.
func (m *Manager) restoreRun(e *entry, r store.Run) {
	if r.State != store.RunEnded {
		return
	}
	e.own()
	out := service.Outcome{Result: service.Result(r.Result)}
	if r.Result == skippedExecCondition {
		out.Result = service.SkipCondition
	}
	if r.ExitCode != "" {
		out.Main = service.Exit{Code: service.ParseCode(r.ExitCode), Status: r.ExitStatus}
	}
	e.last, e.result, e.invocation = &out, out.Result, r.Invocation
	e.inactiveEnter = timer.Dual{Realtime: r.Ended}
	e.inactiveExit = timer.Dual{Realtime: r.Started}
	if m.sameBoot(r.Boot) {
		e.inactiveEnter.Monotonic, e.inactiveExit.Monotonic = r.EndedMonotonic, r.StartedMonotonic
	}
	e.active, _ = e.activeSub()
}

// needReload reports whether a unit's files changed since it was
// loaded, as NeedDaemonReload: other files, or one written since.
func (m *Manager) needReload(e *entry) bool {
	if e.loadState == unit.NotFound {
		return false
	}
	// The loader reads the directories afresh once a turn of the loop.
	u, err := m.unitLoader().Load(e.name)
	return err == nil && u.Stamp != e.files
}

// load loads the timers wanted by timers.target and starts them, with
// the target.
func (m *Manager) load(ctx context.Context) error {
	m.resolveHost()
	m.newLoader()
	m.units = map[string]*entry{}
	m.unitsChanged()
	// Read at once, not unit by unit: there may be many.
	var err error
	if m.preload.timers, err = m.store.Timers(ctx); err != nil {
		return err
	}
	if m.preload.runs, err = m.store.LastRuns(ctx, "", unstarted...); err != nil {
		return err
	}
	if m.preload.tested, err = m.store.LastTested(ctx, ""); err != nil {
		return err
	}
	if m.preload.asserted, err = m.store.LastTested(ctx, "", "skipped", skippedCondition); err != nil {
		return err
	}
	defer func() {
		m.preload.timers, m.preload.runs, m.preload.tested, m.preload.asserted, m.preload.units, m.preload.active = nil, nil, nil, nil, nil, nil
	}()
	u, snap, err := m.unitLoader().LoadSnapshot("timers.target")
	if err != nil {
		return err
	}
	if u.LoadState != unit.Loaded {
		m.log.Warn("timers.target is "+u.LoadState.String()+"; the timers it wants are not started.", "path", strings.Join(m.UnitPath, ":"), "err", u.LoadError)
	}
	wants := u.Unit.Deps["Wants"]
	m.preload.units = map[string]loadedUnit{u.Name: readUnit(u, snap)}
	target, err := m.get(u.Name)
	if err != nil {
		return err
	}
	target.targetActive = true
	m.changed(target)
	// Room for the timers and their services at once.
	units := make(map[string]*entry, 2*len(wants)+len(m.units))
	maps.Copy(units, m.units)
	m.units = units
	m.unitsChanged()
	// The timers start at one instant, as systemd's do in one turn of
	// its event loop; the clocks are not read for each of many.
	clk := m.clk
	m.clk = frozen{clk, clk.Now()}
	defer func() { m.clk = clk }()
	m.loadAll(wants, true, func(name string) {
		if ctx.Err() != nil {
			return // stopped while loading: the rest is not started
		}
		if e, err := m.get(name); err == nil && e.timer != nil {
			m.startTimer(ctx, e)
		}
	})
	m.loadTransient()
	active := m.preload.active
	m.preload.timers, m.preload.active = nil, nil
	m.storeActive(active...)
	// What loading many units left behind is returned to the system,
	// not kept for a peak that does not come again; the daemon does not
	// wait for it to answer.
	m.newLoader()
	m.background.Go(debug.FreeOSMemory)
	return nil
}

// frozen is a clock that stands still.
type frozen struct {
	clock.Clock
	now timer.Instant
}

func (f frozen) Now() timer.Instant { return f.now }

// loadAll loads the units named and, with triggers, the units the timers
// among them trigger, on every core. It calls use with each name in
// turn, in their order, once its units are in preload (as readUnit keeps
// them) for get to take. Those that fail to load are left out, for get
// to load again and report.
func (m *Manager) loadAll(names []string, triggers bool, use func(name string)) {
	workers := runtime.GOMAXPROCS(0)
	// Worker w loads the names w, w+workers, …: use takes them from the
	// workers in turn, while they go on.
	type loaded struct {
		n     int
		names [2]string
		units [2]loadedUnit
	}
	done := make([]chan loaded, workers)
	l := m.unitLoader() // one for all: it reads the directories once
	for w := range workers {
		done[w] = make(chan loaded, 256)
		go func() {
			defer close(done[w])
			for i := w; i < len(names); i += workers {
				var r loaded
				load := func(name string) *entry {
					var lu loadedUnit
					snap, err := l.Inspect(name, func(u *unit.Unit) { lu = readUnit(u, nil) })
					if err != nil {
						return nil
					}
					lu.e.snap = snap
					r.names[r.n], r.units[r.n] = name, lu
					r.n++
					return lu.e
				}
				if e := load(names[i]); e != nil && triggers && e.trigger != "" {
					load(e.trigger)
				}
				done[w] <- r
			}
		}()
	}
	for i, name := range names {
		r := <-done[i%workers]
		for j := range r.n {
			if _, ok := m.preload.units[r.names[j]]; !ok {
				m.preload.units[r.names[j]] = r.units[j]
			}
		}
		use(name)
	}
}

// reload reads every unit in memory again, as daemon-reload: a timer
// keeps its state and computes its next elapse from its new settings; a
// running service goes on running, its new settings for its next start.
func (m *Manager) reload(ctx context.Context) {
	m.resolveHost()
	m.newLoader()
	m.forgetMissing()
	old := m.units
	m.units = make(map[string]*entry, len(old))
	m.unitsChanged()
	now := m.clk.Now()
	m.preload.units = map[string]loadedUnit{}
	m.loadAll(slices.Sorted(maps.Keys(old)), false, func(name string) {
		e := old[name]
		l, ok := m.preload.units[name]
		if !ok {
			return
		}
		delete(m.preload.units, name)
		if l.e.loadState == unit.NotFound && !e.isActive() && len(e.waiters) == 0 {
			if e.timer != nil {
				m.engine.Remove(e.timer)
			}
			return // gone, and nothing keeps it
		}
		m.report(e, l.notes)
		e.unitInfo = l.e.unitInfo
		e.triggeredBy = nil
		m.units[name] = e
		m.unitsChanged()
		if e.timer == nil {
			return
		}
		if l.timer == nil {
			m.engine.Remove(e.timer)
			e.timer.Stop(now)
			e.timer = nil
			return
		}
		e.timer = m.engine.Replace(e.timer, l.timer, now)
	})
	m.preload.units = nil
	m.transient = nil
	for _, name := range slices.Sorted(maps.Keys(m.units)) {
		e := m.units[name]
		m.noteTransient(name, e)
		if e.trigger != "" {
			m.linkTimer(e)
		}
	}
	// As after the load: what reading the units left is returned.
	m.newLoader()
	m.background.Go(debug.FreeOSMemory)
}

// newLoader lets go of the loader: the next unit loaded is looked for
// in the unit directories afresh.
func (m *Manager) newLoader() { m.loader = nil }

// resolveHost reads what specifiers stand for, for the units loaded until
// the next reload: they keep what they expanded to, as systemd's do, when
// they are parsed again from their snapshots.
func (m *Manager) resolveHost() { m.host = (&unit.Host{}).Resolved() }

// forgetMissing forgets the units not found: the files may be there now,
// in a directory whose time did not change.
func (m *Manager) forgetMissing() { m.missing = nil }

// unitLoader returns the loader, a new one if there is none. A loader
// holds the names in the unit directories: many, and known only while
// units are loaded, as systemd builds its name map again when the
// directories changed.
func (m *Manager) unitLoader() *unit.Loader {
	if m.loader == nil {
		// The directories as they are before the loader reads them: what
		// it does not find is not there at that stamp, or later.
		m.loaderDirs = m.dirStamp()
		m.loader = &unit.Loader{Path: m.UnitPath, Scope: m.Scope, Host: m.host}
	}
	return m.loader
}

// startTimer starts a timer, from its stamp if it is Persistent=, and
// reports whether it could: not without the unit it triggers.
func (m *Manager) startTimer(ctx context.Context, e *entry) bool {
	if e.timer.State.Active() {
		return true
	}
	if se, err := m.get(e.trigger); err != nil || se.loadState != unit.Loaded {
		m.unitLog(e.name, "", 4, "Refusing to start, unit "+e.trigger+" to trigger not loaded.")
		return false
	}
	if m.refuseCluster(e) {
		return false
	}
	st, ok := m.preload.timers[e.name]
	if m.preload.timers == nil {
		// While the record of its last trigger is held (the disk full),
		// the stamp read is the one before: as systemd's, whose
		// timer_enter_running goes on when touch_file fails, leaving the
		// stamp file's older time for the timer's next start.
		var err error
		if st, err = m.store.Timer(ctx, e.name); err != nil {
			m.log.Error("reading a timer's state", "unit", e.name, "err", err)
		}
	} else if !ok {
		st = store.TimerState{}
	}
	e.tstate = st
	var stamp uint64
	if e.timer.Config.Persistent {
		stamp = st.LastTrigger
	}
	now := m.clk.Now()
	// What the timer knows of its unit, as timer_enter_waiting reads the
	// unit's timestamps: from its last run, after the daemon's restart.
	if se := m.units[e.trigger]; se != nil && e.timer.State == timer.Dead {
		e.timer.UnitChanged(now, timer.UnitState{Inactive: !se.isActive(), ActiveAt: se.inactiveExit.Monotonic, InactiveAt: se.inactiveEnter.Monotonic})
	}
	if m.preload.timers != nil && m.sameBoot(st.Boot) && st.ActiveMonotonic > 0 && st.ActiveMonotonic <= now.Monotonic {
		// Active when the daemon stopped, in this boot: taken up where
		// it was, as after daemon-reexec, so that its monotonic bases
		// stay (CLOCK_MONOTONIC went on; after a reboot, it starts anew).
		last := timer.Dual{Realtime: stamp}
		if st.LastTriggerMonotonic >= st.ActiveMonotonic {
			last = timer.Dual{Realtime: st.LastTrigger, Monotonic: st.LastTriggerMonotonic} // fired since
		}
		e.timer.Resume(now, timer.Dual{Realtime: st.ActiveRealtime, Monotonic: st.ActiveMonotonic}, last)
		// Taken up, not started: systemd's coldplug says nothing.
		m.changed(e)
		return true
	}
	e.timer.Start(now, stamp)
	m.changed(e)
	m.jobLog(e.name, "", "start", jobDone, "Started "+describe(e)+".")
	return true
}

// sameBoot reports whether monotonic times taken in the boot named are
// this boot's; never where the system tells no boot ID.
func (m *Manager) sameBoot(boot string) bool { return boot != "" && boot == m.boot }

// timersExit stops the timers as systemd's manager does when it exits,
// and records that they are not active, and that the next start is a
// first one: a clean stop is not daemon-reexec, and the next start
// starts them anew. Only a daemon that dies (killed, crashed) leaves
// their activations and its start to be taken up.
func (m *Manager) timersExit() {
	now := m.clk.Now()
	var stopped []*entry
	for _, e := range m.units {
		if e.timer != nil && e.timer.State.Active() {
			e.timer.Stop(now)
			stopped = append(stopped, e)
		}
	}
	m.storeActive(stopped...)
	m.record("the daemon's stop", m.writes.ForgetStart)
}

// storeActive records since when timers are active, or that they are
// not, for the daemon started again to take them up; those whose
// activation is stored already are left out. While the daemon loads its
// units, they are kept for one write at the end.
func (m *Manager) storeActive(es ...*entry) {
	var acts []store.Activation
	var changed []*entry
	for _, e := range es {
		var since timer.Dual
		if e.timer.State.Active() {
			since = e.timer.InactiveExit
		}
		if e.tstate.Boot == m.boot && e.tstate.ActiveRealtime == since.Realtime && e.tstate.ActiveMonotonic == since.Monotonic {
			continue
		}
		acts = append(acts, store.Activation{Timer: e.name, Realtime: since.Realtime, Monotonic: since.Monotonic})
		changed = append(changed, e)
	}
	if m.preload.timers != nil {
		m.preload.active = append(m.preload.active, changed...)
		return
	}
	if len(acts) == 0 {
		return
	}
	m.record("the timers' activations", func(ctx context.Context) error {
		states, err := m.writes.TimersActive(ctx, m.boot, acts...)
		if err != nil {
			return err
		}
		for i, e := range changed {
			e.tstate = states[i]
		}
		return nil
	})
}

// fileState is a unit file's enablement, as is-enabled says it.
func (m *Manager) fileState(u *unit.Unit) string {
	switch {
	case u.LoadState == unit.Masked:
		return "masked"
	case u.FragmentPath == "":
		return ""
	case m.TransientDir != "" && filepath.Dir(u.FragmentPath) == m.TransientDir:
		return "transient"
	}
	if links := m.links(u); len(links) > 0 {
		// As unit_file_lookup_state: linked only from the runtime
		// directory, for --runtime, it is enabled there.
		if m.RuntimeDir != "" && !slices.ContainsFunc(links, func(l string) bool { return filepath.Dir(filepath.Dir(l)) != m.RuntimeDir }) {
			return "enabled-runtime"
		}
		return "enabled"
	}
	if m.linkedFile(u.FragmentPath) {
		return "linked"
	}
	if m.aliasedByLink(u) {
		// As unit_file_lookup_state: known under another name, it
		// might be in use.
		return "indirect"
	}
	if !installable(u) {
		return "static"
	}
	return "disabled"
}

// installable reports whether a unit has an [Install] section enable
// acts on.
func installable(u *unit.Unit) bool {
	i := u.Install
	return len(i.WantedBy)+len(i.RequiredBy)+len(i.UpheldBy)+len(i.Alias)+len(i.Also) > 0
}

// links are the symbolic links in .wants/, .requires/ and .upholds/
// directories of the search path that lead to a unit.
func (m *Manager) links(u *unit.Unit) []string {
	return m.linksMatching(func(name string) bool { return slices.Contains(u.Names, name) })
}

// linksMatching are the symbolic links in .wants/, .requires/ and
// .upholds/ directories of the search path whose names match.
func (m *Manager) linksMatching(match func(name string) bool) []string {
	var found []string
	for _, dir := range m.UnitPath {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, d := range entries {
			n := d.Name()
			if !d.IsDir() || !(strings.HasSuffix(n, ".wants") || strings.HasSuffix(n, ".requires") || strings.HasSuffix(n, ".upholds")) {
				continue
			}
			links, _ := os.ReadDir(filepath.Join(dir, n))
			for _, l := range links {
				if l.Type()&fs.ModeSymlink != 0 && match(l.Name()) {
					found = append(found, filepath.Join(dir, n, l.Name()))
				}
			}
		}
	}
	return found
}

// enable links a unit into the directories of its [Install] section's
// WantedBy= and RequiredBy= units, in dir (the configuration directory,
// or the runtime one for --runtime), and returns systemctl's lines
// about it.
func (m *Manager) enable(u *unit.Unit, dir string) ([]string, error) {
	var changes []string
	// A linked unit file's links lead to the file itself, as
	// install_info_symlink_wants makes them.
	src := u.FragmentPath
	if target, err := os.Readlink(src); err == nil && filepath.IsAbs(target) && !m.inSearchPath(target) {
		src = target
	}
	link := func(dir, name string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		if target, err := os.Readlink(p); err == nil && target == src {
			return nil
		}
		os.Remove(p)
		if err := os.Symlink(src, p); err != nil {
			return err
		}
		changes = append(changes, fmt.Sprintf("Created symlink %s → %s.", p, src))
		return nil
	}
	// The aliases first, then the .wants/, .requires/ and .upholds/
	// links, as install_info_apply makes them; a template's are of the
	// instance its DefaultInstance= names. A template's alias of an
	// instance is the alias's instance of the same name, as
	// install_info_symlink_alias names it.
	instance, wants := "", u.Name
	if n, err := unit.ParseName(u.Name); err == nil {
		instance = n.Instance
		if n.Template && u.Install.DefaultInstance != "" {
			wants = strings.Replace(u.Name, "@", "@"+u.Install.DefaultInstance, 1)
		}
	}
	for _, a := range u.Install.Alias {
		if an, err := unit.ParseName(a); err == nil && an.Template && instance != "" {
			a = strings.Replace(a, "@", "@"+instance, 1)
		}
		if err := link(dir, a); err != nil {
			return changes, err
		}
	}
	for _, deps := range []struct {
		targets []string
		suffix  string
	}{{u.Install.WantedBy, ".wants"}, {u.Install.RequiredBy, ".requires"}, {u.Install.UpheldBy, ".upholds"}} {
		for _, t := range deps.targets {
			if err := link(filepath.Join(dir, t+deps.suffix), wants); err != nil {
				return changes, err
			}
		}
	}
	return changes, nil
}

// disable removes the links that lead to a unit, in the writable
// directories of the search path (for --runtime, in the runtime one
// only, as unit_file_disable), and returns systemctl's lines.
func (m *Manager) disable(u *unit.Unit, runtime bool) ([]string, error) {
	var changes []string
	for _, p := range m.links(u) {
		if runtime && filepath.Dir(filepath.Dir(p)) != m.RuntimeDir {
			continue
		}
		if err := os.Remove(p); err != nil {
			return changes, err
		}
		changes = append(changes, fmt.Sprintf("Removed \"%s\".", p))
	}
	dirs := []string{m.ConfigDir, m.RuntimeDir}
	if runtime {
		dirs = dirs[1:]
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		more, err := m.disableIn(u, dir)
		changes = append(changes, more...)
		if err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// disableIn removes a linked unit file's link and the unit's aliases
// from dir.
func (m *Manager) disableIn(u *unit.Unit, dir string) ([]string, error) {
	var changes []string
	// A linked unit file's link goes too, as unit_file_disable removes it.
	if p := filepath.Join(dir, u.Name); m.linkedFile(p) {
		if target, err := os.Readlink(p); err == nil && (target == u.FragmentPath || p == u.FragmentPath) {
			if err := os.Remove(p); err != nil {
				return changes, err
			}
			changes = append(changes, fmt.Sprintf("Removed \"%s\".", p))
		}
	}
	for _, a := range u.Install.Alias {
		p := filepath.Join(dir, a)
		if target, err := os.Readlink(p); err == nil && target == u.FragmentPath {
			if err := os.Remove(p); err != nil {
				return changes, err
			}
			changes = append(changes, fmt.Sprintf("Removed \"%s\".", p))
		}
	}
	return changes, nil
}
