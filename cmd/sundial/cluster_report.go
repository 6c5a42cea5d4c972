package main

import (
	"context"

	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/web"
)

var _ web.ClusterSource = (*clusterNode)(nil)

// ClusterReport is what the node sees of its cluster now and has counted,
// for the metrics and the readiness check.
func (n *clusterNode) ClusterReport(ctx context.Context) cluster.Report {
	r := cluster.Report{Node: n.name, Stats: n.meter.Stats()}
	c, err := clusterTimers{n}.open()
	if err != nil {
		r.Problems = []string{err.Error()}
		return r
	}
	r.Joined, r.Health = true, c.Health(ctx)
	return r
}
