package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Status is what a node sees of its cluster.
type Status struct {
	// Node is this node's name; Lease, its lease's ID, and LeaseTTL and
	// LeaseLeft, the lease's life and what is left of it, in seconds.
	Node                string
	Lease               int64
	LeaseTTL, LeaseLeft int64
	// Members are etcd's, by name; Endpoint is the one this node asked.
	Members  []Member
	Endpoint string
	// Healthy is set when that endpoint answered, with a Raft leader and
	// no alarm; Problems says what is wrong otherwise.
	Healthy  bool
	Problems []string
	// Leader is the node that leads the timers, "" for none.
	Leader string
}

// A Member is an etcd member.
type Member struct {
	Name                 string
	ID                   uint64
	PeerURLs, ClientURLs []string
	// RaftLeader is set for the member that leads etcd's Raft.
	RaftLeader bool
}

// Status asks etcd for the members, the health of the endpoint this node
// uses, the node's lease, and who leads the timers. A part that cannot be
// had is said in Problems; the error is for none at all.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	s := Status{Node: c.cfg.Name, Lease: int64(c.nodeLease()), Endpoint: c.client.Endpoints()[0]}
	var members *clientv3.MemberListResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		members, err = c.client.MemberList(ctx)
		return err
	}); err != nil {
		return Status{}, fmt.Errorf("cluster: members: %w", err)
	}
	var raftLeader uint64
	var status *clientv3.StatusResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		status, err = c.client.Status(ctx, s.Endpoint)
		return err
	}); err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("%s: %v", s.Endpoint, err))
	} else {
		raftLeader = status.Leader
		if raftLeader == 0 {
			s.Problems = append(s.Problems, "etcd has no Raft leader")
		}
		s.Problems = append(s.Problems, status.Errors...)
	}
	for _, m := range members.Members {
		s.Members = append(s.Members, Member{Name: m.Name, ID: m.ID, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs,
			RaftLeader: m.ID == raftLeader})
	}
	slices.SortFunc(s.Members, func(a, b Member) int { return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	var lease *clientv3.LeaseTimeToLiveResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		lease, err = c.client.TimeToLive(ctx, c.nodeLease())
		return err
	}); err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("the node's lease: %v", err))
	} else if lease.TTL < 0 { // -1: gone
		s.Problems = append(s.Problems, "the node's lease has expired")
	} else {
		s.LeaseTTL, s.LeaseLeft = lease.GrantedTTL, lease.TTL
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	s.Leader = leader
	s.Healthy = len(s.Problems) == 0
	return s, nil
}
