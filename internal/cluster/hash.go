package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PublishHash puts the hash of this node's copy of a cluster unit among
// the unit's copies, with the node's lease, and returns the cluster's hash
// of it: the first one published, by any node, until a leader sets its
// own (SetHashes); the first is a create-only write, in the same
// transaction. A node whose hash is not the cluster's has another copy
// of the unit, and does not run it.
func (c *Cluster) PublishHash(ctx context.Context, unit, hash string) (string, error) {
	hk := hashKey(unit)
	mine := clientv3.OpPut(copiesOf(unit)+c.cfg.Name, hash, clientv3.WithLease(c.lease()))
	var resp *clientv3.TxnResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(hk), "=", 0)).
			Then(clientv3.OpPut(hk, hash), mine).
			Else(clientv3.OpGet(hk), mine).Commit()
		return err
	}); err != nil {
		return "", fmt.Errorf("cluster: the hash of %s: %w", unit, err)
	}
	if resp.Succeeded {
		return hash, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		// Deleted between the comparison and the read: none can be, in
		// one transaction; said rather than guessed.
		return "", fmt.Errorf("cluster: the hash of %s: not found", unit)
	}
	return string(kvs[0].Value), nil
}

// PublishHashes publishes the hash of this node's copy of each of units,
// hashes[i] of units[i], as PublishHash does, and returns the cluster's
// hash of each. Where every unit of a batch has a hash of the cluster's
// already, as each has once the cluster ran it, the batch's copies go
// in one transaction, with a read of the cluster's hashes: a node that
// joins publishes every cluster timer's, and one Raft proposal each
// would hold the leader's triggers up behind thousands. Where no unit of
// a batch has one, as at the cluster's first start, the batch's copies
// are the cluster's, created in one transaction too. A batch of which
// some units have one and some none is published a unit at a time.
func (c *Cluster) PublishHashes(ctx context.Context, units, hashes []string) ([]string, error) {
	if len(units) != len(hashes) {
		return nil, fmt.Errorf("cluster: %d hashes for %d units", len(hashes), len(units))
	}
	cluster := make([]string, 0, len(units))
	// A comparison each, and a put and a read each.
	const per = maxTxnOps / 2
	for start := 0; start < len(units); start += per {
		batch, mine := units[start:min(start+per, len(units))], hashes[start:]
		conds := make([]clientv3.Cmp, len(batch))
		ops := make([]clientv3.Op, 0, 2*len(batch))
		for i, u := range batch {
			hk := hashKey(u)
			conds[i] = clientv3.Compare(clientv3.CreateRevision(hk), ">", 0)
			ops = append(ops, clientv3.OpPut(copiesOf(u)+c.cfg.Name, mine[i], clientv3.WithLease(c.lease())), clientv3.OpGet(hk))
		}
		resp, err := c.hashesTxn(ctx, batch, conds, ops)
		if err != nil {
			return nil, err
		}
		if !resp.Succeeded {
			created, err := c.createHashes(ctx, batch, mine)
			if err != nil {
				return nil, err
			}
			if created {
				cluster = append(cluster, mine[:len(batch)]...)
				continue
			}
			for i, u := range batch {
				h, err := c.PublishHash(ctx, u, mine[i])
				if err != nil {
					return nil, err
				}
				cluster = append(cluster, h)
			}
			continue
		}
		for i := range batch {
			cluster = append(cluster, string(resp.Responses[2*i+1].GetResponseRange().Kvs[0].Value))
		}
	}
	return cluster, nil
}

// createHashes makes the hashes of this node's copies of units,
// hashes[i] of units[i], the cluster's, and publishes them, in one
// transaction, if none of the units has a hash of the cluster's yet; it
// reports whether it did.
func (c *Cluster) createHashes(ctx context.Context, units, hashes []string) (bool, error) {
	conds := make([]clientv3.Cmp, len(units))
	ops := make([]clientv3.Op, 0, 2*len(units))
	for i, u := range units {
		hk := hashKey(u)
		conds[i] = clientv3.Compare(clientv3.CreateRevision(hk), "=", 0)
		ops = append(ops, clientv3.OpPut(hk, hashes[i]), clientv3.OpPut(copiesOf(u)+c.cfg.Name, hashes[i], clientv3.WithLease(c.lease())))
	}
	resp, err := c.hashesTxn(ctx, units, conds, ops)
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// hashesTxn commits a transaction of the hashes of units.
func (c *Cluster) hashesTxn(ctx context.Context, units []string, conds []clientv3.Cmp, ops []clientv3.Op) (*clientv3.TxnResponse, error) {
	var resp *clientv3.TxnResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Txn(ctx).If(conds...).Then(ops...).Commit()
		return err
	}); err != nil {
		return nil, fmt.Errorf("cluster: the hashes of %s…: %w", units[0], err)
	}
	return resp, nil
}

// WithdrawHash deletes the hash of this node's copy of a cluster unit
// from the unit's copies, once the unit is no longer started here: the
// node no longer runs it, and a leader no longer fires it for this node.
func (c *Cluster) WithdrawHash(ctx context.Context, unit string) error {
	if err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.Delete(ctx, copiesOf(unit)+c.cfg.Name)
		return err
	}); err != nil {
		return fmt.Errorf("cluster: the hash of %s: %w", unit, err)
	}
	return nil
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
