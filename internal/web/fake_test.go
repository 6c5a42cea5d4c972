package web

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
)

// pinned is the time the tests' daemon stands at.
var pinned = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// A fakeSource is a daemon in memory: a snapshot, a history and a
// journal, and the actions asked of it.
type fakeSource struct {
	snap manager.Snapshot
	runs []store.Run // by ID
	// node and remote, set for a node of a cluster, are its name and
	// the runs of the other nodes.
	node    string
	remote  []api.Run
	entries []store.Entry
	units   map[string]api.Unit
	files   map[string][][2]string
	err     error // what every call returns, if set

	mu     sync.Mutex // guards acted, loaded, and entries once served
	acted  []string
	loaded []string // the units asked of Status it did not have
}

// log adds a journal line while the server serves.
func (f *fakeSource) log(e store.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
}

func (f *fakeSource) Snapshot(ctx context.Context) (manager.Snapshot, error) { return f.snap, f.err }
func (f *fakeSource) Ping(ctx context.Context) error                         { return f.err }
func (f *fakeSource) Location(ctx context.Context) (*time.Location, error) {
	return f.snap.Now.Location(), f.err
}

func (f *fakeSource) History(ctx context.Context, units []string, since uint64, n int) ([]store.Run, error) {
	var out []store.Run
	for _, r := range f.runs {
		if (len(units) == 0 || slices.Contains(units, r.Unit)) && (r.Ended == 0 || r.Ended >= since) {
			out = append(out, r)
		}
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, f.err
}

func (f *fakeSource) Runs(ctx context.Context, unit string, n int) ([]api.Run, error) {
	var out []api.Run
	for _, r := range f.runs {
		if r.Unit == unit {
			out = append(out, api.Run{ID: r.ID, Unit: r.Unit, Timer: r.Timer, Reason: r.Reason, Invocation: r.Invocation, Started: r.Started,
				Ended: r.Ended, State: string(r.State), Result: r.Result, ExitCode: r.ExitCode, ExitStatus: r.ExitStatus, Node: f.node})
		}
	}
	for _, r := range f.remote {
		if r.Unit == unit {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b api.Run) int { return cmp.Compare(a.Started, b.Started) })
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, f.err
}

func (f *fakeSource) HistoryRun(ctx context.Context, id int64) (store.Run, error) {
	i, ok := slices.BinarySearchFunc(f.runs, id, func(r store.Run, id int64) int { return int(r.ID - id) })
	if !ok {
		return store.Run{}, fmt.Errorf("no run %d", id)
	}
	return f.runs[i], nil
}

func (f *fakeSource) Journal(ctx context.Context, q store.Filter) ([]store.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Entry
	for _, e := range f.entries {
		if slices.Contains(q.Units, e.Unit) && e.Seq > q.After && e.Realtime >= q.Since && (q.Until == 0 || e.Realtime <= q.Until) {
			out = append(out, e)
		}
	}
	return out, f.err
}

func (f *fakeSource) Status(ctx context.Context, name string) (api.Unit, error) {
	u, ok := f.units[name]
	if !ok {
		// The daemon would load it, or remember it missing.
		f.mu.Lock()
		f.loaded = append(f.loaded, name)
		f.mu.Unlock()
		return api.Unit{Name: name, Load: "not-found", Active: "inactive", Sub: "dead"}, f.err
	}
	return u, f.err
}

func (f *fakeSource) UnitFiles(ctx context.Context, name string) ([][2]string, error) {
	return f.files[name], f.err
}

func (f *fakeSource) Act(ctx context.Context, verb, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acted = append(f.acted, verb+" "+name)
	return f.err
}

func (f *fakeSource) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.acted)
}

// µs is a time as the store keeps it.
func µs(t time.Time) uint64 { return uint64(t.UnixMicro()) }

// newFake is a daemon of two timers: backup.timer, daily, whose service
// failed its last run, after a success and a catch-up, and
// tick.timer, every minute, a monotonic one, whose service runs.
func newFake() *fakeSource {
	at := func(d time.Duration) time.Time { return pinned.Add(d) }
	lateness := manager.Histogram{Bounds: manager.LatenessBuckets, Counts: []uint64{1, 2, 2, 3, 3, 3, 3, 3}, Count: 3, Sum: 0.75}
	runs := func(n ...uint64) []uint64 {
		out := make([]uint64, len(manager.RunResults))
		copy(out, n)
		return out
	}
	durations := func(counts ...uint64) manager.Histogram {
		h := manager.Histogram{Bounds: manager.DurationBuckets, Counts: make([]uint64, len(manager.DurationBuckets))}
		copy(h.Counts, counts)
		return h
	}
	backupDur := durations(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2)
	backupDur.Count, backupDur.Sum = 2, 345.5
	tickDur := durations(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	tickDur.Count, tickDur.Sum = 1, 0.004
	f := &fakeSource{
		snap: manager.Snapshot{Now: pinned, Lateness: lateness, JournalWritten: 42, JournalDropped: 1, StoreWritable: true,
			Timers: []manager.TimerStatus{
				{Name: "backup.timer", Description: "Nightly backup", Unit: "backup.service", Schedule: []string{"OnCalendar=*-*-* 03:00:00"},
					Persistent: true, Enabled: true, Active: true, State: "waiting", Result: "success",
					Next: at(15 * time.Hour), LastTrigger: at(-9 * time.Hour), CatchUps: 1, Skipped: []uint64{0, 0}},
				{Name: "tick.timer", Unit: "tick.service", Schedule: []string{"OnBootSec=1min", "OnUnitActiveSec=1min"},
					Enabled: true, Active: true, State: "running", Result: "success",
					Next: time.Time{}, LastTrigger: at(-time.Second), Skipped: []uint64{2, 0}},
			},
			Services: []manager.ServiceStatus{
				{Name: "backup.service", Description: "Nightly backup", Active: "failed", Sub: "failed", Result: "exit-code",
					LastStart: at(-9 * time.Hour), LastEnd: at(-9*time.Hour + 5*time.Minute), LastSuccess: at(-33*time.Hour + 10*time.Minute),
					LastFailure: at(-9*time.Hour + 5*time.Minute), LastExitCode: "exited", LastExitStatus: 2,
					Runs: runs(1, 1), Duration: backupDur},
				{Name: "tick.service", Active: "active", Sub: "running", Result: "success", Running: true,
					LastStart: at(-time.Second), LastEnd: at(-time.Minute), LastSuccess: at(-time.Minute),
					Runs: runs(1), Duration: tickDur},
			}},
		runs: []store.Run{
			{ID: 1, Unit: "backup.service", Timer: "backup.timer", Reason: "OnCalendar (catch-up)", Invocation: "a1",
				Started: µs(at(-20 * time.Hour)), Ended: µs(at(-20*time.Hour + 10*time.Minute)), State: store.RunEnded, Result: "success", ExitCode: "exited"},
			{ID: 2, Unit: "backup.service", Timer: "backup.timer", Reason: "OnCalendar", Invocation: "b2",
				Started: µs(at(-9 * time.Hour)), Ended: µs(at(-9*time.Hour + 5*time.Minute)), State: store.RunEnded, Result: "exit-code", ExitCode: "exited", ExitStatus: 2},
			{ID: 3, Unit: "tick.service", Timer: "tick.timer", Reason: "OnUnitActiveSec", Invocation: "c3",
				Started: µs(at(-time.Minute)), Ended: µs(at(-time.Minute + 4*time.Millisecond)), State: store.RunEnded, Result: "success", ExitCode: "exited"},
			{ID: 4, Unit: "tick.service", Timer: "tick.timer", Reason: "OnUnitActiveSec", Invocation: "d4",
				Started: µs(at(-time.Second)), State: store.RunRunning},
		},
		entries: []store.Entry{
			{Seq: 10, Realtime: µs(at(-9 * time.Hour)), Unit: "backup.service", Invocation: "b2", PID: 7, Identifier: "sundial", Priority: 6, Message: "Starting backup.service - Nightly backup..."},
			{Seq: 11, Realtime: µs(at(-9*time.Hour + time.Minute)), Unit: "backup.service", Invocation: "b2", PID: 99, Identifier: "backup", Priority: 6, Message: "<script>alert(1)</script> disk full"},
			{Seq: 12, Realtime: µs(at(-9*time.Hour + 5*time.Minute)), Unit: "backup.service", Invocation: "b2", PID: 7, Identifier: "sundial", Priority: 4, Message: "backup.service: Failed with result 'exit-code'."},
			{Seq: 13, Realtime: µs(at(-time.Second)), Unit: "tick.service", Invocation: "d4", PID: 100, Identifier: "tick", Priority: 6, Message: "tick"},
		},
		units: map[string]api.Unit{
			"backup.timer": {Name: "backup.timer", Description: "Nightly backup", Load: "loaded", Active: "active", Sub: "waiting", Result: "success",
				FileState: "enabled", NextElapse: µs(at(15 * time.Hour)), Triggers: []api.Related{{Name: "backup.service", Active: "failed"}}},
			"backup.service": {Name: "backup.service", Description: "Nightly backup", Load: "loaded", Active: "failed", Sub: "failed", Result: "exit-code", FileState: "static"},
			"tick.timer": {Name: "tick.timer", Load: "loaded", Active: "active", Sub: "running", Result: "success",
				Triggers: []api.Related{{Name: "tick.service", Active: "active"}}},
			"tick.service": {Name: "tick.service", Load: "loaded", Active: "active", Sub: "running", Result: "success"},
		},
		files: map[string][][2]string{
			"backup.timer": {{"/etc/systemd/system/backup.timer", "[Timer]\nOnCalendar=*-*-* 03:00\nPersistent=yes\n"}},
		},
	}
	return f
}

// fixedClock stands at an instant.
type fixedClock struct{ at time.Time }

func (c fixedClock) Now() timer.Instant {
	return timer.Instant{Realtime: µs(c.at), Monotonic: 1e9}
}

func (c fixedClock) After(time.Duration) (<-chan time.Time, func() bool) {
	return nil, func() bool { return true }
}

func newTestServer(f *fakeSource) *Server {
	return &Server{Source: f, Clock: fixedClock{pinned}, Token: "secret"}
}

// A fakeCluster is the daemon's node of a cluster.
type fakeCluster struct{ r cluster.Report }

func (f *fakeCluster) ClusterReport() cluster.Report { return f.r }

// unjoined is node b of a cluster before it has joined: nothing counted.
func unjoined() cluster.Report {
	return cluster.Report{Node: "b", Stats: cluster.NewMeter(nil).Stats(),
		Health: cluster.Health{Problems: []string{"the daemon has not joined its cluster yet"}}}
}

// leading is node b leading the cluster's timers, in its second term,
// among three nodes: its requests counted, one range failed, three of
// its txns took 3 ms and one 0.3 s; one trigger was refused by the fence.
func leading() cluster.Report {
	r := unjoined()
	r.Joined, r.Health = true, cluster.Health{Healthy: true, Leader: "b", Nodes: 3}
	r.TermsWon, r.TermsLost = 2, 1
	r.Triggers = []uint64{40, 1, 2, 0}
	for i := range r.Requests {
		q := &r.Requests[i]
		switch q.Op {
		case "range":
			q.Failures, q.Duration.Count, q.Duration.Sum = 1, 1, 5
			q.Duration.Counts[len(q.Duration.Counts)-1] = 1
		case "txn":
			q.Duration.Count, q.Duration.Sum = 4, 0.309
			copy(q.Duration.Counts, []uint64{0, 0, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4})
		}
	}
	return r
}
