package manager

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
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

// A Cluster is what the manager needs of the cluster its daemon is a node
// of, to fire each elapse of a cluster timer once across the nodes: the
// daemon implements it on etcd; the manager knows nothing of etcd.
type Cluster interface {
	// Mark reads a timer's [X-Sundial] section: whether it is a cluster
	// timer, and what is wrong with it; a diagnostic of severity
	// unit.Error refuses the timer.
	Mark(u *unit.Unit) (cluster bool, diags []unit.Diagnostic)
	// NodeGlobs returns the Nodes= globs of a cluster timer: the names
	// of the nodes its unit may run on match one; none for any node.
	NodeGlobs(u *unit.Unit) []string
	// Lead returns once this node leads the cluster's timers, or fails
	// when ctx ends first or the cluster cannot be reached.
	Lead(ctx context.Context) (ClusterTerm, error)
	// Assignments acknowledges each run a leader assigns to this node,
	// those assigned before first, and hands it to start, until ctx ends
	// or the cluster cannot be followed. It waits until the node has
	// joined.
	Assignments(ctx context.Context, start func(ClusterAssignment)) error
	// EndRun records how a run that Assignments handed on ended, at
	// realtime µs.
	EndRun(ctx context.Context, run ClusterRun, ended uint64, result, exitCode string, exitStatus int) error
	// PublishHash publishes the hash of this node's copy of a cluster
	// timer and its service, and returns the cluster's: the first one
	// published by any node. It waits until the node has joined.
	PublishHash(ctx context.Context, timer, hash string) (cluster string, err error)
	// Timer reads a cluster timer's stamp, as any node may. It waits
	// until the node has joined.
	Timer(ctx context.Context, name string) (store.TimerState, error)
	// LastRun tells of the last run of a cluster timer's unit, on any
	// node; the zero state for none.
	LastRun(ctx context.Context, timer string) (ClusterRunState, error)
	// Lease is the life of a leader's lease: a leader gone is replaced
	// within it.
	Lease() time.Duration
	// SessionEnded returns a channel closed when this node's session in
	// the cluster ends while the daemon runs: its lease expired, was
	// revoked, or went unrenewed past the deadline the node counts. The
	// runs Assignments handed on under it are then lost to the cluster
	// (a leader marks them node-lost), and Assignments fails with
	// ErrSessionEnded; the node joins again under a new session. It waits
	// until the node has joined, or joined again.
	SessionEnded(ctx context.Context) (<-chan struct{}, error)
}

// A ClusterTerm is one term of this node's leadership. Its writes fail
// with ErrDeposed once it has ended, and with ErrStale when what they
// compare changed.
type ClusterTerm interface {
	// Done is closed when the term has ended.
	Done() <-chan struct{}
	// Resign ends the term.
	Resign() error
	// MarkNodesLost marks the runs not ended of nodes that are gone, or
	// were started again since, as lost, at realtime µs: they are not
	// run again.
	MarkNodesLost(ctx context.Context, at uint64) error
	// Follow returns the runs not ended (assigned to a node, or running
	// there), and then tells of each run that ends or is lost and of each
	// node that leaves or comes, until ctx ends; the channel is closed
	// when the cluster can no longer be followed.
	Follow(ctx context.Context) ([]ClusterRunState, <-chan ClusterEvent, error)
	// Nodes returns the live nodes whose copy of a cluster timer and its
	// unit is the cluster's, with how busy each is.
	Nodes(ctx context.Context, timer string) ([]ClusterNode, error)
	// Timer reads a cluster timer's stamp.
	Timer(ctx context.Context, name string) (store.TimerState, error)
	// Trigger moves a cluster timer's stamp from prev and records its run
	// assigned to node, in one write that holds only while the term does,
	// and the node is still the one Nodes returned.
	Trigger(ctx context.Context, prev store.TimerState, t store.Trigger, node ClusterNode) (store.TimerState, error)
	// Down reports whether the whole cluster was down since the last
	// term's last beat: no node that lives now lived then.
	Down(ctx context.Context) (bool, error)
	// Beat says that the term leads still, at realtime µs, with the
	// nodes that live.
	Beat(ctx context.Context, at uint64) error
	// Activate moves a cluster timer's stamp from prev to one active
	// since realtime µs, in one write that holds only while the term
	// does.
	Activate(ctx context.Context, name string, prev store.TimerState, at uint64) (store.TimerState, error)
}

// A ClusterNode is a live node that may run a cluster timer's unit.
type ClusterNode struct {
	Name string
	// Busy is how many runs, of any timer, it has not ended.
	Busy int
	// Lease tells the node from one started again under its name.
	Lease int64
}

// A ClusterRunState is what the cluster records of a run of a cluster
// timer's unit.
type ClusterRunState struct {
	Timer, Node string
	// Started is the elapse the run is of, and Ended when it ended or
	// was found lost (0 while not), realtime µs.
	Started, Ended uint64
	// Running is set while it has not ended: assigned to its node, or
	// running there.
	Running bool
}

// A ClusterEvent is what ClusterTerm.Follow tells of: a run that ended
// (Ended.Timer set), or a node that left or came (Node set).
type ClusterEvent struct {
	Ended ClusterRunState
	Node  string
}

// A ClusterAssignment is a run of a cluster timer's unit that a leader
// assigned to this node, and that the node has acknowledged.
type ClusterAssignment struct {
	Timer, Unit, Reason, Invocation string
	// Elapse is the trigger's time, realtime µs.
	Elapse uint64
	Run    ClusterRun
	// SessionEnded is closed when the node's session it was assigned
	// under ends: the run is then lost to the cluster.
	SessionEnded <-chan struct{}
}

// A ClusterRun is the cluster's record of a run, handed back to EndRun.
type ClusterRun any

// ErrDeposed and ErrStale are what a ClusterTerm's writes fail with:
// the term has ended, or the stamp moved since it was read.
var (
	ErrDeposed = errors.New("the term has ended")
	ErrStale   = errors.New("changed since it was read")
)

// ErrSessionEnded is what Cluster.Assignments fails with when the node's
// session ends.
var ErrSessionEnded = errors.New("the node's session in the cluster ended")

// clusterRetry is how long the leader loop waits before it tries again
// to reach the cluster.
const clusterRetry = time.Second

// clusterScan is how often the leader loop looks at least for cluster
// timers started, stopped or reloaded on its node.
const clusterScan = time.Second

// A clusterTimer is what the leader loop is given of a cluster timer.
type clusterTimer struct {
	name string
	cfg  *unit.TimerSection
	// nodes are its Nodes= globs.
	nodes []string
	// hash is of the settings of this node's copy of the timer and of
	// its unit.
	hash string
}

// clusterState is the manager's part of the cluster timers, shared by
// its loop and the leader loop.
type clusterState struct {
	// ctx is the daemon's, which ends the cluster's work.
	ctx context.Context
	// runs are the cluster's records of the runs of cluster timers'
	// units on this node, by the local run ID; the loop's only.
	runs map[int64]clusterRun
	mu   sync.Mutex
	// agreed are the hashes of the cluster timers whose copy here is the
	// cluster's, by name: the leader runs no other.
	agreed map[string]string
	// known are the timers started here, by their files and their
	// units': whether each is a cluster timer, its hash and Nodes=. The
	// manager's loop's only.
	known map[[2]*unit.Snapshot]clusterMark
}

// A clusterMark is what a timer's files say of it as a cluster timer:
// whether it is one, and then its hash and its Nodes= globs.
type clusterMark struct {
	cluster bool
	hash    string
	nodes   []string
}

// A clusterRun is a run of a cluster timer's unit on this node: the
// cluster's record of it, and its unit.
type clusterRun struct {
	run     ClusterRun
	unit    string
	session <-chan struct{}
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
	m.cluster.ctx = ctx
	m.background.Go(func() { m.leadClusterTimers(ctx) })
	m.background.Go(func() { m.runAssignments(ctx) })
	m.background.Go(func() { m.publishHashes(ctx) })
	m.background.Go(func() { m.watchStalls(ctx) })
	m.background.Go(func() { m.fenceClusterRuns(ctx) })
}

// fenceClusterRuns stops the runs of cluster timers on this node each
// time its session in the cluster ends, until ctx is done: they are lost
// to the cluster, whose leader may run the timer's next elapse on
// another node, and go on here would break the rule that a unit's runs
// do not overlap.
func (m *Manager) fenceClusterRuns(ctx context.Context) {
	for {
		ended, err := m.Cluster.SessionEnded(ctx)
		if err != nil {
			if !m.pause(ctx, clusterRetry) {
				return
			}
			continue
		}
		select {
		case <-ended:
		case <-ctx.Done():
			return
		}
		m.send(ctx, func() { m.stopClusterRuns(ended) })
	}
}

// stopClusterRuns stops the units of the runs of cluster timers on this
// node assigned under the session that ended, as systemctl stop does,
// from the manager's loop: their ends are recorded here, and not told to
// the cluster, to which they are lost. Those of the next session go on.
func (m *Manager) stopClusterRuns(ended <-chan struct{}) {
	units := map[string]bool{}
	for id, r := range m.cluster.runs {
		if r.session == ended {
			units[r.unit] = true
			delete(m.cluster.runs, id)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(units)) {
		e := m.units[name]
		if e == nil {
			continue
		}
		m.unitLog(name, e.invocation, 4, name+": Stopping: its run is lost to the cluster with this node's lease.")
		m.stop(e, nil)
	}
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
			last, err := m.Cluster.LastRun(ctx, ct.name)
			if err != nil || last.Running || now.Realtime <= last.Ended+stall {
				continue
			}
			w.told = true
			msg := fmt.Sprintf("%s: overdue by %d s; no leader has fired it.", ct.name, (now.Realtime-max(w.due, last.Ended))/uint64(time.Second/time.Microsecond))
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
// that are. The hashes go with the node's lease: when its session ends,
// they are published again under the next.
func (m *Manager) publishHashes(ctx context.Context) {
	published := map[string]string{} // by name
	told := false
	var session <-chan struct{} // the one they were published under
	for {
		timers, _, ok := m.clusterTimers(ctx)
		if !ok {
			return
		}
		select {
		case <-session:
			clear(published)
			session = nil
		default:
		}
		if session == nil && len(timers) > 0 {
			session, _ = m.Cluster.SessionEnded(ctx) // nil where the node failed to join: publishing fails too
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
	resume := func(l *led, name string) error {
		st, err := term.Timer(tctx, name)
		if err != nil {
			return err
		}
		last, ok := running[name]
		if !ok && usesUnitTimes(l.cfg) {
			if last, err = m.Cluster.LastRun(tctx, name); err != nil {
				return err
			}
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
		l.state, l.t, l.waits = st, eng.Add(name, l.cfg), false
		resumeCluster(l.t, st, timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}, now)
		if last.Started > 0 {
			l.t.UnitChanged(now, unitState(last, now))
		}
		if last.Running {
			l.t.ResumeRunning(now)
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
			l = &led{cfg: ct.cfg, nodes: ct.nodes}
			if err := resume(l, ct.name); err != nil {
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
	// fire fires the due timers, each in the engine with its run
	// assigned to the node chosen, or has it wait for one; the triggers
	// are committed after, all at once.
	fire := func(due []*led, now timer.Instant) ([]*clusterFiring, error) {
		nodes := make([][]ClusterNode, len(due))
		errs := make([]error, len(due))
		atOnce(len(due), func(i int) { nodes[i], errs[i] = term.Nodes(tctx, due[i].t.Name) })
		if err := cmp.Or(errs...); err != nil {
			return nil, err
		}
		var fired []*clusterFiring
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
					msg := l.t.Name + ": no live node has the cluster's copy of it; the elapse waits."
					if len(l.nodes) > 0 {
						msg = fmt.Sprintf("%s: no live node matches Nodes=%s and has the cluster's copy of it; the elapse waits.",
							l.t.Name, strings.Join(l.nodes, " "))
					}
					m.send(ctx, func() { m.unitLog(l.t.Name, "", 4, msg) })
				}
				continue
			}
			l.waits, l.told = false, false
			eng.Fire(l.t, now, func(tr timer.Trigger) error {
				given[node.Name]++
				placed[node.Name]++
				fired = append(fired, &clusterFiring{name: l.t.Name, node: node, prev: l.state, trigger: store.Trigger{Timer: l.t.Name,
					Unit: tr.Unit, Reason: tr.Reason.String(), Invocation: newID(), Realtime: tr.At.Realtime,
					Monotonic: tr.At.Monotonic, Boot: m.boot}})
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
		now := m.clk.Now()
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
		// committed after, all at once: etcd commits together what
		// comes together, where one after the other each waits for its
		// own commit. A trigger that fails undoes its firing: the timer
		// is computed anew from the stamp (ErrStale: the stamp moved, or
		// the node left), or the term ends.
		fired, err := fire(due, now)
		if err != nil {
			return termEnd(tctx, err)
		}
		atOnce(len(fired), func(i int) {
			f := fired[i]
			f.state, f.err = term.Trigger(tctx, f.prev, f.trigger, f.node)
		})
		for _, f := range fired {
			l := all[f.name]
			switch {
			case f.err == nil:
				l.state = f.state
				running[f.name] = ClusterRunState{Timer: f.name, Node: f.node.Name, Started: f.trigger.Realtime, Running: true}
			case errors.Is(f.err, ErrStale):
				given[f.node.Name]--
				eng.Remove(l.t)
				if err := resume(l, f.name); err != nil {
					return termEnd(tctx, err)
				}
			default:
				return termEnd(tctx, f.err)
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
			if !ok {
				return termEnd(tctx, errors.New("the cluster's runs can no longer be followed"))
			}
			now := m.clk.Now()
			if ev.Node != "" {
				// A node left, or came: its runs are lost, or it may run
				// what waits.
				if err := term.MarkNodesLost(tctx, now.Realtime); err != nil {
					return termEnd(tctx, err)
				}
				retry = true
			}
			r := ev.Ended
			if r.Timer == "" || running[r.Timer].Started > r.Started {
				continue // none, or not the last run of its timer
			}
			delete(running, r.Timer)
			if l := all[r.Timer]; l != nil {
				l.t.UnitChanged(now, unitState(r, now))
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

// A clusterFiring is a cluster timer fired in the leader's engine, its
// run assigned to node, and what its trigger's commit returned.
type clusterFiring struct {
	name    string
	node    ClusterNode
	prev    store.TimerState
	trigger store.Trigger
	state   store.TimerState
	err     error
}

// clusterAtOnce bounds the calls to etcd made at once for the timers
// due together: their nodes' reads, and their triggers' commits.
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
		// Whether a timer is a cluster timer, and its hash, are known
		// from before while its files and its unit's are the same: each
		// is a parse of them, and there may be many.
		known := map[[2]*unit.Snapshot]clusterMark{}
		for _, name := range slices.Sorted(maps.Keys(m.units)) {
			e := m.units[name]
			if e.timer == nil || !e.timer.State.Active() {
				continue
			}
			se := m.units[e.trigger]
			files := [2]*unit.Snapshot{e.snap}
			if se != nil {
				files[1] = se.snap
			}
			mark, ok := m.cluster.known[files]
			if !ok {
				mark.cluster = m.isClusterTimer(e)
				if mark.cluster {
					units := []*unit.Unit{e.u()}
					if se != nil {
						units = append(units, se.u())
					}
					mark.hash, mark.nodes = unitsHash(units...), m.Cluster.NodeGlobs(e.u())
				}
			}
			known[files] = mark
			if mark.cluster {
				timers = append(timers, clusterTimer{name: name, cfg: e.timer.Config, nodes: mark.nodes, hash: mark.hash})
			}
		}
		m.cluster.known = known
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

// runAssignments starts the runs of cluster timers' units that leaders
// assign to this node, until ctx is done. Where the cluster cannot be
// followed it tries again, and the log says so once until it can be.
func (m *Manager) runAssignments(ctx context.Context) {
	told := false
	for {
		err := m.Cluster.Assignments(ctx, func(a ClusterAssignment) {
			told = false
			m.send(ctx, func() { m.startClusterRun(a) })
		})
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrSessionEnded) {
			continue // followed again once the node has joined again
		}
		if !told {
			m.log.Error("Cannot follow the runs the cluster assigns to this node; they wait until it can be.", "err", err)
			told = true
		}
		if !m.pause(ctx, clusterRetry) {
			return
		}
	}
}

// startClusterRun starts the unit of a run of a cluster timer that the
// cluster assigned to this node: its end is told to the cluster. The
// timer here, which does not fire, shows the trigger as its last.
func (m *Manager) startClusterRun(a ClusterAssignment) {
	select {
	case <-a.SessionEnded:
		// Lost with the session before it could start: its stop is
		// done, or under way.
		m.unitLog(a.Timer, "", 4, a.Unit+": Not starting a run lost to the cluster with this node's lease.")
		return
	default:
	}
	now := m.clk.Now()
	at := timer.Dual{Realtime: a.Elapse, Monotonic: monotonicOf(a.Elapse, now)}
	if te := m.units[a.Timer]; te != nil && te.timer != nil {
		te.timer.LastTrigger = at
	}
	act := activation{timer: a.Timer, reason: a.Reason, invocation: a.Invocation,
		env: timer.Trigger{Timer: &timer.Timer{Name: a.Timer}, At: at}.Env()}
	se, err := m.get(a.Unit)
	r := store.Run{Unit: a.Unit, Timer: a.Timer, Reason: a.Reason, Invocation: a.Invocation, Started: now.Realtime,
		StartedMonotonic: now.Monotonic, Boot: m.boot}
	act.runID = m.recordRun("a run of "+a.Unit, func(ctx context.Context) (int64, error) { return m.writes.StartRun(ctx, r) })
	if m.cluster.runs == nil {
		m.cluster.runs = map[int64]clusterRun{}
	}
	m.cluster.runs[act.runID] = clusterRun{run: a.Run, unit: a.Unit, session: a.SessionEnded}
	if err != nil {
		m.unitLog(a.Timer, "", 4, a.Timer+": Failed to queue unit startup job: "+err.Error())
		m.recordEnd(a.Unit, act.runID, now, "resources", "", 0)
		return
	}
	m.start(se, act, nil)
}

// clusterRunEnded tells the cluster that a run of a cluster timer's unit
// ended, if runID is one.
func (m *Manager) clusterRunEnded(unitName string, runID int64, ended timer.Instant, result, code string, status int) {
	cr, ok := m.cluster.runs[runID]
	run := cr.run
	if !ok {
		return
	}
	delete(m.cluster.runs, runID)
	// Tried again until it is recorded, while the daemon runs: a run
	// recorded running would hold its timer back for as long as its node
	// lives. Stale is recorded already (by a try whose reply was lost),
	// or lost.
	m.background.Go(func() {
		for told := false; ; told = true {
			ctx, cancel := context.WithTimeout(context.Background(), clusterEndTimeout)
			err := m.Cluster.EndRun(ctx, run, ended.Realtime, result, code, status)
			cancel()
			if err == nil || errors.Is(err, ErrStale) {
				return
			}
			if !told {
				m.log.Error(fmt.Sprintf("Failed to record the end of a run of %s in the cluster; trying again.", unitName), "err", err)
			}
			if !m.pause(m.cluster.ctx, clusterRetry) {
				return
			}
		}
	})
}

// clusterEndTimeout bounds the record of a run's end in the cluster.
const clusterEndTimeout = 10 * time.Second
