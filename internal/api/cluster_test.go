package api

import (
	"context"
	"errors"
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

// partialFake answers with its own runs and a PartialError, as a
// daemon whose cluster does not answer.
type partialFake struct{ fakeBackend }

func (partialFake) Runs(_ context.Context, unit string, _ int) ([]Run, error) {
	return []Run{{Unit: unit}}, &PartialError{Err: errors.New("the cluster's runs: etcd did not answer")}
}

// A daemon's answer without the cluster's part comes with the reason,
// which the client returns with the answer.
func TestPartial(t *testing.T) {
	runs, err := (&Client{Socket: serveLimited(t, partialFake{}, func() {})}).Runs(t.Context(), "a.service", 0)
	p, ok := errors.AsType[*PartialError](err)
	if !ok || p.Error() != "the cluster's runs: etcd did not answer" || !slices.Equal(runs, []Run{{Unit: "a.service"}}) {
		t.Errorf("Runs() = %+v, %v; want a.service's and the reason the cluster's are not there", runs, err)
	}
}
