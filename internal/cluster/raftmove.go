package cluster

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/server/v3/etcdserver"
)

// keepRaftApart hands etcd's Raft leadership to another member for as
// long as term (and ctx) lasts, whenever this node's member holds it, so
// that the death of one process never takes both leaderships at once.
// Each costs a failover of its own, and the two in a row (a Raft
// election, then the new Raft leader renewing every lease for its whole
// life) take more than twice as long as the term's lease alone. It
// checks when the term begins and at each change of Raft leader, which
// the member itself tells, and again each lease after a move that
// failed. A client of endpoints hosts no member, and leaves Raft alone.
func (c *Cluster) keepRaftApart(ctx context.Context, term Term) {
	if c.etcd == nil {
		return
	}
	ctx, cancel := term.within(ctx)
	defer cancel()
	srv := c.etcd.Server
	warned := false
	for {
		// Taken before the leader is read: a change after the read
		// closes it.
		changed := srv.LeaderChangedNotify()
		var again <-chan time.Time
		stop := func() bool { return false }
		if srv.Leader() == srv.MemberID() {
			err := c.moveRaft(ctx, srv)
			if ctx.Err() != nil {
				return
			}
			if err != nil && srv.Leader() == srv.MemberID() {
				if !warned {
					c.log.Warn("Could not hand etcd's Raft leadership to another member; trying again each lease.", "reason", err)
					warned = true
				}
				again, stop = c.clk.After(c.cfg.LeaseTTL)
			}
		}
		select {
		case <-changed:
		case <-again:
		case <-ctx.Done():
		case <-srv.StoppingNotify():
		}
		stop()
		select {
		case <-ctx.Done():
			return
		case <-srv.StoppingNotify():
			return
		default:
		}
	}
}

// errNoTransferee is a move of Raft leadership with no member that could
// take it healthy.
var errNoTransferee = errors.New("no other member answers as a healthy follower")

// moveRaft hands the Raft leadership that srv's member holds to the other
// member that has applied most of those that are started and healthy: it
// answers, it follows this member, it has no alarm, and it is not
// catching up (see caughtUp). A cluster of one
// member has none to hand it to: moveRaft does nothing. The move is asked
// of this member, which leads, with a deadline; it returns once another
// member leads.
func (c *Cluster) moveRaft(ctx context.Context, srv *etcdserver.EtcdServer) error {
	self := uint64(srv.MemberID())
	var others []follower
	var urls []string
	for _, m := range srv.Cluster().Members() {
		// A member that has not started yet has no name; a learner,
		// no vote.
		if uint64(m.ID) != self && m.Name != "" && !m.IsLearner && len(m.ClientURLs) > 0 {
			others = append(others, follower{id: uint64(m.ID), name: m.Name})
			urls = append(urls, m.ClientURLs[0])
		}
	}
	if len(others) == 0 {
		return nil
	}
	// Asked all at once, so that one that does not answer delays the
	// move by one deadline, not one each.
	answered := make(chan struct{}, len(others))
	for i := range others {
		go func() {
			defer func() { answered <- struct{}{} }()
			c.call(ctx, func(ctx context.Context) error {
				st, err := c.client.Status(ctx, urls[i])
				if err == nil {
					others[i].applied = st.RaftAppliedIndex
					others[i].ok = st.Leader == self && len(st.Errors) == 0 && !st.IsLearner && caughtUp(st.RaftIndex, st.RaftAppliedIndex)
				}
				return err
			})
		}()
	}
	for range others {
		<-answered
	}
	to := transferee(others)
	if to == nil {
		return errNoTransferee
	}
	if err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.client.MoveLeader(ctx, to.id)
		return err
	}); err != nil {
		return err
	}
	c.log.Info("Handed etcd's Raft leadership to another member, so that no one failure takes both it and the lead of the cluster's timers.",
		"member", to.name)
	return nil
}

// A follower is a member that moveRaft may hand Raft leadership to: ok
// when it is healthy, with the index of the last entry it applied.
type follower struct {
	id      uint64
	name    string
	applied uint64
	ok      bool
}

// transferee is the follower of others that moveRaft hands Raft
// leadership to: the healthy one that has applied most, the first of
// those alike; nil for none.
func transferee(others []follower) *follower {
	var to *follower
	for i, f := range others {
		if f.ok && (to == nil || f.applied > to.applied) {
			to = &others[i]
		}
	}
	return to
}

// maxApplyLag is how many entries of its log a member may not have
// applied yet and still take Raft leadership: at full load a cluster
// commits some thousand a second, and a member restarted moments ago
// applies many thousands of them. Leading from there, it answers its
// followers late and steps down, and a new Raft leader renews every
// lease: the next failover of the timers waits that long.
const maxApplyLag = 1000

// caughtUp reports whether a member whose log ends at index and which
// applied up to applied has applied nearly all of it (maxApplyLag).
func caughtUp(index, applied uint64) bool {
	return index <= applied+maxApplyLag
}
