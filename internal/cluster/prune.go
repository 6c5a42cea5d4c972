package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// pruneBatch is the most records one transaction of a prune deletes:
// with a comparison each, and the fence, inside etcd's default limit of
// 128 operations a transaction.
const pruneBatch = 64

// pruneWhile prunes the run records while term lasts: once at its start,
// and whenever the cache sees a timer with more than it keeps.
func (c *Cluster) pruneWhile(ctx context.Context, term Term) {
	ctx, cancel := term.within(ctx)
	defer cancel()
	for {
		_, err := c.PruneRuns(ctx, term)
		switch {
		case ctx.Err() != nil || errors.Is(err, ErrDeposed):
			return
		case err != nil:
			c.log.Warn("Failed to delete old run records of the cluster's timers.", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.cache.prune:
		}
	}
}

// PruneRuns deletes the run records of each timer that has more than it
// keeps (Config.KeepRuns) and a slack, but the newest it keeps and any
// older one not ended (assigned or running), as the leader of term, in
// batches, each a transaction that holds only while the term does and
// the records are unchanged since read. It returns how many it removed
// or found gone; a batch of which a record changed meanwhile is left to
// the next prune.
func (c *Cluster) PruneRuns(ctx context.Context, term Term) (int, error) {
	// The records to read: of each timer with more than it keeps and
	// the slack, from its first to the oldest kept; a timer within the
	// slack waits for a later prune, so that one prune does much.
	type span struct{ from, end string }
	var spans []span
	k := c.cache
	k.mu.Lock()
	for timer, r := range k.runs {
		if n := len(r.elapses); k.excess(r) {
			spans = append(spans, span{runsOf(timer), runKey(timer, r.elapses[n-k.keep])})
		}
	}
	k.mu.Unlock()
	slices.SortFunc(spans, func(a, b span) int { return strings.Compare(a.from, b.from) })
	deleted := 0
	var conds []clientv3.Cmp
	var ops []clientv3.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		_, err := c.txn(ctx, term, append(conds, fence(term)), ops)
		if err == nil {
			deleted += len(ops)
		}
		conds, ops = conds[:0], ops[:0]
		if errors.Is(err, ErrStale) {
			return nil
		}
		return err
	}
	for _, s := range spans {
		var resp *clientv3.GetResponse
		if err := c.call(ctx, func(ctx context.Context) (err error) {
			resp, err = c.client.Get(ctx, s.from, clientv3.WithRange(s.end))
			return err
		}); err != nil {
			return deleted, fmt.Errorf("cluster: old runs: %w", err)
		}
		for _, kv := range resp.Kvs {
			if unended(kv) {
				continue
			}
			// Unchanged since read, or deleted: a record gone is no
			// conflict, when two prunes overlap.
			conds = append(conds, clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "<", kv.ModRevision+1))
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
			if len(ops) == pruneBatch {
				if err := flush(); err != nil {
					return deleted, fmt.Errorf("cluster: old runs: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return deleted, fmt.Errorf("cluster: old runs: %w", err)
	}
	return deleted, nil
}

// unended reports whether a run record says its run has not ended (it
// is assigned or running); one that cannot be read is kept, as if so.
func unended(kv *mvccpb.KeyValue) bool {
	r, err := decodeRun(kv)
	return err != nil || unfinished(r.State)
}
