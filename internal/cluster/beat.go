package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/store"
)

// beatValue is the leader's heartbeat, as kept under beat: when it was
// written, and for each node ever seen, the incarnation last seen
// (Nodes), each as name/incarnation, sorted. A node's key may be missing
// for a while as it lives (its lease ended, and it joins again): Nodes
// still names it. By is the leader's node, as name/incarnation, and
// Marks its marks of revisions, for compaction (compact.go).
type beatValue struct {
	At    uint64     `json:"at"`
	Nodes []string   `json:"nodes"`
	By    string     `json:"by,omitempty"`
	Marks []beatMark `json:"marks,omitempty"`
}

// seen returns the nodes of the last beat, each node's incarnation the
// one live now where its key is there.
func seen(last, live []string) []string {
	nodes := slices.Clone(live)
	for _, n := range last {
		if !slices.ContainsFunc(live, func(l string) bool { return beatNodeName(l) == beatNodeName(n) }) {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	return nodes
}

// beatNodeName is the name of a node as a beat lists it, name/incarnation.
func beatNodeName(n string) string { return n[:max(strings.LastIndex(n, "/"), 0)] }

// incarnations returns the nodes that live now (their keys), each as
// name/incarnation, sorted.
func (c *Cluster) incarnations(ctx context.Context) ([]string, error) {
	live, err := c.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make([]string, len(live))
	for i, n := range live {
		nodes[i] = n.Name + "/" + n.Incarnation
	}
	slices.Sort(nodes)
	return nodes, nil
}

// Beat writes the leader's heartbeat, at realtime µs, with the nodes
// that live now, while the term holds: a leader beats as it scans, so
// that the next one can tell a failover from the whole cluster's stop
// ([Cluster.Down]). It marks no run: the leader, following the nodes
// ([Cluster.Follow]), marks those of a node gone as it goes. The first
// beat of a term takes on the last leader's marks of revisions.
func (c *Cluster) Beat(ctx context.Context, term Term, at uint64) error {
	last, _, err := c.lastBeat(ctx)
	if err != nil {
		return err
	}
	nodes, err := c.incarnations(ctx)
	if err != nil {
		return err
	}
	self, now := c.cfg.Name+"/"+c.incarnation, c.clk.Now().Monotonic
	if last.By != self {
		c.inheritMarks(last.Marks, now)
	}
	v, _ := json.Marshal(beatValue{At: at, Nodes: seen(last.Nodes, nodes), By: self, Marks: c.beatMarks(now)})
	if _, err := c.txn(ctx, term, []clientv3.Cmp{fence(term)}, []clientv3.Op{clientv3.OpPut(beatKey, string(v))}); err != nil {
		return fmt.Errorf("cluster: beat: %w", err)
	}
	return nil
}

// lastBeat returns the last leader's beat, and the revision it was read
// at; none has no nodes.
func (c *Cluster) lastBeat(ctx context.Context) (beatValue, int64, error) {
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, beatKey)
		return err
	}); err != nil {
		return beatValue{}, 0, fmt.Errorf("cluster: beat: %w", err)
	}
	var beat beatValue
	if len(resp.Kvs) > 0 {
		if err := json.Unmarshal(resp.Kvs[0].Value, &beat); err != nil {
			return beatValue{}, 0, fmt.Errorf("cluster: beat: %w", err)
		}
	}
	return beat, resp.Header.Revision, nil
}

// Beats calls each with the time of each beat of a leader, realtime µs
// by the leader's clock, as the beat comes, from the last one on, until
// ctx ends or the watch does, and says why. A node compares it with its
// own clock. The watch needs a Raft leader, as the cache's does.
func (c *Cluster) Beats(ctx context.Context, each func(at uint64)) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	last, rev, err := c.lastBeat(ctx)
	if err != nil {
		return err
	}
	if last.At > 0 {
		each(last.At)
	}
	// From the read on: a beat between the read and the watch's start
	// is told too.
	for wr := range c.client.Watch(ctx, beatKey, clientv3.WithRev(rev+1)) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("cluster: beat: %w", err)
		}
		for _, ev := range wr.Events {
			var beat beatValue
			if ev.Kv != nil && json.Unmarshal(ev.Kv.Value, &beat) == nil && beat.At > 0 {
				each(beat.At)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cluster: beat: %w", context.Cause(ctx))
	}
	return errors.New("cluster: beat: the watch ended")
}

// Down reports whether the whole cluster was down since the last beat of
// the last leader: no node that lives now, in the same process (its
// incarnation), lived then. A node started again is another incarnation;
// one whose lease ended while it lived, and which joined again, is the
// same. A cluster no leader ever beat in was down. It is what a new
// term tells apart: after a failover, the cluster's timers stayed active
// and the elapses missed fire once, late; after the whole cluster's
// stop, as after a reboot, only Persistent= timers catch up.
//
// This node named in the beat lived then, and lives. Another may not: its
// key outlives the whole cluster's stop by its lease's life, which etcd
// gives every lease again when its Raft has a leader again. Down waits
// that long (the lease and an election) for such a key to go.
func (c *Cluster) Down(ctx context.Context) (bool, error) {
	beat, _, err := c.lastBeat(ctx)
	if err != nil {
		return false, err
	}
	self := c.cfg.Name + "/" + c.incarnation
	if _, ok := slices.BinarySearch(beat.Nodes, self); ok {
		return false, nil
	}
	named, err := c.named(ctx, beat)
	if err != nil || !named {
		return !named, err
	}
	wait, cancel := context.WithTimeout(ctx, c.cfg.LeaseTTL+c.electionTimeout())
	defer cancel()
	<-wait.Done()
	if ctx.Err() != nil {
		return false, fmt.Errorf("cluster: beat: %w", context.Cause(ctx))
	}
	named, err = c.named(ctx, beat)
	return !named, err
}

// named reports whether a node that lives now is named in beat, in the
// same incarnation.
func (c *Cluster) named(ctx context.Context, beat beatValue) (bool, error) {
	nodes, err := c.incarnations(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range nodes {
		if _, ok := slices.BinarySearch(beat.Nodes, n); ok {
			return true, nil
		}
	}
	return false, nil
}

// electionTimeout is how long etcd's Raft takes at most to elect a
// leader: ten of the member's ticks, or etcd's default where the member
// is not ours.
func (c *Cluster) electionTimeout() time.Duration {
	if c.cfg.Tick == 0 || !c.cfg.member() {
		return time.Second
	}
	return 10 * c.cfg.Tick
}

// An Activation is a cluster timer's activation at realtime µs (At), from
// its stamp read (Prev).
type Activation struct {
	Timer string
	Prev  store.TimerState
	At    uint64
}

// Activate records that a cluster timer became active at realtime µs,
// as its stamp read (prev) says it was not, or as the whole cluster's
// stop ended its last activation; OnActiveSec= counts from it, whichever
// node leads. It holds only while the term does and the stamp is prev;
// it fails with ErrDeposed or ErrStale as Trigger does.
func (c *Cluster) Activate(ctx context.Context, term Term, name string, prev store.TimerState, at uint64) (store.TimerState, error) {
	a := Activation{Timer: name, Prev: prev, At: at}
	w := a.write()
	rev, err := c.txn(ctx, term, append([]clientv3.Cmp{fence(term)}, w.conds...), w.ops)
	return c.activated(ctx, a, rev, err)
}

// ActivateAll records each of as as Activate does, in as few
// transactions as etcd's bound allows, and returns each one's new
// state, or why it failed. At the cluster's first start, and after the
// whole cluster's stop, a leader activates every cluster timer: a Raft
// proposal each was thousands of entries at once, which a member started
// meanwhile must apply before it serves.
func (c *Cluster) ActivateAll(ctx context.Context, term Term, as []Activation) ([]store.TimerState, []error) {
	ws := make([]write, len(as))
	for i, a := range as {
		ws[i] = a.write()
	}
	revs, errs := c.commitAll(ctx, term, ws)
	states := make([]store.TimerState, len(as))
	var wg sync.WaitGroup
	for i, a := range as {
		if errors.Is(errs[i], errTogether) {
			wg.Go(func() { states[i], errs[i] = c.Activate(ctx, term, a.Timer, a.Prev, a.At) })
			continue
		}
		states[i], errs[i] = c.activated(ctx, a, revs[i], errs[i])
	}
	wg.Wait()
	return states, errs
}

// write returns the activation's write: the stamp, if it is still the
// one read.
func (a Activation) write() write {
	p := a.Prev
	v := timerValue{LastTrigger: p.LastTrigger, LastTriggerMonotonic: p.LastTriggerMonotonic, Boot: p.Boot, ActiveRealtime: a.At}
	stamp, _ := json.Marshal(v)
	tk := timerKey(a.Timer)
	return write{conds: []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(tk), "=", p.Version)},
		ops: []clientv3.Op{clientv3.OpPut(tk, string(stamp))}}
}

// activated counts the commit of an activation, at revision rev or
// failed with err, and returns the timer's new state; one committed is
// noted in the cache.
func (c *Cluster) activated(ctx context.Context, a Activation, rev int64, err error) (store.TimerState, error) {
	if errors.Is(err, ErrStale) {
		// The stamp read, from the cache, lagged: the next Timer has
		// etcd's, as after a trigger.
		if rerr := c.refreshTimer(ctx, a.Timer); rerr != nil {
			err = fmt.Errorf("%w; reading it again: %w", err, rerr)
		}
	}
	if err != nil {
		return store.TimerState{}, fmt.Errorf("cluster: activation of %s: %w", a.Timer, err)
	}
	st := a.Prev
	st.ActiveRealtime, st.ActiveMonotonic, st.Version = a.At, 0, rev
	k := c.cache
	k.mu.Lock()
	k.noteTimer(a.Timer, st)
	k.mu.Unlock()
	return st, nil
}
