package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"

	"sundial.dev/sundial/unit"
)

// publishHashes publishes the hashes of the cluster timers started here,
// as they are now, all together, whenever they change (a timer started,
// stopped or changed), until ctx is done, and says in a timer's journal
// when its copy here is no longer the cluster's, and when it is again:
// the leader runs only those that are, and fires a cluster timer while
// it is started on a live node. The cluster's copy is the leader's,
// which it sets; until one does, the first published. The hashes go with
// the node's lease: when its session ends, they are published again
// under the next.
func (m *Manager) publishHashes(ctx context.Context) {
	// published are the hashes published, by name, nil for none under
	// the session; cluster is the cluster's hash of each, as the
	// publication returned it; differs, the cluster's hash that the
	// journal last said this node's copy differs from.
	var published, cluster map[string]string
	differs := map[string]string{}
	told := false
	var session <-chan struct{} // the one they were published under
	for {
		timers, _, ok := m.startedClusterTimers(ctx)
		if !ok {
			return
		}
		select {
		case <-session:
			published, session = nil, nil
		default:
		}
		if session == nil && len(timers) > 0 {
			session, _ = m.Cluster.SessionEnded(ctx) // nil where the node failed to join: publishing fails too
		}
		mine := make(map[string]string, len(timers))
		for _, ct := range timers {
			mine[ct.name] = ct.hash
		}
		if !maps.Equal(mine, published) && (published != nil || len(mine) > 0) {
			got, err := m.Cluster.PublishCopies(ctx, mine)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				if !told {
					m.log.Error("Failed to publish the hashes of cluster timers; they wait until they are.", "units", len(mine), "err", err)
					told = true
				}
			} else {
				told = false
				for name := range published {
					if _, ok := mine[name]; !ok {
						m.withdrawn(name, differs)
					}
				}
				published, cluster = mine, got
			}
		}
		for _, ct := range timers {
			if h, ok := published[ct.name]; ok && h == ct.hash {
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

// withdrawn forgets what was known of a cluster timer no longer started
// here, once its hash is withdrawn.
func (m *Manager) withdrawn(name string, differs map[string]string) {
	delete(differs, name)
	m.cluster.mu.Lock()
	delete(m.cluster.agreed, name)
	m.cluster.mu.Unlock()
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
