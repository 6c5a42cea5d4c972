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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(term.sess.Ctx(), cancel)()
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
// member most up to date of those that are started and healthy: it
// answers, it follows this member, and it has no alarm. A cluster of one
// member has none to hand it to: moveRaft does nothing. The move is asked
// of this member, which leads, with a deadline; it returns once another
// member leads.
func (c *Cluster) moveRaft(ctx context.Context, srv *etcdserver.EtcdServer) error {
	self := uint64(srv.MemberID())
	type follower struct {
		id    uint64
		name  string
		index uint64
		ok    bool
	}
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
					others[i].index, others[i].ok = st.RaftIndex, st.Leader == self && len(st.Errors) == 0 && !st.IsLearner
				}
				return err
			})
		}()
	}
	for range others {
		<-answered
	}
	var to *follower
	for i, f := range others {
		if f.ok && (to == nil || f.index > to.index) {
			to = &others[i]
		}
	}
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
