package manager

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// viewCluster is a fakeCluster that no node here leads, seen from node
// a: node b ran tick.service, and c does not answer for its journal.
type viewCluster struct {
	*fakeCluster
	runs    []api.Run
	views   map[string]ClusterTimerView
	entries []api.Entry
}

func (viewCluster) Node() string { return "a" }

func (v viewCluster) Runs(_ context.Context, timer string, n int) ([]api.Run, error) {
	var runs []api.Run
	for _, r := range v.runs {
		if timer == "" || r.Timer == timer {
			runs = append(runs, r)
		}
	}
	return runs, nil
}

func (v viewCluster) TimerViews(_ context.Context, names []string) (map[string]ClusterTimerView, error) {
	return v.views, nil
}

func (v viewCluster) JournalUnits(context.Context) ([]string, error) {
	return []string{"hello.service", "tick.service"}, nil
}

func (v viewCluster) Journal(_ context.Context, q api.JournalQuery) ([]api.Entry, []string, error) {
	var after []api.Entry
	for _, e := range v.entries {
		if e.Cursor > q.Cursors[e.Node] {
			after = append(after, e)
		}
	}
	return after, []string{"c"}, nil
}

// late is a realtime after any run of the test's, µs.
const late = 4_000_000_000_000_000

// TestClusterView has a node that does not lead show its cluster: the
// runs of every node in its history, the cluster's last trigger and last
// run of a cluster timer, and the journal lines of every node.
func TestClusterView(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"tick.timer":    "[Timer]\nOnCalendar=hourly\n[X-Sundial]\nCluster=yes\n",
		"tick.service":  "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"hello.service": "[Service]\nType=oneshot\nExecStart=/bin/echo hello\n",
	})
	bRun := api.Run{Unit: "tick.service", Timer: "tick.timer", Reason: "OnCalendar", Invocation: "b2", Started: late, State: "running", Node: "b"}
	v := viewCluster{fakeCluster: &fakeCluster{noLead: true},
		runs:    []api.Run{{Unit: "tick.service", Timer: "tick.timer", Invocation: "b1", Started: 1, Ended: 2, State: "ended", Node: "b"}, bRun},
		views:   map[string]ClusterTimerView{"tick.timer": {State: store.TimerState{LastTrigger: late, Version: 3}, Last: &bRun}},
		entries: []api.Entry{{Cursor: 7, Realtime: late, Unit: "hello.service", Message: "hello from b", Node: "b"}}}
	c, stop := serve(t, dir, state, t.TempDir(), func(m *Manager) { m.Cluster = v })
	defer stop()
	ctx := context.Background()
	if res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"hello.service"}}); err != nil || res[0].Error != "" {
		t.Fatalf("start: %v %+v", err, res)
	}
	var runs []api.Run
	await.Until(t, func() bool {
		runs, _ = c.Runs(ctx, "", 0)
		return len(runs) == 3 && runs[1].State == "ended"
	}, "hello.service's run")
	var got []string
	for _, r := range runs {
		got = append(got, r.Node+" "+r.Unit)
	}
	if want := []string{"b tick.service", "a hello.service", "b tick.service"}; !reflect.DeepEqual(got, want) {
		t.Errorf("runs = %q, want %q", got, want)
	}
	// A unit's: those of the cluster timers that trigger it, if any.
	for unitName, want := range map[string]int{"tick.service": 2, "hello.service": 1} {
		if runs, err := c.Runs(ctx, unitName, 0); err != nil || len(runs) != want {
			t.Errorf("runs of %s = %+v, %v; want %d", unitName, runs, err, want)
		}
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
	if want := []string{"a Finished hello.service.", "b hello from b"}; !reflect.DeepEqual(got, want) || !reflect.DeepEqual(j.Missing, []string{"c"}) {
		t.Errorf("the cluster's journal = %q, missing %q; want %q, missing c", got, j.Missing, want)
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
