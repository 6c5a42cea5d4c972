package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// A new term tells the whole cluster's stop from a failover by the last
// leader's beat: down before any beat, up while a node that lived then
// lives, down once every node that lives has started since.
func TestDown(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	if down, err := b.Down(ctx); err != nil || !down {
		t.Fatalf("Down before any beat = %v, %v; want true", down, err)
	}
	term := lead(t, b)
	if err := b.Beat(ctx, term, 100); err != nil {
		t.Fatal(err)
	}
	if err := term.Resign(); err != nil {
		t.Fatal(err)
	}
	if err := b.Beat(ctx, term, 200); !errors.Is(err, ErrDeposed) {
		t.Fatalf("Beat of a term resigned = %v; want ErrDeposed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := testClient(t, "c", a)
	if down, err := c.Down(ctx); err != nil || down {
		t.Fatalf("Down while a, which lived at the beat, lives = %v, %v; want false", down, err)
	}
	// a gone as a node (its member serves still): c alone started since.
	if _, err := a.client.Delete(ctx, nodeKey("a")); err != nil {
		t.Fatal(err)
	}
	if down, err := c.Down(ctx); err != nil || !down {
		t.Fatalf("Down with no node that lived at the beat = %v, %v; want true", down, err)
	}
	// x's key outlives x, killed, by its lease's life, as after the
	// whole cluster's stop: Down waits for it to go.
	lease, err := a.client.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := json.Marshal(Node{Name: "x", Lease: fmt.Sprintf("%x", lease.ID), Incarnation: "x1"})
	if _, err := a.client.Put(ctx, nodeKey("x"), string(x), clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	tc := lead(t, c)
	if err := c.Beat(ctx, tc, 300); err != nil {
		t.Fatal(err)
	}
	tc.Resign()
	c.Close()
	d := testClient(t, "d", a)
	if down, err := d.Down(ctx); err != nil || !down {
		t.Fatalf("Down with only a key that outlived its node named = %v, %v; want true", down, err)
	}
}

// Activate records a timer's activation through the fence and the
// stamp's comparison, and keeps its last trigger.
func TestActivate(t *testing.T) {
	c := testMember(t, "a")
	term := lead(t, c)
	ctx := t.Context()
	st0, _ := c.Timer(ctx, "bill.timer")
	st1, _, err := c.Trigger(ctx, term, st0, trigger("bill.timer", 100))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Activate(ctx, term, "bill.timer", st0, 150); !errors.Is(err, ErrStale) {
		t.Fatalf("Activate from a stamp moved meanwhile = %v; want ErrStale", err)
	}
	st2, err := c.Activate(ctx, term, "bill.timer", st1, 150)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Timer(ctx, "bill.timer"); err != nil || got != st2 || got.ActiveRealtime != 150 || got.LastTrigger != 100 {
		t.Fatalf("Timer after Activate = %+v, %v; want active since 150, last triggered at 100 (%+v)", got, err, st2)
	}
	// A trigger keeps the activation.
	st3, _, err := c.Trigger(ctx, term, st2, trigger("bill.timer", 200))
	if err != nil || st3.ActiveRealtime != 150 {
		t.Fatalf("Trigger after Activate = %+v, %v; want active since 150", st3, err)
	}
	term.Resign()
	if _, err := c.Activate(ctx, term, "bill.timer", st3, 300); !errors.Is(err, ErrDeposed) {
		t.Fatalf("Activate of a term resigned = %v; want ErrDeposed", err)
	}
}

// ActivateAll commits the activations of many timers in one
// transaction, each as Activate would: one whose stamp moved fails
// alone, and none of a term resigned commits.
func TestActivateAll(t *testing.T) {
	c := testMember(t, "a")
	ctx := t.Context()
	term := lead(t, c)
	as := make([]Activation, 200)
	for i := range as {
		as[i] = Activation{Timer: fmt.Sprintf("t%03d.timer", i), At: 150}
	}
	before := txns(c)
	states, errs := c.ActivateAll(ctx, term, as)
	// A comparison and a put each, and the fence: 127 a transaction.
	if n := txns(c) - before; n > 2 {
		t.Errorf("%d transactions for %d activations; want 2", n, len(as))
	}
	for i, st := range states {
		if errs[i] != nil || st.ActiveRealtime != 150 {
			t.Fatalf("ActivateAll's %d = %+v, %v; want active since 150", i, st, errs[i])
		}
		if got, err := c.Timer(ctx, as[i].Timer); err != nil || got != st {
			t.Fatalf("Timer(%s) = %+v, %v; want %+v", as[i].Timer, got, err, st)
		}
		as[i].Prev, as[i].At = st, 300
	}
	// One read before the first: its stamp moved since.
	as[50].Prev = store.TimerState{}
	states, errs = c.ActivateAll(ctx, term, as)
	for i, st := range states {
		if i == 50 {
			if !errors.Is(errs[i], ErrStale) {
				t.Errorf("ActivateAll's stale one = %+v, %v; want ErrStale", st, errs[i])
			}
			if got, _ := c.Timer(ctx, as[i].Timer); got.ActiveRealtime != 150 {
				t.Errorf("the stale one's stamp = %+v; want active since 150 still", got)
			}
			continue
		}
		if errs[i] != nil || st.ActiveRealtime != 300 {
			t.Errorf("ActivateAll's %d beside a stale one = %+v, %v; want active since 300", i, st, errs[i])
		}
	}
	if err := term.Resign(); err != nil {
		t.Fatal(err)
	}
	for i, st := range states {
		as[i].Prev = st
	}
	_, errs = c.ActivateAll(ctx, term, as[:10])
	for i, err := range errs {
		if !errors.Is(err, ErrDeposed) {
			t.Fatalf("ActivateAll's %d in a term ended = %v; want ErrDeposed", i, err)
		}
	}
}

// A node started again while its old lease lives takes its key, with a
// lease of its own: the runs of the node before are lost all the same.
func TestMarkNodeStartedAgain(t *testing.T) {
	a := testMember(t, "a")
	c := testClient(t, "c", a)
	tc := triggered(t, c)
	tc.Resign()
	ta := lead(t, a)
	wantLost(t, a, ta, "while c lives")
	testClient(t, "c", a) // c's old lease lives on: it was killed
	wantLost(t, a, ta, "once c started again", "c")
}

// A node whose lease ends while it lives joins again, with a new lease,
// the same incarnation; the runs of its lease before are lost.
func TestNodeJoinsAgain(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	tb := triggered(t, b)
	old := b.lease()
	if _, err := a.client.Revoke(ctx, old); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool {
		nodes, err := a.incarnations(ctx)
		return err == nil && slices.Contains(nodes, "b/"+b.incarnation) && b.lease() != old
	}, "b to join again")
	tb.Resign()
	ta := lead(t, a)
	wantLost(t, a, ta, "once b joined again", "b")
}

// A node whose key was missing at the last beat, its lease ended while
// it lived, is named there all the same: a leader it becomes after it
// joined again finds no whole cluster's stop.
func TestBeatNamesNodesMissing(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	c := testClient(t, "c", a)
	ctx := t.Context()
	tb := lead(t, b)
	if err := b.Beat(ctx, tb, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.Revoke(ctx, c.lease()); err != nil {
		t.Fatal(err)
	}
	if err := b.Beat(ctx, tb, 200); err != nil {
		t.Fatal(err)
	}
	tb.Resign()
	b.Close()
	if _, err := a.client.Delete(ctx, nodeKey("a")); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool {
		nodes, err := a.incarnations(ctx)
		return err == nil && slices.Contains(nodes, "c/"+c.incarnation)
	}, "c to join again")
	if down, err := c.Down(ctx); err != nil || down {
		t.Fatalf("Down on c, named at the beat before its key went = %v, %v; want false", down, err)
	}
}

// triggered has c lead, and trigger bill.timer at 100: its run is c's.
func triggered(t *testing.T, c *Cluster) Term {
	t.Helper()
	term := lead(t, c)
	st, err := c.Timer(t.Context(), "bill.timer")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Trigger(t.Context(), term, st, trigger("bill.timer", 100)); err != nil {
		t.Fatal(err)
	}
	return term
}

// wantLost has c mark the runs of nodes gone, and fails unless the runs
// marked node-lost are those of the nodes named.
func wantLost(t *testing.T, c *Cluster, term Term, when string, nodes ...string) {
	t.Helper()
	lost, err := c.MarkNodesLost(t.Context(), term, 150)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range lost {
		if r.State != RunNodeLost {
			t.Errorf("MarkNodesLost %s: %+v not node-lost", when, r)
		}
		got = append(got, r.Node)
	}
	if !slices.Equal(got, nodes) {
		t.Errorf("MarkNodesLost %s marked the runs of %q; want %q", when, got, nodes)
	}
}

// Beats tells the last beat, then each one as it comes, by the leader's
// clock: one written after the last was read, before the watch of them
// began, too.
func TestBeats(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx, cancel := context.WithCancel(t.Context())
	term := lead(t, a)
	if err := a.Beat(ctx, term, 100); err != nil {
		t.Fatal(err)
	}
	beats := make(chan uint64, 10)
	done, wrote := make(chan error, 1), make(chan error, 1)
	go func() {
		done <- b.Beats(ctx, func(at uint64) {
			if at == 100 {
				wrote <- a.Beat(ctx, term, 200)
			}
			beats <- at
		})
	}()
	next := func() uint64 {
		select {
		case at := <-beats:
			return at
		case err := <-done:
			t.Fatalf("Beats ended: %v", err)
		case <-time.After(await.Deadline):
			t.Fatal("no beat told")
		}
		return 0
	}
	if at := next(); at != 100 {
		t.Fatalf("first beat told = %d, want the last one, 100", at)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if at := next(); at != 200 {
		t.Fatalf("next beat told = %d, want 200", at)
	}
	cancel()
	if err := <-done; err == nil {
		t.Errorf("Beats returned no error when its context ended")
	}
}
