package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/store"
)

// ErrStale is returned by a write that compares what it read, when that
// changed meanwhile: a timer's stamp another trigger moved, a run of the
// same elapse already recorded, or a run no longer running. The caller
// reads again and decides anew.
var ErrStale = errors.New("cluster: changed since it was read")

// RunNodeLost is the state of a run whose node ended (its lease did)
// while the run ran: how it ended is not known, and it is not run again.
const RunNodeLost store.RunState = "node-lost"

// RunAssigned is the state of a run recorded and assigned to a node,
// until the node acknowledges it (and it is running) or is lost.
const RunAssigned store.RunState = "assigned"

// unfinished reports whether a run's state is one of a run that has not
// ended: assigned or running.
func unfinished(s store.RunState) bool { return s == RunAssigned || s == store.RunRunning }

// assignKey is the key of the run's assignment to its node, which stays
// until the run ends.
func (r Run) assignKey() string { return assignKey(r.Node, r.Timer, r.Started) }

// timerValue is a timer's stamp as kept under timers/.
type timerValue struct {
	LastTrigger          uint64 `json:"last_trigger"`
	LastTriggerMonotonic uint64 `json:"last_trigger_monotonic,omitempty"`
	Boot                 string `json:"boot,omitempty"`
	ActiveRealtime       uint64 `json:"active_realtime,omitempty"`
	ActiveMonotonic      uint64 `json:"active_monotonic,omitempty"`
}

// A Run is a run record, as kept under runs/: small, for etcd's sake (the
// run's journal stays on its node).
type Run struct {
	// Key is the record's key, which ends with the elapse the run is of:
	// Started, the trigger's realtime µs.
	Key string `json:"-"`
	// Node is the node the run is assigned to, and runs on; Lease, the
	// hexadecimal ID of the node's lease then: a node started again has
	// another, and does not run what was assigned to the one before.
	Node       string         `json:"node"`
	Lease      string         `json:"lease,omitempty"`
	Unit       string         `json:"unit"`
	Timer      string         `json:"timer"`
	Reason     string         `json:"reason"`
	Invocation string         `json:"invocation"`
	Started    uint64         `json:"started"`
	Ended      uint64         `json:"ended,omitempty"`
	State      store.RunState `json:"state"`
	Result     string         `json:"result,omitempty"`
	ExitCode   string         `json:"exit_code,omitempty"`
	ExitStatus int            `json:"exit_status,omitempty"`
	// Version is the record's ModRevision, for updates' comparison.
	Version int64 `json:"-"`
}

// state is the stamp as a store.TimerState of the version.
func (v timerValue) state(version int64) store.TimerState {
	return store.TimerState{LastTrigger: v.LastTrigger, LastTriggerMonotonic: v.LastTriggerMonotonic, Boot: v.Boot,
		ActiveRealtime: v.ActiveRealtime, ActiveMonotonic: v.ActiveMonotonic, Version: version}
}

// Trigger records a cluster timer's elapse as Assign does, its run
// assigned to this node.
func (c *Cluster) Trigger(ctx context.Context, term Term, prev store.TimerState, t store.Trigger) (store.TimerState, Run, error) {
	return c.Assign(ctx, term, prev, t, Candidate{Name: c.cfg.Name, Lease: int64(c.lease())})
}

// Assign records a cluster timer's elapse at t.Realtime, in one
// transaction that holds only while the term does (the fence), the
// stamp is still prev, no run of that elapse was recorded, and the node
// to run it still has the copy of the timer it had when it was chosen
// (its lease): the stamp moves to t's, and unless t.NoRun, the run
// record of the elapse is made, assigned to the node, with the key of
// the assignment that the node watches ([Cluster.Assignments]). It
// returns the new state and the run; it fails with ErrDeposed when the
// term has ended, and ErrStale when the stamp moved, the elapse has its
// run, or the node left. The run is started only once it is committed,
// by its node.
func (c *Cluster) Assign(ctx context.Context, term Term, prev store.TimerState, t store.Trigger, to Candidate) (store.TimerState, Run, error) {
	a := Assignment{Prev: prev, Trigger: t, To: to}
	w, run := a.write()
	rev, err := c.txn(ctx, term, append(w.conds, fence(term)), w.ops)
	r := c.assigned(ctx, a, run, rev, err)
	return r.State, r.Run, r.Err
}

// An Assignment is an elapse to record with [Cluster.AssignAll]: Assign's
// arguments.
type Assignment struct {
	Prev    store.TimerState
	Trigger store.Trigger
	To      Candidate
}

// An Assigned is what an Assignment came to: Assign's results.
type Assigned struct {
	State store.TimerState
	Run   Run
	Err   error
}

// AssignAll records each of as as Assign does, and returns what each came
// to, in few transactions (see commitAll): a leader fires hundreds of
// elapses at once.
func (c *Cluster) AssignAll(ctx context.Context, term Term, as []Assignment) []Assigned {
	out := make([]Assigned, len(as))
	ws := make([]write, len(as))
	runs := make([]Run, len(as))
	for i, a := range as {
		ws[i], runs[i] = a.write()
	}
	revs, errs := c.commitAll(ctx, term, ws)
	var wg sync.WaitGroup
	for i, a := range as {
		if errors.Is(errs[i], errTogether) {
			wg.Go(func() { out[i].State, out[i].Run, out[i].Err = c.Assign(ctx, term, a.Prev, a.Trigger, a.To) })
			continue
		}
		out[i] = c.assigned(ctx, a, runs[i], revs[i], errs[i])
	}
	wg.Wait()
	return out
}

// write returns the assignment's write, and its run record (none if the
// trigger has no run).
func (a Assignment) write() (write, Run) {
	t := a.Trigger
	v := timerValue{LastTrigger: t.Realtime, LastTriggerMonotonic: t.Monotonic, Boot: t.Boot,
		ActiveRealtime: a.Prev.ActiveRealtime, ActiveMonotonic: a.Prev.ActiveMonotonic}
	stamp, _ := json.Marshal(v)
	tk := timerKey(t.Timer)
	w := write{conds: []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(tk), "=", a.Prev.Version)},
		ops: []clientv3.Op{clientv3.OpPut(tk, string(stamp))}}
	if t.NoRun {
		return w, Run{}
	}
	run := Run{Key: runKey(t.Timer, t.Realtime), Node: a.To.Name, Lease: fmt.Sprintf("%x", a.To.Lease), Unit: t.Unit, Timer: t.Timer,
		Reason: t.Reason, Invocation: t.Invocation, Started: t.Realtime, State: RunAssigned}
	record, _ := json.Marshal(run)
	w.conds = append(w.conds, clientv3.Compare(clientv3.CreateRevision(run.Key), "=", 0),
		clientv3.Compare(clientv3.LeaseValue(nodeKey(a.To.Name)), "=", a.To.Lease))
	w.ops = append(w.ops, clientv3.OpPut(run.Key, string(record)), clientv3.OpPut(run.assignKey(), run.Key))
	return w, run
}

// assigned counts the commit of an assignment, with its run, at
// revision rev or failed with err, and returns what it came to; one
// committed is noted in the cache.
func (c *Cluster) assigned(ctx context.Context, a Assignment, run Run, rev int64, err error) Assigned {
	t := a.Trigger
	c.meter.triggered(err)
	if errors.Is(err, ErrStale) {
		// The stamp read, from the cache, lagged: the next Timer has
		// etcd's.
		if rerr := c.refreshTimer(ctx, t.Timer); rerr != nil {
			err = fmt.Errorf("%w; reading it again: %w", err, rerr)
		}
	}
	if err != nil {
		return Assigned{Err: fmt.Errorf("cluster: trigger of %s: %w", t.Timer, err)}
	}
	st := a.Prev
	st.LastTrigger, st.LastTriggerMonotonic, st.Boot, st.Version = t.Realtime, t.Monotonic, t.Boot, rev
	run.Version = rev
	k := c.cache
	k.mu.Lock()
	k.noteTimer(t.Timer, st)
	if !t.NoRun {
		k.noteRun(t.Timer, t.Realtime, &run)
	}
	k.mu.Unlock()
	return Assigned{State: st, Run: run}
}

// fence is the comparison that holds while term does.
func fence(term Term) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(term.Key), "=", term.Rev)
}

// txn commits ops if all conds hold and returns the revision of the
// commit; otherwise it fails with ErrDeposed if the term's fence is what
// failed (a zero term has none), else ErrStale.
func (c *Cluster) txn(ctx context.Context, term Term, conds []clientv3.Cmp, ops []clientv3.Op) (int64, error) {
	var resp *clientv3.TxnResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		txn := c.client.Txn(ctx).If(conds...).Then(ops...)
		if term.Key != "" {
			txn = txn.Else(clientv3.OpGet(term.Key))
		}
		resp, err = txn.Commit()
		return err
	}); err != nil {
		return 0, err
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	if term.Key != "" {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != term.Rev {
			return 0, ErrDeposed
		}
	}
	return 0, ErrStale
}

// EndRun records how a run ended, at realtime µs, if it still runs; it
// fails with ErrStale if it does not (the leader marked it node-lost).
// Only the run's node ends it: no fence. The ends of runs that come
// while others are committed are committed together (see endRuns).
func (c *Cluster) EndRun(ctx context.Context, run Run, ended uint64, result, exitCode string, exitStatus int) (Run, error) {
	if run.State != store.RunRunning {
		return Run{}, fmt.Errorf("cluster: run %s: %w", run.Key, ErrStale)
	}
	e := &runEnd{ctx: ctx, run: run, change: func(r *Run) {
		r.State, r.Ended, r.Result, r.ExitCode, r.ExitStatus = store.RunEnded, ended, result, exitCode, exitStatus
	}, done: make(chan struct{})}
	c.mu.Lock()
	c.ends = append(c.ends, e)
	commit := !c.ending
	c.ending = true
	c.mu.Unlock()
	if commit {
		c.bg.Go(c.endRuns)
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return Run{}, fmt.Errorf("cluster: run %s: %w", run.Key, context.Cause(ctx))
	}
	if e.err == nil || errors.Is(e.err, ErrStale) {
		// Ended, here or by the leader: Assignments finds it no more.
		// Until then, it is not handed on again.
		c.forget(run.Key)
	}
	return e.ended, e.err
}

// A runEnd is a run's end that EndRun waits to be committed, while ctx
// lasts.
type runEnd struct {
	ctx    context.Context
	run    Run
	change func(*Run)
	done   chan struct{} // closed once ended and err are set
	ended  Run
	err    error
}

// endRuns commits the ends of runs queued, those queued together in few
// transactions, until none is left: a node's runs end by the hundred a
// second, and a transaction each would be a Raft proposal each.
func (c *Cluster) endRuns() {
	for {
		c.mu.Lock()
		ends := c.ends
		c.ends = nil
		if len(ends) == 0 {
			c.ending = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		// Those whose callers gave up are not committed: they try again.
		ends = slices.DeleteFunc(ends, func(e *runEnd) bool {
			if e.err = e.ctx.Err(); e.err != nil {
				close(e.done)
			}
			return e.err != nil
		})
		runs := make([]Run, len(ends))
		for i, e := range ends {
			runs[i] = e.run
		}
		ended, errs := c.updateRuns(c.bgCtx, Term{}, runs, func(Run) []clientv3.Cmp { return nil }, func(i int, r *Run) { ends[i].change(r) })
		for i, e := range ends {
			e.ended, e.err = ended[i], errs[i]
			close(e.done)
		}
	}
}

// updateRun changes a run that has not ended, as it was read (its
// Version), while the conditions hold and the term's fence, if any; a
// run that ends by it loses its assignment's key in the same write. It
// fails with ErrStale if the run changed meanwhile or has ended.
func (c *Cluster) updateRun(ctx context.Context, term Term, run Run, conds []clientv3.Cmp, change func(*Run)) (Run, error) {
	if !unfinished(run.State) {
		return Run{}, fmt.Errorf("cluster: run %s: %w", run.Key, ErrStale)
	}
	w, run := runWrite(run, conds, change)
	if term.Key != "" {
		w.conds = append(w.conds, fence(term))
	}
	rev, err := c.txn(ctx, term, w.conds, w.ops)
	if err != nil {
		return Run{}, fmt.Errorf("cluster: run %s: %w", run.Key, err)
	}
	run.Version = rev
	return run, nil
}

// updateRuns changes each of runs as updateRun does, runs[i] by change
// of i, with the conditions conds returns for it, in few transactions
// (see commitAll), and returns each one's new record, or why it failed.
func (c *Cluster) updateRuns(ctx context.Context, term Term, runs []Run, conds func(Run) []clientv3.Cmp, change func(i int, r *Run)) ([]Run, []error) {
	out, errs := make([]Run, len(runs)), make([]error, len(runs))
	var ws []write
	var which []int // of runs, for each of ws
	for i, r := range runs {
		if !unfinished(r.State) {
			errs[i] = fmt.Errorf("cluster: run %s: %w", r.Key, ErrStale)
			continue
		}
		var w write
		w, out[i] = runWrite(r, conds(r), func(r *Run) { change(i, r) })
		ws, which = append(ws, w), append(which, i)
	}
	revs, werrs := c.commitAll(ctx, term, ws)
	var wg sync.WaitGroup
	for j, i := range which {
		switch err := werrs[j]; {
		case errors.Is(err, errTogether):
			wg.Go(func() {
				out[i], errs[i] = c.updateRun(ctx, term, runs[i], conds(runs[i]), func(r *Run) { change(i, r) })
			})
		case err != nil:
			out[i], errs[i] = Run{}, fmt.Errorf("cluster: run %s: %w", runs[i].Key, err)
		default:
			out[i].Version = revs[j]
		}
	}
	wg.Wait()
	return out, errs
}

// runWrite returns the write that changes run, as it was read, while the
// conditions hold, and the run changed.
func runWrite(run Run, conds []clientv3.Cmp, change func(*Run)) (write, Run) {
	change(&run)
	record, _ := json.Marshal(run)
	w := write{conds: append(slices.Clip(conds), clientv3.Compare(clientv3.ModRevision(run.Key), "=", run.Version)),
		ops: []clientv3.Op{clientv3.OpPut(run.Key, string(record))}}
	if !unfinished(run.State) {
		w.ops = append(w.ops, clientv3.OpDelete(run.assignKey()))
	}
	return w, run
}

// MarkNodesLost marks the runs not ended (assigned or running) whose node
// is gone, or was started again since they were assigned to it (its key
// has another lease), as RunNodeLost, at realtime µs, as the leader does
// when its term begins and whenever a node leaves: the run is not
// started again. Each mark holds only while the term does and the node
// is still not the one the run was assigned to. It returns the runs
// marked.
func (c *Cluster) MarkNodesLost(ctx context.Context, term Term, at uint64) ([]Run, error) {
	runs, _, err := c.unfinishedRuns(ctx)
	if err != nil {
		return nil, err
	}
	leases, err := c.leases(ctx, runs)
	if err != nil {
		return nil, err
	}
	runs = slices.DeleteFunc(runs, func(r Run) bool {
		lease, _ := strconv.ParseInt(r.Lease, 16, 64)
		return leases[r.Node] == lease
	})
	// A node gone leaves many runs at once: they are marked together.
	runs, errs := c.updateRuns(ctx, term, runs, func(r Run) []clientv3.Cmp {
		lease, _ := strconv.ParseInt(r.Lease, 16, 64)
		return []clientv3.Cmp{clientv3.Compare(clientv3.LeaseValue(nodeKey(r.Node)), "!=", lease)}
	}, func(_ int, r *Run) { r.State, r.Ended = RunNodeLost, at })
	var lost []Run
	for i, err := range errs {
		switch {
		case errors.Is(err, ErrStale):
			// It changed meanwhile: acknowledged, or ended.
		case err != nil:
			return lost, err
		default:
			lost = append(lost, runs[i])
		}
	}
	return lost, nil
}

// leases returns the leases of the keys of the nodes of runs, by name; 0
// for a node gone.
func (c *Cluster) leases(ctx context.Context, runs []Run) (map[string]int64, error) {
	leases := map[string]int64{}
	var keys []string
	for _, r := range runs {
		if _, ok := leases[r.Node]; !ok {
			leases[r.Node] = 0
			keys = append(keys, nodeKey(r.Node))
		}
	}
	kvs, err := c.getKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	for _, kv := range kvs {
		leases[string(kv.Key[len(nodesPrefix):])] = kv.Lease
	}
	return leases, nil
}

// Runs returns the run records of a timer ("" for all), the last n (0 for
// all), oldest first: by elapse, and for all timers by start then key;
// the last n of all timers are the last n recorded.
func (c *Cluster) Runs(ctx context.Context, timer string, n int) ([]Run, error) {
	key, opts := runsPrefix, []clientv3.OpOption{clientv3.WithPrefix()}
	switch {
	case timer != "":
		// Keys end with the elapse: the last n are the first n backwards.
		key = runsOf(timer)
		opts = append(opts, clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	case n > 0:
		// Not all of them sent, of many timers' runs.
		opts = append(opts, clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	}
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, key, opts...)
		return err
	}); err != nil {
		return nil, fmt.Errorf("cluster: runs: %w", err)
	}
	runs := make([]Run, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		r, err := decodeRun(kv)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b Run) int {
		return cmp.Or(cmp.Compare(a.Started, b.Started), cmp.Compare(a.Key, b.Key))
	})
	if n > 0 && len(runs) > n {
		runs = runs[len(runs)-n:]
	}
	return runs, nil
}

// decodeRun reads a run record.
func decodeRun(kv *mvccpb.KeyValue) (Run, error) {
	var r Run
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return Run{}, fmt.Errorf("cluster: run %s: %w", kv.Key, err)
	}
	r.Key, r.Version = string(kv.Key), kv.ModRevision
	return r, nil
}
