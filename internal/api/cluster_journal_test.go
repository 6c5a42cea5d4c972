package api

import (
	"context"
	"path/filepath"
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
			sock := filepath.Join(t.TempDir(), "control")
			l, err := Listen(sock)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- Serve(ctx, l, tc.backend) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve: %v", err)
				}
			}()
			got, err := (&Client{Socket: sock}).ClusterJournal(t.Context(), JournalQuery{Units: []string{"a.service"}})
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ClusterJournal() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
