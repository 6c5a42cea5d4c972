package main

import (
	"context"
	"sync"
	"time"

	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/web"
)

var _ web.ClusterSource = (*clusterNode)(nil)

// ClusterReport is what the node last saw of its cluster and what it has
// counted, for the metrics and the readiness check. It never waits for
// etcd: its health is looked at by the node's own goroutine.
func (n *clusterNode) ClusterReport() cluster.Report {
	r := cluster.Report{Node: n.name, Stats: n.meter.Stats()}
	if _, err := (clusterTimers{n}).open(); err != nil {
		r.Problems = []string{err.Error()}
		return r
	}
	r.Joined, r.Health = true, n.health.last()
	return r
}

// A healthWatch keeps what a node last saw of its cluster's health. A
// scrape or a readiness check reads it at once, rather than asking etcd,
// which answers slowest, at a request's deadline, just when it is cut off
// and they matter most.
type healthWatch struct {
	mu     sync.Mutex
	health cluster.Health
	seen   bool // looked at once
}

// healthNotSeen is the health of a node that has not looked yet.
const healthNotSeen = "the cluster's health is not known yet"

// last returns the health last seen.
func (w *healthWatch) last() cluster.Health {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.seen {
		return cluster.Health{Problems: []string{healthNotSeen}}
	}
	return w.health
}

// watch looks at the health now and then every d, until ctx is done: d is
// the lease's life, within which a leader gone is replaced.
func (w *healthWatch) watch(ctx context.Context, look func(context.Context) cluster.Health, d time.Duration) {
	for {
		h := look(ctx)
		if ctx.Err() != nil {
			return // cut short, it would say only that
		}
		w.mu.Lock()
		w.health, w.seen = h, true
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
}
