package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/store"
)

// A Candidate is a live node that may run a cluster timer's unit: its
// copy of the timer is the cluster's.
type Candidate struct {
	Name string
	// Lease is the ID of the node's lease, with which it published its
	// copy's hash.
	Lease int64
	// Busy is how many runs not ended (assigned or running) it has, of
	// any timer.
	Busy int
	// Hash is that of its copy: the cluster's.
	Hash string
}

// Candidates returns, for each of timers, the live nodes whose copy of
// it is the cluster's, by name, with how busy each is: the cluster's
// hash of each timer, and the assignments of runs not ended, read once
// for all the timers, as etcd keeps the keys of assignments ended until
// it compacts, and each read of them walks those too; and the hashes of
// the nodes' copies from the cache, which has them from their keys
// under held/, with the node's lease, gone with it. Where the cache
// lags, a node is a candidate a moment late, or a moment too long: its
// assignment then holds only while the lease the cache has is its
// node's.
func (c *Cluster) Candidates(ctx context.Context, timers ...string) ([][]Candidate, error) {
	if len(timers) == 0 {
		return nil, nil
	}
	out := make([][]Candidate, len(timers))
	var busy map[string]int
	// A read a timer, and the assignments' in the first transaction.
	per := maxTxnOps - 1
	for from := 0; from < len(timers); from += per {
		chunk := timers[from:min(from+per, len(timers))]
		ops := make([]clientv3.Op, 0, len(chunk)+1)
		for _, t := range chunk {
			ops = append(ops, clientv3.OpGet(hashKey(t)))
		}
		if busy == nil {
			ops = append(ops, clientv3.OpGet(assignPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly()))
		}
		var resp *clientv3.TxnResponse
		if err := c.call(ctx, func(ctx context.Context) (err error) {
			resp, err = c.client.Txn(ctx).Then(ops...).Commit()
			return err
		}); err != nil {
			return nil, fmt.Errorf("cluster: the nodes for %s: %w", chunk[0], err)
		}
		if busy == nil {
			busy = map[string]int{}
			for _, kv := range resp.Responses[len(chunk)].GetResponseRange().Kvs {
				node, _, _ := strings.Cut(string(kv.Key[len(assignPrefix):]), "/")
				busy[node]++
			}
		}
		k := c.cache
		k.mu.Lock()
		for i, t := range chunk {
			hash := resp.Responses[i].GetResponseRange().Kvs
			if len(hash) == 0 {
				continue
			}
			p := partOf(t)
			for name, n := range k.held {
				if h, ok := n.parts[p][t]; ok && h == string(hash[0].Value) {
					out[from+i] = append(out[from+i], Candidate{Name: name, Lease: n.lease, Busy: busy[name], Hash: h})
				}
			}
			slices.SortFunc(out[from+i], func(a, b Candidate) int { return strings.Compare(a.Name, b.Name) })
		}
		k.mu.Unlock()
	}
	return out, nil
}

// Assignments acknowledges each run assigned to this node, as it is
// assigned, and hands it to start, with a channel closed when the
// node's session it was assigned under ends, until ctx ends or etcd cannot be
// watched: those assigned before it was called first. A run
// acknowledged is running; one assigned to this node before it was
// started again (under another lease) is not acknowledged: the leader
// marks it lost. A run acknowledged whose acknowledgment's reply was
// lost is running, and handed to start once it is found again, when
// Assignments is called again after a failure. It fails with
// ErrSessionEnded when the node's session ends: the runs it handed on
// are lost, and those assigned under the next session are followed by
// the next call.
func (c *Cluster) Assignments(ctx context.Context, start func(r Run, sessionEnded <-chan struct{})) error {
	s, err := c.live(ctx)
	if err != nil {
		return fmt.Errorf("cluster: assignments: %w", err)
	}
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-s.ended:
			cancel(ErrSessionEnded)
		case <-ctx.Done():
		}
	}()
	prefix := assignmentsOf(c.cfg.Name)
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, prefix, clientv3.WithPrefix())
		return err
	}); err != nil {
		return fmt.Errorf("cluster: assignments: %w", err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Value)
	}
	if err := c.acknowledge(ctx, s, keys, start); err != nil {
		return assignmentsEnd(ctx, err)
	}
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	queue := queueEvents(c.client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)))
	for {
		evs, err := queue.take(ctx)
		if err != nil {
			if err := parent.Err(); err != nil {
				return err
			}
			return assignmentsEnd(ctx, fmt.Errorf("cluster: assignments: %w", err))
		}
		var keys []string
		for _, ev := range evs {
			if ev.Type == mvccpb.PUT {
				keys = append(keys, string(ev.Kv.Value))
			}
		}
		if err := c.acknowledge(ctx, s, keys, start); err != nil {
			return assignmentsEnd(ctx, err)
		}
	}
}

// An eventQueue takes the events of watches as they come, so that those
// that came while the last were handled are taken at once: a watch
// answers each commit on its own, and what is taken together is read
// and written together.
type eventQueue struct {
	mu    sync.Mutex
	evs   []*clientv3.Event
	err   error         // why a watch failed or ended
	ready chan struct{} // told when evs or err is set
}

// queueEvents queues the events of watches until one fails or ends, as
// each does once its context ends.
func queueEvents(watches ...clientv3.WatchChan) *eventQueue {
	q := &eventQueue{ready: make(chan struct{}, 1)}
	for _, w := range watches {
		go func() {
			err := errWatchEnded
			for wr := range w {
				if wr.Err() != nil {
					err = wr.Err()
					break
				}
				q.mu.Lock()
				q.evs = append(q.evs, wr.Events...)
				q.mu.Unlock()
				q.tell()
			}
			q.mu.Lock()
			q.err = cmp.Or(q.err, err)
			q.mu.Unlock()
			q.tell()
		}()
	}
	return q
}

func (q *eventQueue) tell() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the events queued, at most takeMax, once there are some;
// it fails once a watch has failed or ended and its events are taken.
func (q *eventQueue) take(ctx context.Context) ([]*clientv3.Event, error) {
	for {
		q.mu.Lock()
		evs, err := q.evs[:min(len(q.evs), takeMax)], q.err
		q.evs = q.evs[len(evs):]
		if len(q.evs) == 0 {
			q.evs = nil
		}
		q.mu.Unlock()
		switch {
		case len(evs) > 0:
			return evs, nil
		case err != nil:
			return nil, err
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// takeMax bounds the events taken at once: the runs of one
// acknowledgment, or the reads of one of the ends of runs.
const takeMax = 512

var errWatchEnded = errors.New("the watch ended")

// assignmentsEnd is why Assignments ended on err: the node's session's
// end, if that came first, else err.
func assignmentsEnd(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), ErrSessionEnded) {
		return ErrSessionEnded
	}
	return err
}

// acknowledge moves the runs of keys, assigned to this node under the
// lease of s, its session now, from assigned to running, and hands each
// to start, in order; a run running already that start was not given
// (the acknowledgment committed, its reply lost) is handed to it too.
// The records are read at once and the acknowledgments written side by
// side, which etcd commits together: many runs are assigned at once.
// A run whose acknowledgment failed is not started; the first failure is
// returned, once the others are started.
func (c *Cluster) acknowledge(ctx context.Context, s *nodeSession, keys []string, start func(Run, <-chan struct{})) error {
	// Which were handed on is read before the records: a run handed on
	// may end, and be forgotten, after its record was read running.
	given := map[string]bool{}
	c.mu.Lock()
	for _, k := range keys {
		given[k] = c.started[k]
	}
	c.mu.Unlock()
	runs, err := c.getRuns(ctx, keys)
	if err != nil {
		return err
	}
	lease := fmt.Sprintf("%x", s.id)
	runs = slices.DeleteFunc(runs, func(r Run) bool {
		return r.Node != c.cfg.Name || r.Lease != lease || (r.State != RunAssigned && r.State != store.RunRunning)
	})
	var assigned []Run
	var which []int
	for i, r := range runs {
		if r.State == RunAssigned {
			assigned, which = append(assigned, r), append(which, i)
		}
	}
	acked, ackErrs := c.updateRuns(ctx, Term{}, assigned, func(Run) []clientv3.Cmp { return nil }, func(_ int, r *Run) { r.State = store.RunRunning })
	errs := make([]error, len(runs))
	for j, i := range which {
		runs[i], errs[i] = acked[j], ackErrs[j]
	}
	for i, r := range runs {
		if errs[i] != nil || given[r.Key] {
			continue
		}
		c.mu.Lock()
		if c.started == nil {
			c.started = map[string]bool{}
		}
		c.started[r.Key] = true
		c.mu.Unlock()
		start(r, s.ended)
	}
	return cmp.Or(errs...)
}

// forget drops a run that ended from those handed to Assignments' start.
func (c *Cluster) forget(key string) {
	c.mu.Lock()
	delete(c.started, key)
	c.mu.Unlock()
}

// An Event is what Follow tells of: a run that ended, or was marked lost
// (Ended), or a node that left or came, or was started again (Node).
type Event struct {
	Ended Run
	Node  string
}

// Follow returns the runs not ended (assigned or running) on any node,
// as the leader needs them when its term begins, and then tells of each
// run that ends and of each node that leaves or comes, until ctx ends;
// the channel is closed when etcd can no longer be watched.
func (c *Cluster) Follow(ctx context.Context) ([]Run, <-chan Event, error) {
	runs, rev, err := c.unfinishedRuns(ctx)
	if err != nil {
		return nil, nil, err
	}
	events := make(chan Event, followBuffer)
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	queue := queueEvents(c.client.Watch(wctx, assignPrefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(rev+1)),
		c.client.Watch(wctx, nodesPrefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)))
	go func() {
		defer close(events)
		defer cancel()
		send := func(ev Event) bool {
			select {
			case events <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			evs, err := queue.take(ctx)
			if err != nil {
				return
			}
			// The records of the runs that ended, read at once: many
			// end together.
			var keys []string
			for _, ev := range evs {
				if ended(ev) {
					keys = append(keys, string(ev.PrevKv.Value))
				}
			}
			runs, err := c.getRuns(ctx, keys)
			if err != nil {
				return
			}
			records := make(map[string]Run, len(runs))
			for _, r := range runs {
				records[r.Key] = r
			}
			for _, ev := range evs {
				switch key := string(ev.Kv.Key); {
				case strings.HasPrefix(key, nodesPrefix):
					if !send(Event{Node: key[len(nodesPrefix):]}) {
						return
					}
				case ended(ev):
					r, ok := records[string(ev.PrevKv.Value)]
					if !ok {
						// Its record deleted since: the run's end, as its
						// key and assignment tell it.
						r = endedRun(string(ev.PrevKv.Value), key)
					}
					if !send(Event{Ended: r}) {
						return
					}
				}
			}
		}
	}()
	return runs, events, nil
}

// followBuffer is how many of Follow's events wait for the leader to
// take them: the ends of many runs come in one watch response, and the
// leader takes all those waiting into one round.
const followBuffer = 1024

// ended reports whether a watch event of assign/ is a run's end: its
// assignment deleted, the key of its record in the assignment's value.
func ended(ev *clientv3.Event) bool {
	return ev.Type == mvccpb.DELETE && ev.PrevKv != nil && strings.HasPrefix(string(ev.Kv.Key), assignPrefix)
}

// endedRun is a run that ended, whose record is gone, as the keys of its
// record and of its assignment tell it.
func endedRun(key, assigned string) Run {
	rest := strings.TrimPrefix(assigned, assignPrefix)
	node, rest, _ := strings.Cut(rest, "/")
	i := strings.LastIndexByte(rest, '/')
	started, _ := strconv.ParseUint(rest[i+1:], 10, 64)
	return Run{Key: key, Node: node, Timer: rest[:max(i, 0)], Started: started, State: store.RunEnded}
}

// unfinishedRuns returns the runs not ended, as their assignments' keys
// name them, and the revision of that read.
func (c *Cluster) unfinishedRuns(ctx context.Context) ([]Run, int64, error) {
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, assignPrefix, clientv3.WithPrefix())
		return err
	}); err != nil {
		return nil, 0, fmt.Errorf("cluster: assignments: %w", err)
	}
	keys := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		keys[i] = string(kv.Value)
	}
	runs, err := c.getRuns(ctx, keys)
	if err != nil {
		return nil, 0, err
	}
	return slices.DeleteFunc(runs, func(r Run) bool { return !unfinished(r.State) }), resp.Header.Revision, nil
}

// maxTxnOps is etcd's default bound on the operations of a transaction
// (--max-txn-ops).
const maxTxnOps = 128

// getRuns reads the run records of keys, those that exist, in order.
func (c *Cluster) getRuns(ctx context.Context, keys []string) ([]Run, error) {
	kvs, err := c.getKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("cluster: runs: %w", err)
	}
	runs := make([]Run, 0, len(kvs))
	for _, kv := range kvs {
		run, err := decodeRun(kv)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// getKeys reads keys, those that exist, in order, as few transactions
// as etcd's bound allows.
func (c *Cluster) getKeys(ctx context.Context, keys []string) ([]*mvccpb.KeyValue, error) {
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		ops[i] = clientv3.OpGet(k)
	}
	return c.getAll(ctx, ops)
}

// getAll reads what each of the reads ops reads, in order, in as few
// transactions as etcd's bound allows.
func (c *Cluster) getAll(ctx context.Context, ops []clientv3.Op) ([]*mvccpb.KeyValue, error) {
	var kvs []*mvccpb.KeyValue
	for chunk := range slices.Chunk(ops, maxTxnOps) {
		var resp *clientv3.TxnResponse
		if err := c.call(ctx, func(ctx context.Context) (err error) {
			resp, err = c.client.Txn(ctx).Then(chunk...).Commit()
			return err
		}); err != nil {
			return nil, err
		}
		for _, r := range resp.Responses {
			kvs = append(kvs, r.GetResponseRange().Kvs...)
		}
	}
	return kvs, nil
}
