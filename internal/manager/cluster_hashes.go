package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"sundial.dev/sundial/unit"
)

// publishBatch is how many hashes of cluster timers one call publishes.
const publishBatch = 64

// publishHashes publishes the hash of each cluster timer started here,
// as it is now, and withdraws it once the timer is stopped, until ctx is
// done, and says in a timer's journal when its copy here is no longer
// the cluster's, and when it is again: the leader runs only those that
// are, and fires a cluster timer while it is started on a live node. The
// cluster's copy is the leader's, which it sets; until one does, the
// first published. The hashes go with the node's lease: when its
// session ends, they are published again under the next.
func (m *Manager) publishHashes(ctx context.Context) {
	published := map[string]string{} // by name
	// cluster is the cluster's hash of each timer published, as its
	// publication returned it; differs, the cluster's hash that the
	// journal last said this node's copy differs from.
	cluster, differs := map[string]string{}, map[string]string{}
	told := false
	var session <-chan struct{}  // the one they were published under
	started := map[string]bool{} // the scan's, used again
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
		// Published in batches, side by side: a node that joins
		// publishes every cluster timer's, and etcd commits together
		// what comes together.
		var fresh []clusterTimer
		clear(started)
		for _, ct := range timers {
			started[ct.name] = true
			if published[ct.name] != ct.hash {
				fresh = append(fresh, ct)
			}
		}
		for _, name := range m.withdrawHashes(ctx, published, started) {
			delete(cluster, name)
			delete(differs, name)
		}
		batches := slices.Collect(slices.Chunk(fresh, publishBatch))
		hashes := make([][]string, len(batches))
		errs := make([]error, len(batches))
		atOnce(len(batches), func(i int) {
			names, mine := make([]string, len(batches[i])), make([]string, len(batches[i]))
			for j, ct := range batches[i] {
				names[j], mine[j] = ct.name, ct.hash
			}
			hashes[i], errs[i] = m.Cluster.PublishHashes(ctx, names, mine)
		})
		if ctx.Err() != nil {
			return
		}
		for i, batch := range batches {
			if err := errs[i]; err != nil {
				if !told {
					m.log.Error("Failed to publish the hashes of cluster timers; they wait until they are.", "units", len(batch), "first", batch[0].name, "err", err)
					told = true
				}
				continue
			}
			told = false
			for j, ct := range batch {
				published[ct.name], cluster[ct.name] = ct.hash, hashes[i][j]
			}
		}
		for _, ct := range timers {
			if _, ok := published[ct.name]; ok {
				m.agree(ctx, ct, cluster[ct.name], differs)
			}
		}
		if !m.pause(ctx, clusterScan) {
			return
		}
	}
}

// agree notes whether this node's copy of a cluster timer it published
// is the cluster's: the hash its publication returned, or the one the
// node's cache of the cluster has since, which a leader may have set;
// while this node leads, its own, which it sets. The journal says when
// it is no longer, once for each hash of the cluster's (differs holds the
// one last said), and when it is again.
func (m *Manager) agree(ctx context.Context, ct clusterTimer, published string, differs map[string]string) {
	cl := published
	if h, ok := m.Cluster.ClusterHash(ct.name); m.cluster.leading.Load() {
		cl = ct.hash
	} else if ok {
		cl = h
	}
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
	var msg string
	priority := 4
	switch told, ok := differs[ct.name]; {
	case cl != ct.hash && told != cl:
		differs[ct.name] = cl
		msg = fmt.Sprintf("%s: this node's copy differs from the cluster's (hash %s, cluster %s); not running it.",
			ct.name, shortHash(ct.hash), shortHash(cl))
	case cl == ct.hash && ok:
		delete(differs, ct.name)
		msg, priority = fmt.Sprintf("%s: this node's copy is the cluster's again (hash %s); running it.", ct.name, shortHash(ct.hash)), 5
	default:
		return
	}
	m.send(ctx, func() { m.unitLog(ct.name, "", priority, msg) })
}

// withdrawHashes withdraws the hashes published of the cluster timers
// no longer started here (stopped, or gone from the unit files), forgets
// those withdrawn, and returns them; one that fails is tried again at
// the next scan.
func (m *Manager) withdrawHashes(ctx context.Context, published map[string]string, started map[string]bool) (withdrawn []string) {
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
		withdrawn = append(withdrawn, name)
	}
	return withdrawn
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
