package main

import (
	"testing"

	"sundial.dev/sundial/internal/api"
)

// cluster status says the leader and the lease not known without a
// quorum, and the lease not known where it could not be read with one.
func TestClusterLeaderLease(t *testing.T) {
	for _, tc := range []struct {
		name          string
		st            api.ClusterStatus
		leader, lease string
	}{
		{"led", api.ClusterStatus{Quorum: true, Leader: "b", LeaseTTL: 2, LeaseLeft: 1}, "b", "2s, 1s left"},
		{"no leader", api.ClusterStatus{Quorum: true, LeaseTTL: 2, LeaseLeft: 2}, "none", "2s, 2s left"},
		{"no quorum", api.ClusterStatus{}, "not known without a quorum", "not known without a quorum"},
		{"lease expired", api.ClusterStatus{Quorum: true, Leader: "b", Problems: []string{"the node's lease has expired"}}, "b", "not known"},
	} {
		if leader, lease := clusterLeaderLease(tc.st); leader != tc.leader || lease != tc.lease {
			t.Errorf("%s: leader %q, lease %q; want %q, %q", tc.name, leader, lease, tc.leader, tc.lease)
		}
	}
}
