package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
)

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
