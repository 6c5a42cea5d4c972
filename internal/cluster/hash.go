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
