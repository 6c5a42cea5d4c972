package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

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
	// slack waits for a later prune, so that one prune does much. They
	// are read as many timers a transaction as etcd allows: a prune may
	// find hundreds of timers in excess, and a read each would keep the
	// leader's member busy with as many requests; and one transaction
	// at a time, deleted before the next, so that a prune that has
	// many to delete holds few at once.
	var spans []clientv3.Op
	k := c.cache
	k.mu.Lock()
	for timer, r := range k.runs {
		if n := len(r.elapses); k.excess(r) {
			spans = append(spans, clientv3.OpGet(runsOf(timer), clientv3.WithRange(runKey(timer, r.elapses[n-k.keep]))))
		}
	}
	k.mu.Unlock()
	slices.SortFunc(spans, func(a, b clientv3.Op) int { return bytes.Compare(a.KeyBytes(), b.KeyBytes()) })
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
	for chunk := range slices.Chunk(spans, maxTxnOps) {
		kvs, err := c.getAll(ctx, chunk)
		if err != nil {
			return deleted, fmt.Errorf("cluster: old runs: %w", err)
		}
		for _, kv := range kvs {
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
