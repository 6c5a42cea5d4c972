package cluster

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
)

// The leader compacts to the newest mark a retention old, never to a
// younger one, and a node keeps no more marks than that needs.
func TestCompact(t *testing.T) {
	c := testMember(t, "a", func(cfg *Config) { cfg.CompactionRetention = time.Minute })
	ctx := t.Context()
	put := func() int64 {
		t.Helper()
		resp, err := c.client.Put(ctx, hashKey("a.timer"), "hash")
		if err != nil {
			t.Fatal(err)
		}
		rev := resp.Header.Revision
		await.Until(t, func() bool {
			c.cache.mu.Lock()
			defer c.cache.mu.Unlock()
			return c.cache.rev >= rev
		}, "the cache to reach the put")
		return rev
	}
	// readable reports whether etcd still holds revision rev.
	readable := func(rev int64) bool {
		t.Helper()
		_, err := c.client.Get(ctx, hashKey("a.timer"), clientv3.WithRev(rev))
		if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			t.Fatal(err)
		}
		return err == nil
	}
	const s = uint64(time.Second / time.Microsecond)
	t0 := 1000 * s
	rev1 := put()
	c.markRevision(t0)
	rev2 := put()
	c.markRevision(t0 + 30*s)
	put()
	c.markRevision(t0 + 45*s)

	for _, step := range []struct {
		now      uint64
		readable int64 // the oldest revision left
	}{
		{t0 + 59*s, 1},    // no mark is a minute old
		{t0 + 60*s, rev1}, // the first is
		{t0 + 89*s, rev1},
		{t0 + 100*s, rev2}, // the second is the newest that old
	} {
		if err := c.compact(ctx, step.now); err != nil {
			t.Fatalf("compact at %d s: %v", (step.now-t0)/s, err)
		}
		if step.readable > 1 && readable(step.readable-1) {
			t.Errorf("after compact at %d s, revision %d is still held; want compacted up to %d", (step.now-t0)/s, step.readable-1, step.readable)
		}
		if !readable(step.readable) {
			t.Errorf("after compact at %d s, revision %d is gone; want it held", (step.now-t0)/s, step.readable)
		}
	}

	// At 105 s, the marks at 30 and 45 s are a minute old: the one at
	// 0 s is needed no more.
	c.markRevision(t0 + 105*s)
	c.revs.mu.Lock()
	var at []uint64
	for _, m := range c.revs.marks {
		at = append(at, (m.at-t0)/s)
	}
	c.revs.mu.Unlock()
	if want := []uint64{45, 105}; !slices.Equal(at, want) {
		t.Errorf("marks at %v s; want %v", at, want)
	}
}
