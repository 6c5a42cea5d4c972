package main

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/cluster"
)

// The report of a node of a cluster, once joined, says what it sees and
// what its meter counted: its requests, and the term it won.
func TestClusterReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	dir := t.TempDir()
	n := startCluster(t.Context(), cluster.Config{Name: "a", DataDir: filepath.Join(dir, "data"),
		ListenPeerURLs: []string{"unix://" + filepath.Join(dir, "peer")}, ListenClientURLs: []string{"unix://" + filepath.Join(dir, "client")},
		Tick: 10 * time.Millisecond, UnsafeNoFsync: true, LeaseTTL: time.Second}, slog.New(slog.DiscardHandler))
	defer n.stop()
	await.Until(t, func() bool {
		select {
		case <-n.done:
			t.Fatalf("the node did not join: %v", n.err)
		case <-n.joined:
			return true
		default:
		}
		return false
	}, "the node to join")
	r := n.ClusterReport(t.Context())
	if !r.Joined || !r.Healthy || r.Node != "a" || r.Nodes != 1 || r.Leader != "" || r.Leading() ||
		!slices.Equal(r.Problems, []string{"no node leads the cluster's timers"}) {
		t.Errorf("report of a node joined = %+v; want a joined, healthy, alone, no leader", r)
	}
	term, err := clusterTimers{n}.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer term.Resign()
	r = n.ClusterReport(t.Context())
	if r.Leader != "a" || !r.Leading() || r.TermsWon != 1 || len(r.Problems) > 0 {
		t.Errorf("report of a node leading = %+v; want a leading, in its first term", r)
	}
	for _, q := range r.Requests {
		if q.Op == "put" && q.Duration.Count != 2 {
			t.Errorf("puts counted: %d; want the node's key and the term's", q.Duration.Count)
		}
	}
}
