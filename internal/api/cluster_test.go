package api

import (
	"context"
	"slices"
	"testing"
)

type clusterFake struct {
	fakeBackend
	st ClusterStatus
}

func (f clusterFake) ClusterStatus(context.Context) (ClusterStatus, error) { return f.st, nil }

// A backend in a cluster answers for it; one that is not says so.
func TestClusterStatus(t *testing.T) {
	want := ClusterStatus{Node: "a", Lease: "1f", LeaseTTL: 2, LeaseLeft: 1, Endpoint: "http://127.0.0.1:2379", Healthy: true, Leader: "b",
		Members: []ClusterMember{{Name: "a", ID: "8e", PeerURLs: []string{"http://127.0.0.1:2380"}, ClientURLs: []string{"http://127.0.0.1:2379"}, RaftLeader: true}}}
	for _, tc := range []struct {
		name    string
		backend Backend
		err     string
	}{
		{"in a cluster", clusterFake{st: want}, ""},
		{"in none", fakeBackend{}, "api: " + ErrNoCluster.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&Client{Socket: serveLimited(t, tc.backend, func() {})}).ClusterStatus(t.Context())
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("ClusterStatus() = %+v, %v; want the error %s", got, err, tc.err)
				}
				return
			}
			if err != nil || got.Node != want.Node || got.Leader != want.Leader || !got.Healthy || got.LeaseLeft != 1 ||
				len(got.Members) != 1 || !slices.Equal(got.Members[0].PeerURLs, want.Members[0].PeerURLs) || !got.Members[0].RaftLeader {
				t.Errorf("ClusterStatus() = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}
