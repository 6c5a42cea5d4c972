package manager

import (
	"context"

	"sundial.dev/sundial/internal/api"
)

// ClusterStatus answers sundial cluster status, without the manager's
// loop: the cluster is the daemon's, beside the manager.
func (b backend) ClusterStatus(ctx context.Context) (api.ClusterStatus, error) {
	if b.m.ClusterStatus == nil {
		return api.ClusterStatus{}, api.ErrNoCluster
	}
	return b.m.ClusterStatus(ctx)
}
