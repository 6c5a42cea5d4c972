package manager

import (
	"context"
	"time"
)

// watchClock compares this node's clock with the leader's at each of its
// beats, until ctx is done, and says in the log when this node's is off
// by more than a lease, and when it is in step again (within half of
// one): the cluster's timers elapse by the clock of the node that leads,
// so that a node whose clock is behind fires them late once it leads,
// and one ahead, early. A beat's time is taken before its write, so that
// the time it takes to come counts as this clock being ahead.
func (m *Manager) watchClock(ctx context.Context) {
	limit := int64(m.Cluster.Lease() / time.Microsecond)
	off := false
	for ctx.Err() == nil {
		// Its error is the cluster's being out of reach, which the
		// leader loop says.
		m.Cluster.Beats(ctx, func(at uint64) {
			skew := int64(m.clk.Now().Realtime) - int64(at)
			switch by := (time.Duration(max(skew, -skew)) * time.Microsecond).Round(time.Second); {
			case !off && skew < -limit:
				off = true
				m.log.Warn("This node's clock is " + by.String() + " behind the leader's: the cluster's timers elapse by the clock of the node that leads, and would fire " +
					by.String() + " late while this one does. Keep the nodes' clocks in step (NTP).")
			case !off && skew > limit:
				off = true
				m.log.Warn("This node's clock is " + by.String() + " ahead of the leader's: the cluster's timers elapse by the clock of the node that leads, and would fire " +
					by.String() + " early while this one does. Keep the nodes' clocks in step (NTP).")
			case off && 2*skew >= -limit && 2*skew <= limit:
				off = false
				m.log.Info("This node's clock is in step with the leader's again.")
			}
		})
		if !m.pause(ctx, clusterRetry) {
			return
		}
	}
}
