package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// pauseCache stops c's watch of timers, as if it were lost, and returns
// what starts it again, from the revision the cache had.
func pauseCache(t *testing.T, c *Cluster) (resume func()) {
	t.Helper()
	c.stopCache()
	c.bg.Wait()
	return func() {
		c.bgCtx, c.stopCache = context.WithCancel(c.client.Ctx())
		c.bg.Go(func() { c.follow(c.bgCtx) })
	}
}

// awaitTimer waits until c's cache has the stamp st of a timer.
func awaitTimer(t *testing.T, c *Cluster, name string, st store.TimerState) {
	t.Helper()
	await.Until(t, func() bool {
		got, err := c.Timer(t.Context(), name)
		return err == nil && got == st
	}, "%s's cache to have %s's stamp %+v", c.cfg.Name, name, st)
}

// Another node's trigger reaches this node's cache by the watch, and the
// cache answers without asking etcd: with a context already ended.
func TestCacheFollowsWrites(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	acks := acknowledged(t, a)
	st, _, err := a.Trigger(ctx, lead(t, a), store.TimerState{}, trigger("x.timer", 100))
	if err != nil {
		t.Fatal(err)
	}
	awaitTimer(t, b, "x.timer", st)
	if _, err := a.EndRun(ctx, <-acks, 150, "success", "exited", 0); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool {
		r, ok, err := b.LastRun(ctx, "x.timer")
		return err == nil && ok && r.State == store.RunEnded && r.Ended == 150
	}, "b's cache to have the run's end")
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := b.Timer(ended, "x.timer"); err != nil || got != st {
		t.Errorf("Timer with a context ended = %+v, %v; want %+v from the cache", got, err, st)
	}
	if r, ok, err := b.LastRun(ended, "x.timer"); err != nil || !ok || r.Ended != 150 {
		t.Errorf("LastRun with a context ended = %+v, %v, %v; want the run ended at 150, from the cache", r, ok, err)
	}
	if _, ok, err := b.LastRun(ended, "y.timer"); err != nil || ok {
		t.Errorf("LastRun of a timer never run = %v, %v; want none", ok, err)
	}
}

// A node whose watch was lost while the revisions it would resume from
// were compacted reads timers/ and runs/ again, and watches from there.
func TestCacheRecoversFromCompaction(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	term := lead(t, a)
	resume := pauseCache(t, b)
	var st store.TimerState
	for at := uint64(1); at <= 3; at++ {
		var err error
		if st, _, err = a.Trigger(ctx, term, st, trigger("x.timer", at)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.client.Compact(ctx, st.Version); err != nil {
		t.Fatal(err)
	}
	resume()
	awaitTimer(t, b, "x.timer", st)
	// And it watches again.
	st2, _, err := a.Trigger(ctx, term, st, trigger("x.timer", 4))
	if err != nil {
		t.Fatal(err)
	}
	awaitTimer(t, b, "x.timer", st2)
	if r, ok, err := b.LastRun(ctx, "x.timer"); err != nil || !ok || r.Started != 4 {
		t.Errorf("LastRun = %+v, %v, %v; want the run of 4", r, ok, err)
	}
}

// A new leader whose cache lags behind its predecessor's last trigger
// fails its own with ErrStale, and then has the stamp to trigger from:
// a trigger alone, or among others.
func TestTriggerFromStaleCache(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trigger func(b *Cluster, term Term, prev store.TimerState, tr store.Trigger) error
	}{
		{"Trigger", func(b *Cluster, term Term, prev store.TimerState, tr store.Trigger) error {
			_, _, err := b.Trigger(t.Context(), term, prev, tr)
			return err
		}},
		{"AssignAll", func(b *Cluster, term Term, prev store.TimerState, tr store.Trigger) error {
			to := Candidate{Name: "b", Lease: int64(b.lease())}
			return b.AssignAll(t.Context(), term, []Assignment{{Prev: prev, Trigger: tr, To: to}})[0].Err
		}},
		{"AssignAll with another", func(b *Cluster, term Term, prev store.TimerState, tr store.Trigger) error {
			to := Candidate{Name: "b", Lease: int64(b.lease())}
			as := []Assignment{{Prev: prev, Trigger: tr, To: to}, {Trigger: trigger(fmt.Sprint("y", tr.Realtime, ".timer"), 1), To: to}}
			return b.AssignAll(t.Context(), term, as)[0].Err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testMember(t, "a")
			b := testClient(t, "b", a)
			ctx := t.Context()
			ta := lead(t, a)
			pauseCache(t, b)
			st1, _, err := a.Trigger(ctx, ta, store.TimerState{}, trigger("x.timer", 100))
			if err != nil {
				t.Fatal(err)
			}
			if err := ta.Resign(); err != nil {
				t.Fatal(err)
			}
			tb := lead(t, b)
			stale, err := b.Timer(ctx, "x.timer")
			if err != nil || stale != (store.TimerState{}) {
				t.Fatalf("Timer from b's paused cache = %+v, %v; want the zero state it had", stale, err)
			}
			if err := tc.trigger(b, tb, stale, trigger("x.timer", 200)); !errors.Is(err, ErrStale) {
				t.Fatalf("a trigger from the stale cache = %v; want ErrStale", err)
			}
			fresh, err := b.Timer(ctx, "x.timer")
			if err != nil || fresh != st1 {
				t.Fatalf("Timer after the stale trigger = %+v, %v; want %+v", fresh, err, st1)
			}
			if err := tc.trigger(b, tb, fresh, trigger("x.timer", 200)); err != nil {
				t.Fatalf("a trigger from the stamp read again: %v", err)
			}
		})
	}
}

// elapses returns the elapses of a timer's run records in etcd.
func elapses(t *testing.T, c *Cluster, timer string) []uint64 {
	t.Helper()
	runs, err := c.Runs(t.Context(), timer, 0)
	if err != nil {
		t.Fatal(err)
	}
	var es []uint64
	for _, r := range runs {
		es = append(es, r.Started)
	}
	return es
}

// runTimer triggers timer at each of ats, acknowledging and ending each
// run but those of the elapses in assigned, which stay assigned.
func runTimer(t *testing.T, c *Cluster, term Term, timer string, ats []uint64, assigned ...uint64) {
	t.Helper()
	ctx := t.Context()
	st, err := c.Timer(ctx, timer)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range ats {
		var run Run
		if st, run, err = c.Trigger(ctx, term, st, trigger(timer, at)); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(assigned, at) {
			continue
		}
		if err := c.acknowledge(ctx, c.current(), []string{run.Key}, func(r Run, _ <-chan struct{}) { run = r }); err != nil {
			t.Fatal(err)
		}
		if _, err := c.EndRun(ctx, run, at+1, "success", "exited", 0); err != nil {
			t.Fatal(err)
		}
	}
}

// PruneRuns keeps each timer's newest records, and an older one that
// has not ended: assigned to its node, not yet acknowledged.
func TestPruneRuns(t *testing.T) {
	a := testMember(t, "a", func(c *Config) { c.KeepRuns = 3 })
	ctx := t.Context()
	term := lead(t, a)
	runTimer(t, a, term, "x.timer", []uint64{1, 2, 3, 4, 5, 6, 7, 8}, 2)
	runTimer(t, a, term, "y.timer", []uint64{10, 20})
	if _, err := a.PruneRuns(ctx, term); err != nil {
		t.Fatal(err)
	}
	if got, want := elapses(t, a, "x.timer"), []uint64{2, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("x.timer's runs after PruneRuns = %v; want %v: the last 3, and 2 not ended", got, want)
	}
	if got, want := elapses(t, a, "y.timer"), []uint64{10, 20}; !slices.Equal(got, want) {
		t.Errorf("y.timer's runs after PruneRuns = %v; want %v, all", got, want)
	}
	// The newest stays the cache's last run, and the stamp the one to
	// trigger from.
	if r, ok, err := a.LastRun(ctx, "x.timer"); err != nil || !ok || r.Started != 8 {
		t.Errorf("LastRun after PruneRuns = %+v, %v, %v; want the run of 8", r, ok, err)
	}
}

// The leader prunes as runs come, without being asked: a timer never has
// many more records than are kept.
func TestLeaderPrunes(t *testing.T) {
	const keep = 3
	a := testMember(t, "a", func(c *Config) { c.KeepRuns = keep })
	term := lead(t, a)
	var ats []uint64
	for at := range uint64(20) {
		ats = append(ats, at+1)
	}
	runTimer(t, a, term, "x.timer", ats)
	await.Until(t, func() bool {
		es := elapses(t, a, "x.timer")
		return len(es) <= keep+pruneSlack(keep) && es[len(es)-1] == 20
	}, "x.timer's runs to be pruned to %d and a slack", keep)
}

// A prune reads the records of the timers in excess in as few
// transactions as etcd allows, not a read each: a leader that finds
// hundreds would otherwise ask its member as many times.
func TestPruneReadsTogether(t *testing.T) {
	const keep, timers = 3, 300
	a := testMember(t, "a", func(c *Config) { c.KeepRuns = keep })
	ctx := t.Context()
	// Records enough to be in excess, ended, put straight in etcd.
	var ops []clientv3.Op
	for i := range timers {
		timer := fmt.Sprintf("t%03d.timer", i)
		for at := range uint64(keep + pruneSlack(keep) + 2) {
			r := Run{Node: "a", Unit: timer[:4] + ".service", Timer: timer, Reason: "OnCalendar", Started: at + 1, Ended: at + 2, State: store.RunEnded, Result: "success"}
			v, _ := json.Marshal(r)
			ops = append(ops, clientv3.OpPut(runKey(timer, r.Started), string(v)))
		}
	}
	for chunk := range slices.Chunk(ops, maxTxnOps) {
		if _, err := a.client.Txn(ctx).Then(chunk...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	await.Until(t, func() bool {
		a.cache.mu.Lock()
		defer a.cache.mu.Unlock()
		n := 0
		for _, r := range a.cache.runs {
			if a.cache.excess(r) {
				n++
			}
		}
		return n == timers
	}, "the cache to see %d timers in excess", timers)
	requests := func() map[string]uint64 {
		out := map[string]uint64{}
		for _, r := range a.meter.Stats().Requests {
			out[r.Op] = r.Duration.Count
		}
		return out
	}
	before := requests()
	// The term's first prune, at its start.
	lead(t, a)
	await.Until(t, func() bool {
		a.cache.mu.Lock()
		defer a.cache.mu.Unlock()
		return len(a.cache.runs["t299.timer"].elapses) == keep
	}, "t299.timer's runs, the last pruned, to be %d", keep)
	after := requests()
	// Lead reads once. The prune's reads are transactions, and so are
	// its deletes, 64 records each; a second prune, told of the excess
	// before the cache saw the first's deletes, may read again.
	if n := after["range"] - before["range"] - 1; n != 0 {
		t.Errorf("the prune made %d reads of its own; want none", n)
	}
	reads := (timers + maxTxnOps - 1) / maxTxnOps
	deletes := (timers*(pruneSlack(keep)+2) + pruneBatch - 1) / pruneBatch
	if n := after["txn"] - before["txn"]; n > uint64(2*reads+deletes) {
		t.Errorf("the prune made %d transactions; want %d to delete and %d to read, or twice that", n, deletes, reads)
	}
}

func TestKeepRunsConfig(t *testing.T) {
	err := Config{Name: "a", DataDir: "/d", KeepRuns: -1}.Check()
	if want := fmt.Sprintf("cluster: keep-runs %q: not a positive number", "-1"); err == nil || err.Error() != want {
		t.Errorf("Check of KeepRuns -1 = %v; want %s", err, want)
	}
}

// A new leader marks lost the run of a node gone that the node had
// acknowledged, its record written twice (assigned, then running), and
// that the leader's cache had from the watch, not from its first read.
func TestNodeLostAcknowledged(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	onB := acknowledged(t, b)
	_, run, err := b.Trigger(ctx, lead(t, b), store.TimerState{}, trigger("long.timer", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := <-onB; got.Key != run.Key || got.State != store.RunRunning {
		t.Fatalf("b's acknowledged run = %+v; want %s running", got, run.Key)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	lost, err := a.MarkNodesLost(ctx, lead(t, a), 5)
	if err != nil || len(lost) != 1 || lost[0].Key != run.Key || lost[0].State != RunNodeLost {
		t.Fatalf("MarkNodesLost = %+v, %v; want b's running run lost", lost, err)
	}
}
