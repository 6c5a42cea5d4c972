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
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// Env is the manager's environment, the base of every service's;
	// set-environment changes it.
	Env []string
	// Version is what show tells as the manager's Version.
	Version string
	// Bases are where services' own directories (StateDirectory=, …)
	// are made; the zero value is the scope's: service.SystemBases, or
	// service.UserBases from Env.
	Bases service.ExecBases
	// CGroup, if set, is the directory of the control group under which
	// each service gets one of its own (service.CGroupRoot), and
	// CGroupPath its name in the hierarchy ("/sundial"); without one,
	// the processes of services are followed by their process groups.
	CGroup, CGroupPath string
	// Socket, if set, is where the control interface listens.
	Socket string
	// Retention bounds the journal and the run history; its zero value
	// keeps everything. MaxAge, if set, is the journal's
	// MaxRetentionSec=.
	Retention store.Retention
	MaxAge    time.Duration

	// ConfigDir is where enable makes its links ("": the first of
	// UnitPath); TransientDir holds the files of transient units;
	// RuntimeDir is where --runtime changes are made ("": nowhere).
	ConfigDir, TransientDir, RuntimeDir string

	// Reload, if set, asks for a daemon-reload with each value it
	// delivers, as SIGHUP does systemd's manager.
	Reload <-chan os.Signal

	Clock clock.Clock // nil: the real one
	// Boot is this boot's ID, which the monotonic times kept belong to;
	// "": the machine's.
	Boot   string
	Logger *slog.Logger // nil: discard
	// ClusterStatus, if set, tells what the daemon sees of its cluster
	// (sundial cluster status); nil when it runs none.
	ClusterStatus func(ctx context.Context) (api.ClusterStatus, error)
	// Cluster, if set, fires the timers marked Cluster=yes once across
	// the cluster, not here alone.
	Cluster Cluster

	clk    clock.Clock
	log    *slog.Logger
	store  *store.Store
	engine *timer.Engine
	boot   string
	// journalStart is the journal's first sequence number written since
	// the daemon started: a vacuum keeps those, as journald its active
	// file.
	journalStart int64

	loader *unit.Loader
	host   *unit.Host // what the specifiers of the units loaded stand for
	// preload holds the stored state of every timer and the last run of
	// every unit while the daemon loads its units; nil after.
	preload struct {
		timers map[string]store.TimerState
		runs   map[string]store.Run
		// The last runs that tested each service's conditions, and
		// its asserts.
		tested, asserted map[string]store.Run
		units            map[string]loadedUnit // by the name they are wanted by
		active           []*entry              // the timers whose activation is to be stored
	}
	pid int // the daemon's, for its journal lines
	// background is the work Run does not wait for until it returns.
	background sync.WaitGroup
	units      map[string]*entry // by name, aliases not
	// named indexes the units' lists of names, for naming; nil when
	// units changed since.
	named map[nameList]map[string][]*entry
	// transient names the units in memory whose files are transient.
	transient map[string]bool
	// missing are the units looked for and not found, by name, while the
	// unit directories are as missingDirs tells them.
	missing     map[string]*unit.Snapshot
	missingDirs uint64
	loaderDirs  uint64 // the unit directories' stamp when the loader was made
	// collected are the transient units collected last, as they were.
	collected map[string]api.Unit

	events  chan func() // work for the loop, from other goroutines
	later   []func()    // work for the loop once the timers due have fired
	journal chan store.Entry
	runs    sync.WaitGroup

	// down is set once the daemon stops its units: no start is made.
	down bool

	// writes are the store's writes, or what faults, set by a test,
	// made of them.
	writes storeWrites
	faults func(storeWrites) storeWrites
	recs   records
	obs    observer // what snapshots show
	// droppedLines counts the journal's lines that could not be written.
	droppedLines uint64
	cluster      clusterState
	views        clusterViews
}

// builtinDir holds the built-in units, beside the database.
func (m *Manager) builtinDir() string { return filepath.Join(m.StateDir, "builtin-units") }

// Run loads the units and runs their timers until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	m.clk = clock.Or(m.Clock)
	// A socket of the daemon's own manager is not its services'.
	m.Env = slices.DeleteFunc(slices.Clone(m.Env), func(v string) bool { return strings.HasPrefix(v, "NOTIFY_SOCKET=") })
	if m.ConfigDir == "" && len(m.UnitPath) > 0 {
		m.ConfigDir = m.UnitPath[0]
	}
	m.log = m.Logger
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	lock, err := lockDir(m.StateDir, m.log)
	if err != nil {
		return err
	}
	defer lock.Close()
	builtin := m.builtinDir()
	if err := writeBuiltin(builtin, m.Scope); errors.Is(err, errForeign) {
		return err
	} else if err != nil {
		// The daemon runs all the same: what a unit path has of its own
		// still loads.
		m.log.Error("Failed to write the built-in units to "+builtin+"; units that need them may not load.", "err", err)
	}
	if !slices.Contains(m.UnitPath, builtin) {
		m.UnitPath = append(slices.Clip(m.UnitPath), builtin)
	}
	if m.Socket != "" {
		lock, err := lockDir(filepath.Dir(m.Socket), m.log)
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	if m.TransientDir != "" {
		if err := makePrivate(m.TransientDir, m.log); err != nil {
			return err
		}
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	m.store, m.writes = st, st
	if m.faults != nil {
		m.writes = m.faults(st)
	}
	if m.journalStart, err = st.JournalEnd(ctx); err != nil {
		return err
	}
	m.boot, m.pid = m.Boot, os.Getpid()
	if m.boot == "" {
		m.boot = clock.BootID()
	}
	startup := m.clk.Now()
	if m.boot != "" {
		// Started again in this boot after it died, the daemon's start is
		// its first one's, as systemd's userspace timestamp is kept
		// across daemon-reexec: OnStartupSec= does not come again.
		first, err := m.store.FirstStart(ctx, m.boot, store.Start(startup))
		if err != nil {
			m.log.Error("reading the daemon's first start", "err", err)
		} else if first.Monotonic <= startup.Monotonic {
			startup = timer.Instant(first)
		}
	}
	m.engine = &timer.Engine{Location: time.Local, Startup: startup, User: m.Scope == unit.UserScope, UID: uint32(os.Getuid()),
		// Prefixed with the unit's name, as log_unit_* prefixes it.
		Log: func(t *timer.Timer, level slog.Level, msg string) {
			m.unitLog(t.Name, "", levelPriority(level), t.Name+": "+msg)
		}}
	if m.log.Enabled(ctx, slog.LevelDebug) {
		m.engine.LogLevel = slog.LevelDebug
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		m.engine.MachineID, _ = timer.ParseID(string(id))
	}
	if id, err := timer.ParseID(m.boot); err == nil {
		m.engine.Perturbation = timer.Perturbation(id)
	}
	defer m.background.Wait()
	m.events = make(chan func(), 64)
	m.journal = make(chan store.Entry, 4096)
	var writer sync.WaitGroup
	writer.Go(m.writeJournal)
	defer func() {
		close(m.journal)
		writer.Wait()
	}()
	if err := m.load(ctx); err != nil {
		return err
	}
	if err := m.resumeRuns(ctx); err != nil {
		return err
	}
	// Only now: a transient service taken up is not collected with
	// those that ended.
	m.collect()
	m.observeStored(ctx)
	m.startCluster(ctx)
	retainCtx, stopRetaining := context.WithCancel(context.Background())
	var retaining sync.WaitGroup
	retaining.Go(func() { m.retain(retainCtx) })
	defer func() {
		stopRetaining()
		retaining.Wait()
	}()
	// The loop is up before the socket is there: a client that finds
	// the socket is answered, not told that the daemon does not run.
	up, down := m.obs.chans()
	close(up)
	var serving sync.WaitGroup
	serveCtx, stopServing := context.WithCancel(context.Background())
	if m.Socket != "" {
		l, err := api.Listen(m.Socket)
		if err != nil {
			close(down)
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
	close(down)
	m.stopAll()
	m.timersExit()
	if m.flushRecords(); len(m.recs.pending) > 0 {
		m.log.Error(fmt.Sprintf("Failed to write %d records to the store before stopping; they are lost.", len(m.recs.pending)))
	}
	stopServing()
	serving.Wait()
	return err
}

// report logs the notes on a unit read.
func (m *Manager) report(e *entry, notes []note) {
	for _, n := range notes {
		m.unitLog(e.name, "", n.priority, n.msg)
	}
}

// notes are what is wrong with a unit's files, and, for a unit that
// loaded, what settings of them sundial does not act on: one that failed
// to load never runs, and its sections hold only what was read before
// the error (no Type= settled, for one).
func notes(u *unit.Unit) []note {
	var out []note
	for _, d := range u.Diagnostics {
		out = append(out, note{4, d.String()})
	}
	if u.LoadState != unit.Loaded {
		return out
	}
	for _, a := range u.Unsupported() {
		out = append(out, note{5, fmt.Sprintf("%s:%d: %s= is not supported by sundial, ignoring.", a.Pos.File, a.Pos.Line, a.Key)})
	}
	// Each once, where it is set first.
	said := map[string]bool{}
	for _, a := range u.Assignments {
		if why := service.Unhonoured(a.Key); a.Section == "Service" && why != "" && !said[a.Key] {
			said[a.Key] = true
			out = append(out, note{5, fmt.Sprintf("%s:%d: %s= cannot be honoured here (%s), ignoring.", a.Pos.File, a.Pos.Line, a.Key, why)})
		}
	}
	if s := u.Service; s != nil {
		switch s.Type {
		case "simple", "exec", "oneshot", "forking", "notify":
		case "notify-reload", "idle":
			// notify-reload starts as notify does; idle as simple, without
			// its wait for the other jobs.
		default:
			out = append(out, note{4, fmt.Sprintf("%s: Type=%s is not supported by sundial; the service runs as Type=simple.", u.Name, s.Type)})
		}
	}
	return out
}

// loop is the event loop: it sleeps until the engine's next wake-up or
// until work comes, fires what is due, and repeats until ctx is done.
func (m *Manager) loop(ctx context.Context) error {
	last := m.clk.Now()
	zone := localtimeID()
	for {
		now := m.clk.Now()
		start := m.trigger
		if timer.ClockJumped(last, now) {
			m.log.Info("Time has been changed")
			m.eachTimer(func(e *entry) { m.engine.ClockChanged(e.timer, now, start) })
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
				m.eachTimer(func(e *entry) { m.engine.TimezoneChanged(e.timer, now, start) })
			}
		}
		last = now
		for _, t := range m.engine.Due(now) {
			if m.isClusterTimer(m.units[t.Name]) {
				continue // the cluster's leader fires it
			}
			m.engine.Fire(t, now, start)
			if e := m.units[t.Name]; e != nil {
				m.changed(e)
			}
		}
		m.retryRecords(now)
		for len(m.later) > 0 {
			f := m.later[0]
			m.later = m.later[1:]
			f()
		}
		m.collect()
		m.newLoader()
		wake, stop := m.clk.After(m.sleep(m.clk.Now()))
		select {
		case <-ctx.Done():
			stop()
			return nil
		case f := <-m.events:
			stop()
			f()
		case <-m.Reload:
			stop()
			// As manager_dispatch_signal_fd on SIGHUP, and main.c's
			// log line for MANAGER_RELOAD.
			m.log.Info("Reloading.")
			m.reload(ctx)
		case <-wake:
		}
	}
}

// retainEvery is how often the journal and the history are cut to
// their limits.
const retainEvery = time.Hour

// retain cuts the journal and the run history to their limits, at once
// and then every retainEvery, until ctx is done.
func (m *Manager) retain(ctx context.Context) {
	r := m.Retention
	if r == (store.Retention{}) && m.MaxAge == 0 {
		return
	}
	for {
		if m.MaxAge > 0 {
			r.Before = m.clk.Now().Realtime - uint64(m.MaxAge/time.Microsecond)
		}
		if d, err := m.store.Retain(ctx, r); err != nil && ctx.Err() == nil {
			m.log.Error("cutting the journal to its limits", "err", err)
		} else if d.Entries+d.Runs > 0 {
			m.log.Info("journal cut to its limits", "entries", d.Entries, "runs", d.Runs)
		}
		if !m.pause(ctx, retainEvery) {
			return
		}
	}
}

// pause waits for d to pass, and reports whether it did before ctx was
// done.
func (m *Manager) pause(ctx context.Context, d time.Duration) bool {
	wake, stop := m.clk.After(d)
	select {
	case <-ctx.Done():
		stop()
		return false
	case <-wake:
		return true
	}
}

// eachTimer tells each timer of a change, in the order of their names.
func (m *Manager) eachTimer(f func(e *entry)) {
	for _, name := range slices.Sorted(maps.Keys(m.units)) {
		if e := m.units[name]; e.timer != nil {
			f(e)
			m.changed(e)
		}
	}
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
	if r := m.recs.retryAt; r != 0 {
		d = min(d, r-min(r, now.Monotonic))
	}
	return time.Duration(min(d, most)) * time.Microsecond
}

// trigger starts the unit of a timer that fired: the trigger and its run
// are recorded (or kept until they can be, see records), then once the
// timer is running, the start job begins.
func (m *Manager) trigger(tr timer.Trigger) error {
	te := m.units[tr.Timer.Name]
	se, err := m.get(tr.Unit)
	if err != nil {
		m.observeTrigger(te.name, tr, skipRefused)
		return err
	}
	// As a start by hand, refused before it is queued: the unit, or one
	// it requires, that cannot be loaded.
	msg, _ := refusal(se, "start")
	if msg == "" {
		msg, _ = m.pullInRefusal(se)
	}
	if msg != "" {
		m.observeTrigger(te.name, tr, skipRefused)
		return errors.New(msg)
	}
	invocation := newID()
	// Running already: the start does nothing, and no run begins.
	id := m.recordTrigger(te, store.Trigger{Timer: te.name, Unit: tr.Unit, Reason: tr.Reason.String(),
		Invocation: invocation, Realtime: tr.At.Realtime, Monotonic: tr.At.Monotonic, Boot: m.boot, NoRun: se.isActive()})
	m.observeTrigger(te.name, tr, noRun(se))
	act := activation{timer: te.name, reason: tr.Reason.String(), runID: id, invocation: invocation, env: tr.Env()}
	m.later = append(m.later, func() { m.start(se, act, nil) })
	return nil
}

// unitLog writes a message about a unit to the journal, as the manager's
// ("systemd" in systemd's journal), with the fields systemd gives it
// ("MESSAGE_ID=…", "JOB_RESULT=done"): its MESSAGE_ID, and the unit's
// name as log_unit_struct() names it, UNIT= for the system's manager,
// USER_UNIT= for a user's.
func (m *Manager) unitLog(unitName, invocation string, priority int, msg string, fields ...string) {
	now := m.clk.Now()
	m.log.Log(context.Background(), priorityLevel(priority), msg, "unit", unitName)
	if priority > 6 {
		return // debug messages stay out of the journal, as at LogLevel=info
	}
	field := "UNIT="
	if m.Scope == unit.UserScope {
		field = "USER_UNIT="
	}
	e := store.Entry{Realtime: now.Realtime, Monotonic: now.Monotonic, Boot: m.boot, Unit: unitName, Invocation: invocation,
		PID: m.pid, Identifier: "sundial", Priority: priority, Message: msg, Fields: field + unitName + "\n"}
	for _, f := range fields {
		if id, ok := strings.CutPrefix(f, "MESSAGE_ID="); ok {
			e.MessageID = id
		} else {
			e.Fields += f + "\n"
		}
	}
	m.journal <- e
}

// jobLog writes a job's message, as job_emit_start_message (result "")
// and job_emit_done_message: at the level of its result, with the
// MESSAGE_ID of its type and result, and JOB_TYPE= and JOB_RESULT=.
func (m *Manager) jobLog(unitName, invocation, jobType, result, msg string) {
	priority := 6
	switch result {
	case jobFailed:
		priority = 3
	case jobDependency, jobAssert:
		priority = 4
	}
	var id string
	switch {
	case jobType == "start" && result == "":
		id = service.MessageUnitStarting
	case jobType == "stop" && result == "":
		id = service.MessageUnitStopping
	case jobType == "start" && result == jobDone:
		id = service.MessageUnitStarted
	case jobType == "start":
		id = service.MessageUnitFailed
	default:
		id = service.MessageUnitStopped
	}
	fields := []string{"MESSAGE_ID=" + id, "JOB_TYPE=" + jobType}
	if result != "" {
		fields = append(fields, "JOB_RESULT="+result)
	}
	m.unitLog(unitName, invocation, priority, msg, fields...)
}

// writeJournal appends the journal's entries in batches: what came while
// the last batch was written. A batch that cannot be written is dropped,
// and counted, as journald drops what it cannot write: no unit fails for
// its journal.
func (m *Manager) writeJournal() {
	dropping := 0 // the lines dropped since the writes began to fail
	defer func() {
		if dropping > 0 {
			m.log.Error(fmt.Sprintf("Failed to write %d lines to the journal before stopping.", dropping))
		}
	}()
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
		err := m.writes.Append(context.Background(), batch...)
		m.obs.observeJournal(len(batch), err)
		if err != nil {
			if dropping == 0 {
				m.log.Error("Failed to write to the journal; dropping its lines until it can again.", "err", err)
			}
			dropping += len(batch)
			m.droppedLines += uint64(len(batch))
		} else if dropping > 0 {
			m.log.Warn(fmt.Sprintf("Writing to the journal again; %d lines were dropped (%d since the daemon started).", dropping, m.droppedLines))
			dropping = 0
		}
	}
}

// describe is a unit as systemd's job messages name it (Debian's
// "combined" form): "backup.service - Nightly backup".
func describe(e *entry) string {
	if e.desc == "" || e.desc == e.name {
		return e.name
	}
	return e.name + " - " + e.desc
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
