package cluster

import (
	"context"
	"errors"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

func lead(t *testing.T, c *Cluster) Term {
	t.Helper()
	term, err := c.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return term
}

// trigger is the elapse of timer at realtime µs.
func trigger(timer string, at uint64) store.Trigger {
	return store.Trigger{Timer: timer, Unit: timer[:len(timer)-len(".timer")] + ".service", Reason: "OnCalendar",
		Invocation: "0123456789abcdef0123456789abcdef", Realtime: at}
}

func TestFence(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, c *Cluster, term Term)
	}{
		{"resigned", func(t *testing.T, c *Cluster, term Term) {
			if err := term.Resign(); err != nil {
				t.Fatal(err)
			}
		}},
		// As when the leader paused past its lease: the lease ends
		// without the leader's doing.
		{"lease revoked", func(t *testing.T, c *Cluster, term Term) {
			if _, err := c.client.Revoke(t.Context(), term.sess.Lease()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testMember(t, "a")
			ctx := t.Context()
			term := lead(t, c)
			st, _, err := c.Trigger(ctx, term, store.TimerState{}, trigger("clean.timer", 10))
			if err != nil {
				t.Fatal(err)
			}
			tc.end(t, c, term)
			await.Until(t, func() bool { return closed(term.Done()) }, "the term's Done")
			if _, _, err := c.Trigger(ctx, term, st, trigger("clean.timer", 20)); !errors.Is(err, ErrDeposed) {
				t.Fatalf("Trigger of a term that ended = %v; want ErrDeposed", err)
			}
			if got, err := c.Timer(ctx, "clean.timer"); err != nil || got != st {
				t.Errorf("Timer after a deposed trigger = %+v, %v; want %+v", got, err, st)
			}
		})
	}
}

// candidate campaigns in a goroutine of the test's, and sends its term.
func candidate(t *testing.T, c *Cluster) <-chan Term {
	won := make(chan Term, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		term, err := c.Lead(ctx)
		if err == nil {
			won <- term
		} else if ctx.Err() == nil {
			t.Errorf("Lead: %v", err)
		}
	}()
	return won
}

// awaitCandidates waits until n candidates have their keys.
func awaitCandidates(t *testing.T, c *Cluster, n int) {
	t.Helper()
	await.Until(t, func() bool {
		resp, err := c.client.Get(t.Context(), leaderPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == int64(n)
	}, "%d candidates", n)
}

func TestCandidates(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	ta := lead(t, a)
	wonB := candidate(t, b)
	awaitCandidates(t, a, 2)
	select {
	case <-wonB:
		t.Fatal("b leads while a does")
	default:
	}
	if name, err := b.Leader(ctx); err != nil || name != "a" {
		t.Fatalf("Leader = %q, %v; want a", name, err)
	}
	st, _, err := a.Trigger(ctx, ta, store.TimerState{}, trigger("report.timer", 1))
	if err != nil {
		t.Fatalf("the leader's trigger while another waits: %v", err)
	}
	if err := ta.Resign(); err != nil {
		t.Fatal(err)
	}
	tb := <-wonB
	if _, _, err := a.Trigger(ctx, ta, st, trigger("report.timer", 2)); !errors.Is(err, ErrDeposed) {
		t.Fatalf("the old leader's trigger = %v; want ErrDeposed", err)
	}
	if st, _, err = b.Trigger(ctx, tb, st, trigger("report.timer", 2)); err != nil {
		t.Fatalf("the new leader's trigger: %v", err)
	}
	// The leader's lease ends without its resigning: the next leads.
	wonA := candidate(t, a)
	awaitCandidates(t, a, 2)
	if _, err := a.client.Revoke(ctx, tb.sess.Lease()); err != nil {
		t.Fatal(err)
	}
	ta = <-wonA
	if name, err := b.Leader(ctx); err != nil || name != "a" {
		t.Fatalf("Leader = %q, %v; want a", name, err)
	}
	if _, _, err := b.Trigger(ctx, tb, st, trigger("report.timer", 3)); !errors.Is(err, ErrDeposed) {
		t.Fatalf("the trigger of the leader whose lease ended = %v; want ErrDeposed", err)
	}
	if _, _, err := a.Trigger(ctx, ta, st, trigger("report.timer", 3)); err != nil {
		t.Fatalf("the new leader's trigger: %v", err)
	}
}

func TestLeadCanceled(t *testing.T) {
	a := testMember(t, "a")
	lead(t, a)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := a.Lead(ctx)
		done <- err
	}()
	awaitCandidates(t, a, 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Lead canceled = %v; want context.Canceled", err)
	}
	// The candidate's key went with its lease.
	awaitCandidates(t, a, 1)
}
