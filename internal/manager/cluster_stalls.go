package manager

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// A watched is a cluster timer as the stall watcher sees it: what it
// computed, not a timer kept in an engine, as every node watches every
// cluster timer.
type watched struct {
	cfg     *unit.TimerSection
	since   timer.Dual // when the watcher first saw it, as it became active
	version int64      // of the stamp its next elapse was computed from
	due     uint64     // that elapse, realtime µs, from the stamp alone; 0 for none
	told    bool       // that it is overdue
}

// watchStalls reads, on every node, the cluster's stamp of each cluster
// timer started here whose copy is the cluster's, and says once in the
// timer's journal when its next elapse from that stamp is overdue by more
// than twice a leader's lease: no leader has fired it, though a leader
// gone is replaced within one lease; or no live node may run it, and it
// waits for one. An elapse that waits for its unit's run to end, as
// systemd's do, is due from that end.
func (m *Manager) watchStalls(ctx context.Context) {
	stall := uint64(2 * m.Cluster.Lease() / time.Microsecond)
	var eng *timer.Engine
	all := map[string]*watched{}
	seen := map[string]bool{} // the scan's, used again
	for {
		began := m.clk.Now()
		timers, e, ok := m.startedClusterTimers(ctx)
		if !ok {
			return
		}
		if eng == nil {
			eng = e
		}
		clear(seen)
		// One reading of the clocks for the scan: it takes moments,
		// and a stall is two leases overdue.
		now := clusterInstant(m.clk.Now())
		for _, ct := range timers {
			st, err := m.Cluster.Timer(ctx, ct.name)
			if ctx.Err() != nil {
				return
			}
			if err != nil || !m.agrees(ct) {
				continue // unreachable (the leader loop says so), or another copy
			}
			seen[ct.name] = true
			w := all[ct.name]
			if w == nil || w.cfg != ct.cfg || w.version != st.Version {
				since := timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}
				if w != nil {
					since = w.since
				}
				w = &watched{cfg: ct.cfg, since: since, version: st.Version, due: nextFrom(eng, ct, st, ClusterRunState{}, since, now)}
				all[ct.name] = w
			}
			// From the stamp alone the elapse is at its earliest: the
			// unit's last run only puts it later, or off while it runs.
			// That run is read only when this one is overdue.
			if w.told || w.due == 0 || now.Realtime <= w.due+stall {
				continue
			}
			last, err := m.Cluster.LastRun(ctx, ct.name)
			if err != nil {
				continue
			}
			due := nextFrom(eng, ct, st, last, w.since, now)
			if due == 0 || now.Realtime <= max(due, last.Ended)+stall {
				continue
			}
			// An elapse that no live node may run waits for one, as
			// the leader's journal says too: that is why.
			nodes, err := m.Cluster.Candidates(ctx, []string{ct.name})
			if err != nil {
				continue
			}
			w.told = true
			why := "no leader has fired it"
			if _, ok := placeRun(nodes[0], ct.nodes, nil); !ok {
				why = "no live node has the cluster's copy of it"
				if len(ct.nodes) > 0 {
					why = "no live node matches Nodes=" + strings.Join(ct.nodes, " ") + " and has the cluster's copy of it"
				}
			}
			msg := fmt.Sprintf("%s: overdue by %d s; %s.", ct.name, (now.Realtime-max(due, last.Ended))/uint64(time.Second/time.Microsecond), why)
			m.send(ctx, func() { m.unitLog(ct.name, "", 4, msg) })
		}
		maps.DeleteFunc(all, func(name string, _ *watched) bool { return !seen[name] })
		// The next scan is due a scan's period after this one began:
		// at once if the clock has passed that while it ran.
		if !m.pause(ctx, clusterScan-time.Duration(m.clk.Now().Monotonic-began.Monotonic)*time.Microsecond) {
			return
		}
	}
}

// nextFrom is the next elapse of a cluster timer, realtime µs (0 for
// none), taken up from the cluster's stamp and its unit's last run, as
// active since since, in the engine for the while it takes.
func nextFrom(eng *timer.Engine, ct clusterTimer, st store.TimerState, last ClusterRunState, since timer.Dual, now timer.Instant) uint64 {
	t := eng.Add(ct.name, ct.cfg)
	defer eng.Remove(t)
	resumeCluster(t, st, last, since, now)
	return t.NextElapse(now)
}
