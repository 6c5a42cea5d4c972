package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// A Cluster is what the manager needs of the cluster its daemon is a node
// of, to fire each elapse of a cluster timer once across the nodes: the
// daemon implements it on etcd; the manager knows nothing of etcd.
type Cluster interface {
	// Mark reads a timer's [X-Sundial] section: whether it is a cluster
	// timer, and what is wrong with it; a diagnostic of severity
	// unit.Error refuses the timer.
	Mark(u *unit.Unit) (cluster bool, diags []unit.Diagnostic)
	// Lead returns once this node leads the cluster's timers, or fails
	// when ctx ends first or the cluster cannot be reached.
	Lead(ctx context.Context) (ClusterTerm, error)
	// EndRun records how a run that Trigger made ended, at realtime µs.
	EndRun(ctx context.Context, run ClusterRun, ended uint64, result, exitCode string, exitStatus int) error
	// PublishHash publishes the hash of this node's copy of a cluster
	// timer and its service, and returns the cluster's: the first one
	// published by any node. It waits until the node has joined.
	PublishHash(ctx context.Context, timer, hash string) (cluster string, err error)
	// Timer reads a cluster timer's stamp, as any node may. It waits
	// until the node has joined.
	Timer(ctx context.Context, name string) (store.TimerState, error)
	// LastRun tells of the last run of a cluster timer's unit, on any
	// node: whether it still runs, and when it ended, realtime µs (0 for
	// none).
	LastRun(ctx context.Context, timer string) (running bool, ended uint64, err error)
	// Lease is the life of a leader's lease: a leader gone is replaced
	// within it.
	Lease() time.Duration
}

// A ClusterTerm is one term of this node's leadership. Its writes fail
// with ErrDeposed once it has ended, and with ErrStale when what they
// compare changed.
type ClusterTerm interface {
	// Done is closed when the term has ended.
	Done() <-chan struct{}
	// Resign ends the term.
	Resign() error
	// MarkNodesLost marks the runs of nodes that are gone as lost, at
	// realtime µs: they are not run again.
	MarkNodesLost(ctx context.Context, at uint64) error
	// Timer reads a cluster timer's stamp.
	Timer(ctx context.Context, name string) (store.TimerState, error)
	// Trigger moves a cluster timer's stamp from prev and records its run
	// on this node, in one write that holds only while the term does.
	Trigger(ctx context.Context, prev store.TimerState, t store.Trigger) (store.TimerState, ClusterRun, error)
	// Down reports whether the whole cluster was down since the last
	// term's last beat: no node that lives now lived then.
	Down(ctx context.Context) (bool, error)
	// Beat says that the term leads still, at realtime µs, with the
	// nodes that live: the runs of nodes gone since the last beat are
	// marked lost.
	Beat(ctx context.Context, at uint64) error
	// Activate moves a cluster timer's stamp from prev to one active
	// since realtime µs, in one write that holds only while the term
	// does.
	Activate(ctx context.Context, name string, prev store.TimerState, at uint64) (store.TimerState, error)
}

// A ClusterRun is the cluster's record of a run, handed back to EndRun.
type ClusterRun any

// ErrDeposed and ErrStale are what a ClusterTerm's writes fail with:
// the term has ended, or the stamp moved since it was read.
var (
	ErrDeposed = errors.New("the term has ended")
	ErrStale   = errors.New("changed since it was read")
)

// clusterRetry is how long the leader loop waits before it tries again
// to reach the cluster.
const clusterRetry = time.Second

// clusterScan is how often the leader loop looks at least for cluster
// timers started, stopped or reloaded on its node.
const clusterScan = time.Second

// A clusterTimer is what the leader loop is given of a cluster timer.
type clusterTimer struct {
	name    string
	cfg     *unit.TimerSection
	running bool // its unit runs on this node
	// hash is of the settings of this node's copy of the timer and of
	// its unit.
	hash string
}

// clusterState is the manager's part of the cluster timers, shared by
// its loop and the leader loop.
type clusterState struct {
	// runs are the runs the leader loop started, by the local run ID;
	// the loop's only.
	runs map[int64]clusterRunning
	mu   sync.Mutex
	// ended are the timers whose units ended, for the leader loop, by
	// name: their units' last activation and deactivation, monotonic µs.
	ended map[string]timer.UnitState
	wake  chan struct{} // told when ended is no longer empty
	// agreed are the hashes of the cluster timers whose copy here is the
	// cluster's, by name: the leader runs no other.
	agreed map[string]string
}

// A clusterRunning is a run of a cluster timer's unit on this node.
type clusterRunning struct {
	timer string
	run   ClusterRun
}

// isClusterTimer reports whether e is a timer that the cluster fires:
// never where the daemon is no node of one.
func (m *Manager) isClusterTimer(e *entry) bool {
	if m.Cluster == nil || e == nil || e.timer == nil {
		return false
	}
	c, _ := m.Cluster.Mark(e.u())
	return c
}

// refuseCluster says what is wrong with a timer's [X-Sundial] section,
// and reports whether that refuses the timer's start.
func (m *Manager) refuseCluster(e *entry) bool {
	if m.Cluster == nil {
		return false
	}
	_, diags := m.Cluster.Mark(e.u())
	refused := false
	for _, d := range diags {
		m.unitLog(e.name, "", 4, d.String())
		refused = refused || d.Severity == unit.Error
	}
	return refused
}

// startCluster starts the leader loop of the cluster's timers, if the
// daemon is a node of a cluster, until ctx is done.
func (m *Manager) startCluster(ctx context.Context) {
	if m.Cluster == nil {
		return
	}
	m.cluster.wake = make(chan struct{}, 1)
	m.background.Go(func() { m.leadClusterTimers(ctx) })
	m.background.Go(func() { m.publishHashes(ctx) })
	m.background.Go(func() { m.watchStalls(ctx) })
}

// A watched is a cluster timer as the stall watcher sees it.
type watched struct {
	t       *timer.Timer
	cfg     *unit.TimerSection
	version int64  // of the stamp its next elapse was computed from
	due     uint64 // that elapse, realtime µs; 0 for none
	told    bool   // that it is overdue
}

// watchStalls reads, on every node, the cluster's stamp of each cluster
// timer started here whose copy is the cluster's, and says once in the
// timer's journal when its next elapse from that stamp is overdue by more
// than twice a leader's lease: no leader has fired it, though a leader
// gone is replaced within one lease. An elapse that waits for its unit's
// run to end, as systemd's do, is due from that end.
func (m *Manager) watchStalls(ctx context.Context) {
	stall := uint64(2 * m.Cluster.Lease() / time.Microsecond)
	var eng *timer.Engine
	all := map[string]*watched{}
	for {
		timers, e, ok := m.clusterTimers(ctx)
		if !ok {
			return
		}
		if eng == nil {
			eng = e
		}
		seen := map[string]bool{}
		for _, ct := range timers {
			st, err := m.Cluster.Timer(ctx, ct.name)
			if ctx.Err() != nil {
				return
			}
			if err != nil || !m.agrees(ct) {
				continue // unreachable (the leader loop says so), or another copy
			}
			seen[ct.name] = true
			now := m.clk.Now()
			w := all[ct.name]
			if w == nil || w.cfg != ct.cfg || w.version != st.Version {
				since := timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}
				if w != nil {
					eng.Remove(w.t)
					since = w.t.InactiveExit
				}
				w = &watched{t: eng.Add(ct.name, ct.cfg), cfg: ct.cfg, version: st.Version}
				resumeCluster(w.t, st, since, now)
				w.due = w.t.NextElapse(now)
				all[ct.name] = w
			}
			if w.told || w.due == 0 || now.Realtime <= w.due+stall {
				continue
			}
			running, ended, err := m.Cluster.LastRun(ctx, ct.name)
			if err != nil || running || now.Realtime <= ended+stall {
				continue
			}
			w.told = true
			msg := fmt.Sprintf("%s: overdue by %d s; no leader has fired it.", ct.name, (now.Realtime-max(w.due, ended))/uint64(time.Second/time.Microsecond))
			m.send(ctx, func() { m.unitLog(ct.name, "", 4, msg) })
		}
		for name, w := range all {
			if !seen[name] {
				eng.Remove(w.t)
				delete(all, name)
			}
		}
		if !m.pause(ctx, clusterScan) {
			return
		}
	}
}

// publishHashes publishes the hash of each cluster timer started here,
// as it is now, until ctx is done, and says once in a timer's journal
// when its copy here is not the cluster's: the leader runs only those
// that are.
func (m *Manager) publishHashes(ctx context.Context) {
	published := map[string]string{} // by name
	told := false
	for {
		timers, _, ok := m.clusterTimers(ctx)
		if !ok {
			return
		}
		for _, ct := range timers {
			if published[ct.name] == ct.hash {
				continue
			}
			cl, err := m.Cluster.PublishHash(ctx, ct.name, ct.hash)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if !told {
					m.log.Error("Failed to publish the hash of a cluster timer; it waits until it is.", "unit", ct.name, "err", err)
					told = true
				}
				continue
			}
			told = false
			published[ct.name] = ct.hash
			m.cluster.mu.Lock()
			if m.cluster.agreed == nil {
				m.cluster.agreed = map[string]string{}
			}
			if cl == ct.hash {
				m.cluster.agreed[ct.name] = ct.hash
			} else {
				delete(m.cluster.agreed, ct.name)
			}
			m.cluster.mu.Unlock()
			if cl != ct.hash {
				msg := fmt.Sprintf("%s: this node's copy differs from the cluster's (hash %s, cluster %s); not running it.",
					ct.name, shortHash(ct.hash), shortHash(cl))
				m.send(ctx, func() { m.unitLog(ct.name, "", 4, msg) })
			}
		}
		if !m.pause(ctx, clusterScan) {
			return
		}
	}
}

// agrees reports whether this node's copy of a cluster timer is the
// cluster's, as last published.
func (m *Manager) agrees(ct clusterTimer) bool {
	m.cluster.mu.Lock()
	defer m.cluster.mu.Unlock()
	return m.cluster.agreed[ct.name] == ct.hash
}

// unitsHash is the hash of a cluster timer's settings and of its unit's,
// as loaded from their files with their drop-ins: two nodes whose files
// say the same have the same, whatever their comments and layout.
func unitsHash(units ...*unit.Unit) string {
	h := sha256.New()
	for _, u := range units {
		fmt.Fprintf(h, "%q\n", u.Name)
		for _, a := range u.Assignments {
			fmt.Fprintf(h, "%q %q %q\n", a.Section, a.Key, a.Value)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// shortHash is a hash as the journal says it.
func shortHash(h string) string { return h[:min(len(h), 12)] }

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
			err = m.leadTerm(ctx, term)
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

// leadTerm fires the cluster timers while term lasts: the runs of nodes
// gone are marked lost, then each timer's next elapse is computed by a
// timer engine of the term's from the cluster's stamp, and each elapse is
// triggered through the term's fence before its unit starts here. It
// returns why the term ended.
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
	var eng *timer.Engine
	type led struct {
		t     *timer.Timer
		cfg   *unit.TimerSection
		state store.TimerState
		err   error // the last trigger's failure
		// elsewhere is set while its unit's last run runs on another
		// node, or on one gone that is not yet marked lost: the
		// timer waits for its end, as for a run here.
		elsewhere bool
	}
	all := map[string]*led{}
	resume := func(l *led, name string, running bool) error {
		st, err := term.Timer(tctx, name)
		if err != nil {
			return err
		}
		now := m.clk.Now()
		stamp := timer.Dual{Realtime: st.LastTrigger, Monotonic: monotonicOf(st.LastTrigger, now)}
		restart := down && !activated[name]
		if st.ActiveRealtime == 0 || restart {
			if restart && st.LastTrigger > 0 && !l.cfg.Persistent && m.missed(eng, name, l.cfg, now, stamp) {
				msg := fmt.Sprintf("%s: elapses after %s passed while the whole cluster was down; not caught up, as the timer is not Persistent=.",
					name, timespan.FormatTimestamp(timer.Instant{Realtime: st.LastTrigger}.RealtimeTime(eng.Location), timespan.Pretty))
				m.send(ctx, func() { m.unitLog(name, "", 5, msg) })
			}
			if st, err = term.Activate(tctx, name, st, now.Realtime); err != nil {
				return err
			}
		}
		activated[name] = true
		l.state, l.t = st, eng.Add(name, l.cfg)
		resumeCluster(l.t, st, timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}, now)
		if !running {
			if l.elsewhere, _, err = m.Cluster.LastRun(tctx, name); err != nil {
				return err
			}
		}
		if running || l.elsewhere {
			l.t.ResumeRunning(now)
		}
		return nil
	}
	// ended has the timers whose unit ran elsewhere take up their runs'
	// ends.
	ended := func() error {
		for _, name := range slices.Sorted(maps.Keys(all)) {
			l := all[name]
			if !l.elsewhere || l.t.State != timer.Running {
				continue
			}
			running, end, err := m.Cluster.LastRun(tctx, name)
			if err != nil {
				return termEnd(tctx, err)
			}
			if !running {
				now := m.clk.Now()
				l.elsewhere = false
				l.t.UnitChanged(now, timer.UnitState{Inactive: true, ActiveAt: monotonicOf(l.state.LastTrigger, now), InactiveAt: monotonicOf(end, now)})
			}
		}
		return nil
	}
	// scan takes the cluster timers started here as they are now: those
	// added, changed (reloaded) or stopped since are taken anew.
	scan := func() error {
		timers, e, ok := m.clusterTimers(tctx)
		if !ok {
			return context.Cause(tctx)
		}
		if eng == nil {
			eng = e
		}
		seen := map[string]bool{}
		for _, ct := range timers {
			if !m.agrees(ct) {
				continue
			}
			seen[ct.name] = true
			l := all[ct.name]
			if l != nil && l.cfg == ct.cfg {
				continue
			}
			if l != nil {
				eng.Remove(l.t)
			}
			l = &led{cfg: ct.cfg}
			if err := resume(l, ct.name, ct.running); err != nil {
				return termEnd(tctx, err)
			}
			all[ct.name] = l
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
	if err := scan(); err != nil {
		return err
	}
	if err := beat(); err != nil {
		return err
	}
	for {
		now := m.clk.Now()
		for _, t := range eng.Due(now) {
			l := all[t.Name]
			l.err = nil
			eng.Fire(t, now, func(tr timer.Trigger) error {
				invocation := newID()
				st, run, err := term.Trigger(tctx, l.state, store.Trigger{Timer: t.Name, Unit: tr.Unit, Reason: tr.Reason.String(),
					Invocation: invocation, Realtime: tr.At.Realtime, Monotonic: tr.At.Monotonic, Boot: m.boot})
				if err != nil {
					l.err = err
					return err
				}
				l.state = st
				act := activation{timer: t.Name, reason: tr.Reason.String(), invocation: invocation, env: tr.Env()}
				// Committed: the unit starts, whatever becomes of the term.
				m.send(ctx, func() { m.startClusterRun(tr.Unit, act, tr.At, run) })
				return nil
			})
			switch {
			case l.err == nil:
			case errors.Is(l.err, ErrStale):
				// Another trigger moved the stamp: computed again from it.
				eng.Remove(l.t)
				if err := resume(l, t.Name, false); err != nil {
					return termEnd(tctx, err)
				}
			default:
				return termEnd(tctx, l.err)
			}
		}
		d, _ := eng.Until(now)
		wake, stop := m.clk.After(min(time.Duration(min(d, uint64(clusterScan/time.Microsecond)))*time.Microsecond, clusterScan))
		select {
		case <-tctx.Done():
			stop()
			return context.Cause(tctx)
		case <-m.cluster.wake:
			stop()
			m.cluster.mu.Lock()
			ended := m.cluster.ended
			m.cluster.ended = nil
			m.cluster.mu.Unlock()
			now := m.clk.Now()
			for _, name := range slices.Sorted(maps.Keys(ended)) {
				if l := all[name]; l != nil {
					l.t.UnitChanged(now, ended[name])
				}
			}
		case <-wake:
			if err := scan(); err != nil {
				return err
			}
			if err := beat(); err != nil {
				return err
			}
			if err := ended(); err != nil {
				return err
			}
		}
	}
}

// resumeCluster takes a cluster timer up from the cluster's stamp, as the
// leader and the stall watcher do: active since its activation (since,
// for a stamp that has none), its elapses counting from its last trigger
// if it fired since, or with Persistent= (as timer_start takes the
// stamp), or if that is ahead of this node's clock: no elapse is fired
// again.
func resumeCluster(t *timer.Timer, st store.TimerState, since timer.Dual, now timer.Instant) {
	if st.ActiveRealtime > 0 {
		since = timer.Dual{Realtime: st.ActiveRealtime, Monotonic: monotonicOf(st.ActiveRealtime, now)}
	}
	var last timer.Dual
	if st.LastTrigger > 0 && (st.LastTrigger >= st.ActiveRealtime || t.Config.Persistent || st.LastTrigger > now.Realtime) {
		last = timer.Dual{Realtime: st.LastTrigger, Monotonic: monotonicOf(st.LastTrigger, now)}
		if ahead := st.LastTrigger - min(st.LastTrigger, now.Realtime); ahead > 0 && st.ActiveRealtime > 0 {
			// Stamped by a node whose clock is ahead of this one's by
			// that much at least: its monotonic bases are taken back
			// as much, so that an OnActiveSec= elapse it fired is
			// passed here too.
			since.Monotonic = monotonicOf(st.ActiveRealtime-min(ahead, st.ActiveRealtime), now)
			last.Monotonic = now.Monotonic
		}
	}
	t.Resume(now, since, last)
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

// termEnd is why a term ended on err: the term's end or the daemon's
// stop, if that came first, else err.
func termEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// lastTrigger is the last trigger of a cluster timer's stamp, as this
// node's timer engine counts from it now: zero for none.
func lastTrigger(st store.TimerState, now timer.Instant) timer.Dual {
	if st.LastTrigger == 0 {
		return timer.Dual{}
	}
	return timer.Dual{Realtime: st.LastTrigger, Monotonic: monotonicOf(st.LastTrigger, now)}
}

// monotonicOf is a realtime µs of another node's, or of before this
// boot, on this node's monotonic clock now, which OnUnitActiveSec= and
// its kind count from: 0 for before the clock began.
func monotonicOf(realtime uint64, now timer.Instant) uint64 {
	if realtime >= now.Realtime {
		return now.Monotonic + (realtime - now.Realtime)
	}
	return now.Monotonic - min(now.Monotonic, now.Realtime-realtime)
}

// send has the manager's loop do f, unless ctx ends first; it reports
// whether f was sent.
func (m *Manager) send(ctx context.Context, f func()) bool {
	select {
	case m.events <- f:
		return true
	case <-ctx.Done():
		return false
	}
}

// clusterTimers returns, from the manager's loop, the cluster timers
// started here (enabled), and a timer engine for them, set as the
// manager's; ok is false if ctx ended first.
func (m *Manager) clusterTimers(ctx context.Context) (timers []clusterTimer, eng *timer.Engine, ok bool) {
	done := make(chan struct{})
	if !m.send(ctx, func() {
		defer close(done)
		eng = m.copyEngine()
		// The log only: the journal is the loop's.
		eng.Log = func(t *timer.Timer, level slog.Level, msg string) {
			m.log.Log(context.Background(), level, t.Name+": "+msg)
		}
		for _, name := range slices.Sorted(maps.Keys(m.units)) {
			e := m.units[name]
			if e.timer == nil || !e.timer.State.Active() || !m.isClusterTimer(e) {
				continue
			}
			se := m.units[e.trigger]
			units := []*unit.Unit{e.u()}
			if se != nil {
				units = append(units, se.u())
			}
			timers = append(timers, clusterTimer{name: name, cfg: e.timer.Config, running: se != nil && se.isActive(),
				hash: unitsHash(units...)})
		}
	}) {
		return nil, nil, false
	}
	select {
	case <-done:
		return timers, eng, true
	case <-ctx.Done():
		return nil, nil, false
	}
}

// startClusterRun starts the unit of a cluster timer's trigger at at,
// which the cluster has recorded as run: its end is told to the cluster,
// and to the leader loop. The timer here, which does not fire, shows
// the trigger as its last.
func (m *Manager) startClusterRun(name string, act activation, at timer.Dual, run ClusterRun) {
	if te := m.units[act.timer]; te != nil && te.timer != nil {
		te.timer.LastTrigger = at
	}
	se, err := m.get(name)
	now := m.clk.Now()
	r := store.Run{Unit: name, Timer: act.timer, Reason: act.reason, Invocation: act.invocation, Started: now.Realtime,
		StartedMonotonic: now.Monotonic, Boot: m.boot}
	act.runID = m.recordRun("a run of "+name, func(ctx context.Context) (int64, error) { return m.writes.StartRun(ctx, r) })
	if m.cluster.runs == nil {
		m.cluster.runs = map[int64]clusterRunning{}
	}
	m.cluster.runs[act.runID] = clusterRunning{timer: act.timer, run: run}
	if err != nil {
		m.unitLog(act.timer, "", 4, act.timer+": Failed to queue unit startup job: "+err.Error())
		m.recordEnd(name, act.runID, now, "resources", "", 0)
		return
	}
	m.start(se, act, nil)
}

// clusterRunEnded tells the cluster and the leader loop that a run of a
// cluster timer's unit ended, if runID is one.
func (m *Manager) clusterRunEnded(unitName string, runID int64, ended timer.Instant, result, code string, status int) {
	cr, ok := m.cluster.runs[runID]
	if !ok {
		return
	}
	delete(m.cluster.runs, runID)
	m.background.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterEndTimeout)
		defer cancel()
		if err := m.Cluster.EndRun(ctx, cr.run, ended.Realtime, result, code, status); err != nil {
			m.log.Error(fmt.Sprintf("Failed to record the end of a run of %s in the cluster.", unitName), "err", err)
		}
	})
	us := timer.UnitState{Inactive: true}
	if se := m.units[unitName]; se != nil {
		us.ActiveAt, us.InactiveAt = se.inactiveExit.Monotonic, ended.Monotonic
	}
	m.cluster.mu.Lock()
	if m.cluster.ended == nil {
		m.cluster.ended = map[string]timer.UnitState{}
	}
	m.cluster.ended[cr.timer] = us
	m.cluster.mu.Unlock()
	select {
	case m.cluster.wake <- struct{}{}:
	default:
	}
}

// clusterEndTimeout bounds the record of a run's end in the cluster.
const clusterEndTimeout = 10 * time.Second
