package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// A Snapshot is the daemon's state at one moment, as its page and its
// metrics show it: the timers and services, with what the daemon counts
// of them since it started.
type Snapshot struct {
	// Now is when it was taken, in the daemon's time zone.
	Now      time.Time
	Timers   []TimerStatus   // by name
	Services []ServiceStatus // by name
	// Lateness counts the triggers by how long after their elapse
	// they came, in seconds.
	Lateness Histogram
	// JournalWritten and JournalDropped count the journal's lines
	// written and those that could not be.
	JournalWritten, JournalDropped uint64
	// StoreWritable is false while writes to the store fail (the disk
	// full): stamps and runs held, journal lines dropped.
	StoreWritable bool
}

// A TimerStatus is a timer's state.
type TimerStatus struct {
	Name, Description string
	Unit              string   // the unit it activates
	Schedule          []string // its settings, as "OnCalendar=*-*-* 03:00:00"
	Persistent        bool
	// Enabled is set for a timer timers.target wants, which the daemon
	// starts.
	Enabled bool
	Active  bool
	State   string // waiting, running, elapsed, dead, failed
	Result  string
	// Next is the next elapse as a wall-clock time, also for the
	// monotonic settings; LastTrigger the last. Zero for none.
	Next, LastTrigger time.Time
	// CatchUps counts its triggers for elapses it missed (folded into
	// one, as systemd folds them).
	CatchUps uint64
	// Skipped counts the elapses that started no run, by the reasons
	// of SkipReasons.
	Skipped []uint64
}

// A ServiceStatus is a service's state and the outcome of its runs.
type ServiceStatus struct {
	Name, Description string
	Active, Sub       string // as systemctl shows them
	Result            string // as the Result property
	Running           bool   // an activation's processes run
	// The last run's start and end, and the ends of the last that
	// succeeded and of the last that failed; zero for none.
	LastStart, LastEnd, LastSuccess, LastFailure time.Time
	// LastExitCode and LastExitStatus are how the last run's main
	// process ended ("exited", "killed", "dumped"; "" for none).
	LastExitCode   string
	LastExitStatus int
	// Runs counts the runs ended since the daemon started, by the
	// results of RunResults.
	Runs []uint64
	// Duration counts them by how long they took, in seconds.
	Duration Histogram
}

// A Histogram counts observations in buckets, as Prometheus's does.
type Histogram struct {
	Bounds []float64 // the buckets' upper bounds, ascending; shared, not to be written
	Counts []uint64  // the observations at or below each bound
	Count  uint64
	Sum    float64
}

func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds))}
}

func (h *Histogram) observe(v float64) {
	for i, b := range h.Bounds {
		if v <= b {
			h.Counts[i]++
		}
	}
	h.Count++
	h.Sum += v
}

func (h Histogram) clone() Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h
}

// RunResults are the results runs are counted by: systemd's words for
// how a service's activation ended, exec-condition for one its
// ExecCondition= skipped, and the start jobs' skipped (a condition
// failed) and assert.
var RunResults = []string{"success", "exit-code", "signal", "core-dump", "timeout", "resources", "protocol",
	string(startLimitHit), "exec-condition", "skipped", jobAssert}

// SkipReasons are why an elapse started no run: the unit ran already,
// or could not be started (not found, masked, a bad setting).
var SkipReasons = []string{"already-running", "refused"}

const (
	skipRunning = iota
	skipRefused
)

// DurationBuckets and LatenessBuckets are the bounds of the run
// durations' and the triggers' lateness counts, in seconds: from the
// few milliseconds a small service takes to an hour.
var (
	DurationBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 10, 30, 60, 300, 3600}
	LatenessBuckets = []float64{0.001, 0.01, 0.1, 1, 10, 60, 600, 3600}
)

// resultIndex is a run history's result's index in RunResults; false
// for a run that did not end (interrupted).
func resultIndex(result string) (int, bool) {
	switch {
	case result == skippedExecCondition:
		result = "exec-condition"
	case strings.HasPrefix(result, "skipped"):
		result = "skipped"
	}
	i := slices.Index(RunResults, result)
	return i, i >= 0
}

// failed reports whether a run's result is a failure: not a success,
// and not a start a condition skipped.
func failed(result string) bool {
	i, ok := resultIndex(result)
	return ok && RunResults[i] != "success" && RunResults[i] != "exec-condition" && RunResults[i] != "skipped"
}

// observer keeps what the daemon counts for its snapshots. The loop
// writes its maps; the journal's writer its atomic counters.
type observer struct {
	once     sync.Once
	up, down chan struct{} // closed when the loop runs, and when it stopped

	written, dropped atomic.Uint64
	failing          atomic.Bool // the journal's writes fail

	services map[string]*serviceStats
	timers   map[string]*timerStats
	lateness Histogram
	starts   map[int64]uint64 // the runs that run, by ID: their start, realtime µs
}

type serviceStats struct {
	runs                                      []uint64
	duration                                  Histogram
	lastStart, lastEnd, lastSuccess, lastFail uint64
	exitCode                                  string
	exitStatus                                int
}

type timerStats struct {
	catchUps uint64
	skipped  [2]uint64
}

// chans makes the channels once, for whichever comes first: the loop,
// or a snapshot asked for before it runs.
func (o *observer) chans() (up, down chan struct{}) {
	o.once.Do(func() { o.up, o.down = make(chan struct{}), make(chan struct{}) })
	return o.up, o.down
}

func (m *Manager) serviceStatsOf(name string) *serviceStats {
	s := m.obs.services[name]
	if s == nil {
		if m.obs.services == nil {
			m.obs.services = map[string]*serviceStats{}
		}
		s = &serviceStats{runs: make([]uint64, len(RunResults)), duration: newHistogram(DurationBuckets)}
		m.obs.services[name] = s
	}
	return s
}

func (m *Manager) timerStatsOf(name string) *timerStats {
	s := m.obs.timers[name]
	if s == nil {
		if m.obs.timers == nil {
			m.obs.timers = map[string]*timerStats{}
		}
		s = new(timerStats)
		m.obs.timers[name] = s
	}
	return s
}

// observeStored starts the counts from the run history: the last start
// and end of each unit, its last success and failure, and the runs that
// run, for their durations. Errors leave the counts empty: the daemon
// runs without them.
func (m *Manager) observeStored(ctx context.Context) {
	last, err := m.store.LastByResult(ctx)
	if err != nil {
		m.log.Error("reading the last runs", "err", err)
	}
	for name, byResult := range last {
		s := m.serviceStatsOf(name)
		var latest store.Run
		for result, r := range byResult {
			if r.ID > latest.ID {
				latest = r
			}
			switch {
			case result == "success":
				s.lastSuccess = r.Ended
			case failed(result):
				s.lastFail = max(s.lastFail, r.Ended)
			}
		}
		s.lastStart, s.lastEnd, s.exitCode, s.exitStatus = latest.Started, latest.Ended, latest.ExitCode, latest.ExitStatus
	}
	running, err := m.store.RunningRuns(ctx)
	if err != nil {
		m.log.Error("reading the runs that run", "err", err)
	}
	for _, r := range running {
		m.runStarted(r.ID, r.Started)
		m.serviceStatsOf(r.Unit).lastStart = r.Started
	}
}

// observeTrigger counts a timer's trigger: its lateness, a catch-up, and
// an elapse that started no run, for the reason skip (-1 for none).
func (m *Manager) observeTrigger(name string, tr timer.Trigger, skip int) {
	if m.obs.lateness.Bounds == nil {
		m.obs.lateness = newHistogram(LatenessBuckets)
	}
	m.obs.lateness.observe(float64(tr.Late) / 1e6)
	s := m.timerStatsOf(name)
	if tr.Reason.CatchUp {
		s.catchUps++
	}
	if skip >= 0 {
		s.skipped[skip]++
	}
}

// noRun is why a trigger of e starts no run: skipRunning for a unit
// that runs already; -1 for one that is started.
func noRun(e *entry) int {
	if e.isActive() {
		return skipRunning
	}
	return -1
}

// observeStart notes the start of a run.
func (m *Manager) observeStart(name string, runID int64, now timer.Instant) {
	m.runStarted(runID, now.Realtime)
	m.serviceStatsOf(name).lastStart = now.Realtime
}

func (m *Manager) runStarted(runID int64, realtime uint64) {
	if runID == 0 {
		return
	}
	if m.obs.starts == nil {
		m.obs.starts = map[int64]uint64{}
	}
	m.obs.starts[runID] = realtime
}

// observeEnd counts a run that ended, with how long it took; a start
// that did not begin a run (result "") is not one.
func (m *Manager) observeEnd(name string, runID int64, ended timer.Instant, result, code string, status int) {
	started, ok := m.obs.starts[runID]
	delete(m.obs.starts, runID)
	i, counted := resultIndex(result)
	if !counted {
		return
	}
	s := m.serviceStatsOf(name)
	s.runs[i]++
	if !ok {
		started = ended.Realtime // a start a condition skipped: no time
		s.lastStart = started
	}
	s.duration.observe(float64(ended.Realtime-min(started, ended.Realtime)) / 1e6)
	s.lastEnd, s.exitCode, s.exitStatus = ended.Realtime, code, status
	switch {
	case RunResults[i] == "success":
		s.lastSuccess = ended.Realtime
	case failed(result):
		s.lastFail = ended.Realtime
	}
}

// observeJournal counts a batch of journal lines written, or dropped.
func (o *observer) observeJournal(lines int, err error) {
	if err != nil {
		o.dropped.Add(uint64(lines))
	} else {
		o.written.Add(uint64(lines))
	}
	o.failing.Store(err != nil)
}

// ErrNotRunning is returned by what asks the daemon's loop while it
// does not run: before its units are loaded, or once it stops.
var ErrNotRunning = errors.New("manager: the daemon's loop does not run")

// inLoop runs f in the loop and waits for it.
func (m *Manager) inLoop(ctx context.Context, f func()) error {
	up, down := m.obs.chans()
	select {
	case <-up:
	default:
		return ErrNotRunning
	}
	done := make(chan struct{})
	select {
	case m.events <- func() { f(); close(done) }:
	case <-down:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-down:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ping returns once the loop answers.
func (m *Manager) Ping(ctx context.Context) error { return m.inLoop(ctx, func() {}) }

// Snapshot returns the daemon's state, read in its loop.
func (m *Manager) Snapshot(ctx context.Context) (Snapshot, error) {
	m.readClusterViews(ctx)
	var s Snapshot
	err := m.inLoop(ctx, func() { s = m.snapshot() })
	return s, err
}

func (m *Manager) snapshot() Snapshot {
	now := m.clk.Now()
	loc := m.engine.Location
	at := func(µs uint64) time.Time {
		if µs == 0 || µs == timer.Infinity {
			return time.Time{}
		}
		return time.UnixMicro(int64(µs)).In(loc)
	}
	if m.obs.lateness.Bounds == nil {
		m.obs.lateness = newHistogram(LatenessBuckets)
	}
	s := Snapshot{Now: at(now.Realtime), Lateness: m.obs.lateness.clone(),
		JournalWritten: m.obs.written.Load(), JournalDropped: m.obs.dropped.Load(),
		StoreWritable: len(m.recs.pending) == 0 && !m.obs.failing.Load()}
	wanted := map[string]bool{}
	if e := m.units["timers.target"]; e != nil {
		for _, name := range e.u().Unit.Deps["Wants"] {
			wanted[name] = true
		}
	}
	// Their room made first: appends of 10,000 statuses, each some
	// hundreds of bytes, took a third of a snapshot's time.
	var timers, services int
	for _, e := range m.units {
		switch {
		case e.timer != nil:
			timers++
		case e.typ == unit.Service:
			services++
		}
	}
	s.Timers, s.Services = make([]TimerStatus, 0, timers), make([]ServiceStatus, 0, services)
	// A cluster timer fires on the leader alone: shown as it sees it,
	// and its unit's last run as the cluster has it, on any node.
	viewed, lastRuns := m.snapshotClusterTimers(now)
	for _, name := range slices.Sorted(maps.Keys(m.units)) {
		e := m.units[name]
		switch {
		case e.timer != nil:
			t := e.timer
			ts := TimerStatus{Name: name, Description: e.desc, Unit: e.trigger, Persistent: t.Config.Persistent,
				Enabled: wanted[name], Active: t.State.Active(), State: t.State.String(), Result: t.Result.String(),
				Next: at(t.NextElapse(now)), LastTrigger: at(t.LastTrigger.Realtime), Skipped: make([]uint64, len(SkipReasons))}
			if v, ok := viewed[name]; ok {
				ts.State, ts.Next, ts.LastTrigger = v.t.State.String(), at(v.next()), at(v.t.LastTrigger.Realtime)
			}
			for _, v := range t.Config.Values {
				ts.Schedule = append(ts.Schedule, schedule(v))
			}
			if st := m.obs.timers[name]; st != nil {
				ts.CatchUps = st.catchUps
				copy(ts.Skipped, st.skipped[:])
			}
			s.Timers = append(s.Timers, ts)
		case e.typ == unit.Service:
			active, sub := e.activeSub()
			ss := ServiceStatus{Name: name, Description: e.desc, Active: active, Sub: sub, Result: string(e.result), Running: e.run != nil}
			if ss.Result == "" {
				ss.Result = "success"
			}
			if st := m.obs.services[name]; st != nil {
				ss.LastStart, ss.LastEnd, ss.LastSuccess, ss.LastFailure = at(st.lastStart), at(st.lastEnd), at(st.lastSuccess), at(st.lastFail)
				ss.LastExitCode, ss.LastExitStatus = st.exitCode, st.exitStatus
				ss.Runs, ss.Duration = slices.Clone(st.runs), st.duration.clone()
			} else {
				ss.Runs, ss.Duration = make([]uint64, len(RunResults)), newHistogram(DurationBuckets)
			}
			if r := lastRuns[name]; r != nil {
				ss.clusterRun(r, at)
			}
			s.Services = append(s.Services, ss)
		}
	}
	return s
}

// clusterRun shows the last run of a service in the cluster, r, where
// it started after the last here: its start, and its end and result if
// it ended. The counts stay this node's.
func (ss *ServiceStatus) clusterRun(r *api.Run, at func(uint64) time.Time) {
	start := at(r.Started)
	if !start.After(ss.LastStart) {
		return // the last here, or one before it
	}
	ss.LastStart = start
	if r.Ended == 0 {
		return // it runs
	}
	end := at(r.Ended)
	ss.LastEnd, ss.LastExitCode, ss.LastExitStatus = end, r.ExitCode, r.ExitStatus
	if r.Result == "" {
		return // its node was lost: how it ended is not known
	}
	ss.Result = r.Result
	switch {
	case r.Result == "success":
		ss.LastSuccess = end
	case failed(r.Result):
		ss.LastFailure = end
	}
}

// schedule is a timer's setting as its unit file would have it.
func schedule(v unit.TimerValue) string {
	if v.Base == unit.OnCalendar {
		return "OnCalendar=" + v.Calendar.String()
	}
	return v.Base.String() + "=" + v.Span.String()
}

// History returns the runs of the units (none for all) running or
// ended at since (realtime µs) or later, the last n (0 for all), oldest
// first.
func (m *Manager) History(ctx context.Context, units []string, since uint64, n int) ([]store.Run, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	return m.store.RunsSince(ctx, units, since, n)
}

// Runs returns the last n runs of a unit (0 for all), oldest first: for
// a daemon in a cluster, those of every node, each with its node, as
// sundial history shows them; where the cluster cannot be asked, those
// of this node, as the page shows them.
func (m *Manager) Runs(ctx context.Context, unit string, n int) ([]api.Run, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	runs, err := ReadRuns(ctx, m.store, unit, n)
	if err != nil {
		return nil, err
	}
	if all, err := m.withClusterRuns(ctx, slices.Clone(runs), unit, n); err == nil {
		return all, nil
	}
	return runs, nil
}

// HistoryRun returns one run of the history.
func (m *Manager) HistoryRun(ctx context.Context, id int64) (store.Run, error) {
	if err := m.running(); err != nil {
		return store.Run{}, err
	}
	return m.store.RunByID(ctx, id)
}

// Journal returns the journal entries the filter selects, oldest first.
func (m *Manager) Journal(ctx context.Context, f store.Filter) ([]store.Entry, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	var out []store.Entry
	for e, err := range m.store.Query(ctx, f) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Location returns the time zone the daemon reads its timers' calendar
// settings in and shows its times in: the engine's, which follows
// /etc/localtime's changes, not the process's.
func (m *Manager) Location(ctx context.Context) (*time.Location, error) {
	var loc *time.Location
	err := m.inLoop(ctx, func() { loc = m.engine.Location })
	return loc, err
}

// Status returns what systemctl status shows of a unit.
func (m *Manager) Status(ctx context.Context, name string) (api.Unit, error) {
	if err := m.running(); err != nil {
		return api.Unit{}, err
	}
	units, err := backend{m}.Units(ctx, []string{name}, false)
	if err != nil {
		return api.Unit{}, err
	}
	return units[0], nil
}

// UnitFiles returns a unit's file and drop-ins, by path.
func (m *Manager) UnitFiles(ctx context.Context, name string) ([][2]string, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	return backend{m}.UnitFiles(ctx, name)
}

// Act queues a job on a unit, as systemctl does without waiting for it
// (--no-block): verb is start or stop; or, for a timer, skip: its next
// elapse is skipped.
func (m *Manager) Act(ctx context.Context, verb, name string) error {
	if err := m.running(); err != nil {
		return err
	}
	if verb == "skip" {
		return m.skipNext(ctx, name)
	}
	res, err := backend{m}.Jobs(ctx, api.JobRequest{Verb: verb, Units: []string{name}, NoBlock: true})
	if err != nil {
		return err
	}
	if res[0].Error != "" {
		return errors.New(res[0].Error)
	}
	return nil
}

// skipNext skips a timer's next elapse, saying so in its journal.
func (m *Manager) skipNext(ctx context.Context, name string) error {
	var err error
	if lerr := m.inLoop(ctx, func() {
		e := m.units[name]
		if e == nil || e.timer == nil {
			err = fmt.Errorf("Unit %s is not a timer in memory.", name)
			return
		}
		now := m.clk.Now()
		next := e.timer.NextElapse(now)
		if err = m.engine.Skip(e.timer, now); err == nil {
			m.unitLog(name, "", 6, fmt.Sprintf("%s: Skipping the elapse of %s.", name,
				timespan.FormatTimestamp(time.UnixMicro(int64(next)).In(m.engine.Location), timespan.Pretty)))
			m.changed(e)
		}
	}); lerr != nil {
		return lerr
	}
	return err
}

// running returns ErrNotRunning unless the loop runs, and with it the
// store is open.
func (m *Manager) running() error {
	up, down := m.obs.chans()
	select {
	case <-down:
		return ErrNotRunning
	case <-up:
		return nil
	default:
		return ErrNotRunning
	}
}

// Started returns a channel closed once the daemon's loop runs: its
// units loaded, its store open and locked.
func (m *Manager) Started() <-chan struct{} {
	up, _ := m.obs.chans()
	return up
}
