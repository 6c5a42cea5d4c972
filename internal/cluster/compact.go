package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Compaction of etcd's history. A member's own periodic compactor
// (etcdserver/api/v3compactor's Periodic) runs only on the Raft leader,
// and only once that member has run for a whole retention: through a
// run of failovers the Raft leader is often a member just started again
// (the leader of the timers hands Raft leadership away, see
// keepRaftApart), history piles up for minutes, and the database, which
// the member maps into the daemon's memory whole, grows with it. So the
// leader of the timers, which is the longest-lived node of the cluster
// (an election's next leader is the oldest candidate), compacts, from
// marks of the revision its node took since it started, by its
// monotonic clock, which no other node's clock moves.

// A revMark is the revision the node's cache reflected at a monotonic
// instant, in µs.
type revMark struct {
	at  uint64
	rev int64
}

// revMarks are a node's marks, from the newest one at least a retention
// old on; and the revision last compacted to.
type revMarks struct {
	mu        sync.Mutex
	marks     []revMark
	compacted int64
}

// markEvery is how often marks are taken: a tenth of the retention, as
// etcd's compactor records revisions.
func (c *Cluster) markEvery() time.Duration { return c.cfg.CompactionRetention / 10 }

// compactEvery is how often the leader compacts: a third of the
// retention. Each compaction walks etcd's whole index of keys in every
// member (treeIndex.Compact), however little it drops; etcd's compactor
// compacts each retention, and the history kept would then be up to
// twice the retention.
func (c *Cluster) compactEvery() time.Duration { return c.cfg.CompactionRetention / 3 }

// markRevisions takes a mark each markEvery until ctx ends.
func (c *Cluster) markRevisions(ctx context.Context) {
	for c.pause(ctx, c.markEvery()) {
		c.markRevision(c.clk.Now().Monotonic)
	}
}

// markRevision marks the cache's revision at the monotonic instant at,
// and forgets the marks older than the newest one a retention before at.
func (c *Cluster) markRevision(at uint64) {
	k := c.cache
	k.mu.Lock()
	rev := k.rev
	k.mu.Unlock()
	m := &c.revs
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks = append(m.marks, revMark{at, rev})
	old := 0
	for i := 1; i < len(m.marks) && c.aged(m.marks[i], at); i++ {
		old = i
	}
	m.marks = append(m.marks[:0], m.marks[old:]...)
}

// aged reports whether mark was taken at least a retention before now.
func (c *Cluster) aged(mark revMark, now uint64) bool {
	return mark.at+uint64(c.cfg.CompactionRetention/time.Microsecond) <= now
}

// compactWhile compacts etcd's history each compactEvery while term
// (and ctx) lasts, if the node hosts a member: a client of endpoints
// leaves the history of an etcd it does not know to those who run it.
func (c *Cluster) compactWhile(ctx context.Context, term Term) {
	if c.etcd == nil {
		return
	}
	ctx, cancel := term.within(ctx)
	defer cancel()
	warned := false
	for c.pause(ctx, c.compactEvery()) {
		if err := c.compact(ctx, c.clk.Now().Monotonic); err != nil && ctx.Err() == nil && !warned {
			c.log.Warn("Failed to compact etcd's history; trying again.", "err", err)
			warned = true
		}
	}
}

// compact compacts etcd's history to the revision of the newest mark
// taken at least a retention before now, if it has not been yet.
func (c *Cluster) compact(ctx context.Context, now uint64) error {
	m := &c.revs
	m.mu.Lock()
	var rev int64
	for _, mark := range m.marks {
		if c.aged(mark, now) {
			rev = mark.rev
		}
	}
	done := m.compacted
	m.mu.Unlock()
	if rev <= done {
		return nil
	}
	err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.Compact(ctx, rev)
		return err
	})
	// Compacted already: by the member's own compactor, or an earlier
	// leader.
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("cluster: compact to revision %d: %w", rev, err)
	}
	m.mu.Lock()
	m.compacted = max(m.compacted, rev)
	m.mu.Unlock()
	return nil
}
