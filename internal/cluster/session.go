package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrSessionEnded is what Assignments fails with when the node's
// session ends: the runs it handed on are lost to the cluster.
var ErrSessionEnded = errors.New("cluster: the node's lease ended")

// A nodeSession is the node's lease and what keeps it: the node's key
// and the hashes it publishes live with it.
type nodeSession struct {
	id clientv3.LeaseID
	// ended is closed once the lease has ended, or may have: etcd says
	// it is gone, or its deadline as the node counts it passed.
	ended chan struct{}
	// next is closed once the session after this one is in place.
	next chan struct{}
	// stop stops the keep-alive; done is closed once it has returned.
	stop context.CancelFunc
	done chan struct{}
}

// join grants the node a lease, puts the node's key with it, and keeps
// the lease alive until it ends or the session is stopped.
func (c *Cluster) join(ctx context.Context) (*nodeSession, error) {
	// The lease's deadline counts from before the request: etcd's own
	// is never earlier.
	sent := c.clk.Now().Monotonic
	lease, err := c.grant(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: the node's lease: %w", err)
	}
	node, _ := json.Marshal(Node{Name: c.cfg.Name, Lease: fmt.Sprintf("%x", lease.ID), Address: c.cfg.Address, Incarnation: c.incarnation})
	// A node started again within its old lease's life takes its key:
	// the key leaves the old lease, whose end then does not delete it.
	if err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.Put(ctx, nodeKey(c.cfg.Name), string(node), clientv3.WithLease(lease.ID))
		return err
	}); err != nil {
		c.revoke(lease.ID)
		return nil, fmt.Errorf("cluster: the node's key: %w", err)
	}
	kctx, stop := context.WithCancel(context.Background())
	s := &nodeSession{id: lease.ID, ended: make(chan struct{}), next: make(chan struct{}), stop: stop, done: make(chan struct{})}
	go c.keepAlive(kctx, s, sent+uint64(lease.TTL)*uint64(time.Second/time.Microsecond))
	return s, nil
}

// keepAlive renews the node's lease a third of its life after each
// renewal, as etcd's own keep-alive does, and counts its deadline from
// the node's side: the time the last renewal that held was sent, plus
// the life etcd granted. When the deadline passes unrenewed, or etcd
// says the lease is gone, the session has ended: what the node ran for
// the cluster is lost to it, whether or not etcd has yet expired it.
func (c *Cluster) keepAlive(ctx context.Context, s *nodeSession, deadline uint64) {
	defer close(s.done)
	interval := uint64(c.cfg.LeaseTTL/time.Microsecond) / 3
	for {
		now := c.clk.Now().Monotonic
		if now >= deadline {
			close(s.ended)
			return
		}
		wake, stop := c.clk.After(time.Duration(min(interval, deadline-now)) * time.Microsecond)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-wake:
		}
		sent := c.clk.Now().Monotonic
		if sent >= deadline {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, min(c.cfg.RequestTimeout, time.Duration(deadline-sent)*time.Microsecond))
		resp, err := c.client.KeepAliveOnce(rctx, s.id)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, rpctypes.ErrLeaseNotFound) || err == nil && resp.TTL <= 0:
			close(s.ended)
			return
		case err == nil:
			deadline = sent + uint64(resp.TTL)*uint64(time.Second/time.Microsecond)
		}
	}
}

// rejoin joins the cluster again under a new lease each time the node's
// session ends, until ctx ends: the node's key is put again, so that the
// leader may assign it runs again.
func (c *Cluster) rejoin(ctx context.Context) {
	for {
		s := c.current()
		select {
		case <-s.ended:
		case <-ctx.Done():
			return
		}
		c.log.Warn("The node's lease in the cluster ended; its runs there are lost to the cluster. Joining it again.",
			"lease", fmt.Sprintf("%x", s.id))
		s.stop()
		<-s.done
		for told := false; ; told = true {
			ns, err := c.join(ctx)
			if err == nil {
				c.mu.Lock()
				c.node, c.started = ns, nil
				c.mu.Unlock()
				close(s.next)
				c.log.Info("Joined the cluster again.", "lease", fmt.Sprintf("%x", ns.id))
				break
			}
			if ctx.Err() != nil {
				return
			}
			if !told {
				c.log.Error("Failed to join the cluster again; trying again.", "err", err)
			}
			wake, stop := c.clk.After(c.cfg.RequestTimeout)
			select {
			case <-wake:
			case <-ctx.Done():
				stop()
				return
			}
		}
	}
}

// current is the node's session now.
func (c *Cluster) current() *nodeSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.node
}

// lease is the ID of the node's lease now.
func (c *Cluster) lease() clientv3.LeaseID { return c.current().id }

// live returns the node's session once it is one not ended: while the
// node joins again, it waits, until ctx ends or the node is closed.
func (c *Cluster) live(ctx context.Context) (*nodeSession, error) {
	for {
		s := c.current()
		select {
		case <-s.ended:
		default:
			return s, nil
		}
		select {
		case <-s.next:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-c.stopped.Done():
			return nil, errors.New("cluster: closed")
		}
	}
}

// SessionEnded returns a channel closed when the node's session, the
// one it has now or the next once it has joined again, ends: its lease
// expired, was revoked, or went unrenewed past its deadline. The runs
// assigned to the node under it are then lost to the cluster; the node
// joins again under a new lease.
func (c *Cluster) SessionEnded(ctx context.Context) (<-chan struct{}, error) {
	s, err := c.live(ctx)
	if err != nil {
		return nil, err
	}
	return s.ended, nil
}

// revoke revokes a lease, with a request's deadline, but no later than
// the lease's life: a revocation later than that finds it gone anyway,
// as does one of a lease not found.
func (c *Cluster) revoke(id clientv3.LeaseID) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Lease())
	defer cancel()
	err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.Revoke(ctx, id)
		return err
	})
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return nil
	}
	return err
}
