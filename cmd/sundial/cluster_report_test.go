package main

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/cluster"
)

// reportWhen returns the node's report once ok holds for it.
func reportWhen(t *testing.T, n *clusterNode, ok func(cluster.Report) bool, what string) cluster.Report {
	t.Helper()
	var r cluster.Report
	await.Until(t, func() bool { r = n.ClusterReport(); return ok(r) }, "%s; last report %+v", what, &r)
	return r
}

// The report of a node of a cluster, once joined, says what it last saw
// and what its meter counted: its requests, and the term it won.
func TestClusterReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	dir := t.TempDir()
	n := testNode(t, cluster.Config{Name: "a", DataDir: filepath.Join(dir, "data"), Tick: 10 * time.Millisecond, UnsafeNoFsync: true,
		ListenPeerURLs: []string{"unix://" + filepath.Join(dir, "peer")}, ListenClientURLs: []string{"unix://" + filepath.Join(dir, "client")}})
	r := reportWhen(t, n, func(r cluster.Report) bool { return r.Healthy }, "the node to have looked at its health")
	if !r.Joined || r.Node != "a" || r.Nodes != 1 || r.Leader != "" || r.Leading() ||
		!slices.Equal(r.Problems, []string{"no node leads the cluster's timers"}) {
		t.Errorf("report of a node joined = %+v; want a joined, healthy, alone, no leader", r)
	}
	term, err := clusterTimers{n}.Lead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer term.Resign()
	r = reportWhen(t, n, func(r cluster.Report) bool { return r.Leader != "" }, "the node to have seen a leader")
	if r.Leader != "a" || !r.Leading() || r.TermsWon != 1 || len(r.Problems) > 0 {
		t.Errorf("report of a node leading = %+v; want a leading, in its first term", r)
	}
	for _, q := range r.Requests {
		if q.Op == "put" && q.Duration.Count != 2 {
			t.Errorf("puts counted: %d; want the node's key and the term's", q.Duration.Count)
		}
	}
}

// The report of a node cut off from etcd, whose requests get no answer
// until their deadline, comes at once: a scrape or a readiness check does
// not wait for etcd.
func TestClusterReportCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	dir := t.TempDir()
	client := filepath.Join(dir, "client")
	testNode(t, cluster.Config{Name: "a", DataDir: filepath.Join(dir, "data"), Tick: 10 * time.Millisecond, UnsafeNoFsync: true,
		ListenPeerURLs: []string{"unix://" + filepath.Join(dir, "peer")}, ListenClientURLs: []string{"unix://" + client}})
	p := startCutter(t, filepath.Join(dir, "cut"), client)
	b := testNode(t, cluster.Config{Name: "b", Endpoints: []string{"unix://" + p.path}, RequestTimeout: time.Hour})
	reportWhen(t, b, func(r cluster.Report) bool { return r.Healthy && r.Nodes == 2 }, "b to have seen a and itself")
	p.cut.Store(true)
	reports := make(chan cluster.Report, 1)
	go func() { reports <- b.ClusterReport() }()
	await.Until(t, func() bool {
		select {
		case r := <-reports:
			if !r.Joined || r.Node != "b" {
				t.Errorf("report of a node cut off = %+v; want b, joined", r)
			}
			return true
		default:
			return false
		}
	}, "the report of a node cut off from etcd")
}

// A cutter passes a Unix socket's connections on to another until cut,
// then drops what either side sends, keeping the connections open: etcd
// cut off, answering nothing.
type cutter struct {
	path string
	cut  atomic.Bool
}

func startCutter(t *testing.T, path, to string) *cutter {
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutter{path: path}
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	var copying sync.WaitGroup
	pass := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			if !p.cut.Load() {
				dst.Write(buf[:n])
			}
		}
	}
	copying.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("unix", to)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			if closed {
				c.Close()
				d.Close()
			}
			conns = append(conns, c, d)
			mu.Unlock()
			copying.Go(func() { pass(d, c) })
			copying.Go(func() { pass(c, d) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		copying.Wait()
	})
	return p
}

// A node's health watch says the health is not known before its first
// look, keeps the last while another look waits, and ignores a look cut
// short; it ends with its context.
func TestHealthWatch(t *testing.T) {
	looking, looks := make(chan struct{}), make(chan cluster.Health)
	look := func(ctx context.Context) cluster.Health {
		looking <- struct{}{}
		select {
		case h := <-looks:
			return h
		case <-ctx.Done():
			return cluster.Health{Problems: []string{"cut short"}}
		}
	}
	var w healthWatch
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.watch(ctx, look, time.Millisecond)
	}()
	<-looking
	if h := w.last(); h.Healthy || !slices.Equal(h.Problems, []string{healthNotSeen}) {
		t.Errorf("health before the first look = %+v; want not known", h)
	}
	looks <- cluster.Health{Healthy: true, Leader: "a"}
	<-looking
	if h := w.last(); !h.Healthy || h.Leader != "a" {
		t.Errorf("health while a look waits = %+v; want the last seen, a leading", h)
	}
	cancel()
	<-done
	if h := w.last(); !h.Healthy || h.Leader != "a" {
		t.Errorf("health after a look cut short = %+v; want the last seen, a leading", h)
	}
}
