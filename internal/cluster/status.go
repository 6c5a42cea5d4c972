package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	etcderrors "go.etcd.io/etcd/server/v3/etcdserver/errors"
)

// A Status is what a node sees of its cluster.
type Status struct {
	// Node is this node's name; Lease, its lease's ID, and LeaseTTL and
	// LeaseLeft, the lease's life and what is left of it, in seconds (0
	// for not known).
	Node                string
	Lease               int64
	LeaseTTL, LeaseLeft int64
	// Members are etcd's, by name, as the member this node asks knows
	// them; Endpoint is that member's.
	Members  []Member
	Endpoint string
	// Healthy is set when that endpoint answered, with a Raft leader and
	// no alarm; Problems says what is wrong otherwise.
	Healthy  bool
	Problems []string
	// Quorum is set when etcd has a Raft leader, and so a quorum: the
	// leader of the timers and the lease can be read.
	Quorum bool
	// Leader is the node that leads the timers, "" for none or, without
	// a quorum, not known.
	Leader string
	// Nodes are the cluster's nodes, by name: those that hold a lease,
	// and those the leader's beats saw that hold none now; with a
	// quorum only.
	Nodes []NodeState
}

// A Member is an etcd member.
type Member struct {
	Name                 string
	ID                   uint64
	PeerURLs, ClientURLs []string
	// RaftLeader is set for the member that leads etcd's Raft.
	RaftLeader bool
	// Healthy is set when the member answered at its first client URL
	// within a lease, with a Raft leader and no alarm; Problems says
	// what is wrong otherwise.
	Healthy  bool
	Problems []string
}

// A NodeState is a node of the cluster as etcd has it: Live while it
// holds a lease (its daemon runs and reaches etcd), with the lease's ID;
// a node the leader's beats saw, and that holds none now, is gone.
type NodeState struct {
	Name  string
	Live  bool
	Lease string
}

// Status asks the endpoint this node uses for its health and its view of
// the members, which it has without a quorum, and each member for its
// health; then, if etcd has one, for the node's lease, who leads the
// timers, and the nodes. A part that cannot be had is said in Problems,
// and a member's in its own. It takes no longer than one request's
// deadline.
func (c *Cluster) Status(ctx context.Context) Status {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	s := Status{Node: c.cfg.Name, Lease: int64(c.lease()), Endpoint: c.client.Endpoints()[0]}
	raftLeader, problems, err := c.endpointStatus(ctx, s.Endpoint)
	s.Problems = problems
	if err != nil {
		return s // the endpoint does not answer: neither would it the rest
	}
	var members *clientv3.MemberListResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		members, err = c.client.MemberList(ctx, clientv3.WithSerializable())
		return err
	}); err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("members: %v", err))
	} else {
		for _, m := range members.Members {
			s.Members = append(s.Members, Member{Name: m.Name, ID: m.ID, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs,
				RaftLeader: m.ID == raftLeader})
		}
		slices.SortFunc(s.Members, func(a, b Member) int { return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
		c.memberHealth(ctx, s.Members)
	}
	if s.Quorum = raftLeader != 0; !s.Quorum {
		// The lease and the leader's key are read through Raft: they
		// would wait for the deadline.
		s.Problems = append(s.Problems, "no quorum: the leader of the timers and the node's lease are not known")
		return s
	}
	var lease *clientv3.LeaseTimeToLiveResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		lease, err = c.client.TimeToLive(ctx, c.lease())
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
	if s.Nodes, err = c.nodeStates(ctx); err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	s.Healthy = len(s.Problems) == 0
	return s
}

// memberHealth asks each member at its first client URL for its status,
// all at once, each within a lease: a member that does not answer in
// that time is as good as gone to the cluster, and the status of those
// that do comes no later for it.
func (c *Cluster) memberHealth(ctx context.Context, members []Member) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Lease())
	defer cancel()
	var wg sync.WaitGroup
	for i := range members {
		m := &members[i]
		if len(m.ClientURLs) == 0 {
			m.Problems = []string{"not started: it has no client URL yet"}
			continue
		}
		wg.Go(func() {
			_, problems, _ := c.endpointStatus(ctx, m.ClientURLs[0])
			m.Healthy, m.Problems = len(problems) == 0, problems
		})
	}
	wg.Wait()
}

// nodeStates returns the nodes that hold a lease, and those the last
// beat names that hold none now, by name.
func (c *Cluster) nodeStates(ctx context.Context) ([]NodeState, error) {
	live, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	last, _, err := c.lastBeat(ctx)
	if err != nil {
		return nil, err
	}
	var nodes []NodeState
	for _, n := range live {
		nodes = append(nodes, NodeState{Name: n.Name, Live: true, Lease: n.Lease})
	}
	for _, n := range last.Nodes {
		name := beatNodeName(n)
		if !slices.ContainsFunc(nodes, func(s NodeState) bool { return s.Name == name }) {
			nodes = append(nodes, NodeState{Name: name})
		}
	}
	slices.SortFunc(nodes, func(a, b NodeState) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// endpointStatus asks an endpoint for its member's status, which the
// member has without a quorum: the ID of the Raft leader it knows (0
// for none), and what is wrong (no leader, alarms); err if it does not
// answer.
func (c *Cluster) endpointStatus(ctx context.Context, endpoint string) (raftLeader uint64, problems []string, err error) {
	var status *clientv3.StatusResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		status, err = c.client.Status(ctx, endpoint)
		return err
	}); err != nil {
		return 0, []string{fmt.Sprintf("%s: %v", endpoint, err)}, err
	}
	if status.Leader == 0 {
		problems = append(problems, "etcd has no Raft leader")
	}
	for _, e := range status.Errors {
		if e != etcderrors.ErrNoLeader.Error() { // said above, in words of ours
			problems = append(problems, e)
		}
	}
	return status.Leader, problems, nil
}
