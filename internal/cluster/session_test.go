package cluster

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/timer"
)

// A node whose lease ends while it is open (revoked here, as an expiry
// would end it) is told so, loses the runs it was assigned, and joins
// again under a new lease: its key is there again, and runs assigned
// under the new lease are acknowledged.
func TestSessionEndsAndRejoins(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ended, err := b.SessionEnded(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	assignments := make(chan error, 1)
	go func() { assignments <- b.Assignments(t.Context(), func(Run, <-chan struct{}) {}) }()
	old := b.lease()
	if _, err := a.client.Revoke(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool { return closed(ended) }, "b's session to end")
	await.Until(t, func() bool {
		select {
		case err := <-assignments:
			if !errors.Is(err, ErrSessionEnded) {
				t.Fatalf("Assignments at the session's end = %v; want ErrSessionEnded", err)
			}
			return true
		default:
			return false
		}
	}, "b's Assignments to end")
	await.Until(t, func() bool { return b.lease() != old }, "b to join again under a new lease")
	if next, err := b.SessionEnded(t.Context()); err != nil || next == ended {
		t.Fatalf("SessionEnded after b joined again = the one that ended: %v, %v", next == ended, err)
	}
	if got := nodes(t, a); !slices.Contains(got, "b") {
		t.Fatalf("nodes after b joined again = %q; want b among them", got)
	}
	resp, err := a.client.TimeToLive(t.Context(), b.lease())
	if err != nil || resp.TTL < 0 || resp.GrantedTTL == 0 {
		t.Fatalf("b's new lease: TTL %v, %v; want it alive", resp, err)
	}
}

// A pausedClock is the system's clock, but for a jump of its monotonic
// time forward, as a process stopped and continued sees it.
type pausedClock struct {
	clock.Real
	jump atomic.Uint64 // µs
}

func (c *pausedClock) Now() timer.Instant {
	now := c.Real.Now()
	now.Monotonic += c.jump.Load()
	return now
}

// A node that was paused past its lease's deadline, as it counts it from
// its last renewal, ends its session, though etcd, which its renewals
// still reach, has not expired the lease; and it joins again.
func TestSessionDeadline(t *testing.T) {
	a := testMember(t, "a")
	clk := &pausedClock{}
	b := testOpen(t, Config{Name: "b", Endpoints: a.cfg.AdvertiseClientURLs, Clock: clk})
	ended, err := b.SessionEnded(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	old := b.lease()
	clk.jump.Store(uint64(time.Minute / time.Microsecond))
	await.Until(t, func() bool { return closed(ended) }, "b's session to end at its deadline")
	await.Until(t, func() bool { return b.lease() != old }, "b to join again under a new lease")
	if got := nodes(t, a); !slices.Contains(got, "b") {
		t.Fatalf("nodes after b joined again = %q; want b among them", got)
	}
}
