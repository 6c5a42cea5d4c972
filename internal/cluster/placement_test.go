package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// acknowledged runs c's Assignments until the test ends, and sends each
// run it hands on.
func acknowledged(t *testing.T, c *Cluster) <-chan Run {
	runs := make(chan Run, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		if err := c.Assignments(ctx, func(r Run, _ <-chan struct{}) { runs <- r }); ctx.Err() == nil && !c.closing.Load() {
			t.Errorf("Assignments: %v", err)
		}
	}()
	return runs
}

// candidate returns the candidate named name of c's timer.
func candidateOf(t *testing.T, c *Cluster, timer, name string) Candidate {
	t.Helper()
	all, err := c.Candidates(t.Context(), timer)
	if err != nil {
		t.Fatal(err)
	}
	nodes := all[0]
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("Candidates(%s) = %+v; no %s", timer, nodes, name)
	return Candidate{}
}

// The leader assigns a run to another node, which acknowledges it and
// runs it; while it runs, its node is busier, and the leader is told of
// its end.
func TestAssign(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	c := testClient(t, "c", a)
	ctx := t.Context()
	for _, p := range []struct {
		c    *Cluster
		hash string
	}{{a, "h1"}, {b, "h1"}, {c, "h2"}} {
		publish(t, p.c, map[string]string{"backup.timer": p.hash}, a)
	}
	names := func() []string {
		nodes, err := a.Candidates(ctx, "backup.timer")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nodes[0] {
			got = append(got, n.Name)
		}
		return got
	}
	// c's copy is another: not a candidate.
	if got := names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Candidates = %q; want a and b", got)
	}
	term := lead(t, a)
	_, events, err := a.Follow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onB := acknowledged(t, b)
	_, assigned, err := a.Assign(ctx, term, store.TimerState{}, trigger("backup.timer", 100), candidateOf(t, a, "backup.timer", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if assigned.Node != "b" || assigned.State != RunAssigned {
		t.Fatalf("Assign's run = %+v; want assigned to b", assigned)
	}
	run := <-onB
	if run.Key != assigned.Key || run.State != store.RunRunning {
		t.Fatalf("b's acknowledged run = %+v; want %s running", run, assigned.Key)
	}
	if got := candidateOf(t, a, "backup.timer", "b").Busy; got != 1 {
		t.Errorf("b's Busy while its run runs = %d, want 1", got)
	}
	if _, err := b.EndRun(ctx, run, 150, "success", "exited", 0); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.Ended.Key == "" {
			continue
		}
		if ev.Ended.Key != run.Key || ev.Ended.State != store.RunEnded || ev.Ended.Ended != 150 {
			t.Fatalf("Follow's event = %+v; want the end of %s at 150", ev, run.Key)
		}
		break
	}
	if got := candidateOf(t, a, "backup.timer", "b").Busy; got != 0 {
		t.Errorf("b's Busy once its run ended = %d, want 0", got)
	}
	// b gone, its copy goes with it, and an assignment to it made from
	// what was read before is refused.
	gone := candidateOf(t, a, "backup.timer", "b")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool { return slices.Equal(names(), []string{"a"}) }, "the candidates once b left to be a alone")
	st, err := a.Timer(ctx, "backup.timer")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Assign(ctx, term, st, trigger("backup.timer", 200), gone); !errors.Is(err, ErrStale) {
		t.Fatalf("Assign to a node gone = %v; want ErrStale", err)
	}
}

// A run assigned to a node that is gone before it acknowledged it, or
// started again since (with another lease), is lost, not run; the
// leader following is told of the node and of the run's end.
func TestAssignedNodeLost(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	publish(t, b, map[string]string{"long.timer": "h"}, a)
	term := lead(t, a)
	st, first, err := a.Assign(ctx, term, store.TimerState{}, trigger("long.timer", 1), candidateOf(t, a, "long.timer", "b"))
	if err != nil {
		t.Fatal(err)
	}
	unfinished, events, err := a.Follow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(unfinished) != 1 || unfinished[0].Key != first.Key {
		t.Fatalf("Follow's runs not ended = %+v; want %s", unfinished, first.Key)
	}
	// b started again under its name: a new lease, and its key taken.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Node != "b" {
		t.Fatalf("Follow's event = %+v; want b gone", ev)
	}
	b2 := testClient(t, "b", a)
	if ev := <-events; ev.Node != "b" {
		t.Fatalf("Follow's event = %+v; want b come", ev)
	}
	publish(t, b2, map[string]string{"long.timer": "h"}, a)
	onB2 := acknowledged(t, b2)
	_, second, err := a.Assign(ctx, term, st, trigger("long.timer", 2), candidateOf(t, a, "long.timer", "b"))
	if err != nil {
		t.Fatal(err)
	}
	// The new b runs its own run, not the one of the b before.
	if run := <-onB2; run.Key != second.Key {
		t.Fatalf("the new b acknowledged %s; want %s", run.Key, second.Key)
	}
	lost, err := a.MarkNodesLost(ctx, term, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || lost[0].Key != first.Key || lost[0].State != RunNodeLost || lost[0].Ended != 50 {
		t.Fatalf("MarkNodesLost = %+v; want %s lost at 50", lost, first.Key)
	}
	for ev := range events {
		if ev.Ended.Key == first.Key && ev.Ended.State == RunNodeLost {
			break
		}
	}
	resp, err := a.client.Get(ctx, assignPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("assignments left = %v, %v; want the new b's alone", resp, err)
	}
}

// An acknowledgment that committed but whose reply was lost leaves the
// run running, and not yet started: Assignments, called again, hands it
// on once, and not again.
func TestAcknowledgmentLost(t *testing.T) {
	a := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, a)
	st, run, err := a.Trigger(ctx, term, store.TimerState{}, trigger("bill.timer", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.updateRun(ctx, Term{}, run, nil, func(r *Run) { r.State = store.RunRunning }); err != nil {
		t.Fatal(err)
	}
	if given := handed(t, a, 1); len(given) != 1 || given[0].Key != run.Key || given[0].State != store.RunRunning {
		t.Fatalf("Assignments handed on %+v; want %s, running", given, run.Key)
	}
	// Called again, it hands on the next run, and not the first again.
	if _, _, err := a.Trigger(ctx, term, st, trigger("bill.timer", 2)); err != nil {
		t.Fatal(err)
	}
	if given := handed(t, a, 2); len(given) != 1 || given[0].Started != 2 {
		t.Fatalf("Assignments called again handed on %+v; want the run of 2 alone", given)
	}
}

// A run handed on before Assignments is called again, which ends while
// the runs its records were read with are handed on, is not handed on
// again: its record, read before its end, says it runs.
func TestRunEndedWhileHanded(t *testing.T) {
	a := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, a)
	if _, _, err := a.Trigger(ctx, term, store.TimerState{}, trigger("long.timer", 1)); err != nil {
		t.Fatal(err)
	}
	running := handed(t, a, 1)[0]
	// A run of another timer, whose assignment's key comes first.
	if _, _, err := a.Trigger(ctx, term, store.TimerState{}, trigger("backup.timer", 2)); err != nil {
		t.Fatal(err)
	}
	var given []string
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := a.Assignments(actx, func(r Run, _ <-chan struct{}) {
		given = append(given, r.Timer)
		if r.Timer == "backup.timer" {
			if _, err := a.EndRun(ctx, running, 5, "success", "exited", 0); err != nil {
				t.Errorf("EndRun: %v", err)
			}
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Assignments = %v", err)
	}
	if !slices.Equal(given, []string{"backup.timer"}) {
		t.Errorf("Assignments called again handed on runs of %q; want backup.timer's alone", given)
	}
}

// handed runs c's Assignments until it hands on a run of elapse, and
// returns those it handed on.
func handed(t *testing.T, c *Cluster, elapse uint64) []Run {
	t.Helper()
	var given []Run
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := c.Assignments(ctx, func(r Run, _ <-chan struct{}) {
		given = append(given, r)
		if r.Started == elapse {
			cancel()
		}
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Assignments = %v", err)
	}
	return given
}

func TestEndedRun(t *testing.T) {
	r := endedRun(runKey("a.timer", 42), assignKey("db1", "a.timer", 42))
	if want := (Run{Key: runKey("a.timer", 42), Node: "db1", Timer: "a.timer", Started: 42, State: store.RunEnded}); r != want {
		t.Errorf("endedRun = %+v, want %+v", r, want)
	}
}

// A run whose end could not be recorded still runs in the cluster; it is
// not handed on again, as one whose acknowledgment's reply was lost is.
func TestEndRunFailed(t *testing.T) {
	a := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, a)
	st, _, err := a.Trigger(ctx, term, store.TimerState{}, trigger("bill.timer", 1))
	if err != nil {
		t.Fatal(err)
	}
	run := handed(t, a, 1)[0]
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.EndRun(canceled, run, 5, "success", "exited", 0); err == nil || errors.Is(err, ErrStale) {
		t.Fatalf("EndRun without a context = %v; want its failure", err)
	}
	if _, _, err := a.Trigger(ctx, term, st, trigger("bill.timer", 2)); err != nil {
		t.Fatal(err)
	}
	if given := handed(t, a, 2); len(given) != 1 || given[0].Started != 2 {
		t.Fatalf("Assignments after a failed end handed on %+v; want the run of 2 alone", given)
	}
	if _, err := a.EndRun(ctx, run, 5, "success", "exited", 0); err != nil {
		t.Fatalf("EndRun tried again: %v", err)
	}
}

// Candidates of many timers, more than one transaction holds, reads
// each timer's copies and the assignments once for all: a node's Busy is
// the same in every transaction's timers.
func TestCandidatesMany(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	var timers []string
	onA, onB := map[string]string{}, map[string]string{}
	for i := range 130 {
		name := fmt.Sprintf("t%03d.timer", i)
		timers = append(timers, name)
		onA[name] = "h"
		if i%2 == 0 {
			onB[name] = "h"
		}
	}
	publish(t, a, onA, a)
	publish(t, b, onB, a)
	if _, err := a.client.Put(ctx, assignKey("b", "other.timer", 1), runKey("other.timer", 1)); err != nil {
		t.Fatal(err)
	}
	all, err := a.Candidates(ctx, append(timers, "none.timer")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(timers)+1 {
		t.Fatalf("Candidates of %d timers returned %d", len(timers)+1, len(all))
	}
	for i, name := range timers {
		want := []Candidate{{Name: "a", Busy: 0, Hash: "h"}}
		if i%2 == 0 {
			want = append(want, Candidate{Name: "b", Busy: 1, Hash: "h"})
		}
		got := all[i]
		for j := range got {
			got[j].Lease = 0
		}
		if !slices.Equal(got, want) {
			t.Errorf("Candidates of %s = %+v, want %+v", name, got, want)
		}
	}
	if got := all[len(timers)]; got != nil {
		t.Errorf("Candidates of a timer no node published = %+v, want none", got)
	}
}

// Runs assigned together are acknowledged together, and handed on in
// their order, each once: a run of another node's is not.
func TestAcknowledgeMany(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	term := lead(t, a)
	var keys []string
	for i := range 5 {
		_, run, err := a.Trigger(ctx, term, store.TimerState{}, trigger(fmt.Sprintf("t%d.timer", i), 100))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, run.Key)
	}
	publish(t, b, map[string]string{"b.timer": "h"}, a)
	_, other, err := a.Assign(ctx, term, store.TimerState{}, trigger("b.timer", 100), candidateOf(t, a, "b.timer", "b"))
	if err != nil {
		t.Fatal(err)
	}
	var started []Run
	collect := func(r Run, _ <-chan struct{}) { started = append(started, r) }
	if err := a.acknowledge(ctx, a.current(), append(slices.Clone(keys[:2]), append([]string{other.Key}, keys[2:]...)...), collect); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range started {
		if r.State != store.RunRunning {
			t.Errorf("run %s handed on as %s, want running", r.Key, r.State)
		}
		got = append(got, r.Key)
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("runs handed on = %q, want %q", got, keys)
	}
	runs, err := a.getRuns(ctx, append(keys, other.Key))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		want := store.RunRunning
		if r.Key == other.Key {
			want = RunAssigned
		}
		if r.State != want {
			t.Errorf("run %s is %s, want %s", r.Key, r.State, want)
		}
	}
	started = nil
	if err := a.acknowledge(ctx, a.current(), keys, collect); err != nil || len(started) != 0 {
		t.Fatalf("acknowledged again: %d handed on (%v), want none", len(started), err)
	}
}

// The events of a watch that came while none were taken are taken at
// once, at most takeMax; once the watch ends, those left are taken
// first, then its end.
func TestEventQueue(t *testing.T) {
	a := testMember(t, "a")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	q := queueEvents(a.client.Watch(ctx, "/q/", clientv3.WithPrefix()))
	n := takeMax + 10
	for i := range n {
		if _, err := a.client.Put(t.Context(), fmt.Sprintf("/q/%04d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	await.Until(t, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.evs) == n
	}, "%d events queued", n)
	evs, err := q.take(t.Context())
	if err != nil || len(evs) != takeMax || string(evs[0].Kv.Key) != "/q/0000" {
		t.Fatalf("take = %d events from %q, %v; want %d from /q/0000", len(evs), evs[0].Kv.Key, err, takeMax)
	}
	cancel()
	evs, err = q.take(t.Context())
	if err != nil || len(evs) != 10 || string(evs[9].Kv.Key) != fmt.Sprintf("/q/%04d", n-1) {
		t.Fatalf("take after the watch's end = %d events, %v; want the 10 left", len(evs), err)
	}
	if _, err := q.take(t.Context()); err == nil {
		t.Fatal("take once the watch ended and its events were taken: no error")
	}
}
