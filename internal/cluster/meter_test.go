package cluster

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
)

// A stepClock is 1.5 ms later at each reading: each request takes that.
type stepClock struct{ µs atomic.Uint64 }

func (c *stepClock) Now() timer.Instant {
	m := c.µs.Add(1500)
	return timer.Instant{Realtime: m, Monotonic: m}
}

func (c *stepClock) After(time.Duration) (<-chan time.Time, func() bool) {
	return nil, func() bool { return true }
}

// A node's meter counts its requests by operation, its failures, its
// terms won and lost, and its triggers by outcome.
func TestMeter(t *testing.T) {
	a := testMember(t, "a")
	m := NewMeter(&stepClock{})
	if s := m.Stats(); len(s.Requests) != len(Ops) || s.TermsWon != 0 || s.Leading() || !slices.Equal(s.Triggers, []uint64{0, 0, 0, 0}) {
		t.Fatalf("a new meter's stats = %+v; want every op, and nothing counted", s)
	}
	b := testOpen(t, Config{Name: "b", Endpoints: a.cfg.AdvertiseClientURLs, Meter: m})
	ctx := t.Context()
	term := lead(t, b)
	if s := m.Stats(); !s.Leading() || s.TermsWon != 1 || s.TermsLost != 0 {
		t.Errorf("stats of a leader = %+v; want a term won, leading", s)
	}
	st, _, err := b.Trigger(ctx, term, store.TimerState{}, trigger("x.timer", 100))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Trigger(ctx, term, store.TimerState{}, trigger("x.timer", 200)); err == nil {
		t.Fatal("a trigger from a stamp moved meanwhile committed")
	}
	if err := term.Resign(); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool { return !m.Stats().Leading() }, "the term resigned counted lost")
	if _, _, err := b.Trigger(ctx, term, st, trigger("x.timer", 300)); err == nil {
		t.Fatal("a trigger of a term resigned committed")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Runs(canceled, "x.timer", 1); err == nil {
		t.Fatal("a read with its context canceled succeeded")
	}

	s := m.Stats()
	if s.TermsWon != 1 || s.TermsLost != 1 || !slices.Equal(s.Triggers, []uint64{1, 1, 1, 0}) {
		t.Errorf("terms won %d, lost %d, triggers %v; want 1, 1, and one committed, one deposed, one stale", s.TermsWon, s.TermsLost, s.Triggers)
	}
	var ops []string
	for _, r := range s.Requests {
		ops = append(ops, r.Op)
		switch r.Op {
		case "txn":
			// The three triggers, none failed (a comparison that fails
			// is an answer), each 1.5 ms.
			want := Histogram{Bounds: RequestBuckets, Counts: []uint64{0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, Count: 3, Sum: 0.0045}
			if r.Failures != 0 || !slices.Equal(r.Duration.Counts, want.Counts) || r.Duration.Count != 3 || r.Duration.Sum < 0.00449 || r.Duration.Sum > 0.00451 {
				t.Errorf("txn: %d failures, durations %+v; want none failed, %+v", r.Failures, r.Duration, want)
			}
		case "range":
			if r.Failures != 1 || r.Duration.Count < 2 {
				t.Errorf("range: %d failures of %d; want the canceled one failed, the campaign's succeeded", r.Failures, r.Duration.Count)
			}
		case "put", "lease_grant":
			if r.Failures != 0 || r.Duration.Count != 2 {
				t.Errorf("%s: %d failures of %d; want the node's and the term's, none failed", r.Op, r.Failures, r.Duration.Count)
			}
		}
	}
	if !slices.Equal(ops, Ops) {
		t.Errorf("ops counted %q; want %q", ops, Ops)
	}
}

func TestOpName(t *testing.T) {
	for method, want := range map[string]string{
		"/etcdserverpb.KV/Range":              "range",
		"/etcdserverpb.Lease/LeaseTimeToLive": "lease_time_to_live",
		"/etcdserverpb.Cluster/MemberList":    "member_list",
	} {
		if got := opName(method); got != want {
			t.Errorf("opName(%q) = %q, want %q", method, got, want)
		}
	}
}

// Health says who leads and counts the nodes by their keys, not the keys
// below them, also where a node's name sorts among those.
func TestHealth(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	testClient(t, "b.c", a)
	publish(t, b, map[string]string{"x.timer": "1234"})
	if h := a.Health(t.Context()); !h.Healthy || h.Leader != "" || h.Nodes != 3 ||
		!slices.Equal(h.Problems, []string{"no node leads the cluster's timers"}) {
		t.Errorf("Health with no leader = %+v; want healthy, 3 nodes, no leader", h)
	}
	defer lead(t, b).Resign()
	if h := a.Health(t.Context()); !h.Healthy || h.Leader != "b" || h.Nodes != 3 || len(h.Problems) > 0 {
		t.Errorf("Health = %+v; want healthy, b leading, 3 nodes", h)
	}
}
