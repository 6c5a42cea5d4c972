package cluster

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/store"
)

func TestTriggerComparesStamp(t *testing.T) {
	c := testMember(t, "a")
	term := lead(t, c)
	ctx := t.Context()
	st0, err := c.Timer(ctx, "backup.timer")
	if err != nil || st0 != (store.TimerState{}) {
		t.Fatalf("Timer of one never triggered = %+v, %v; want the zero state", st0, err)
	}
	st1, run, err := c.Trigger(ctx, term, st0, trigger("backup.timer", 100))
	if err != nil {
		t.Fatal(err)
	}
	if run.Node != "a" || run.State != RunAssigned || run.Started != 100 || run.Unit != "backup.service" {
		t.Errorf("Trigger's run = %+v; want backup.service assigned to a since 100", run)
	}
	// A second trigger from the state read before the first: stale.
	if _, _, err := c.Trigger(ctx, term, st0, trigger("backup.timer", 200)); !errors.Is(err, ErrStale) {
		t.Fatalf("Trigger from a stamp moved meanwhile = %v; want ErrStale", err)
	}
	if got, err := c.Timer(ctx, "backup.timer"); err != nil || got != st1 {
		t.Fatalf("Timer after a stale trigger = %+v, %v; want %+v", got, err, st1)
	}
	st2, _, err := c.Trigger(ctx, term, st1, trigger("backup.timer", 200))
	if err != nil {
		t.Fatal(err)
	}
	if st2.LastTrigger != 200 || st2.Version <= st1.Version {
		t.Errorf("Trigger from the state read = %+v; want the stamp at 200, a version past %d", st2, st1.Version)
	}
	// NoRun moves the stamp, and records no run.
	if _, _, err := c.Trigger(ctx, term, st2, store.Trigger{Timer: "backup.timer", Realtime: 300, NoRun: true}); err != nil {
		t.Fatal(err)
	}
	if runs, err := c.Runs(ctx, "backup.timer", 0); err != nil || len(runs) != 2 {
		t.Errorf("Runs = %+v, %v; want the runs of 100 and 200", runs, err)
	}
}

// A new leader that read the stamp before the old leader's last trigger
// committed finds it stale; read again, the elapse has its run, and a
// trigger of it again is refused: one run per elapse.
func TestCatchUpOnce(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	ta := lead(t, a)
	seen, err := b.Timer(ctx, "bill.timer")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Trigger(ctx, ta, seen, trigger("bill.timer", 1000)); err != nil {
		t.Fatal(err)
	}
	if err := ta.Resign(); err != nil {
		t.Fatal(err)
	}
	tb := lead(t, b)
	if _, _, err := b.Trigger(ctx, tb, seen, trigger("bill.timer", 1000)); !errors.Is(err, ErrStale) {
		t.Fatalf("the new leader's trigger from its old read = %v; want ErrStale", err)
	}
	now, err := b.Timer(ctx, "bill.timer")
	if err != nil || now.LastTrigger != 1000 {
		t.Fatalf("Timer = %+v, %v; want the stamp of the elapse at 1000", now, err)
	}
	if _, _, err := b.Trigger(ctx, tb, now, trigger("bill.timer", 1000)); !errors.Is(err, ErrStale) {
		t.Fatalf("a trigger of an elapse that has its run = %v; want ErrStale", err)
	}
	runs, err := b.Runs(ctx, "bill.timer", 0)
	if err != nil || len(runs) != 1 || runs[0].Node != "a" {
		t.Fatalf("Runs = %+v, %v; want the one run, on a", runs, err)
	}
}

func TestRuns(t *testing.T) {
	c := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, c)
	states := map[string]store.TimerState{}
	for _, tr := range []store.Trigger{trigger("x.timer", 5), trigger("y.timer", 7), trigger("x.timer", 10),
		trigger("y.timer", 100), trigger("x.timer", 99)} {
		st, _, err := c.Trigger(ctx, term, states[tr.Timer], tr)
		if err != nil {
			t.Fatal(err)
		}
		states[tr.Timer] = st
	}
	for _, tc := range []struct {
		timer string
		n     int
		want  []string
	}{
		{"x.timer", 0, []string{"x.timer 5", "x.timer 10", "x.timer 99"}},
		{"x.timer", 2, []string{"x.timer 10", "x.timer 99"}},
		{"y.timer", 5, []string{"y.timer 7", "y.timer 100"}},
		{"z.timer", 0, nil},
		{"", 0, []string{"x.timer 5", "y.timer 7", "x.timer 10", "x.timer 99", "y.timer 100"}},
		{"", 3, []string{"x.timer 10", "x.timer 99", "y.timer 100"}},
	} {
		runs, err := c.Runs(ctx, tc.timer, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range runs {
			got = append(got, r.Timer+" "+strconv.FormatUint(r.Started, 10))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Runs(%q, %d) = %q, want %q", tc.timer, tc.n, got, tc.want)
		}
	}
}

// A run whose node is gone is marked lost by the next leader; one whose
// node lives is not, and ends as its node says.
func TestNodeLost(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	tb := lead(t, b)
	st, onB, err := b.Trigger(ctx, tb, store.TimerState{}, trigger("long.timer", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ta := lead(t, a)
	if _, _, err := a.Trigger(ctx, ta, st, trigger("long.timer", 2)); err != nil {
		t.Fatal(err)
	}
	onA := <-acknowledged(t, a)
	lost, err := a.MarkNodesLost(ctx, ta, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || lost[0].Key != onB.Key || lost[0].State != RunNodeLost || lost[0].Ended != 50 {
		t.Fatalf("MarkNodesLost = %+v; want b's run, lost at 50", lost)
	}
	if _, err := a.EndRun(ctx, onA, 60, "success", "exited", 0); err != nil {
		t.Fatalf("EndRun of a's run: %v", err)
	}
	runs, err := a.Runs(ctx, "long.timer", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].State != RunNodeLost || runs[1].State != store.RunEnded || runs[1].Result != "success" {
		t.Fatalf("Runs = %+v; want b's lost, a's ended with success", runs)
	}
	// A lost run's end, should its node come back, changes nothing.
	if _, err := a.EndRun(ctx, onB, 70, "success", "exited", 0); !errors.Is(err, ErrStale) {
		t.Fatalf("EndRun of a lost run = %v; want ErrStale", err)
	}
	// Marking again finds nothing: a is alive, b's is lost already.
	if lost, err := a.MarkNodesLost(ctx, ta, 80); err != nil || len(lost) != 0 {
		t.Fatalf("MarkNodesLost again = %+v, %v; want none", lost, err)
	}
}

// txns counts the transactions c has made.
func txns(c *Cluster) uint64 {
	for _, r := range c.meter.Stats().Requests {
		if r.Op == "txn" {
			return r.Duration.Count
		}
	}
	return 0
}

// AssignAll commits many elapses in few transactions; one stale among
// them fails alone; a term ended fails them all.
func TestAssignAll(t *testing.T) {
	c := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, c)
	to := Candidate{Name: "a", Lease: int64(c.lease())}
	as := make([]Assignment, 100)
	for i := range as {
		as[i] = Assignment{Trigger: trigger(fmt.Sprintf("t%03d.timer", i), 100), To: to}
	}
	before := txns(c)
	got := c.AssignAll(ctx, term, as)
	// Three a run and the fence: 42 a transaction.
	if n := txns(c) - before; n > 3 {
		t.Errorf("%d transactions for %d assignments; want 3", n, len(as))
	}
	for i, a := range got {
		if a.Err != nil || a.State.LastTrigger != 100 || a.Run.Started != 100 || a.Run.Timer != as[i].Trigger.Timer || a.Run.Node != "a" {
			t.Fatalf("AssignAll's %d = %+v; want %s's run of 100 on a", i, a, as[i].Trigger.Timer)
		}
		if st, err := c.Timer(ctx, a.Run.Timer); err != nil || st != a.State {
			t.Fatalf("Timer(%s) = %+v, %v; want %+v", a.Run.Timer, st, err, a.State)
		}
		as[i].Prev, as[i].Trigger = a.State, trigger(a.Run.Timer, 200)
	}
	// One read before the first: its stamp moved since.
	as[50].Prev = store.TimerState{}
	for i, a := range c.AssignAll(ctx, term, as) {
		if i == 50 {
			if !errors.Is(a.Err, ErrStale) {
				t.Errorf("AssignAll's stale one = %+v; want ErrStale", a)
			}
			continue
		}
		if a.Err != nil || a.State.LastTrigger != 200 {
			t.Errorf("AssignAll's %d beside a stale one = %+v; want the stamp at 200", i, a)
		}
	}
	for _, timer := range []string{"t000.timer", "t050.timer", "t099.timer"} {
		want := []uint64{100, 200}
		if timer == "t050.timer" {
			want = want[:1]
		}
		if got := elapses(t, c, timer); !slices.Equal(got, want) {
			t.Errorf("the runs of %s are of %d; want %d", timer, got, want)
		}
	}
	if err := term.Resign(); err != nil {
		t.Fatal(err)
	}
	for i, a := range c.AssignAll(ctx, term, as[:60]) {
		if !errors.Is(a.Err, ErrDeposed) {
			t.Fatalf("AssignAll's %d in a term ended = %+v; want ErrDeposed", i, a)
		}
	}
}

func TestBatches(t *testing.T) {
	// ws are writes of keys, each a put and as many comparisons as its
	// name's letters, to a ":".
	ws := func(keys ...string) []write {
		var ws []write
		for _, k := range keys {
			name, _, _ := strings.Cut(k, ":")
			ws = append(ws, write{conds: make([]clientv3.Cmp, len(name)), ops: []clientv3.Op{clientv3.OpPut(k, "")}})
		}
		return ws
	}
	many := func(n int, conds int) []string {
		var ks []string
		for i := range n {
			ks = append(ks, fmt.Sprintf("%s:%d", strings.Repeat("c", conds), i))
		}
		return ks
	}
	for _, tc := range []struct {
		name   string
		ws     []write
		fenced bool
		want   [][2]int
	}{
		{"none", nil, true, nil},
		{"one", ws("a"), true, [][2]int{{0, 1}}},
		{"a key twice", ws("a", "b", "a", "c"), true, [][2]int{{0, 2}, {2, 4}}},
		{"full", ws(many(42, 3)...), true, [][2]int{{0, 42}}},
		{"one over", ws(many(43, 3)...), true, [][2]int{{0, 42}, {42, 43}}},
		{"no fence", ws(many(43, 3)...), false, [][2]int{{0, 42}, {42, 43}}},
		{"comparisons full", ws(many(127, 1)...), true, [][2]int{{0, 127}}},
		{"one more comparison", ws(many(128, 1)...), true, [][2]int{{0, 127}, {127, 128}}},
		{"no fence, full", ws(many(128, 1)...), false, [][2]int{{0, 128}}},
		{"operations full", ws(many(129, 0)...), false, [][2]int{{0, 128}, {128, 129}}},
		{"mixed", ws(append(many(41, 3), "x:", "y:", "zzz:")...), true, [][2]int{{0, 43}, {43, 44}}},
	} {
		if got := slices.Collect(batches(tc.ws, tc.fenced)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: batches = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// assignMany assigns n timers' elapses to c's node, and returns their runs.
func assignMany(t *testing.T, c *Cluster, term Term, n int) []Run {
	t.Helper()
	var as []Assignment
	for i := range n {
		as = append(as, Assignment{Trigger: trigger(fmt.Sprintf("t%d.timer", i), 100), To: Candidate{Name: "a", Lease: int64(c.lease())}})
	}
	var runs []Run
	for _, a := range c.AssignAll(t.Context(), term, as) {
		if a.Err != nil {
			t.Fatal(a.Err)
		}
		runs = append(runs, a.Run)
	}
	return runs
}

// updateRuns changes many runs together; one changed since it was read
// fails alone, and one ended is not changed.
func TestUpdateRuns(t *testing.T) {
	c := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, c)
	runs := assignMany(t, c, term, 5)
	running := func(r *Run) { r.State = store.RunRunning }
	if _, err := c.updateRun(ctx, term, runs[1], nil, running); err != nil {
		t.Fatal(err)
	}
	runs[3].State = store.RunEnded
	got, errs := c.updateRuns(ctx, term, runs, func(Run) []clientv3.Cmp { return nil }, func(_ int, r *Run) { running(r) })
	for i, r := range got {
		switch {
		case i == 1 || i == 3:
			if !errors.Is(errs[i], ErrStale) {
				t.Errorf("updateRuns of run %d, changed since = %+v, %v; want ErrStale", i, r, errs[i])
			}
		case errs[i] != nil || r.State != store.RunRunning || r.Version <= runs[i].Version:
			t.Errorf("updateRuns of run %d = %+v, %v; want it running, a version past %d", i, r, errs[i], runs[i].Version)
		}
	}
}

// The ends of runs queued while another is committed go in one
// transaction.
func TestEndRunsTogether(t *testing.T) {
	c := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, c)
	runs := assignMany(t, c, term, 30)
	runs, errs := c.updateRuns(ctx, term, runs, func(Run) []clientv3.Cmp { return nil }, func(_ int, r *Run) { r.State = store.RunRunning })
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// As if a commit were under way: they queue.
	c.mu.Lock()
	c.ending = true
	c.mu.Unlock()
	ended := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() { _, ended[i] = c.EndRun(ctx, r, 200, "success", "exited", 0) })
	}
	for queued := 0; queued < len(runs); runtime.Gosched() {
		c.mu.Lock()
		queued = len(c.ends)
		c.mu.Unlock()
	}
	before := txns(c)
	c.bg.Go(c.endRuns)
	wg.Wait()
	if err := errors.Join(ended...); err != nil {
		t.Fatal(err)
	}
	if n := txns(c) - before; n != 1 {
		t.Errorf("%d transactions for the ends of %d runs queued together; want 1", n, len(runs))
	}
	if left, _, err := c.unfinishedRuns(ctx); err != nil || len(left) != 0 {
		t.Errorf("runs not ended after their ends = %+v, %v; want none", left, err)
	}
}
