package manager

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
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
	// PublishCopies publishes the hashes of this node's copies of the
	// cluster timers started here (and their services), by timer, in
	// place of those it published before, and returns the cluster's of
	// each: the first one published by any node, until a leader sets its
	// own. A timer no longer started here is withdrawn by its absence. It
	// waits until the node has joined.
	PublishCopies(ctx context.Context, hashes map[string]string) (cluster map[string]string, err error)
	// ClusterHash returns the cluster's hash of a cluster timer as this
	// node last knew it, and whether it knew one.
	ClusterHash(timer string) (string, bool)
	// Candidates returns, for each of timers, the live nodes where it is
	// started and whose copy of it is the cluster's, as ClusterTerm's
	// Nodes does, for any node to read. It waits until the node has
	// joined.
	Candidates(ctx context.Context, timers []string) ([][]ClusterNode, error)
	// Timer reads a cluster timer's stamp, as any node may. It waits
	// until the node has joined.
	Timer(ctx context.Context, name string) (store.TimerState, error)
	// LastRun tells of the last run of a cluster timer's unit, on any
	// node; the zero state for none.
	LastRun(ctx context.Context, timer string) (ClusterRunState, error)
	// Lease is the life of a leader's lease: a leader gone is replaced
	// within it.
	Lease() time.Duration
	// Beats calls each with the time of each of a leader's beats,
	// realtime µs by its clock, from the last one on, as they come,
	// until ctx ends or the cluster cannot be followed. It waits until
	// the node has joined.
	Beats(ctx context.Context, each func(at uint64)) error
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
	// Nodes returns, for each of timers, the live nodes where it is
	// started and whose copy of the cluster timer and its unit is the
	// cluster's, with how busy each is.
	Nodes(ctx context.Context, timers []string) ([][]ClusterNode, error)
	// Timer reads a cluster timer's stamp.
	Timer(ctx context.Context, name string) (store.TimerState, error)
	// Trigger moves the stamp of each of ts's cluster timers from its
	// Prev and records its run assigned to its Node, each in a write
	// that holds only while the term does, and the node is still the one
	// Nodes returned; those given together are committed in few writes.
	// It returns each one's new state, or why it failed.
	Trigger(ctx context.Context, ts []ClusterTrigger) ([]store.TimerState, []error)
	// Down reports whether the whole cluster was down since the last
	// term's last beat: no node that lives now lived then.
	Down(ctx context.Context) (bool, error)
	// Beat says that the term leads still, at realtime µs, with the
	// nodes that live.
	Beat(ctx context.Context, at uint64) error
	// SetHashes makes the hashes of cluster timers, by name, the
	// cluster's, in writes that hold only while the term does.
	SetHashes(ctx context.Context, hashes map[string]string) error
	// Activate moves the stamp of each of as's cluster timers from its
	// Prev to one active since its At, each in a write that holds only
	// while the term does; those given together are committed in few
	// writes. It returns each one's new state, or why it failed.
	Activate(ctx context.Context, as []ClusterActivation) ([]store.TimerState, []error)
}

// A ClusterActivation is a cluster timer's activation to commit, at
// realtime µs At, from its stamp Prev.
type ClusterActivation struct {
	Timer string
	Prev  store.TimerState
	At    uint64
}

// A ClusterTrigger is a cluster timer's trigger to commit, from its
// stamp Prev, its run assigned to Node.
type ClusterTrigger struct {
	Prev    store.TimerState
	Trigger store.Trigger
	Node    ClusterNode
}

// A ClusterNode is a live node that may run a cluster timer's unit.
type ClusterNode struct {
	Name string
	// Busy is how many runs, of any timer, it has not ended.
	Busy int
	// Lease tells the node from one started again under its name.
	Lease int64
	// Hash is that of its copy of the cluster timer: the cluster's.
	Hash string
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
	// started is set when it is started here, not only loaded.
	started bool
	cfg     *unit.TimerSection
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
	// leading is set while this node leads the cluster's timers: its
	// copies are the cluster's, which it sets.
	leading atomic.Bool
	mu      sync.Mutex
	// agreed are the hashes of the cluster timers whose copy here is the
	// cluster's, by name: the leader runs no other.
	agreed map[string]string
	// listed are the cluster timers loaded here, in order of name; nil
	// once units are added, dropped or loaded again (unitsChanged),
	// until a scan lists them again. known are the timers loaded here
	// when they were last listed, by their files and their units':
	// whether each is a cluster timer, its hash and Nodes=; pass counts
	// the listings. The manager's loop's only.
	listed []listedTimer
	known  map[[2]*unit.Snapshot]clusterMark
	pass   uint64
}

// A listedTimer is a cluster timer loaded here, with its entry, whose
// timer's state and settings a scan reads anew.
type listedTimer struct {
	e     *entry
	nodes []string
	hash  string
}

// A clusterMark is what a timer's files say of it as a cluster timer:
// whether it is one, and then its hash and its Nodes= globs; pass is the
// last scan that found it.
type clusterMark struct {
	cluster bool
	hash    string
	nodes   []string
	pass    uint64
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
	m.background.Go(func() { m.watchClock(ctx) })
}

// clusterEpoch is how long before this machine's boot the monotonic
// clocks of the engines of cluster timers begin, µs: some 142 years.
// Their stamps are realtime µs of any node, often of before this one
// booted (an activation a day old, on a node up for an hour). On the
// machine's own monotonic clock each of those would be its boot, and
// the elapses that count from them (OnActiveSec=, OnUnitActiveSec=)
// would come that much late, or not at all.
const clusterEpoch = uint64(1) << 52

// clusterInstant is now as the engines of cluster timers count it.
func clusterInstant(now timer.Instant) timer.Instant {
	now.Monotonic += clusterEpoch
	now.Boottime += clusterEpoch
	return now
}

// clusterDual is a stamp of this machine's in the engines of cluster
// timers.
func clusterDual(d timer.Dual) timer.Dual {
	return timer.Dual{Realtime: d.Realtime, Monotonic: d.Monotonic + clusterEpoch}
}

// localMonotonic is a monotonic µs of the engines of cluster timers on
// this machine's clock: 0, its boot, for one before.
func localMonotonic(mono uint64) uint64 {
	return mono - min(mono, clusterEpoch)
}

// monotonicOf is a realtime µs of another node's on the monotonic clock
// of now, which OnUnitActiveSec= and its kind count from: 0 for before
// that clock began.
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
// loaded here, started or not, and a timer engine for them, set as the
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
		timers = m.listedClusterTimers()
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

// listedClusterTimers returns, from the loop, the cluster timers loaded
// here, started or not, in order of name.
func (m *Manager) listedClusterTimers() []clusterTimer {
	if m.cluster.listed == nil {
		m.listClusterTimers()
	}
	timers := make([]clusterTimer, 0, len(m.cluster.listed))
	for _, l := range m.cluster.listed {
		if t := l.e.timer; t != nil {
			timers = append(timers, clusterTimer{name: l.e.name, started: t.State.Active(), cfg: t.Config, nodes: l.nodes, hash: l.hash})
		}
	}
	return timers
}

// listClusterTimers lists the cluster timers loaded here, from the loop.
// The scans run each second, several at once, over as many timers as
// there may be thousands: they read the list made once for the units
// loaded, rather than walk every unit, and sort what they find, each
// time. Whether a timer is a cluster timer, and its hash, are known
// from before while its files and its unit's are the same: each is a
// parse of them.
func (m *Manager) listClusterTimers() {
	if m.cluster.known == nil {
		m.cluster.known = map[[2]*unit.Snapshot]clusterMark{}
	}
	m.cluster.pass++
	pass := m.cluster.pass
	m.cluster.listed = []listedTimer{}
	for _, e := range m.units {
		if e.timer == nil {
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
		mark.pass = pass
		m.cluster.known[files] = mark
		if mark.cluster {
			m.cluster.listed = append(m.cluster.listed, listedTimer{e: e, nodes: mark.nodes, hash: mark.hash})
		}
	}
	maps.DeleteFunc(m.cluster.known, func(_ [2]*unit.Snapshot, mark clusterMark) bool { return mark.pass != pass })
	slices.SortFunc(m.cluster.listed, func(a, b listedTimer) int { return strings.Compare(a.e.name, b.e.name) })
}

// startedClusterTimers is clusterTimers, of those started here only.
func (m *Manager) startedClusterTimers(ctx context.Context) (timers []clusterTimer, eng *timer.Engine, ok bool) {
	all, eng, ok := m.clusterTimers(ctx)
	// The list is the caller's: filtered in place.
	return slices.DeleteFunc(all, func(ct clusterTimer) bool { return !ct.started }), eng, ok
}
