package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/store"
)

// A cache is what a node knows of the timers' stamps, of the run records,
// of the cluster's hashes of units and of the nodes' copies', kept by a
// watch of timers/, runs/, hashes/ and held/ from one consistent read of
// them, so that the scans of every node read no etcd. It may lag
// behind etcd: a trigger from a stamp it holds that moved meanwhile
// fails with ErrStale, as any trigger from a stale read does, and reads
// the stamp again.
type cache struct {
	mu sync.Mutex
	// rev is the revision that the cache reflects.
	rev    int64
	timers map[string]store.TimerState
	runs   map[string]*timerRuns
	hashes map[string]string // the cluster's, by unit
	held   map[string]*heldCopies
	// keep is how many run records of a timer are kept; prune is told
	// when a timer has more, and a slack.
	keep  int
	prune chan struct{}
	// lost is set when the watch ends, until a new one answers: said
	// once in the log.
	lost bool
}

// timerRuns are the run records of a timer that the cache knows of.
type timerRuns struct {
	// elapses are those of the records, from their keys, in order.
	elapses []uint64
	// last is the newest record, nil until read: the first read is of
	// keys alone, as those of all runs may be many.
	last *Run
}

// heldCopies are the hashes of a node's copies of units, as it published
// them under held/: its lease, and each part's, by unit.
type heldCopies struct {
	lease int64
	parts [heldParts]map[string]string
}

// scanPage is how many keys one read of a scan returns.
const scanPage = 1000

// load reads timers/, runs/, hashes/ and held/ at one revision, the
// first read's, into a new cache, and returns it.
func (c *Cluster) load(ctx context.Context) (*cache, error) {
	k := &cache{timers: map[string]store.TimerState{}, runs: map[string]*timerRuns{}, hashes: map[string]string{},
		held: map[string]*heldCopies{}}
	rev, err := c.scan(ctx, timersPrefix, 0, false, func(kv *mvccpb.KeyValue) error {
		st, err := timerState(kv)
		k.timers[string(kv.Key[len(timersPrefix):])] = st
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.scan(ctx, runsPrefix, rev, true, func(kv *mvccpb.KeyValue) error {
		timer, elapse, ok := parseRunKey(string(kv.Key))
		if ok {
			r := k.runsOf(timer)
			r.elapses = append(r.elapses, elapse) // in the keys' order
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if _, err := c.scan(ctx, hashesPrefix, rev, false, func(kv *mvccpb.KeyValue) error {
		k.hashes[string(kv.Key[len(hashesPrefix):])] = string(kv.Value)
		return nil
	}); err != nil {
		return nil, err
	}
	if _, err := c.scan(ctx, heldPrefix, rev, false, func(kv *mvccpb.KeyValue) error {
		k.noteHeld(kv, true)
		return nil
	}); err != nil {
		return nil, err
	}
	k.rev = rev
	return k, nil
}

// scan reads the keys under prefix, a page at a time, all at revision
// rev (0 for the first page's, which it returns), keys alone if keysOnly.
func (c *Cluster) scan(ctx context.Context, prefix string, rev int64, keysOnly bool, each func(*mvccpb.KeyValue) error) (int64, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(scanPage)}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	for from := prefix; ; {
		var resp *clientv3.GetResponse
		if err := c.call(ctx, func(ctx context.Context) (err error) {
			o := opts
			if rev != 0 {
				o = append(slices.Clip(o), clientv3.WithRev(rev))
			}
			resp, err = c.client.Get(ctx, from, o...)
			return err
		}); err != nil {
			return 0, fmt.Errorf("cluster: read of %s: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if err := each(kv); err != nil {
				return 0, fmt.Errorf("cluster: %s: %w", kv.Key, err)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// timerState decodes a timer's stamp.
func timerState(kv *mvccpb.KeyValue) (store.TimerState, error) {
	var v timerValue
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return store.TimerState{}, err
	}
	return v.state(kv.ModRevision), nil
}

// parseRunKey returns the timer and the elapse of a run record's key.
func parseRunKey(key string) (timer string, elapse uint64, ok bool) {
	rest, ok := strings.CutPrefix(key, runsPrefix)
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		return "", 0, false
	}
	elapse, err := strconv.ParseUint(rest[i+1:], 10, 64)
	return rest[:i], elapse, err == nil
}

func (k *cache) runsOf(timer string) *timerRuns {
	r := k.runs[timer]
	if r == nil {
		r = &timerRuns{}
		k.runs[timer] = r
	}
	return r
}

// noteTimer takes a timer's stamp, unless the cache has a newer one.
// The caller holds k.mu.
func (k *cache) noteTimer(name string, st store.TimerState) {
	if st.Version > k.timers[name].Version {
		k.timers[name] = st
	}
}

// noteHeld takes a part of a node's hashes of its copies, put or
// deleted; one that does not decode is passed over. The caller holds
// k.mu.
func (k *cache) noteHeld(kv *mvccpb.KeyValue, put bool) {
	rest := string(kv.Key[len(heldPrefix):])
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return
	}
	node := rest[:i]
	p, err := strconv.Atoi(rest[i+1:])
	if err != nil || p < 0 || p >= heldParts {
		return
	}
	n := k.held[node]
	if !put {
		if n == nil {
			return
		}
		n.parts[p] = nil
		for _, part := range n.parts {
			if part != nil {
				return
			}
		}
		delete(k.held, node)
		return
	}
	var hashes map[string]string
	if json.Unmarshal(kv.Value, &hashes) != nil {
		return
	}
	// A copy that is the cluster's, as most are, shares the string of
	// the cluster's hash rather than holding its own.
	for u, h := range hashes {
		if ch, ok := k.hashes[u]; ok && ch == h {
			hashes[u] = ch
		}
	}
	if n == nil {
		n = &heldCopies{}
		k.held[node] = n
	}
	n.lease, n.parts[p] = kv.Lease, hashes
}

// noteRun takes a run record, new or changed, unless the cache has a
// newer copy. The caller holds k.mu.
func (k *cache) noteRun(timer string, elapse uint64, run *Run) {
	r := k.runsOf(timer)
	i, found := slices.BinarySearch(r.elapses, elapse)
	if !found {
		r.elapses = slices.Insert(r.elapses, i, elapse)
	}
	if i == len(r.elapses)-1 && run != nil && (r.last == nil || r.last.Key != run.Key || r.last.Version < run.Version) {
		r.last = run
	}
	if k.excess(r) {
		k.wantPrune()
	}
}

// apply takes the events of a watch response. The caller holds k.mu.
func (k *cache) apply(evs []*clientv3.Event) {
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		if strings.HasPrefix(key, heldPrefix) {
			k.noteHeld(ev.Kv, ev.Type == mvccpb.PUT)
			continue
		}
		if unit, ok := strings.CutPrefix(key, hashesPrefix); ok {
			if ev.Type == mvccpb.PUT {
				k.hashes[unit] = string(ev.Kv.Value)
			} else {
				delete(k.hashes, unit)
			}
			continue
		}
		switch name, isTimer := strings.CutPrefix(key, timersPrefix); {
		case isTimer && ev.Type == mvccpb.PUT:
			if st, err := timerState(ev.Kv); err == nil {
				k.noteTimer(name, st)
			}
		case isTimer:
			if k.timers[name].Version < ev.Kv.ModRevision {
				delete(k.timers, name)
			}
		default:
			timer, elapse, ok := parseRunKey(key)
			if !ok {
				continue
			}
			if ev.Type == mvccpb.DELETE {
				k.forgetRun(timer, elapse)
				continue
			}
			var run *Run
			if r, err := decodeRun(ev.Kv); err == nil {
				run = &r
			}
			k.noteRun(timer, elapse, run)
		}
	}
}

// forgetRun drops a run record that was deleted. The caller holds k.mu.
func (k *cache) forgetRun(timer string, elapse uint64) {
	r := k.runs[timer]
	if r == nil {
		return
	}
	if i, found := slices.BinarySearch(r.elapses, elapse); found {
		r.elapses = slices.Delete(r.elapses, i, i+1)
		if i == len(r.elapses) {
			r.last = nil
		}
	}
	if len(r.elapses) == 0 {
		delete(k.runs, timer)
	}
}

// excess reports whether a timer has more run records than are kept
// and a slack.
func (k *cache) excess(r *timerRuns) bool {
	return k.keep > 0 && len(r.elapses) > k.keep+pruneSlack(k.keep)
}

// over tells prune if some timer has run records in excess. The caller
// holds k.mu.
func (k *cache) over() {
	for _, r := range k.runs {
		if k.excess(r) {
			k.wantPrune()
			return
		}
	}
}

func (k *cache) wantPrune() {
	select {
	case k.prune <- struct{}{}:
	default:
	}
}

// pruneSlack is how many records a timer may have beyond those kept
// before they are pruned, so that each prune, which reads a timer's
// records, deletes several at once, not one after each run.
func pruneSlack(keep int) int { return max(keep/2, 1) }

// startCache reads timers/, runs/, hashes/ and held/ into the node's
// cache, and then keeps it by a watch, until Close.
func (c *Cluster) startCache(ctx context.Context) error {
	k, err := c.load(ctx)
	if err != nil {
		return err
	}
	k.keep, k.prune = c.cfg.KeepRuns, make(chan struct{}, 1)
	k.over()
	c.cache = k
	c.bgCtx, c.stopCache = context.WithCancel(c.client.Ctx())
	c.bg.Go(func() { c.follow(c.bgCtx) })
	if c.etcd != nil {
		c.bg.Go(func() { c.markRevisions(c.bgCtx) })
	}
	return nil
}

// follow keeps the cache by a watch from its revision on, until ctx
// ends. The watch needs a Raft leader, so that a member cut off from the
// others ends it rather than keeping it silent. When it ends otherwise
// (the revisions it would resume from were compacted, or it failed), the
// cache is read again whole, and watched from there.
func (c *Cluster) follow(ctx context.Context) {
	k := c.cache
	for ctx.Err() == nil {
		k.mu.Lock()
		rev := k.rev
		k.mu.Unlock()
		err := c.watch(ctx, rev)
		if ctx.Err() != nil {
			return
		}
		k.mu.Lock()
		told := k.lost
		k.lost = true
		k.mu.Unlock()
		if !told {
			c.log.Warn("The watch of the cluster's timers ended; reading them again.", "err", err)
		}
		// At once after a compaction; else a while later, as what
		// ended the watch may end the next one too.
		wait := !errors.Is(err, rpctypes.ErrCompacted)
		for ctx.Err() == nil {
			if wait && !c.pause(ctx, cacheRetry) {
				return
			}
			wait = true
			if err := c.reload(ctx); err == nil {
				break
			} else if !told {
				c.log.Warn("Failed to read the cluster's timers; trying again.", "err", err)
				told = true
			}
		}
	}
}

// pause waits for d to pass, and reports whether it did before ctx
// ended.
func (c *Cluster) pause(ctx context.Context, d time.Duration) bool {
	wake, stop := c.clk.After(d)
	defer stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		return true
	}
}

// cacheRetry is how long the cache waits before it reads again after a
// failed read.
const cacheRetry = time.Second

// reload reads timers/, runs/, hashes/ and held/ again, in place of the
// cache's copy; the newest run records read meanwhile stay, as they are
// still newest where the read has them too.
func (c *Cluster) reload(ctx context.Context) error {
	n, err := c.load(ctx)
	if err != nil {
		return err
	}
	k := c.cache
	k.mu.Lock()
	defer k.mu.Unlock()
	for timer, r := range n.runs {
		if old := k.runs[timer]; old != nil && old.last != nil && len(r.elapses) > 0 && old.last.Key == runKey(timer, r.elapses[len(r.elapses)-1]) {
			r.last = old.last
		}
	}
	k.timers, k.runs, k.hashes, k.held, k.rev = n.timers, n.runs, n.hashes, n.held, n.rev
	k.over()
	return nil
}

// watch applies the events of hashes/, held/, timers/ and runs/ after
// rev to the cache, until the watch ends, and says why.
func (c *Cluster) watch(ctx context.Context, rev int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	k := c.cache
	// One watch of the range from hashes/ to the end of timers/, which
	// holds those four prefixes; what else falls in it (the leader's
	// and the nodes' keys) is passed over.
	wch := c.client.Watch(ctx, hashesPrefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(timersPrefix)),
		clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		k.mu.Lock()
		k.apply(wr.Events)
		k.rev = max(k.rev, wr.Header.Revision)
		k.lost = false
		k.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("the watch ended")
}

// Timer returns the stamp of a cluster timer as the node's cache has it,
// its Version the key's ModRevision; a timer never triggered has the
// zero state. It may lag behind etcd: a trigger from it then fails with
// ErrStale, and reads it again.
func (c *Cluster) Timer(ctx context.Context, name string) (store.TimerState, error) {
	k := c.cache
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.timers[name], nil
}

// refreshTimer reads a timer's stamp from etcd into the cache.
func (c *Cluster) refreshTimer(ctx context.Context, name string) error {
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, timerKey(name))
		return err
	}); err != nil {
		return fmt.Errorf("cluster: timer %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	st, err := timerState(resp.Kvs[0])
	if err != nil {
		return fmt.Errorf("cluster: timer %s: %w", name, err)
	}
	k := c.cache
	k.mu.Lock()
	k.noteTimer(name, st)
	k.mu.Unlock()
	return nil
}

// LastRun returns the newest run record of a timer, from the cache, read
// from etcd the first time; ok is false for none.
func (c *Cluster) LastRun(ctx context.Context, timer string) (_ Run, ok bool, err error) {
	k := c.cache
	k.mu.Lock()
	r := k.runs[timer]
	if r == nil {
		k.mu.Unlock()
		return Run{}, false, nil
	}
	if r.last != nil {
		defer k.mu.Unlock()
		return *r.last, true, nil
	}
	key := runKey(timer, r.elapses[len(r.elapses)-1])
	k.mu.Unlock()
	var resp *clientv3.GetResponse
	if err := c.call(ctx, func(ctx context.Context) (err error) {
		resp, err = c.client.Get(ctx, key)
		return err
	}); err != nil {
		return Run{}, false, fmt.Errorf("cluster: run %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		// Deleted meanwhile: no longer the newest.
		return Run{}, false, fmt.Errorf("cluster: run %s: %w", key, ErrStale)
	}
	run, err := decodeRun(resp.Kvs[0])
	if err != nil {
		return Run{}, false, err
	}
	_, elapse, _ := parseRunKey(key)
	k.mu.Lock()
	k.noteRun(timer, elapse, &run)
	k.mu.Unlock()
	return run, true, nil
}
