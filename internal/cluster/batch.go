package cluster

import (
	"context"
	"errors"
	"iter"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A write is one change to commit: its comparisons, but the term's fence,
// and its operations.
type write struct {
	conds []clientv3.Cmp
	ops   []clientv3.Op
}

// errTogether is why commitAll did not commit a write: the comparisons
// of one of those it went with failed, and the fence held. The caller
// commits it alone, which tells whether it is stale.
var errTogether = errors.New("cluster: not committed with others")

// commitAll commits ws in as few transactions as etcd's bound allows,
// each with the term's fence (none for a zero term), and returns the
// revision each was committed at, or why not: ErrDeposed, another error
// of the transaction, or errTogether. Hundreds of changes that come
// together (a leader's triggers, a node's acknowledgments, the runs of
// a node lost) would otherwise be a Raft proposal each and wait behind
// each other.
func (c *Cluster) commitAll(ctx context.Context, term Term, ws []write) ([]int64, []error) {
	revs, errs := make([]int64, len(ws)), make([]error, len(ws))
	var wg sync.WaitGroup
	slots := make(chan struct{}, commitAtOnce)
	for b := range batches(ws, term.Key != "") {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			var conds []clientv3.Cmp
			var ops []clientv3.Op
			if term.Key != "" {
				conds = append(conds, fence(term))
			}
			for _, w := range ws[b[0]:b[1]] {
				conds, ops = append(conds, w.conds...), append(ops, w.ops...)
			}
			rev, err := c.txn(ctx, term, conds, ops)
			if errors.Is(err, ErrStale) && b[1]-b[0] > 1 {
				err = errTogether
			}
			for i := b[0]; i < b[1]; i++ {
				revs[i], errs[i] = rev, err
			}
		})
	}
	wg.Wait()
	return revs, errs
}

// commitAtOnce bounds the transactions of commitAll made at once.
const commitAtOnce = 16

// batches yields the bounds of the batches of ws, in order, each within
// etcd's bound of comparisons (with the fence, if fenced) and of
// operations, and with no key written twice, which a transaction may
// not.
func batches(ws []write, fenced bool) iter.Seq[[2]int] {
	return func(yield func([2]int) bool) {
		fence := 0
		if fenced {
			fence = 1
		}
		start, conds, ops := 0, fence, 0
		keys := map[string]bool{}
		for i, w := range ws {
			again := false
			for _, op := range w.ops {
				again = again || keys[string(op.KeyBytes())]
			}
			if i > start && (conds+len(w.conds) > maxTxnOps || ops+len(w.ops) > maxTxnOps || again) {
				if !yield([2]int{start, i}) {
					return
				}
				start, conds, ops = i, fence, 0
				clear(keys)
			}
			conds, ops = conds+len(w.conds), ops+len(w.ops)
			for _, op := range w.ops {
				keys[string(op.KeyBytes())] = true
			}
		}
		if start < len(ws) {
			yield([2]int{start, len(ws)})
		}
	}
}
