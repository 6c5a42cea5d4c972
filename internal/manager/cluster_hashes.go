package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"sundial.dev/sundial/unit"
)

// publishHashes publishes the hash of each cluster timer started here,
// as it is now, and withdraws it once the timer is stopped, until ctx is
// done, and says once in a timer's journal when its copy here is not the
// cluster's: the leader runs only those that are, and fires a cluster
// timer while it is started on a live node. The hashes go with the
// node's lease: when its session ends, they are published again under
// the next.
func (m *Manager) publishHashes(ctx context.Context) {
	published := map[string]string{} // by name
	told := false
	var session <-chan struct{} // the one they were published under
	for {
		timers, _, ok := m.startedClusterTimers(ctx)
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
		// Published side by side: a node that joins publishes every
		// cluster timer's, and etcd commits together what comes together.
		var fresh []clusterTimer
		started := map[string]bool{}
		for _, ct := range timers {
			started[ct.name] = true
			if published[ct.name] != ct.hash {
				fresh = append(fresh, ct)
			}
		}
		m.withdrawHashes(ctx, published, started)
		cluster := make([]string, len(fresh))
		errs := make([]error, len(fresh))
		atOnce(len(fresh), func(i int) { cluster[i], errs[i] = m.Cluster.PublishHash(ctx, fresh[i].name, fresh[i].hash) })
		if ctx.Err() != nil {
			return
		}
		for i, ct := range fresh {
			cl, err := cluster[i], errs[i]
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

// withdrawHashes withdraws the hashes published of the cluster timers
// no longer started here (stopped, or gone from the unit files), and
// forgets those withdrawn; one that fails is tried again at the next
// scan.
func (m *Manager) withdrawHashes(ctx context.Context, published map[string]string, started map[string]bool) {
	var gone []string
	for name := range published {
		if !started[name] {
			gone = append(gone, name)
		}
	}
	errs := make([]error, len(gone))
	atOnce(len(gone), func(i int) { errs[i] = m.Cluster.WithdrawHash(ctx, gone[i]) })
	for i, name := range gone {
		if errs[i] != nil {
			continue
		}
		delete(published, name)
		m.cluster.mu.Lock()
		delete(m.cluster.agreed, name)
		m.cluster.mu.Unlock()
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
