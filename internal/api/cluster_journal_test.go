package api

import (
	"context"
	"reflect"
	"testing"
)

type clusterJournalFake struct{ fakeBackend }

func (clusterJournalFake) ClusterJournal(_ context.Context, q JournalQuery) (ClusterJournal, error) {
	return ClusterJournal{Entries: []Entry{{Unit: q.Units[0], Message: "hello", Node: "b"}}, Missing: []string{"c"}}, nil
}

// A backend in a cluster answers with the lines of its nodes, naming
// those missing; one in none with its own lines.
func TestClusterJournal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend Backend
		want    ClusterJournal
	}{
		{"in a cluster", clusterJournalFake{}, ClusterJournal{Entries: []Entry{{Unit: "a.service", Message: "hello", Node: "b"}}, Missing: []string{"c"}}},
		{"in none", fakeBackend{}, ClusterJournal{Entries: []Entry{{Unit: "a.service", Message: "hello"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&Client{Socket: serveLimited(t, tc.backend, func() {})}).ClusterJournal(t.Context(), JournalQuery{Units: []string{"a.service"}})
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ClusterJournal() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
