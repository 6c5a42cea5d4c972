package manager

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// A ClusterView is what the commands on any node show of the cluster its
// daemon is a node of: the runs of every node, the cluster timers as the
// leader sees them, and the journal lines of the other nodes. The Cluster
// a daemon gives its manager is one too where it can be; the manager
// knows nothing of etcd. Its calls fail at once where the node has not
// joined its cluster.
type ClusterView interface {
	// Node is this node's name.
	Node() string
	// Runs returns the cluster's run records of a timer ("" for all),
	// the last n (0 for all), oldest first, each with its node.
	Runs(ctx context.Context, timer string, n int) ([]api.Run, error)
	// PeerRuns returns the last n runs (0 for all) of a unit ("" for
	// all) in each other live node's own history, each with its node,
	// and why, by node, those that did not answer did not.
	PeerRuns(ctx context.Context, unit string, n int) ([]api.Run, map[string]error, error)
	// TimerViews returns the cluster's stamp of each timer named, and
	// its last run, by name.
	TimerViews(ctx context.Context, names []string) (map[string]ClusterTimerView, error)
	// CachedTimerViews returns the same as this node's cache of the
	// cluster has it, without reading etcd each time.
	CachedTimerViews(ctx context.Context, names []string) (map[string]ClusterTimerView, error)
	// JournalUnits returns the units the other live nodes' journals
	// have lines of; those that did not answer are left out.
	JournalUnits(ctx context.Context) ([]string, error)
	// Journal returns the lines q selects of the other live nodes, each
	// with its node, after its cursor in q.Cursors, the cursor of each
	// node's last, and names those that did not answer. A node whose
	// cursor is negative is followed from its end: none of its lines,
	// and the cursor of its last (0 for none).
	Journal(ctx context.Context, q api.JournalQuery) (api.ClusterJournal, error)
}

// A ClusterTimerView is a cluster timer as the cluster has it: its stamp
// and its last run, on whichever node (nil for none).
type ClusterTimerView struct {
	State store.TimerState
	Last  *api.Run
}

// clusterView returns the view of the daemon's cluster; nil where it is
// in none.
func (m *Manager) clusterView() ClusterView {
	v, _ := m.Cluster.(ClusterView)
	return v
}

// LocalJournal returns this node's own journal lines the query selects,
// as its peers in a cluster ask for them.
func (m *Manager) LocalJournal(ctx context.Context, q api.JournalQuery) ([]api.Entry, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	return ReadJournal(ctx, m.store, q)
}

// LocalRuns returns the last runs (0 for all) of a unit ("" for all) in
// this node's own history, as its peers in a cluster ask for them.
func (m *Manager) LocalRuns(ctx context.Context, unit string, last int) ([]api.Run, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	return ReadRuns(ctx, m.store, unit, last)
}

// LocalJournalUnits returns the units this node's own journal has lines
// of, as its peers in a cluster ask for them.
func (m *Manager) LocalJournalUnits(ctx context.Context) ([]string, error) {
	if err := m.running(); err != nil {
		return nil, err
	}
	return m.store.JournalUnits(ctx)
}

// withClusterUnits adds to the units this node's journal has lines of
// those of the other nodes', for a daemon in a cluster, in order, once
// each; where the cluster cannot be read, those of this node, with an
// api.PartialError.
func (m *Manager) withClusterUnits(ctx context.Context, local []string) ([]string, error) {
	v := m.clusterView()
	if v == nil {
		return local, nil
	}
	remote, err := v.JournalUnits(ctx)
	if err != nil {
		return local, &api.PartialError{Err: fmt.Errorf("the cluster's journal: %w; this node's alone are shown", err)}
	}
	units := slices.Concat(local, remote)
	slices.Sort(units)
	return slices.Compact(units), nil
}

// withClusterRuns adds to the runs of this node's history of a unit (""
// for all) those of the other nodes, for a daemon in a cluster: those
// in each live node's own history, which it asks them for, and those of
// the cluster's run records (the last of each timer, of live nodes and
// gone ones), each with its node; a run in both is shown once, as its
// node's history has it. The last n (0 for all) are kept, by start.
// Where the cluster cannot be read, they are this node's, and where a
// node does not answer, its runs are those of the cluster's records;
// each with an api.PartialError that says so.
func (m *Manager) withClusterRuns(ctx context.Context, local []api.Run, unitName string, n int) ([]api.Run, error) {
	v := m.clusterView()
	if v == nil {
		return local, nil
	}
	// The cluster's records are by timer: those of the cluster timers
	// that trigger the unit.
	timers := []string{""}
	if unitName != "" {
		timers = nil
		if err := m.inLoop(ctx, func() {
			if e := m.units[unitName]; e != nil {
				for _, te := range e.triggeredBy {
					if m.isClusterTimer(te) {
						timers = append(timers, te.name)
					}
				}
			}
		}); err != nil {
			return nil, err
		}
	}
	for i := range local {
		local[i].Node = v.Node()
	}
	var records []api.Run
	for _, t := range timers {
		runs, err := v.Runs(ctx, t, n)
		if err != nil {
			return local, &api.PartialError{Err: fmt.Errorf("the cluster's runs: %w; this node's alone are shown", err)}
		}
		records = append(records, slices.DeleteFunc(runs, func(r api.Run) bool { return unitName != "" && r.Unit != unitName })...)
	}
	peers, why, err := v.PeerRuns(ctx, unitName, n)
	if err != nil {
		return local, &api.PartialError{Err: fmt.Errorf("the cluster's runs: %w; this node's alone are shown", err)}
	}
	runs := slices.Concat(local, peers, records)
	seen := map[string]bool{}
	runs = slices.DeleteFunc(runs, func(r api.Run) bool {
		dup := r.Invocation != "" && seen[r.Invocation]
		seen[r.Invocation] = true
		return dup
	})
	slices.SortStableFunc(runs, func(a, b api.Run) int { return cmp.Compare(a.Started, b.Started) })
	if n > 0 && len(runs) > n {
		runs = runs[len(runs)-n:]
	}
	if len(why) > 0 {
		var missing []string
		for _, node := range slices.Sorted(maps.Keys(why)) {
			missing = append(missing, fmt.Sprintf("%s (%v)", node, why[node]))
		}
		nodes, their := "node", "its"
		if len(missing) > 1 {
			nodes, their = "nodes", "their"
		}
		return runs, &api.PartialError{Err: fmt.Errorf("the history of %s %s; of %s runs, those the cluster keeps are shown",
			nodes, strings.Join(missing, ", "), their)}
	}
	return runs, nil
}

// A shownTimer is a cluster timer that a command shows, as the loop has
// it.
type shownTimer struct {
	name  string
	cfg   *unit.TimerSection
	since timer.Dual // when it became active here
}

// shownClusterTimers returns, from the loop, those of the timers named
// that are cluster timers started here, and an engine to compute them
// in; none where the daemon is in no cluster.
func (m *Manager) shownClusterTimers(names []string) ([]shownTimer, *timer.Engine) {
	if m.clusterView() == nil {
		return nil, nil
	}
	var shown []shownTimer
	for _, name := range names {
		if e := m.units[name]; e != nil && e.timer != nil && e.timer.State.Active() && m.isClusterTimer(e) {
			shown = append(shown, shownTimer{name: name, cfg: e.timer.Config, since: e.timer.InactiveExit})
		}
	}
	if len(shown) == 0 {
		return nil, nil
	}
	return shown, m.copyEngine()
}

// A viewedTimer is a cluster timer as the leader sees it: a timer of the
// engine's, resumed from the cluster's stamp and waiting for its last
// run if that runs, and that run.
type viewedTimer struct {
	t    *timer.Timer
	last *api.Run
	now  timer.Instant // when it was computed, on the engine's clock
}

// next is the timer's next elapse, realtime µs, as NextElapse.
func (v viewedTimer) next() uint64 {
	return v.t.NextElapse(v.now)
}

// lastTrigger is the timer's last trigger on this machine's clocks.
func (v viewedTimer) lastTrigger() timer.Dual {
	return timer.Dual{Realtime: v.t.LastTrigger.Realtime, Monotonic: localMonotonic(v.t.LastTrigger.Monotonic)}
}

// viewClusterTimers computes, out of the loop, the timers shown as the
// leader would: each from the cluster's stamp, by eng.
func (m *Manager) viewClusterTimers(ctx context.Context, eng *timer.Engine, shown []shownTimer) (map[string]viewedTimer, error) {
	if len(shown) == 0 {
		return nil, nil
	}
	names := make([]string, len(shown))
	for i, s := range shown {
		names[i] = s.name
	}
	views, err := m.clusterView().TimerViews(ctx, names)
	if err != nil {
		return nil, err
	}
	now := m.clk.Now()
	out := make(map[string]viewedTimer, len(shown))
	for _, s := range shown {
		out[s.name] = viewTimer(eng, s, views[s.name], now)
	}
	return out, nil
}

// viewTimer computes by eng a cluster timer shown as the leader would,
// at now on this machine's clocks: resumed from the cluster's stamp and
// its unit's last run.
func viewTimer(eng *timer.Engine, s shownTimer, v ClusterTimerView, now timer.Instant) viewedTimer {
	t := eng.Add(s.name, s.cfg)
	var run ClusterRunState
	if r := v.Last; r != nil {
		run = ClusterRunState{Timer: r.Timer, Node: r.Node, Started: r.Started, Ended: r.Ended, Running: r.State == string(store.RunRunning)}
	}
	now = clusterInstant(now)
	resumeCluster(t, v.State, run, clusterDual(s.since), now)
	return viewedTimer{t: t, last: v.Last, now: now}
}

// clusterViews are the cluster's views of the cluster timers started
// here, as readClusterViews last read them, by name.
type clusterViews struct {
	mu    sync.Mutex
	views map[string]ClusterTimerView // replaced, never written
}

// readClusterViews reads, for a daemon in a cluster, the cluster's view
// of each cluster timer started here, for a snapshot: from the node's
// cache, not etcd, but a timer's last run the first time. They are read
// when a snapshot is asked for, not each second: they are thousands,
// and often no one looks. A read that fails leaves the last: the page
// and the metrics show the cluster as last seen.
func (m *Manager) readClusterViews(ctx context.Context) {
	v := m.clusterView()
	if v == nil {
		return
	}
	var timers []clusterTimer
	if m.inLoop(ctx, func() { timers = m.listedClusterTimers() }) != nil {
		return
	}
	var names []string
	for _, ct := range timers {
		if ct.started {
			names = append(names, ct.name)
		}
	}
	if views, err := v.CachedTimerViews(ctx, names); err == nil {
		m.views.mu.Lock()
		m.views.views = views
		m.views.mu.Unlock()
	}
}

// snapshotClusterTimers computes, in the loop, the cluster timers
// started here as the leader sees them, from the views last read, by
// name; and the last run in the cluster of each one's unit, by the
// unit's name.
func (m *Manager) snapshotClusterTimers(now timer.Instant) (map[string]viewedTimer, map[string]*api.Run) {
	m.views.mu.Lock()
	views := m.views.views
	m.views.mu.Unlock()
	if len(views) == 0 {
		return nil, nil
	}
	eng := m.copyEngine()
	timers, last := make(map[string]viewedTimer, len(views)), map[string]*api.Run{}
	for name, v := range views {
		e := m.units[name]
		if e == nil || e.timer == nil || !e.timer.State.Active() {
			continue // stopped since
		}
		timers[name] = viewTimer(eng, shownTimer{name: name, cfg: e.timer.Config, since: e.timer.InactiveExit}, v, now)
		if r := v.Last; r != nil && (last[r.Unit] == nil || r.Started > last[r.Unit].Started) {
			last[r.Unit] = r
		}
	}
	return timers, last
}

// showClusterTimers shows the cluster timers among timers as the leader
// sees them: their last trigger the cluster's, and their next elapse
// computed from it. Where the cluster cannot be asked, they are shown as
// they are here.
func (m *Manager) showClusterTimers(ctx context.Context, timers []api.Timer, eng *timer.Engine, shown []shownTimer) {
	viewed, err := m.viewClusterTimers(ctx, eng, shown)
	if err != nil {
		return
	}
	now := m.clk.Now()
	for i := range timers {
		v, ok := viewed[timers[i].Unit]
		if !ok {
			continue
		}
		t := &timers[i]
		last := v.lastTrigger()
		t.State, t.Next, t.Monotonic = v.t.State.String(), v.next(), now.Monotonic
		t.LastTrigger, t.LastTriggerMonotonic = last.Realtime, last.Monotonic
	}
}

// showClusterUnits shows the cluster timers among units as the leader
// sees them, as showClusterTimers: their next elapse, their last run,
// and the properties of both.
func (m *Manager) showClusterUnits(ctx context.Context, units []api.Unit, eng *timer.Engine, shown []shownTimer) {
	viewed, err := m.viewClusterTimers(ctx, eng, shown)
	if err != nil {
		return
	}
	for i := range units {
		v, ok := viewed[units[i].Name]
		if !ok {
			continue
		}
		u := &units[i]
		u.NextElapse, u.LastRun = v.next(), v.last
		if u.Properties == nil {
			continue
		}
		// As timerProperties, of the timer the leader sees.
		var stamps props
		stamps.elapseStamps(v.t.NextRealtime, localMonotonic(v.t.NextMonotonic), v.lastTrigger())
		for j, p := range u.Properties {
			if k := slices.IndexFunc(stamps, func(s api.Property) bool { return s.Name == p.Name }); k >= 0 {
				u.Properties[j] = stamps[k]
			}
		}
	}
}

// copyEngine is a timer engine for cluster timers, set as the manager's,
// without its timers and its log, on their clock (clusterInstant); from
// the loop. Its random delays are drawn from each timer's name and last
// trigger (clusterDraw), so that the leader fires an elapse where every
// node shows it.
func (m *Manager) copyEngine() *timer.Engine {
	e := m.engine
	return &timer.Engine{Location: e.Location, Startup: clusterInstant(e.Startup), InContainer: e.InContainer, MachineID: e.MachineID,
		User: e.User, UID: e.UID, Perturbation: e.Perturbation, CanWake: e.CanWake, Draw: clusterDraw, LogLevel: e.LogLevel}
}

// clusterDraw is the random delay of a cluster timer, before its modulo,
// drawn from its name and its last trigger's realtime µs: uniform over
// the timers and their elapses, as systemd's fresh draws are, and the
// same on every node, and after a failover.
func clusterDraw(name string, last uint64) uint64 {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d", name, last)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// ClusterJournal answers journalctl: the lines of this node, and for a
// daemon in a cluster those of the other live nodes, merged by time,
// each with its node. The last or first of q are those of all the lines.
// Where the cluster cannot be read, they are this node's, with an
// api.PartialError.
func (b backend) ClusterJournal(ctx context.Context, q api.JournalQuery) (api.ClusterJournal, error) {
	v := b.m.clusterView()
	if v == nil {
		return ReadNodeJournal(ctx, b.m.store, q, "")
	}
	j, err := ReadNodeJournal(ctx, b.m.store, q, v.Node())
	if err != nil {
		return api.ClusterJournal{}, err
	}
	remote, err := v.Journal(ctx, q)
	if err != nil {
		return j, &api.PartialError{Err: fmt.Errorf("the cluster's journal: %w; this node's alone are shown", err)}
	}
	maps.Copy(j.Cursors, remote.Cursors)
	entries := slices.Concat(j.Entries, remote.Entries)
	slices.SortStableFunc(entries, func(a, b api.Entry) int { return cmp.Compare(a.Realtime, b.Realtime) })
	switch {
	case q.Last > 0 && len(entries) > q.Last:
		entries = entries[len(entries)-q.Last:]
	case q.First > 0 && len(entries) > q.First:
		entries = entries[:q.First]
	}
	return api.ClusterJournal{Entries: entries, Missing: remote.Missing, Why: remote.Why, Cursors: j.Cursors}, nil
}

// ReadNodeJournal answers a journal query of a cluster's from the store
// of its node ("" for a daemon in no cluster), as ReadJournal: after the
// node's cursor in q.Cursors, if any, each entry with the node's name,
// and the cursor of the last.
func ReadNodeJournal(ctx context.Context, st *store.Store, q api.JournalQuery, node string) (api.ClusterJournal, error) {
	q.After = q.Cursors[node]
	entries, err := ReadJournal(ctx, st, q)
	if err != nil {
		return api.ClusterJournal{}, err
	}
	j := api.ClusterJournal{Entries: entries, Cursors: map[string]int64{}}
	for i := range entries {
		entries[i].Node = node
		j.Cursors[node] = entries[i].Cursor
	}
	return j, nil
}
