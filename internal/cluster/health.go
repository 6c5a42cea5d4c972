package cluster

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Health is what a node sees of its cluster now, as its metrics and
// its readiness check show it.
type Health struct {
	// Healthy is set when the endpoint the node uses answered, with a
	// Raft leader and no alarm.
	Healthy bool
	// Leader is the node that leads the timers, "" for none known;
	// Nodes counts the nodes that live (their keys under nodes/). Both
	// are read only where etcd has a Raft leader: without one, the
	// member's copy keeps what was, leases included, which none renews.
	Leader string
	Nodes  int
	// Problems says what is wrong.
	Problems []string
}

// A Report is what a node's metrics and readiness check show of its
// cluster: the node's name, whether it has joined, what it sees now
// (nothing before it has joined), and what it has counted.
type Report struct {
	Node   string
	Joined bool
	Health
	Stats
}

// Health asks the endpoint this node uses for its health and, where etcd
// has a Raft leader, who leads the timers and which nodes live, by
// serializable reads, which its member answers from its own copy at
// once. It takes no longer than one request's deadline.
func (c *Cluster) Health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	endpoint := c.client.Endpoints()[0]
	raftLeader, problems, err := c.endpointStatus(ctx, endpoint)
	h := Health{Healthy: err == nil && len(problems) == 0, Problems: problems}
	if err != nil || raftLeader == 0 {
		return h
	}
	if err := c.call(ctx, func(ctx context.Context) error {
		resp, err := c.client.Get(ctx, leaderPrefix, append(clientv3.WithFirstCreate(), clientv3.WithSerializable())...)
		if err == nil && len(resp.Kvs) > 0 {
			h.Leader = string(resp.Kvs[0].Value)
		}
		return err
	}); err != nil {
		h.Problems = append(h.Problems, fmt.Sprintf("leader: %v", err))
		return h
	}
	if h.Leader == "" {
		h.Problems = append(h.Problems, "no node leads the cluster's timers")
	}
	if h.Nodes, err = c.liveNodes(ctx); err != nil {
		h.Problems = append(h.Problems, fmt.Sprintf("nodes: %v", err))
	}
	return h
}

// liveNodes counts the nodes' keys under nodes/, from the member's copy.
func (c *Cluster) liveNodes(ctx context.Context) (int, error) {
	kvs, err := c.nodeKeys(ctx, clientv3.WithKeysOnly(), clientv3.WithSerializable())
	return len(kvs), err
}

// nodeKeys reads the nodes' keys under nodes/, with opts.
func (c *Cluster) nodeKeys(ctx context.Context, opts ...clientv3.OpOption) ([]*mvccpb.KeyValue, error) {
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, nodesPrefix, append([]clientv3.OpOption{clientv3.WithPrefix()}, opts...)...)
		return err
	}); err != nil {
		return nil, err
	}
	return resp.Kvs, nil
}
