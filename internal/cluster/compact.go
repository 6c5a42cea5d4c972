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
// leader of the timers compacts, from marks of the revision its node's
// cache reached, by its monotonic clock, which no other node's clock
// moves. A node has marks from its start on, and a leader carries its
// marks in its beats, each with its age, for the next leader: through a
// run of failovers every node may have started within a retention, and
// history is compacted all the same.

// A revMark is the revision the node's cache reflected at a monotonic
// instant, in µs, or a revision reached by then.
type revMark struct {
	at  uint64
	rev int64
}

// revMarks are a node's marks: the highest revision among those at
// least a retention old, and the higher ones since; and the revision
// last compacted to. inherited tells the compactor that a beat brought
// the last leader's marks.
type revMarks struct {
	mu        sync.Mutex
	marks     []revMark
	compacted int64
	inherited chan struct{}
}

// A beatMark is a mark as a leader's beat carries it: with its age, in
// µs, when the beat was written.
type beatMark struct {
	Rev int64  `json:"rev"`
	Age uint64 `json:"age"`
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

// markRevision marks the cache's revision at the monotonic instant at.
func (c *Cluster) markRevision(at uint64) {
	k := c.cache
	k.mu.Lock()
	rev := k.rev
	k.mu.Unlock()
	c.addMarks(at, revMark{at, rev})
}

// addMarks adds marks at the monotonic instant now, and forgets those
// that no compaction from now on needs: those a retention old but the
// highest, and those not higher.
func (c *Cluster) addMarks(now uint64, add ...revMark) {
	m := &c.revs
	m.mu.Lock()
	defer m.mu.Unlock()
	marks := append(m.marks, add...)
	best := c.newest(marks, now)
	m.marks = m.marks[:0]
	for _, mark := range marks {
		if mark.rev > best.rev || mark == best {
			m.marks = append(m.marks, mark)
		}
	}
}

// newest returns the mark of the highest revision among those a
// retention old at now, the zero mark if none is.
func (c *Cluster) newest(marks []revMark, now uint64) revMark {
	var best revMark
	for _, mark := range marks {
		if c.aged(mark, now) && mark.rev > best.rev {
			best = mark
		}
	}
	return best
}

// beatMarks returns the node's marks as a beat written at the monotonic
// instant now carries them.
func (c *Cluster) beatMarks(now uint64) []beatMark {
	m := &c.revs
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]beatMark, len(m.marks))
	for i, mark := range m.marks {
		out[i] = beatMark{Rev: mark.rev, Age: now - min(mark.at, now)}
	}
	return out
}

// inheritMarks adds the marks of another node's beat, read at the
// monotonic instant now: each as taken its age before now, which is
// no earlier than it was, as the beat was written before it was read.
func (c *Cluster) inheritMarks(marks []beatMark, now uint64) {
	add := make([]revMark, len(marks))
	for i, b := range marks {
		add[i] = revMark{at: now - min(b.Age, now), rev: b.Rev}
	}
	c.addMarks(now, add...)
	select {
	case c.revs.inherited <- struct{}{}:
	default:
	}
}

// aged reports whether mark was taken at least a retention before now.
func (c *Cluster) aged(mark revMark, now uint64) bool {
	return mark.at+uint64(c.cfg.CompactionRetention/time.Microsecond) <= now
}

// compactWhile compacts etcd's history while term (and ctx) lasts, if
// the node hosts a member (a client of endpoints leaves the history of
// an etcd it does not know to those who run it): when the term begins,
// as soon as its first beat takes on the last leader's marks, and each
// compactEvery. Through a run of failovers each term may be shorter
// than compactEvery; a leader that waited that long first would never
// compact, and history, which the database keeps at its largest size,
// would pile up.
func (c *Cluster) compactWhile(ctx context.Context, term Term) {
	if c.etcd == nil {
		return
	}
	ctx, cancel := term.within(ctx)
	defer cancel()
	warned := false
	for {
		if err := c.compact(ctx, c.clk.Now().Monotonic); err != nil && ctx.Err() == nil && !warned {
			c.log.Warn("Failed to compact etcd's history; trying again.", "err", err)
			warned = true
		}
		wake, stop := c.clk.After(c.compactEvery())
		select {
		case <-ctx.Done():
		case <-wake:
		case <-c.revs.inherited:
		}
		stop()
		if ctx.Err() != nil {
			return
		}
	}
}

// compact compacts etcd's history to the highest revision marked at
// least a retention before now, if it has not been yet.
func (c *Cluster) compact(ctx context.Context, now uint64) error {
	m := &c.revs
	m.mu.Lock()
	rev := c.newest(m.marks, now).rev
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
