// Package manager is the daemon: it loads units, starts the timers that
// are enabled, fires them on the timer engine's schedule, runs the
// services they trigger, and keeps the journal and the run history.
//
// A Manager owns every goroutine it starts: Run returns only once they
// have all ended and the services it started have been stopped.
package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// A Manager runs the timers of a set of unit directories.
type Manager struct {
	// UnitPath is where units are looked for, first first.
	UnitPath []string
	// StateDir holds the database of stamps, runs and the journal.
	StateDir string
	Scope    unit.RuntimeScope
	// Env is the manager's environment, the base of every service's.
	Env []string
	// Socket, if set, is where the control interface listens.
	Socket string

	Clock  clock.Clock  // nil: the real one
	Logger *slog.Logger // nil: discard

	clk    clock.Clock
	log    *slog.Logger
	store  *store.Store
	engine *timer.Engine
	boot   string

	timers   map[string]*timerUnit
	services map[string]*serviceUnit

	events  chan func() // work for the loop, from other goroutines
	later   []func()    // work for the loop once the timers due have fired
	journal chan store.Entry
	runs    sync.WaitGroup
}

type timerUnit struct {
	unit  *unit.Unit
	timer *timer.Timer
	state store.TimerState
}

type serviceUnit struct {
	unit     *unit.Unit
	timers   []*timerUnit
	run      *service.Run
	runID    int64
	active   bool
	activeAt uint64 // monotonic µs
	inactive uint64
}

// Run loads the units and runs their timers until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	m.clk = clock.Or(m.Clock)
	m.log = m.Logger
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(m.StateDir, 0o755); err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(m.StateDir, "sundial.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	m.store = st
	if n, err := st.InterruptRuns(ctx); err != nil {
		return err
	} else if n > 0 {
		m.log.Warn("runs interrupted by the daemon's stop", "count", n)
	}
	m.boot = clock.BootID()
	now := m.clk.Now()
	m.engine = &timer.Engine{Location: time.Local, Startup: now, User: m.Scope == unit.UserScope, UID: uint32(os.Getuid()),
		Log: func(t *timer.Timer, level slog.Level, msg string) { m.unitLog(t.Name, "", levelPriority(level), msg) }}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		m.engine.MachineID, _ = timer.ParseID(string(id))
	}
	if id, err := timer.ParseID(m.boot); err == nil {
		m.engine.Perturbation = timer.Perturbation(id)
	}
	m.events = make(chan func(), 64)
	m.journal = make(chan store.Entry, 4096)
	var writer sync.WaitGroup
	writer.Go(m.writeJournal)
	defer func() {
		close(m.journal)
		writer.Wait()
	}()
	if err := m.load(ctx, now); err != nil {
		return err
	}
	var serving sync.WaitGroup
	serveCtx, stopServing := context.WithCancel(context.Background())
	if m.Socket != "" {
		l, err := api.Listen(m.Socket)
		if err != nil {
			stopServing()
			return err
		}
		defer os.Remove(m.Socket)
		serving.Go(func() {
			if err := api.Serve(serveCtx, l, backend{m}); err != nil {
				m.log.Error("control interface", "err", err)
			}
		})
	}
	err = m.loop(ctx)
	m.stopAll()
	stopServing()
	serving.Wait()
	return err
}

// backend answers the control interface from the loop, which owns the
// state.
type backend struct{ m *Manager }

// ask runs f in the loop and waits for it.
func (b backend) ask(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case b.m.events <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b backend) Timers(ctx context.Context) ([]api.Timer, error) {
	var out []api.Timer
	err := b.ask(ctx, func() {
		now := b.m.clk.Now()
		for _, name := range slices.Sorted(maps.Keys(b.m.timers)) {
			tu := b.m.timers[name]
			t := tu.timer
			info := api.Timer{Unit: name, Activates: tu.unit.Timer.Unit, State: t.State.String(),
				LastTrigger: t.LastTrigger.Realtime, LastTriggerMonotonic: t.LastTrigger.Monotonic, Monotonic: now.Monotonic}
			info.Next = t.NextElapse(now)
			out = append(out, info)
		}
	})
	return out, err
}

func (b backend) Journal(ctx context.Context, q api.JournalQuery) ([]api.Entry, error) {
	var out []api.Entry
	for e, err := range b.m.store.Query(ctx, store.Filter{Units: q.Units, Since: q.Since, Until: q.Until, Boot: q.Boot, Last: q.Last}) {
		if err != nil {
			return nil, err
		}
		out = append(out, api.Entry{Cursor: e.Seq, Realtime: e.Realtime, Monotonic: e.Monotonic, Boot: e.Boot, Unit: e.Unit,
			Invocation: e.Invocation, PID: e.PID, Identifier: e.Identifier, Priority: e.Priority, Message: e.Message})
	}
	return out, nil
}

func (b backend) Runs(ctx context.Context, unit string, last int) ([]api.Run, error) {
	var out []api.Run
	for r, err := range b.m.store.Runs(ctx, unit, last) {
		if err != nil {
			return nil, err
		}
		out = append(out, api.Run{ID: r.ID, Unit: r.Unit, Timer: r.Timer, Reason: r.Reason, Invocation: r.Invocation,
			Started: r.Started, Ended: r.Ended, State: string(r.State), Result: r.Result, ExitCode: r.ExitCode, ExitStatus: r.ExitStatus})
	}
	return out, nil
}

// load loads the timers wanted by timers.target and their services, and
// starts the timers.
func (m *Manager) load(ctx context.Context, now timer.Instant) error {
	l := &unit.Loader{Path: m.UnitPath, Scope: m.Scope}
	target, err := l.Load("timers.target")
	if err != nil {
		return err
	}
	m.timers, m.services = map[string]*timerUnit{}, map[string]*serviceUnit{}
	for _, name := range target.Unit.Deps["Wants"] {
		u, err := l.Load(name)
		if err != nil || u.Type != unit.Timer {
			continue
		}
		m.report(u)
		if u.LoadState != unit.Loaded {
			continue
		}
		svc, err := l.Load(u.Timer.Unit)
		if err != nil {
			m.unitLog(u.Name, "", 3, fmt.Sprintf("Failed to load %s: %v", u.Timer.Unit, err))
			continue
		}
		m.report(svc)
		if svc.LoadState != unit.Loaded || svc.Type != unit.Service {
			m.unitLog(u.Name, "", 4, "Refusing to start, unit "+u.Timer.Unit+" to trigger not loaded.")
			continue
		}
		tu := &timerUnit{unit: u, timer: m.engine.Add(u.Name, u.Timer)}
		su := m.services[svc.Name]
		if su == nil {
			su = &serviceUnit{unit: svc}
			m.services[svc.Name] = su
		}
		su.timers = append(su.timers, tu)
		m.timers[u.Name] = tu
	}
	for _, tu := range m.sortedTimers() {
		name := tu.unit.Name
		if tu.state, err = m.store.Timer(ctx, name); err != nil {
			return err
		}
		var stamp uint64
		if tu.unit.Timer.Persistent {
			stamp = tu.state.LastTrigger
		}
		tu.timer.Start(now, stamp)
		m.unitLog(name, "", 6, "Started "+describe(tu.unit)+".")
	}
	return nil
}

// report logs what is wrong with a unit's files, and that it does not
// act on some of its settings.
func (m *Manager) report(u *unit.Unit) {
	for _, d := range u.Diagnostics {
		m.unitLog(u.Name, "", 4, d.String())
	}
	for _, a := range u.Unsupported() {
		m.unitLog(u.Name, "", 5, fmt.Sprintf("%s:%d: %s= is not supported by sundial, ignoring.", a.Pos.File, a.Pos.Line, a.Key))
	}
	if s := u.Service; s != nil {
		switch s.Type {
		case "simple", "exec", "oneshot":
		default:
			m.unitLog(u.Name, "", 4, fmt.Sprintf("%s: Type=%s is not supported by sundial yet; the service runs as Type=simple.", u.Name, s.Type))
		}
	}
}

// loop is the event loop: it sleeps until the engine's next wake-up or
// until work comes, fires what is due, and repeats until ctx is done.
func (m *Manager) loop(ctx context.Context) error {
	last := m.clk.Now()
	zone := localtimeID()
	for {
		now := m.clk.Now()
		start := func(tr timer.Trigger) error { return m.trigger(ctx, tr, now) }
		if timer.ClockJumped(last, now) {
			m.log.Info("Time has been changed")
			for _, tu := range m.sortedTimers() {
				m.engine.ClockChanged(tu.timer, now, start)
			}
		}
		if z := localtimeID(); z != zone && os.Getenv("TZ") == "" {
			zone = z
			if data, err := os.ReadFile("/etc/localtime"); err == nil {
				// The engine's zone only: the process's stays as it
				// started, read by other goroutines.
				if loc, err := time.LoadLocationFromTZData("Local", data); err == nil {
					m.engine.Location = loc
				}
				m.log.Info("Timezone change detected")
				for _, tu := range m.sortedTimers() {
					m.engine.TimezoneChanged(tu.timer, now, start)
				}
			}
		}
		last = now
		for _, t := range m.engine.Due(now) {
			m.engine.Fire(t, now, start)
		}
		for len(m.later) > 0 {
			f := m.later[0]
			m.later = m.later[1:]
			f()
		}
		wake, stop := m.clk.After(m.sleep(m.clk.Now()))
		select {
		case <-ctx.Done():
			stop()
			return nil
		case f := <-m.events:
			stop()
			f()
		case <-wake:
		}
	}
}

// sortedTimers returns the timers in the order of their names.
func (m *Manager) sortedTimers() []*timerUnit {
	var ts []*timerUnit
	for _, name := range slices.Sorted(maps.Keys(m.timers)) {
		ts = append(ts, m.timers[name])
	}
	return ts
}

// localtimeID tells /etc/localtime apart from what it was: where its
// link points, and the file's identity and time.
func localtimeID() string {
	target, _ := os.Readlink("/etc/localtime")
	info, err := os.Stat("/etc/localtime")
	if err != nil {
		return target
	}
	return fmt.Sprintf("%s %d %v", target, info.Size(), info.ModTime())
}

// sleep is how long until the engine's next wake-up on any clock, and at
// most an hour: the realtime clock may have been set, or the machine
// asleep, which a monotonic sleep does not notice.
func (m *Manager) sleep(now timer.Instant) time.Duration {
	const most = uint64(time.Hour / time.Microsecond)
	d, _ := m.engine.Until(now)
	return time.Duration(min(d, most)) * time.Microsecond
}

// trigger starts the unit of a timer that fired: the trigger and its run
// are recorded, then the service starts.
func (m *Manager) trigger(ctx context.Context, tr timer.Trigger, now timer.Instant) error {
	tu := m.timers[tr.Timer.Name]
	su := m.services[tr.Unit]
	invocation := newID()
	// Running already: the start does nothing, and no run begins.
	running := su.active
	st, id, err := m.store.Trigger(ctx, tu.state, store.Trigger{Timer: tu.unit.Name, Unit: tr.Unit, Reason: tr.Reason.String(),
		Invocation: invocation, Realtime: tr.At.Realtime, Monotonic: tr.At.Monotonic, NoRun: running})
	if err != nil {
		// Read again, so that the next start goes from what is stored.
		if fresh, rerr := m.store.Timer(ctx, tu.unit.Name); rerr == nil {
			tu.state = fresh
		}
		return err
	}
	tu.state = st
	if !running {
		m.startService(su, invocation, id, tr.Env())
	}
	return nil
}

// startService starts an activation of a service.
func (m *Manager) startService(su *serviceUnit, invocation string, runID int64, activation []string) {
	s := su.unit.Service
	env, err := service.Environment(s, service.EnvSource{Manager: m.Env, Activation: activation, InvocationID: invocation})
	if err != nil {
		name := su.unit.Name
		m.unitLog(name, invocation, 3, name+": Failed to load environment files: "+service.ErrnoText(err))
		m.unitLog(name, invocation, 3, name+": Failed to run 'start' task: "+service.ErrnoText(err))
		m.unitLog(name, invocation, 4, fmt.Sprintf("%s: Failed with result '%s'.", name, service.Resources))
		m.endRun(su, runID, service.Outcome{Result: service.Resources})
		// The timer that fired waits for the unit to be inactive: it is
		// told once it is running, after the firing.
		m.later = append(m.later, func() { m.serviceState(su, service.Failed) })
		return
	}
	dir := s.WorkingDirectory
	if dir == "~" {
		dir, _ = os.UserHomeDir()
	}
	name := su.unit.Name
	ident := s.SyslogIdentifier
	su.runID = runID
	m.unitLog(name, invocation, 6, "Starting "+describe(su.unit)+"...")
	su.run = service.Begin(service.Spec{
		Service: s, Env: env, Dir: dir, DirMissingOK: s.WorkingDirectoryMissingOK, Clock: m.clk,
		Output: func(l service.Line) {
			id := ident
			if id == "" {
				id = l.Command
			}
			now := m.clk.Now()
			m.log.Info(l.Text, "unit", name, "pid", l.PID, "identifier", id)
			m.journal <- store.Entry{Realtime: now.Realtime, Monotonic: now.Monotonic, Boot: m.boot, Unit: name, Invocation: invocation, PID: l.PID, Identifier: id, Priority: 6, Message: l.Text}
		},
		Log:   func(level slog.Level, msg string) { m.unitLog(name, invocation, levelPriority(level), name+": "+msg) },
		State: func(st service.State) { m.events <- func() { m.serviceState(su, st) } },
	})
	run := su.run
	m.runs.Go(func() {
		out := run.Wait()
		m.events <- func() { m.serviceEnded(su, run, runID, out) }
	})
}

// serviceState tells the service's timers that it changed state.
func (m *Manager) serviceState(su *serviceUnit, st service.State) {
	now := m.clk.Now()
	active := st.Active() != "inactive" && st.Active() != "failed"
	switch {
	case active && !su.active:
		su.activeAt = now.Monotonic
	case !active && su.active:
		su.inactive = now.Monotonic
	}
	su.active = active
	for _, tu := range su.timers {
		tu.timer.UnitChanged(now, timer.UnitState{Inactive: !active, ActiveAt: su.activeAt, InactiveAt: su.inactive})
	}
}

// serviceEnded records how an activation ended.
func (m *Manager) serviceEnded(su *serviceUnit, run *service.Run, runID int64, out service.Outcome) {
	if su.run == run {
		su.run = nil
	}
	m.endRun(su, runID, out)
	if out.Result == service.Success && su.unit.Service.Type == "oneshot" {
		m.unitLog(su.unit.Name, "", 6, "Finished "+describe(su.unit)+".")
	} else if out.Result != service.Success {
		m.unitLog(su.unit.Name, "", 3, "Failed to start "+describe(su.unit)+".")
	}
}

// endRun records the end of a run.
func (m *Manager) endRun(su *serviceUnit, runID int64, out service.Outcome) {
	code := ""
	if out.Main.Code != 0 {
		code = out.Main.Code.String()
	}
	if err := m.store.EndRun(context.Background(), runID, m.clk.Now().Realtime, string(out.Result), code, out.Main.Status); err != nil {
		m.log.Error("recording a run", "unit", su.unit.Name, "err", err)
	}
}

// stopAll stops the services running and waits for them.
func (m *Manager) stopAll() {
	for _, su := range m.services {
		if su.run != nil {
			su.run.Stop()
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

// unitLog writes a message about a unit to the journal, as the manager's
// ("systemd" in systemd's journal).
func (m *Manager) unitLog(unitName, invocation string, priority int, msg string) {
	now := m.clk.Now()
	m.log.Log(context.Background(), priorityLevel(priority), msg, "unit", unitName)
	if priority > 6 {
		return // debug messages stay out of the journal, as at LogLevel=info
	}
	m.journal <- store.Entry{Realtime: now.Realtime, Monotonic: now.Monotonic, Boot: m.boot, Unit: unitName, Invocation: invocation,
		PID: os.Getpid(), Identifier: "sundial", Priority: priority, Message: msg}
}

// writeJournal appends the journal's entries in batches: what came while
// the last batch was written.
func (m *Manager) writeJournal() {
	for e := range m.journal {
		batch := []store.Entry{e}
	more:
		for len(batch) < 4096 {
			select {
			case e, ok := <-m.journal:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		if err := m.store.Append(context.Background(), batch...); err != nil {
			m.log.Error("writing the journal", "err", err)
		}
	}
}

// describe is a unit as systemd's job messages name it (Debian's
// "combined" form): "backup.service - Nightly backup".
func describe(u *unit.Unit) string {
	if u.Unit.Description == "" || u.Unit.Description == u.Name {
		return u.Name
	}
	return u.Name + " - " + u.Unit.Description
}

func levelPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l > slog.LevelInfo:
		return 5
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}

func priorityLevel(p int) slog.Level {
	switch {
	case p <= 3:
		return slog.LevelError
	case p == 4:
		return slog.LevelWarn
	case p <= 6:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// newID is a new invocation ID: 128 random bits in hexadecimal.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
