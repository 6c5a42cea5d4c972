package manager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// leadClusterTimers campaigns for the cluster's timers and leads them, a
// term at a time, until ctx is done. Where the cluster cannot be reached
// the timers wait, and the log says so once until it can be again.
func (m *Manager) leadClusterTimers(ctx context.Context) {
	told := false
	for ctx.Err() == nil {
		term, err := m.Cluster.Lead(ctx)
		if err == nil {
			told = false
			m.log.Info("Leading the cluster's timers.")
			err = m.holdTerm(ctx, term)
			term.Resign()
			if ctx.Err() != nil {
				return
			}
			m.log.Info("No longer leading the cluster's timers.", "reason", err)
			if errors.Is(err, ErrDeposed) {
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		if !told {
			m.log.Error("Cannot reach the cluster; cluster timers wait until it can be.", "err", err)
			told = true
		}
		if !m.pause(ctx, clusterRetry) {
			return
		}
	}
}

// holdTerm leads the cluster's timers for as long as term lasts, and
// returns why it ended. An error short of the term's end (a watch that
// etcd closes as its Raft leadership moves, a reply lost) takes the
// timers up again at once under the same term: handing the term on would
// cost the cluster a failover, and each write of the term's is fenced
// all the same. A second such error within a lease of the first ends
// the term: the cluster is then not reached.
func (m *Manager) holdTerm(ctx context.Context, term ClusterTerm) error {
	m.cluster.leading.Store(true)
	defer m.cluster.leading.Store(false)
	retried, at := false, uint64(0) // at: monotonic µs of the last retry
	for {
		err := m.leadTerm(ctx, term)
		select {
		case <-term.Done():
			return err
		default:
		}
		now := m.clk.Now().Monotonic
		if ctx.Err() != nil || errors.Is(err, ErrDeposed) || retried && now-at < uint64(m.Cluster.Lease()/time.Microsecond) {
			return err
		}
		retried, at = true, now
		m.log.Warn("Taking the cluster's timers up again under the same term.", "reason", err)
	}
}

// leadTerm fires the cluster timers while term lasts: the runs of nodes
// gone are marked lost (then and whenever a node leaves), then each
// timer's next elapse is computed by a timer engine of the term's from
// the cluster's stamp and runs (activated anew after the whole cluster's
// stop, which the last term's beat tells from a failover), and each
// elapse is triggered through the term's fence, its run assigned to a
// node that may run it; the term beats as it scans. As
// systemd's timer waits for its unit, a timer whose unit has a run not
// ended on any node does not fire until it ends, or its node is lost; an
// elapse that no live node may run waits for one. It returns why the
// term ended.
func (m *Manager) leadTerm(ctx context.Context, term ClusterTerm) error {
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	m.background.Go(func() {
		select {
		case <-term.Done():
			cancel(ErrDeposed)
		case <-tctx.Done():
		}
	})
	// Followed first: a node that leaves after the runs are read is
	// told of, and one that left before, its runs are marked lost now.
	unfinished, events, err := term.Follow(tctx)
	if err != nil {
		return termEnd(tctx, err)
	}
	if err := term.MarkNodesLost(tctx, m.clk.Now().Realtime); err != nil {
		return termEnd(tctx, err)
	}
	// After the whole cluster's stop, as after a reboot, each timer is
	// activated anew, once in the term; after a failover, it stayed
	// active.
	down, err := term.Down(tctx)
	if err != nil {
		return termEnd(tctx, err)
	}
	activated := map[string]bool{}
	// running are the runs not ended, by timer: the last of each. A run
	// that goes on elsewhere is among them, and the timer waits for its
	// end, or its node's loss, which Follow tells of.
	running := map[string]ClusterRunState{}
	for _, r := range unfinished {
		if r.Started >= running[r.Timer].Started {
			running[r.Timer] = r
		}
	}
	var eng *timer.Engine
	type led struct {
		name  string
		t     *timer.Timer
		cfg   *unit.TimerSection
		nodes []string
		state store.TimerState
		// waits is set while a due elapse waits for a node to run it;
		// told, once that is said.
		waits, told bool
	}
	all := map[string]*led{}
	// given is how many runs the term assigned to each node, which
	// spreads runs over nodes equally busy.
	given := map[string]int{}
	// resume takes the timers of ls up from the cluster's stamps and
	// runs, activating those not active, all at once: after the whole
	// cluster's start, that is every timer, and etcd commits together
	// what comes together.
	resume := func(ls []*led) error {
		type read struct {
			st, prev store.TimerState // prev: before its activation
			last     ClusterRunState
			err      error
		}
		reads := make([]read, len(ls))
		atOnce(len(ls), func(i int) {
			l, r := ls[i], &reads[i]
			if r.st, r.err = term.Timer(tctx, l.name); r.err != nil {
				return
			}
			r.prev = r.st
			last, ok := running[l.name]
			if !ok && usesUnitTimes(l.cfg) {
				if last, r.err = m.Cluster.LastRun(tctx, l.name); r.err != nil {
					return
				}
			}
			r.last = last
		})
		// Activated, and resumed, as of once they are read: reads slow
		// enough to pass an elapse would have it due when computed, and
		// fired as a catch-up.
		now := clusterInstant(m.clk.Now())
		// The timers not active are activated together: at the cluster's
		// first start, or after its stop, they are all of them.
		var acts []ClusterActivation
		var of []int
		for i, l := range ls {
			if r := reads[i]; r.err == nil && (r.st.ActiveRealtime == 0 || down && !activated[l.name]) {
				acts, of = append(acts, ClusterActivation{Timer: l.name, Prev: r.st, At: now.Realtime}), append(of, i)
			}
		}
		if len(acts) > 0 {
			states, errs := term.Activate(tctx, acts)
			for j, i := range of {
				reads[i].st, reads[i].err = states[j], errs[j]
			}
		}
		for i, l := range ls {
			r := reads[i]
			if r.err != nil {
				return r.err
			}
			if restart := down && !activated[l.name]; restart && r.prev.LastTrigger > 0 && !l.cfg.Persistent &&
				m.missed(eng, l.name, l.cfg, now, timer.Dual{Realtime: r.prev.LastTrigger, Monotonic: monotonicOf(r.prev.LastTrigger, now)}) {
				msg := fmt.Sprintf("%s: elapses after %s passed while the whole cluster was down; not caught up, as the timer is not Persistent=.",
					l.name, timespan.FormatTimestamp(timer.Instant{Realtime: r.prev.LastTrigger}.RealtimeTime(eng.Location), timespan.Pretty))
				m.send(ctx, func() { m.unitLog(l.name, "", 5, msg) })
			}
			activated[l.name] = true
			l.state, l.t, l.waits = r.st, eng.Add(l.name, l.cfg), false
			resumeCluster(l.t, r.st, r.last, timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}, now)
		}
		return nil
	}
	// seen is the scan's, used again: the timers are many, and scanned
	// each second.
	seen := map[string]bool{}
	// scan takes the cluster timers as they are now (startedInCluster):
	// those started here, and those loaded here, stopped, that a live
	// node has started with the same copy, the leader's copy of each
	// made the cluster's; those added, changed (reloaded) or stopped
	// since are taken anew.
	scan := func() error {
		loaded, e, ok := m.clusterTimers(tctx)
		if !ok {
			return context.Cause(tctx)
		}
		if eng == nil {
			eng = e
		}
		timers, err := m.startedInCluster(tctx, term, loaded)
		if err != nil {
			return termEnd(tctx, err)
		}
		clear(seen)
		var fresh []*led
		for _, ct := range timers {
			seen[ct.name] = true
			l := all[ct.name]
			if l != nil && l.cfg == ct.cfg {
				continue
			}
			if l != nil {
				eng.Remove(l.t)
			}
			l = &led{name: ct.name, cfg: ct.cfg, nodes: ct.nodes}
			fresh = append(fresh, l)
			all[ct.name] = l
		}
		if err := resume(fresh); err != nil {
			return termEnd(tctx, err)
		}
		for name, l := range all {
			if !seen[name] {
				eng.Remove(l.t)
				delete(all, name)
			}
		}
		return nil
	}
	beat := func() error {
		if err := term.Beat(tctx, m.clk.Now().Realtime); err != nil {
			return termEnd(tctx, err)
		}
		return nil
	}
	// fire fires the due timers, each in the engine with its run
	// assigned to the node chosen, or has it wait for one; the triggers
	// are committed after, all at once.
	fire := func(due []*led, now timer.Instant) ([]ClusterTrigger, error) {
		names := make([]string, len(due))
		for i, l := range due {
			names[i] = l.name
		}
		nodes, err := term.Nodes(tctx, names)
		if err != nil {
			return nil, err
		}
		var fired []ClusterTrigger
		// placed are the runs assigned here to each node, which its
		// read did not count: busier, as one after the other it would be.
		placed := map[string]int{}
		for i, l := range due {
			for j := range nodes[i] {
				nodes[i][j].Busy += placed[nodes[i][j].Name]
			}
			node, ok := placeRun(nodes[i], l.nodes, given)
			if !ok {
				l.waits = true
				if !l.told {
					l.told = true
					msg := l.name + ": no live node has the cluster's copy of it; the elapse waits."
					if len(l.nodes) > 0 {
						msg = fmt.Sprintf("%s: no live node matches Nodes=%s and has the cluster's copy of it; the elapse waits.",
							l.name, strings.Join(l.nodes, " "))
					}
					m.send(ctx, func() { m.unitLog(l.name, "", 4, msg) })
				}
				continue
			}
			l.waits, l.told = false, false
			eng.Fire(l.t, now, func(tr timer.Trigger) error {
				given[node.Name]++
				placed[node.Name]++
				fired = append(fired, ClusterTrigger{Node: node, Prev: l.state, Trigger: store.Trigger{Timer: l.name,
					Unit: tr.Unit, Reason: tr.Reason.String(), Invocation: newID(), Realtime: tr.At.Realtime,
					Monotonic: localMonotonic(tr.At.Monotonic), Boot: m.boot}})
				return nil
			})
		}
		return fired, nil
	}
	if err := scan(); err != nil {
		return err
	}
	if err := beat(); err != nil {
		return err
	}
	// retry is set when an elapse that waits for a node is to be tried
	// again: a node came, or a while passed.
	retry := false
	for {
		now := clusterInstant(m.clk.Now())
		var due []*led
		isDue := map[*led]bool{}
		for _, t := range eng.Due(now) {
			due, isDue[all[t.Name]] = append(due, all[t.Name]), true
		}
		if retry {
			retry = false
			for _, name := range slices.Sorted(maps.Keys(all)) {
				if l := all[name]; l.waits && !isDue[l] {
					due = append(due, l)
				}
			}
		}
		// Each due timer fires in the engine first, and its trigger is
		// committed after, all together, in few writes: one after the
		// other, each would wait for its own commit. A trigger that
		// fails undoes its firing: the timer is computed anew from the
		// stamp (ErrStale: the stamp moved, or the node left), or the
		// term ends.
		fired, err := fire(due, now)
		if err != nil {
			return termEnd(tctx, err)
		}
		states, errs := term.Trigger(tctx, fired)
		for i, f := range fired {
			name := f.Trigger.Timer
			l := all[name]
			switch err := errs[i]; {
			case err == nil:
				l.state = states[i]
				running[name] = ClusterRunState{Timer: name, Node: f.Node.Name, Started: f.Trigger.Realtime, Running: true}
			case errors.Is(err, ErrStale):
				given[f.Node.Name]--
				eng.Remove(l.t)
				if err := resume([]*led{l}); err != nil {
					return termEnd(tctx, err)
				}
			default:
				return termEnd(tctx, err)
			}
		}
		d, _ := eng.Until(now)
		wake, stop := m.clk.After(min(time.Duration(min(d, uint64(clusterScan/time.Microsecond)))*time.Microsecond, clusterScan))
		select {
		case <-tctx.Done():
			stop()
			return context.Cause(tctx)
		case ev, ok := <-events:
			stop()
			// The events told meanwhile are taken too, into one round:
			// many runs end together, and each round reads and commits.
			now := clusterInstant(m.clk.Now())
			nodes := false
			for more := true; more; {
				if !ok {
					return termEnd(tctx, errors.New("the cluster's runs can no longer be followed"))
				}
				nodes = nodes || ev.Node != ""
				// The last run of its timer ended: the timer may fire.
				if r := ev.Ended; r.Timer != "" && running[r.Timer].Started <= r.Started {
					delete(running, r.Timer)
					if l := all[r.Timer]; l != nil {
						l.t.UnitChanged(now, unitState(r, now))
					}
				}
				select {
				case ev, ok = <-events:
				default:
					more = false
				}
			}
			if nodes {
				// A node left, or came: its runs are lost, or it may run
				// what waits.
				if err := term.MarkNodesLost(tctx, now.Realtime); err != nil {
					return termEnd(tctx, err)
				}
				retry = true
			}
		case <-wake:
			if err := scan(); err != nil {
				return err
			}
			if err := beat(); err != nil {
				return err
			}
			retry = true
		}
	}
}

// startedInCluster makes the leader's copy of each cluster timer of
// loaded the cluster's, as it computes their elapses from it, and
// returns those it fires: those started here, and those stopped here
// that a live node has started with the same copy. A timer is the
// cluster's while a node runs it, not only while the node that leads
// does; and a timer changed on every node is the cluster's again once
// the leader has reloaded it.
func (m *Manager) startedInCluster(ctx context.Context, term ClusterTerm, loaded []clusterTimer) ([]clusterTimer, error) {
	set := map[string]string{}
	for _, ct := range loaded {
		if h, ok := m.Cluster.ClusterHash(ct.name); !ok || h != ct.hash {
			set[ct.name] = ct.hash
		}
	}
	if len(set) > 0 {
		if err := term.SetHashes(ctx, set); err != nil {
			return nil, err
		}
	}
	timers := make([]clusterTimer, 0, len(loaded))
	var stopped []clusterTimer
	for _, ct := range loaded {
		if ct.started {
			timers = append(timers, ct)
		} else {
			stopped = append(stopped, ct)
		}
	}
	if len(stopped) == 0 {
		return timers, nil
	}
	names := make([]string, len(stopped))
	for i, ct := range stopped {
		names[i] = ct.name
	}
	nodes, err := term.Nodes(ctx, names)
	if err != nil {
		return nil, err
	}
	for i, ct := range stopped {
		if len(nodes[i]) > 0 && nodes[i][0].Hash == ct.hash {
			timers = append(timers, ct)
		}
	}
	return timers, nil
}

// resumeCluster takes a cluster timer up from the cluster's stamp and
// its unit's last run (the zero state for none), as the leader, the stall
// watcher and the commands that show it do: active since its activation
// (since, for a stamp that has none), its elapses counting from its last
// trigger if it fired since, or with Persistent= (as timer_start takes
// the stamp), or if that is ahead of this node's clock: no elapse is
// fired again. Its unit's times are the run's, and while the run goes on
// the timer waits for its end, as timer_coldplug restores it.
func resumeCluster(t *timer.Timer, st store.TimerState, run ClusterRunState, since timer.Dual, now timer.Instant) {
	if st.ActiveRealtime > 0 {
		since = timer.Dual{Realtime: st.ActiveRealtime, Monotonic: monotonicOf(st.ActiveRealtime, now)}
	}
	var last timer.Dual
	if st.LastTrigger > 0 && (st.LastTrigger >= st.ActiveRealtime || t.Config.Persistent || st.LastTrigger > now.Realtime) {
		last = timer.Dual{Realtime: st.LastTrigger, Monotonic: monotonicOf(st.LastTrigger, now)}
		if st.LastTrigger >= now.Realtime && st.ActiveRealtime > 0 {
			// Stamped before now by a node whose clock is ahead of this
			// one's, by a µs more than the stamp is at least: its
			// monotonic bases are taken back as much, so that an
			// OnActiveSec= elapse it fired is passed here too, and not
			// due now.
			ahead := st.LastTrigger - now.Realtime + 1
			since.Monotonic = monotonicOf(st.ActiveRealtime-min(ahead, st.ActiveRealtime), now)
			last.Monotonic = now.Monotonic
		}
	}
	t.Resume(now, since, last)
	if run.Started > 0 {
		t.UnitChanged(now, unitState(run, now))
	}
	if run.Running {
		t.ResumeRunning(now)
	}
}

// missed reports whether a timer last triggered at last would have
// elapsed by now, had it stayed active.
func (m *Manager) missed(eng *timer.Engine, name string, cfg *unit.TimerSection, now timer.Instant, last timer.Dual) bool {
	t := eng.Add(name, cfg)
	defer eng.Remove(t)
	t.Resume(now, last, last)
	next := t.NextElapse(now)
	return next != 0 && next <= now.Realtime
}

// placeRun chooses the node to run an elapse of a timer whose Nodes= are
// globs (any node, for none), among the live nodes that have the
// cluster's copy of it: the least busy, then the one given the fewest
// runs by the term, then the first by name.
func placeRun(nodes []ClusterNode, globs []string, given map[string]int) (ClusterNode, bool) {
	var best ClusterNode
	found := false
	for _, n := range nodes {
		if len(globs) > 0 && !slices.ContainsFunc(globs, func(g string) bool {
			ok, _ := path.Match(g, n.Name)
			return ok
		}) {
			continue
		}
		if !found || cmp.Or(cmp.Compare(n.Busy, best.Busy), cmp.Compare(given[n.Name], given[best.Name]), strings.Compare(n.Name, best.Name)) < 0 {
			best, found = n, true
		}
	}
	return best, found
}

// usesUnitTimes reports whether a timer has values that count from its
// unit's activation or deactivation.
func usesUnitTimes(cfg *unit.TimerSection) bool {
	return slices.ContainsFunc(cfg.Values, func(v unit.TimerValue) bool {
		return v.Base == unit.OnUnitActive || v.Base == unit.OnUnitInactive
	})
}

// unitState is a cluster's run of a timer's unit as the timer is told of
// its unit: active from the elapse it is of, inactive from its end, on
// this node's monotonic clock now.
func unitState(r ClusterRunState, now timer.Instant) timer.UnitState {
	us := timer.UnitState{Inactive: !r.Running, ActiveAt: monotonicOf(r.Started, now)}
	if r.Ended > 0 {
		us.InactiveAt = monotonicOf(r.Ended, now)
	}
	return us
}

// clusterAtOnce bounds the calls to etcd made at once for many timers:
// the reads and activations of those taken up together.
const clusterAtOnce = 64

// atOnce calls do for each of 0..n-1, at most clusterAtOnce at once, and
// returns when all have returned: etcd commits together what comes
// together.
func atOnce(n int, do func(i int)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, clusterAtOnce)
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			do(i)
		})
	}
	wg.Wait()
}

// termEnd is why a term ended on err: the term's end or the daemon's
// stop, if that came first, else err.
func termEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
