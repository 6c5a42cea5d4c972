package manager

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// viewCluster is a fakeCluster that no node here leads, seen from node
// a: node b ran tick.service, and c does not answer for its journal and
// history.
type viewCluster struct {
	*fakeCluster
	runs []api.Run
	// own are the runs in b's own history.
	own     []api.Run
	views   map[string]ClusterTimerView
	entries []api.Entry
	// err is the answer of every call, where etcd does not answer.
	err error
}

func (viewCluster) Node() string { return "a" }

func (v viewCluster) Runs(_ context.Context, timer string, n int) ([]api.Run, error) {
	if v.err != nil {
		return nil, v.err
	}
	var runs []api.Run
	for _, r := range v.runs {
		if timer == "" || r.Timer == timer {
			runs = append(runs, r)
		}
	}
	return runs, nil
}

func (v viewCluster) PeerRuns(_ context.Context, unit string, n int) ([]api.Run, map[string]error, error) {
	if v.err != nil {
		return nil, nil, v.err
	}
	var runs []api.Run
	for _, r := range v.own {
		if unit == "" || r.Unit == unit {
			runs = append(runs, r)
		}
	}
	return runs, map[string]error{"c": errors.New("connection refused")}, nil
}

func (v viewCluster) TimerViews(_ context.Context, names []string) (map[string]ClusterTimerView, error) {
	return v.views, v.err
}

func (v viewCluster) CachedTimerViews(ctx context.Context, names []string) (map[string]ClusterTimerView, error) {
	return v.TimerViews(ctx, names)
}

func (v viewCluster) JournalUnits(context.Context) ([]string, error) {
	if v.err != nil {
		return nil, v.err
	}
	return []string{"hello.service", "tick.service"}, nil
}

func (v viewCluster) Journal(_ context.Context, q api.JournalQuery) (api.ClusterJournal, error) {
	if v.err != nil {
		return api.ClusterJournal{}, v.err
	}
	j := api.ClusterJournal{Missing: []string{"c"}, Why: map[string]string{"c": "connection refused"}, Cursors: map[string]int64{}}
	for _, e := range v.entries {
		if e.Cursor > q.Cursors[e.Node] {
			j.Entries = append(j.Entries, e)
			j.Cursors[e.Node] = e.Cursor
		}
	}
	return j, nil
}

// late is a realtime after any run of the test's, µs.
const late = 4_000_000_000_000_000

// TestClusterView has a node that does not lead show its cluster: the
// runs of every node in its history (those of b's own history, and the
// cluster's records of them, once each, as b has it), the cluster's last
// trigger and last run of a cluster timer, and the journal lines of
// every node.
func TestClusterView(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"tick.timer":    "[Timer]\nOnCalendar=hourly\n[X-Sundial]\nCluster=yes\n",
		"tick.service":  "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"hello.service": "[Service]\nType=oneshot\nExecStart=/bin/echo hello\n",
	})
	bRun := api.Run{Unit: "tick.service", Timer: "tick.timer", Reason: "OnCalendar", Invocation: "b2", Started: late, State: "running", Node: "b"}
	v := viewCluster{fakeCluster: &fakeCluster{noLead: true},
		runs: []api.Run{{Unit: "tick.service", Timer: "tick.timer", Invocation: "b1", Started: 2, Ended: 3, State: "ended", Node: "b"}, bRun},
		// b's history has a run whose record was pruned, b0, and b1
		// with what the record does not keep.
		own: []api.Run{{Unit: "tick.service", Timer: "tick.timer", Invocation: "b0", Started: 1, State: "ended", Node: "b"},
			{Unit: "tick.service", Timer: "tick.timer", Invocation: "b1", Started: 2, Ended: 3, State: "ended", Result: "success", Node: "b"}},
		views:   map[string]ClusterTimerView{"tick.timer": {State: store.TimerState{LastTrigger: late, Version: 3}, Last: &bRun}},
		entries: []api.Entry{{Cursor: 7, Realtime: late, Unit: "hello.service", Message: "hello from b", Node: "b"}}}
	c, stop := serve(t, dir, state, t.TempDir(), func(m *Manager) { m.Cluster = v })
	defer stop()
	ctx := context.Background()
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"hello.service"}}); err != nil || res[0].Error != "" {
		t.Fatalf("start: %v %+v", err, res)
	}
	var runs []api.Run
	var err error
	await.Until(t, func() bool {
		runs, err = c.Runs(ctx, "", 0)
		return len(runs) == 4 && runs[2].State == "ended"
	}, "hello.service's run")
	var got []string
	for _, r := range runs {
		got = append(got, r.Node+" "+r.Unit+" "+r.Invocation+" "+r.Result)
	}
	if want := []string{"b tick.service b0 ", "b tick.service b1 success", "a hello.service " + runs[2].Invocation + " success",
		"b tick.service b2 "}; !reflect.DeepEqual(got, want) {
		t.Errorf("runs = %q, want %q", got, want)
	}
	if p, ok := errors.AsType[*api.PartialError](err); !ok ||
		p.Error() != "the history of node c (connection refused); of its runs, those the cluster keeps are shown" {
		t.Errorf("runs: %v, want why c's are not there", err)
	}
	// A unit's: those of the cluster timers that trigger it, if any.
	for unitName, want := range map[string]int{"tick.service": 3, "hello.service": 1} {
		if runs, _ := c.Runs(ctx, unitName, 0); len(runs) != want {
			t.Errorf("runs of %s = %+v; want %d", unitName, runs, want)
		}
	}
	// The last n of them all.
	if runs, _ := c.Runs(ctx, "", 2); len(runs) != 2 || runs[1].Invocation != "b2" {
		t.Errorf("the last 2 runs = %+v, want hello.service's and b2", runs)
	}

	timers, err := c.Timers(ctx)
	if err != nil || len(timers) != 1 {
		t.Fatalf("Timers = %+v, %v", timers, err)
	}
	if tm := timers[0]; tm.LastTrigger != late || tm.State != "running" || tm.Next != 0 {
		t.Errorf("tick.timer = %+v; want the cluster's last trigger, running with no next elapse", tm)
	}
	units, err := c.Units(ctx, []string{"tick.timer"}, true)
	if err != nil || len(units) != 1 || units[0].LastRun == nil || *units[0].LastRun != bRun {
		t.Fatalf("status of tick.timer = %+v, %v; want its last run on b", units, err)
	}
	for _, p := range units[0].Properties {
		if want, ok := map[string]string{"LastTriggerUSec": strconv.FormatUint(late, 10), "NextElapseUSecRealtime": "0"}[p.Name]; ok && p.Value != want {
			t.Errorf("show's %s of tick.timer = %s, want %s, the cluster's", p.Name, p.Value, want)
		}
	}

	j, err := c.ClusterJournal(ctx, api.JournalQuery{Units: []string{"hello.service"}, Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, e := range j.Entries {
		got = append(got, e.Node+" "+e.Message)
	}
	if want := []string{"a Finished hello.service.", "b hello from b"}; !reflect.DeepEqual(got, want) || !reflect.DeepEqual(j.Missing, []string{"c"}) || j.Why["c"] != "connection refused" {
		t.Errorf("the cluster's journal = %q, missing %q (%q); want %q, missing c, its connection refused", got, j.Missing, j.Why, want)
	}
	// The units of every node's journal, once each.
	if units, err := c.JournalUnits(ctx); err != nil || !slices.Equal(slices.DeleteFunc(units, func(u string) bool { return u == "tick.timer" }), []string{"hello.service", "tick.service"}) {
		t.Errorf("the journal's units = %q, %v; want hello.service once and tick.service, b's", units, err)
	}
	// Followed on from the cursors of each node's last line: none since.
	if j.Cursors["a"] != j.Entries[0].Cursor || j.Cursors["b"] != 7 {
		t.Errorf("the cluster's journal's cursors = %v, want a's last line's and b's 7", j.Cursors)
	}
	j, err = c.ClusterJournal(ctx, api.JournalQuery{Units: []string{"hello.service"}, Cursors: j.Cursors})
	if err != nil || len(j.Entries) != 0 {
		t.Errorf("the cluster's journal after its cursors = %+v, %v; want none", j.Entries, err)
	}
}

// TestClusterSnapshot has the snapshot of a node that does not lead, as
// its page and metrics show it, show a cluster timer as the cluster has
// it: its last trigger and next elapse the cluster's, as list-timers
// shows them, and its service's last run the one on b.
func TestClusterSnapshot(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"tick.timer":   "[Timer]\nOnCalendar=hourly\n[X-Sundial]\nCluster=yes\n",
		"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	// Of this hour's start: the next elapse is the next hour's.
	now := clock.Real{}.Now().Realtime
	trigger := now - now%uint64(time.Hour/time.Microsecond)
	bRun := api.Run{Unit: "tick.service", Timer: "tick.timer", Reason: "OnCalendar", Invocation: "b1", Started: trigger,
		Ended: trigger + 2e6, State: "ended", Result: "exit-code", ExitCode: "exited", ExitStatus: 3, Node: "b"}
	v := viewCluster{fakeCluster: &fakeCluster{noLead: true},
		views: map[string]ClusterTimerView{"tick.timer": {State: store.TimerState{LastTrigger: trigger, Version: 3}, Last: &bRun}}}
	var m *Manager
	c, stop := serve(t, dir, state, t.TempDir(), func(mm *Manager) { m, mm.Cluster = mm, v })
	defer stop()
	ctx := context.Background()
	var s Snapshot
	await.Until(t, func() bool {
		var err error
		if s, err = m.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		return len(s.Timers) == 1 && !s.Timers[0].LastTrigger.IsZero()
	}, "tick.timer's last trigger in the snapshot")
	timers, err := c.Timers(ctx)
	if err != nil || len(timers) != 1 {
		t.Fatalf("Timers = %+v, %v", timers, err)
	}
	tm, at := s.Timers[0], func(µs uint64) time.Time { return time.UnixMicro(int64(µs)) }
	if !tm.LastTrigger.Equal(at(trigger)) || !tm.Next.Equal(at(timers[0].Next)) || tm.Next.Sub(at(trigger)) < time.Hour || tm.State != "waiting" {
		t.Errorf("tick.timer = %+v; want the cluster's last trigger %v, and list-timers' next elapse %v, the next hour's",
			tm, at(trigger), at(timers[0].Next))
	}
	sv := serviceIn(s, "tick.service")
	if sv == nil || !sv.LastStart.Equal(at(trigger)) || !sv.LastEnd.Equal(at(trigger+2e6)) || !sv.LastFailure.Equal(sv.LastEnd) ||
		!sv.LastSuccess.IsZero() || sv.Result != "exit-code" || sv.LastExitCode != "exited" || sv.LastExitStatus != 3 {
		t.Errorf("tick.service = %+v; want the last run on b", sv)
	}
}

// TestClusterViewUnread has a node whose cluster does not answer show
// its own runs and journal lines, each with its node, and say why the
// cluster's are not there.
func TestClusterViewUnread(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{"hello.service": "[Service]\nType=oneshot\nExecStart=/bin/echo hello\n"})
	v := viewCluster{fakeCluster: &fakeCluster{noLead: true}, err: errors.New("etcd did not answer")}
	c, stop := serve(t, dir, state, t.TempDir(), func(m *Manager) { m.Cluster = v })
	defer stop()
	ctx := context.Background()
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"hello.service"}}); err != nil || res[0].Error != "" {
		t.Fatalf("start: %v %+v", err, res)
	}
	unread := func(what string, err error) {
		t.Helper()
		if p, ok := errors.AsType[*api.PartialError](err); !ok || p.Error() != "the cluster's "+what+": etcd did not answer; this node's alone are shown" {
			t.Errorf("%s: %v, want why the cluster's are not there", what, err)
		}
	}
	var runs []api.Run
	var err error
	await.Until(t, func() bool {
		runs, err = c.Runs(ctx, "", 0)
		return len(runs) == 1 && runs[0].State == "ended"
	}, "hello.service's run")
	unread("runs", err)
	if runs[0].Node != "a" {
		t.Errorf("run = %+v, want a's", runs[0])
	}
	j, err := c.ClusterJournal(ctx, api.JournalQuery{Units: []string{"hello.service"}})
	unread("journal", err)
	if len(j.Entries) == 0 || j.Entries[0].Node != "a" {
		t.Errorf("the cluster's journal = %+v, want a's lines", j.Entries)
	}
	units, err := c.JournalUnits(ctx)
	unread("journal", err)
	if !slices.Contains(units, "hello.service") {
		t.Errorf("the journal's units = %q, want a's", units)
	}
}

// TestClusterViewUnitTimes has a node that does not lead show a cluster
// timer with OnUnitInactiveSec= as the leader computes it: its next
// elapse counts from the end of its unit's last run, on b.
func TestClusterViewUnitTimes(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"after.timer":   "[Timer]\nOnUnitInactiveSec=1h\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
		"after.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	now := clock.Real{}.Now().Realtime
	trigger, ended := now-20*60e6, now-10*60e6
	bRun := api.Run{Unit: "after.service", Timer: "after.timer", Reason: "OnUnitInactiveSec", Invocation: "b1", Started: trigger,
		Ended: ended, State: "ended", Node: "b"}
	v := viewCluster{fakeCluster: &fakeCluster{noLead: true},
		views: map[string]ClusterTimerView{"after.timer": {State: store.TimerState{LastTrigger: trigger, ActiveRealtime: trigger - 60e6, Version: 3}, Last: &bRun}}}
	c, stop := serve(t, dir, state, t.TempDir(), func(m *Manager) { m.Cluster = v })
	defer stop()
	timers, err := c.Timers(context.Background())
	if err != nil || len(timers) != 1 {
		t.Fatalf("Timers = %+v, %v", timers, err)
	}
	// Within a second: the monotonic clock is read apart from the realtime.
	near := func(got, want uint64) bool { return got+1e6 >= want && got <= want+1e6 }
	if want := ended + 3600e6; !near(timers[0].Next, want) {
		t.Errorf("after.timer's next elapse = %d, want %d, an hour after its last run's end on b", timers[0].Next, want)
	}
	// Monotonic stamps are on this machine's clock: its boot for one
	// before.
	up := clock.Real{}.Now().Monotonic
	ago := func(d uint64) uint64 { return up - min(up, d) }
	if tm := timers[0]; !near(tm.LastTriggerMonotonic, ago(now-trigger)) || !near(tm.Monotonic, up) {
		t.Errorf("after.timer's last trigger at %d µs monotonic, at %d: want %d, at %d", tm.LastTriggerMonotonic, tm.Monotonic, ago(now-trigger), up)
	}
	units, err := c.Units(context.Background(), []string{"after.timer"}, true)
	if err != nil || len(units) != 1 {
		t.Fatalf("status of after.timer = %+v, %v", units, err)
	}
	for _, p := range units[0].Properties {
		want, ok := map[string]uint64{"NextElapseUSecMonotonic": up + (ended + 3600e6 - now), "LastTriggerUSecMonotonic": ago(now - trigger)}[p.Name]
		if got, err := strconv.ParseUint(p.Value, 10, 64); ok && (err != nil || !near(got, want)) {
			t.Errorf("show's %s of after.timer = %s, want %d", p.Name, p.Value, want)
		}
	}
}

// TestClusterDrawAlike: two nodes' engines for cluster timers compute the
// same next elapse of a timer with RandomizedDelaySec=, from the same
// stamp, as the leader fires it where the others show it; another last
// trigger draws another delay.
func TestClusterDrawAlike(t *testing.T) {
	l := &unit.Loader{FS: fstest.MapFS{"units/tick.timer": {Data: []byte("[Timer]\nOnCalendar=daily\nRandomizedDelaySec=1d\nAccuracySec=1us\n")}}, Path: []string{"/units"}}
	u, err := l.Load("tick.timer")
	if err != nil || u.Timer == nil {
		t.Fatalf("tick.timer: %v %v", err, u.Diagnostics)
	}
	now := clusterInstant(timer.Instant{Realtime: 1_700_000_000_000_000, Monotonic: 5_000_000, Boottime: 5_000_000})
	next := func(last uint64) uint64 {
		m := &Manager{engine: &timer.Engine{}}
		e := m.copyEngine()
		tm := e.Add("tick.timer", u.Timer)
		since := timer.Dual{Realtime: now.Realtime - 1_000_000, Monotonic: now.Monotonic - 1_000_000}
		tm.Resume(now, since, timer.Dual{Realtime: last, Monotonic: monotonicOf(last, now)})
		return tm.NextElapse(now)
	}
	last := now.Realtime - 3_600_000_000
	if a, b := next(last), next(last); a != b {
		t.Errorf("two nodes' next elapses after %d: %d and %d, want the same", last, a, b)
	}
	if a, b := next(last), next(last-1); a == b {
		t.Errorf("next elapses after two last triggers alike, %d: want another draw each", a)
	}
}
