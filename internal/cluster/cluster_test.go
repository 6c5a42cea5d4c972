package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
)

// testMember starts a member of a cluster of its own, on unix sockets in
// a temporary directory, with short ticks and leases, and no fsync; set
// changes its config.
func testMember(t *testing.T, name string, set ...func(*Config)) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	dir := t.TempDir()
	cfg := Config{Name: name, DataDir: filepath.Join(dir, "data"),
		ListenPeerURLs: []string{"unix://" + filepath.Join(dir, "peer")}, ListenClientURLs: []string{"unix://" + filepath.Join(dir, "client")},
		Tick: 10 * time.Millisecond, UnsafeNoFsync: true}
	for _, f := range set {
		f(&cfg)
	}
	return testOpen(t, cfg)
}

// testClient connects another node, name, to member's cluster.
func testClient(t *testing.T, name string, member *Cluster) *Cluster {
	t.Helper()
	return testOpen(t, Config{Name: name, Endpoints: member.cfg.AdvertiseClientURLs})
}

func testOpen(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	cfg.LeaseTTL = time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	c, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// nodes returns the names under nodes/, in order.
func nodes(t *testing.T, c *Cluster) []string {
	t.Helper()
	resp, err := c.client.Get(t.Context(), nodesPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, kv := range resp.Kvs {
		names = append(names, string(kv.Key[len(nodesPrefix):]))
	}
	return names
}

// Each node has its key while it is open, its member's or a client's.
func TestOpen(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	if got := nodes(t, a); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("nodes = %q, want a and b", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := nodes(t, a); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("nodes after b's Close = %q, want a", got)
	}
}

// A member of a new cluster whose other members never come is not ready;
// Open gives up when its context ends, having stopped the member.
func TestOpenNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	peer := "unix://" + filepath.Join(dir, "peer")
	cfg := Config{Name: "a", DataDir: filepath.Join(dir, "data"), InitialCluster: "a=" + peer + ",b=unix://" + filepath.Join(dir, "nobody"),
		ListenPeerURLs: []string{peer}, ListenClientURLs: []string{"unix://" + filepath.Join(dir, "client")},
		Tick: 10 * time.Millisecond, UnsafeNoFsync: true, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	cancel()
	if c, err := Open(ctx, cfg); !errors.Is(err, context.Canceled) {
		if err == nil {
			c.Close()
		}
		t.Fatalf("Open of a member without a quorum, canceled = %v; want context.Canceled", err)
	}
}

func TestStatus(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	term, err := b.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer term.Resign()
	st := a.Status(t.Context())
	if !st.Healthy || !st.Quorum || len(st.Problems) > 0 || st.Node != "a" || st.Leader != "b" || st.LeaseTTL != 1 || st.Lease != int64(a.lease()) {
		t.Errorf("Status = %+v; want a healthy, b leading, a's lease of 1s", st)
	}
	if len(st.Members) != 1 || st.Members[0].Name != "a" || !st.Members[0].RaftLeader || !st.Members[0].Healthy ||
		!slices.Equal(st.Members[0].ClientURLs, a.cfg.AdvertiseClientURLs) {
		t.Errorf("Status's members = %+v; want a, the Raft leader, healthy", st.Members)
	}
	want := []NodeState{{Name: "a", Live: true, Lease: fmt.Sprintf("%x", a.lease())}, {Name: "b", Live: true, Lease: fmt.Sprintf("%x", b.lease())}}
	if !slices.Equal(st.Nodes, want) {
		t.Errorf("Status's nodes = %+v; want %+v", st.Nodes, want)
	}
	// b gone, after a beat that saw it: a node gone, not forgotten.
	if err := b.Beat(t.Context(), term, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	want[1] = NodeState{Name: "b"}
	await.Until(t, func() bool { st = a.Status(t.Context()); return slices.Equal(st.Nodes, want) }, "a's status to have b gone")
}

// A second member on the same data directory is refused at once, rather
// than waiting for the first's database.
func TestDataDirInUse(t *testing.T) {
	a := testMember(t, "a")
	dir := t.TempDir()
	_, err := Open(t.Context(), Config{Name: "a2", DataDir: a.cfg.DataDir,
		ListenPeerURLs: []string{"unix://" + filepath.Join(dir, "peer")}, ListenClientURLs: []string{"unix://" + filepath.Join(dir, "client")}})
	if want := "cluster: another etcd member of sundial's uses " + a.cfg.DataDir; err == nil || err.Error() != want {
		t.Fatalf("Open on a data directory in use = %v, want %s", err, want)
	}
}

// testMembers starts a member for each name, together a cluster of their
// own, as testMember does each.
func testMembers(t *testing.T, names ...string) []*Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts etcd members")
	}
	dir := t.TempDir()
	// etcd's peers take no Unix sockets: addresses of a loopback
	// network of the test's own, so that two runs at once never meet.
	network := fmt.Sprintf("127.%d.%d.", 1+rand.IntN(254), rand.IntN(256))
	var initial []string
	for i, n := range names {
		initial = append(initial, fmt.Sprintf("%s=http://%s%d:2380", n, network, i+1))
	}
	members := make([]*Cluster, len(names))
	errs := make(chan error, len(names))
	for i, n := range names {
		go func() {
			var err error
			members[i], err = Open(t.Context(), Config{Name: n, DataDir: filepath.Join(dir, n), InitialCluster: strings.Join(initial, ","),
				ListenPeerURLs: []string{initial[i][len(n)+1:]}, ListenClientURLs: []string{"unix://" + filepath.Join(dir, n+"-client")},
				Tick: 10 * time.Millisecond, UnsafeNoFsync: true, LeaseTTL: time.Second, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
			errs <- err
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range members {
		t.Cleanup(func() { c.Close() })
	}
	return members
}

// Without a quorum (two members of three stopped), Status says so at
// once, with the node and its member's view of the members; Health says
// it unhealthy.
func TestStatusWithoutQuorum(t *testing.T) {
	members := testMembers(t, "a", "b", "c")
	a := members[0]
	if st := a.Status(t.Context()); !st.Quorum || len(st.Members) != 3 {
		t.Fatalf("Status with a quorum = %+v; want a quorum and 3 members", st)
	}
	// b leads, and is stopped last: its keys stay in a's copy, with
	// leases none can end without a quorum.
	lead(t, members[1])
	for _, c := range []*Cluster{members[2], members[1]} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var st Status
	await.Until(t, func() bool { st = a.Status(t.Context()); return !st.Quorum }, "a's member to have lost its Raft leader")
	if st.Node != "a" || st.Healthy || st.Leader != "" || st.LeaseTTL != 0 || len(st.Members) != 3 || st.Members[0].Name != "a" || st.Members[0].RaftLeader ||
		!slices.Equal(st.Problems, []string{"etcd has no Raft leader", "no quorum: the leader of the timers and the node's lease are not known"}) {
		t.Errorf("Status without a quorum = %+v; want a, its view of the 3 members, none leading, no quorum said", st)
	}
	// Each member says its own health: a has no Raft leader, b and c do
	// not answer; and no node is known.
	for _, m := range st.Members {
		want := "etcd has no Raft leader"
		if m.Name != "a" {
			want = m.ClientURLs[0] + ": "
		}
		if m.Healthy || len(m.Problems) != 1 || !strings.HasPrefix(m.Problems[0], want) {
			t.Errorf("member %s: healthy %v, %q; want unhealthy, %q", m.Name, m.Healthy, m.Problems, want)
		}
	}
	if st.Nodes != nil {
		t.Errorf("nodes without a quorum = %+v; want none", st.Nodes)
	}
	if h := a.Health(t.Context()); h.Healthy || h.Leader != "" || h.Nodes != 0 || !slices.Equal(h.Problems, []string{"etcd has no Raft leader"}) {
		t.Errorf("Health without a quorum = %+v; want unhealthy, no Raft leader said, no leader nor nodes known", h)
	}
}
