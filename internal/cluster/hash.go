package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// heldParts is how many keys the hashes of a node's copies are spread
// over, a unit's by a hash of its name. A key for each copy made half of
// etcd's keys, each under its node's lease: a node that died had all of
// its own deleted, and put all again once back (10,000 each way for
// 10,000 timers), and etcd's index kept every one of those until it
// compacted. One key for all would be written whole at each change, and
// may outgrow a request.
const heldParts = 64

// heldTxnBytes bounds the values one transaction of parts writes, well
// within etcd's bound on a request (--max-request-bytes, 1.5 MiB by
// default).
const heldTxnBytes = 512 << 10

// partOf returns the part of a node's keys under held/ that has the hash
// of its copy of unit.
func partOf(unit string) int {
	h := fnv.New32a()
	h.Write([]byte(unit))
	return int(h.Sum32() % heldParts)
}

// published is what a node last published of the hashes of its copies:
// each part's value, and the lease it went with; parts is nil where what
// etcd has is not known, as after a write failed.
type published struct {
	mu    sync.Mutex
	lease clientv3.LeaseID
	parts map[int]string
}

// PublishCopies publishes the hashes of the copies of cluster units this
// node has started, hashes by unit, in place of those it published
// before: a copy it no longer has is withdrawn, and a leader no longer
// fires it for this node. It returns the cluster's hash of each unit of
// hashes: as the node's cache has it, or, for a unit that has none, the
// first published by any node, until a leader sets its own
// (SetHashes). A node whose hash is not the cluster's has another copy
// of the unit, and does not run it. The hashes go with the node's lease,
// in a few keys under held/, and only those that changed are written,
// all of them under a new lease.
func (c *Cluster) PublishCopies(ctx context.Context, hashes map[string]string) (map[string]string, error) {
	c.held.mu.Lock()
	defer c.held.mu.Unlock()
	cluster, err := c.clusterHashes(ctx, hashes)
	if err != nil {
		return nil, err
	}
	lease := c.lease()
	parts := heldValues(hashes)
	renew := c.held.parts == nil || c.held.lease != lease
	var ops []clientv3.Op
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := c.txn(ctx, Term{}, nil, ops); err != nil {
			return fmt.Errorf("cluster: the hashes of this node's copies: %w", err)
		}
		ops, size = ops[:0], 0
		return nil
	}
	for p := range heldParts {
		v, ok := parts[p]
		var op clientv3.Op
		switch old, had := c.held.parts[p]; {
		case ok && (renew || old != v):
			op = clientv3.OpPut(heldKey(c.cfg.Name, p), v, clientv3.WithLease(lease))
		case !ok && (renew || had):
			op = clientv3.OpDelete(heldKey(c.cfg.Name, p))
		default:
			continue
		}
		if len(ops) == maxTxnOps || size+len(v) > heldTxnBytes {
			if err := flush(); err != nil {
				c.held.parts = nil
				return nil, err
			}
		}
		ops, size = append(ops, op), size+len(v)
	}
	if err := flush(); err != nil {
		c.held.parts = nil
		return nil, err
	}
	c.held.lease, c.held.parts = lease, parts
	return cluster, nil
}

// heldValues returns the values of the parts under held/ that hashes, by
// unit, go in: the part's hashes, by unit, in JSON.
func heldValues(hashes map[string]string) map[int]string {
	byPart := map[int]map[string]string{}
	for u, h := range hashes {
		p := partOf(u)
		if byPart[p] == nil {
			byPart[p] = map[string]string{}
		}
		byPart[p][u] = h
	}
	values := make(map[int]string, len(byPart))
	for p, m := range byPart {
		// A map of strings always marshals: invalid UTF-8 is replaced.
		b, _ := json.Marshal(m)
		values[p] = string(b)
	}
	return values
}

// clusterHashes returns the cluster's hash of each unit of hashes: the
// cache's, or where it has none, the one in etcd, or where etcd has none
// either, the unit's of hashes, made the cluster's with a create-only
// write. The units the cache has none of go in a transaction a batch,
// which either creates all, or reads all, the batch's, and then creates
// the rest.
func (c *Cluster) clusterHashes(ctx context.Context, hashes map[string]string) (map[string]string, error) {
	cluster := make(map[string]string, len(hashes))
	var missing []string
	k := c.cache
	k.mu.Lock()
	for u := range hashes {
		if h, ok := k.hashes[u]; ok {
			cluster[u] = h
		} else {
			missing = append(missing, u)
		}
	}
	k.mu.Unlock()
	slices.Sort(missing)
	for batch := range slices.Chunk(missing, maxTxnOps) {
		// Each failure reads one hash at least, which leaves the batch.
		for len(batch) > 0 {
			conds := make([]clientv3.Cmp, len(batch))
			puts, gets := make([]clientv3.Op, len(batch)), make([]clientv3.Op, len(batch))
			for i, u := range batch {
				hk := hashKey(u)
				conds[i] = clientv3.Compare(clientv3.CreateRevision(hk), "=", 0)
				puts[i], gets[i] = clientv3.OpPut(hk, hashes[u]), clientv3.OpGet(hk)
			}
			var resp *clientv3.TxnResponse
			if err := c.call(ctx, func(ctx context.Context) (err error) {
				resp, err = c.client.Txn(ctx).If(conds...).Then(puts...).Else(gets...).Commit()
				return err
			}); err != nil {
				return nil, fmt.Errorf("cluster: the hashes of %s…: %w", batch[0], err)
			}
			if resp.Succeeded {
				for _, u := range batch {
					cluster[u] = hashes[u]
				}
				break
			}
			var absent []string
			for i, u := range batch {
				if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) > 0 {
					cluster[u] = string(kvs[0].Value)
				} else {
					absent = append(absent, u)
				}
			}
			batch = absent
		}
	}
	return cluster, nil
}

// ClusterHash returns the cluster's hash of a unit as the node's cache
// has it, and whether it has one.
func (c *Cluster) ClusterHash(unit string) (string, bool) {
	k := c.cache
	k.mu.Lock()
	defer k.mu.Unlock()
	h, ok := k.hashes[unit]
	return h, ok
}

// SetHashes makes the hashes of units, by name, the cluster's, as the
// leader of term: the copy of a cluster timer that the leader computes
// its elapses from is the cluster's, so that a unit changed on every
// node is the cluster's again once the leader has it. Each transaction
// holds only while the term does.
func (c *Cluster) SetHashes(ctx context.Context, term Term, hashes map[string]string) error {
	units := slices.Sorted(maps.Keys(hashes))
	// The fence, and a put a unit.
	for chunk := range slices.Chunk(units, maxTxnOps-1) {
		ops := make([]clientv3.Op, len(chunk))
		for i, u := range chunk {
			ops[i] = clientv3.OpPut(hashKey(u), hashes[u])
		}
		if _, err := c.txn(ctx, term, []clientv3.Cmp{fence(term)}, ops); err != nil {
			return fmt.Errorf("cluster: the hash of %s: %w", chunk[0], err)
		}
	}
	return nil
}
