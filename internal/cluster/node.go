package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// join puts the node's key, with a lease of its own, kept alive by the
// session it returns.
func (c *Cluster) join(ctx context.Context) (*concurrency.Session, error) {
	sess, err := c.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: the node's lease: %w", err)
	}
	node, _ := json.Marshal(Node{Name: c.cfg.Name, Lease: fmt.Sprintf("%x", sess.Lease()), Address: c.cfg.Address, Incarnation: c.incarnation})
	// A node started again within its old lease's life takes its key:
	// the key leaves the old lease, whose end then does not delete it.
	if err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.Put(ctx, nodeKey(c.cfg.Name), string(node), clientv3.WithLease(sess.Lease()))
		return err
	}); err != nil {
		sess.Orphan()
		return nil, fmt.Errorf("cluster: the node's key: %w", err)
	}
	return sess, nil
}

// nodeLease is the lease of the node's key.
func (c *Cluster) nodeLease() clientv3.LeaseID {
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	return c.node.Lease()
}

// keepNode joins the cluster again, with a new lease, each time the
// node's lease ends while the node lives (it was paused, or cut off from
// etcd, for longer than the lease's life, or etcd's Raft lost its leader
// for that long), until ctx ends. Without its key, the node would pass
// for gone, and the cluster be taken for stopped by a leader that finds
// no node of its last beat. It is the same incarnation, for the beat;
// the runs assigned under its lease before are lost to the cluster, as
// a run is the lease's it was assigned under.
func (c *Cluster) keepNode(ctx context.Context) {
	defer close(c.nodeKept)
	for {
		c.nodeMu.Lock()
		done := c.node.Done()
		c.nodeMu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-done:
		}
		for told := false; ; {
			sess, err := c.join(ctx)
			if err == nil {
				c.nodeMu.Lock()
				old := c.node
				c.node = sess
				c.nodeMu.Unlock()
				old.Orphan()
				c.log.Warn("The node's lease ended while it lived; it joined the cluster again with a new one.")
				break
			}
			if ctx.Err() != nil {
				return
			}
			if !told {
				c.log.Error("The node's lease ended while it lived, and it cannot join the cluster again; it tries until it can.", "err", err)
				told = true
			}
			// Tried again a lease's life later: no sooner can etcd have
			// come back.
			wait, cancel := context.WithTimeout(ctx, c.cfg.LeaseTTL)
			<-wait.Done()
			cancel()
		}
	}
}
