package cluster

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrDeposed is returned by a write of a leader's that no longer leads:
// its term's key is gone (the lease ended, or it resigned). Nothing was
// written; the caller stops acting as the leader.
var ErrDeposed = errors.New("cluster: not the leader: the term has ended")

// A Coordinator decides who may trigger cluster timers: the holder of a
// term, while it lasts.
type Coordinator interface {
	// Lead returns once this node leads, or fails when ctx ends first.
	Lead(ctx context.Context) (Term, error)
}

var _ Coordinator = (*Cluster)(nil)

// A Term is one node's leadership: the key it won with and the key's
// creation revision, which every write of the leader's compares (the
// fence). Its zero value is no term.
type Term struct {
	Key string
	Rev int64
	// sess holds the term's own lease.
	sess *concurrency.Session
}

// Done returns a channel closed when the term's lease ends: it expired
// (its node was paused or cut off for longer than the lease's life),
// was revoked, or the term resigned. A term may have ended before Done
// is closed; the fence tells, for every write.
func (t Term) Done() <-chan struct{} { return t.sess.Done() }

// within returns a context that ends with ctx, or with the term's lease
// if that ends first: for the leader's work in the background.
func (t Term) within(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.sess.Ctx(), cancel)
	return ctx, func() { stop(); cancel() }
}

// Resign ends the term: its lease is revoked, so that its key goes and
// the next candidate leads. It waits for the lease's keep-alive to stop.
func (t Term) Resign() error {
	if err := t.sess.Close(); err != nil {
		return fmt.Errorf("cluster: resign: %w", err)
	}
	return nil
}

// Lead campaigns for leadership and returns the term once this node
// leads: as etcd's concurrency.Election, the candidate puts a key of its
// own under leader/, attached to a lease of its own, and leads once no
// key older than its own is left, watching only the one next older than
// its own. Waiting has no deadline; each call to etcd has one. When ctx
// ends first, the candidate's key goes.
func (c *Cluster) Lead(ctx context.Context) (_ Term, err error) {
	sess, err := c.session(ctx)
	if err != nil {
		return Term{}, fmt.Errorf("cluster: campaign: %w", err)
	}
	defer func() {
		if err != nil {
			sess.Close()
		}
	}()
	t := Term{Key: fmt.Sprintf("%s%x", leaderPrefix, sess.Lease()), sess: sess}
	if err := c.call(ctx, func(ctx context.Context) error {
		resp, err := c.client.Put(ctx, t.Key, c.cfg.Name, clientv3.WithLease(sess.Lease()))
		if err == nil {
			t.Rev = resp.Header.Revision
		}
		return err
	}); err != nil {
		return Term{}, fmt.Errorf("cluster: campaign: %w", err)
	}
	// Ends the waits when the lease does: the key is then gone, and
	// the candidate would never lead.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(sess.Ctx(), cancel)()
	for {
		var older *clientv3.GetResponse
		if err := c.call(wctx, func(ctx context.Context) (err error) {
			older, err = c.client.Get(ctx, leaderPrefix, append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(t.Rev-1))...)
			return err
		}); err != nil {
			return Term{}, c.campaignEnd(ctx, sess, err)
		}
		if len(older.Kvs) == 0 {
			c.meter.termBegan(sess)
			c.bg.Go(func() { c.pruneWhile(c.bgCtx, t) })
			c.bg.Go(func() { c.keepRaftApart(c.bgCtx, t) })
			c.bg.Go(func() { c.compactWhile(c.bgCtx, t) })
			return t, nil
		}
		if err := waitDelete(wctx, c.client, string(older.Kvs[0].Key), older.Header.Revision); err != nil {
			return Term{}, c.campaignEnd(ctx, sess, err)
		}
	}
}

// campaignEnd says why a campaign ended: the caller's context, the
// candidate's lease, or err.
func (c *Cluster) campaignEnd(ctx context.Context, sess *concurrency.Session, err error) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("cluster: campaign: %w", context.Cause(ctx))
	case <-sess.Done():
		return fmt.Errorf("cluster: campaign: the candidate's lease ended")
	default:
		return fmt.Errorf("cluster: campaign: %w", err)
	}
}

// waitDelete returns once key is deleted (at rev or after), or fails when
// ctx ends or the watch does. The watch requires a Raft leader, so that a
// member cut off from the others ends it instead of keeping it silent.
func waitDelete(ctx context.Context, client *clientv3.Client, key string, rev int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range client.Watch(ctx, key, clientv3.WithRev(rev)) {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.DELETE {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("the watch ended")
}

// Leader returns the name of the node that leads, or "" for none.
func (c *Cluster) Leader(ctx context.Context) (string, error) {
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, leaderPrefix, clientv3.WithFirstCreate()...)
		return err
	}); err != nil {
		return "", fmt.Errorf("cluster: leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
