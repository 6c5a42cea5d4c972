package cluster

import (
	"encoding/json"
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
	// 0 s is needed no more, nor any not higher than that at 45 s.
	c.markRevision(t0 + 104*s)
	put()
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

// A leader takes on the marks of the last leader's beat, each its age
// before it read the beat, so that it compacts although its node started
// within a retention; no earlier than the mark was taken.
func TestCompactInherited(t *testing.T) {
	a := testMember(t, "a")
	ctx := t.Context()
	// mark puts, and marks the revision of the cache, which has the put,
	// as of ago before marked.
	const s = uint64(time.Second / time.Microsecond)
	marked := a.clk.Now().Monotonic
	mark := func(ago uint64) int64 {
		t.Helper()
		resp, err := a.client.Put(ctx, hashKey("a.timer"), "hash")
		if err != nil {
			t.Fatal(err)
		}
		var rev int64
		await.Until(t, func() bool {
			a.cache.mu.Lock()
			defer a.cache.mu.Unlock()
			rev = a.cache.rev
			return rev >= resp.Header.Revision
		}, "the cache to reach the put")
		a.addMarks(marked, revMark{marked - ago, rev})
		return rev
	}
	rev1, rev2 := mark(50*s), mark(10*s)
	if _, err := a.client.Put(ctx, hashKey("a.timer"), "hash"); err != nil {
		t.Fatal(err)
	}
	ta := lead(t, a)
	if err := a.Beat(ctx, ta, 100); err != nil {
		t.Fatal(err)
	}
	if err := ta.Resign(); err != nil {
		t.Fatal(err)
	}

	b := testClient(t, "b", a)
	tb := lead(t, b)
	if err := b.Beat(ctx, tb, 200); err != nil {
		t.Fatal(err)
	}
	read := b.clk.Now().Monotonic
	at := map[int64]uint64{}
	b.revs.mu.Lock()
	for _, m := range b.revs.marks {
		at[m.rev] = m.at
	}
	n := len(b.revs.marks)
	b.revs.mu.Unlock()
	for _, m := range []struct {
		rev  int64
		aged uint64
	}{{rev1, 50 * s}, {rev2, 10 * s}} {
		if got, ok := at[m.rev]; !ok || got < marked-m.aged || got > read-m.aged {
			t.Errorf("revision %d marked at %d (found %v); want within [%d, %d]", m.rev, got, ok, marked-m.aged, read-m.aged)
		}
	}
	// Its own beats carry them on, and it takes on none of its own.
	if err := b.Beat(ctx, tb, 300); err != nil {
		t.Fatal(err)
	}
	b.revs.mu.Lock()
	again := len(b.revs.marks)
	b.revs.mu.Unlock()
	if again > n+1 {
		t.Errorf("%d marks after its own beat, from %d; want its own at most added", again, n)
	}
	last, _, err := b.lastBeat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(last.Marks, func(m beatMark) bool { return m.Rev == rev1 && m.Age >= 50*s }) {
		t.Errorf("b's beat carries %v; want revision %d at least 50 s old", last.Marks, rev1)
	}

	// A retention (30 s) after the first mark, b compacts to it, and not
	// to the second, 40 s younger.
	if err := b.compact(ctx, at[rev1]+uint64(b.cfg.CompactionRetention/time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	for rev, held := range map[int64]bool{rev1 - 1: false, rev1: true, rev2: true} {
		_, err := a.client.Get(ctx, hashKey("a.timer"), clientv3.WithRev(rev))
		if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			t.Fatal(err)
		}
		if (err == nil) != held {
			t.Errorf("revision %d held = %v; want %v", rev, err == nil, held)
		}
	}
}

// A new leader compacts as soon as its first beat takes on the last
// leader's marks, not a compactEvery later: through a run of failovers
// no term might last that long, and history would pile up.
func TestCompactAtBeat(t *testing.T) {
	// A retention of an hour: neither the marks of the node's own nor
	// its compactEvery comes within the test.
	a := testMember(t, "a", func(cfg *Config) { cfg.CompactionRetention = time.Hour })
	ctx := t.Context()
	var rev int64
	for range 3 {
		resp, err := a.client.Put(ctx, hashKey("a.timer"), "hash")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	// The last leader's beat, with a mark two hours old.
	last, _ := json.Marshal(beatValue{At: 100, By: "gone/1", Marks: []beatMark{{Rev: rev, Age: uint64(2 * time.Hour / time.Microsecond)}}})
	if _, err := a.client.Put(ctx, beatKey, string(last)); err != nil {
		t.Fatal(err)
	}
	term := lead(t, a)
	if err := a.Beat(ctx, term, 200); err != nil {
		t.Fatal(err)
	}
	await.Until(t, func() bool {
		_, err := a.client.Get(ctx, hashKey("a.timer"), clientv3.WithRev(rev-1))
		if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			t.Fatal(err)
		}
		return err != nil
	}, "history up to revision %d to be compacted", rev)
}
