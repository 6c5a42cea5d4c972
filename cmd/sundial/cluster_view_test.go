package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/cluster"
)

// testNode joins a node to a cluster, as the daemon does, and returns
// once it has.
func testNode(t *testing.T, cfg cluster.Config) *clusterNode {
	t.Helper()
	cfg.LeaseTTL, cfg.Logger = time.Second, slog.New(slog.NewTextHandler(t.Output(), nil))
	n := startCluster(cfg, cfg.Logger)
	t.Cleanup(n.stop)
	select {
	case <-n.joined:
	case <-n.done:
		t.Fatalf("node %s failed to join: %v", cfg.Name, n.err)
	}
	return n
}

// testMember joins node a, with an etcd member on Unix sockets, and
// returns it and the endpoints of its member.
func testMember(t *testing.T) (*clusterNode, []string) {
	dir := t.TempDir()
	client := "unix://" + filepath.Join(dir, "client")
	a := testNode(t, cluster.Config{Name: "a", DataDir: filepath.Join(dir, "data"), Tick: 10 * time.Millisecond, UnsafeNoFsync: true,
		ListenPeerURLs: []string{"unix://" + filepath.Join(dir, "peer")}, ListenClientURLs: []string{client}})
	return a, []string{client}
}

// A node asks each other live node for its lines and runs: b answers,
// showing the cluster's secret; c, whose port is closed, and d, which
// publishes no address, are missing. b refuses a request without the
// secret.
func TestPeerJournal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	a, endpoints := testMember(t)
	var b *clusterNode
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peerHandler(b, fakePeer{}).ServeHTTP(w, r)
	}))
	defer srv.Close()
	b = testNode(t, cluster.Config{Name: "b", Endpoints: endpoints, Address: srv.Listener.Addr().String()})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	testNode(t, cluster.Config{Name: "c", Endpoints: endpoints, Address: closed.Addr().String()})
	testNode(t, cluster.Config{Name: "d", Endpoints: endpoints})

	j, err := clusterTimers{a}.Journal(t.Context(), api.JournalQuery{Units: []string{"tick.service"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Entry{{Cursor: 9, Realtime: 5, Unit: "tick.service", Message: "from b", Node: "b"}}
	if !reflect.DeepEqual(j.Entries, want) || !reflect.DeepEqual(j.Missing, []string{"c", "d"}) || j.Cursors["b"] != 9 {
		t.Errorf("Journal = %+v; want %+v, b's cursor 9, missing c and d", j, want)
	}
	if !strings.Contains(j.Why["c"], "connection refused") || j.Why["d"] != "it answers no other node: it was started without --journal-listen=" {
		t.Errorf("why c and d are missing: %q; want c's connection refused, and d answering none", j.Why)
	}
	// Followed from its end, b answers with its cursor and no line.
	j, err = clusterTimers{a}.Journal(t.Context(), api.JournalQuery{Units: []string{"tick.service"}, Cursors: map[string]int64{"b": -1}})
	if err != nil || len(j.Entries) != 0 || j.Cursors["b"] != 9 {
		t.Errorf("Journal from b's end = %+v, %v; want no line and b's cursor 9", j, err)
	}
	units, err := clusterTimers{a}.JournalUnits(t.Context())
	if err != nil || !reflect.DeepEqual(units, []string{"tick.service", "tick.timer"}) {
		t.Errorf("JournalUnits = %q, %v; want b's", units, err)
	}

	runs, why, err := clusterTimers{a}.PeerRuns(t.Context(), "tick.service", 5)
	wantRuns := []api.Run{{Unit: "tick.service", Invocation: "b1", Started: 5, State: "ended", Result: "success", Node: "b"}}
	if err != nil || !reflect.DeepEqual(runs, wantRuns) || len(why) != 2 || why["c"] == nil || why["d"] == nil {
		t.Errorf("PeerRuns = %+v, %v, %v; want %+v, without b's ID, and c and d missing", runs, why, err, wantRuns)
	}

	for _, token := range []string{"", "Bearer ", "Bearer 00"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+peerJournalPath, strings.NewReader(`{"Units":["tick.service"]}`))
		unitsReq, _ := http.NewRequest(http.MethodGet, srv.URL+peerUnitsPath, nil)
		runsReq, _ := http.NewRequest(http.MethodPost, srv.URL+peerRunsPath, strings.NewReader(`{"Unit":"tick.service","Last":5}`))
		for _, req := range []*http.Request{req, unitsReq, runsReq} {
			if token != "" {
				req.Header.Set("Authorization", token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with the authorization %q: %s, want 401", req.URL.Path, token, resp.Status)
			}
		}
	}
}

// fakePeer is a node's journal of tick.timer's and tick.service's, and
// its history of one run of tick.service.
type fakePeer struct{}

func (fakePeer) LocalJournal(_ context.Context, q api.JournalQuery) ([]api.Entry, error) {
	if q.After >= 9 {
		return nil, nil
	}
	return []api.Entry{{Cursor: 9, Realtime: 5, Unit: q.Units[0], Message: "from b"}}, nil
}

func (fakePeer) LocalJournalUnits(context.Context) ([]string, error) {
	return []string{"tick.service", "tick.timer"}, nil
}

func (fakePeer) LocalRuns(_ context.Context, unit string, last int) ([]api.Run, error) {
	if unit != "tick.service" || last != 5 {
		return nil, fmt.Errorf("runs of %q, last %d; want tick.service's last 5", unit, last)
	}
	return []api.Run{{ID: 4, Unit: unit, Invocation: "b1", Started: 5, State: "ended", Result: "success"}}, nil
}

// A peer whose answer is larger than maxPeerAnswer is refused, before
// it is read whole.
func TestPeerAnswerBounded(t *testing.T) {
	defer func(n int64) { maxPeerAnswer = n }(maxPeerAnswer)
	maxPeerAnswer = 1 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`["` + strings.Repeat("a", 4<<10) + `"]`))
	}))
	defer srv.Close()
	var units []string
	err := askPeer(t.Context(), cluster.Node{Name: "b", Address: srv.Listener.Addr().String()}, "s", http.MethodGet, peerUnitsPath, nil, &units)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Errorf("askPeer = %q, %v; want it refused as too large", units, err)
	}
}

// A node that did not answer, and has no cursor, is followed from its
// end once it does; one with a cursor, from it.
func TestFollowFromEnd(t *testing.T) {
	cursors := map[string]int64{"a": 3, "b": 7}
	followFromEnd(cursors, []string{"b", "c"})
	if want := map[string]int64{"a": 3, "b": 7, "c": -1}; !reflect.DeepEqual(cursors, want) {
		t.Errorf("cursors = %v, want %v", cursors, want)
	}
}

// A node refuses a request without a token as not allowed, the same
// before it has joined its cluster, and without reading the secret;
// one with a token, before it has, without saying why.
func TestPeerRefusedUnjoined(t *testing.T) {
	n := &clusterNode{name: "a"}
	for _, tc := range []struct {
		token  string
		status int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Basic 00", http.StatusUnauthorized},
		{"Bearer 00", http.StatusServiceUnavailable},
	} {
		req := httptest.NewRequest(http.MethodGet, peerUnitsPath, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", tc.token)
		}
		w := httptest.NewRecorder()
		peerHandler(n, fakePeer{}).ServeHTTP(w, req)
		if w.Code != tc.status || strings.Contains(w.Body.String(), "joined") {
			t.Errorf("the authorization %q: %d %q, want %d, and nothing of the node", tc.token, w.Code, w.Body, tc.status)
		}
	}
}

// The view of the cluster's timers, which list-timers and status wait
// for, gives up soon where etcd does not answer, even with a long
// deadline for each call.
func TestTimerViewsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	a, endpoints := testMember(t)
	b := testNode(t, cluster.Config{Name: "b", Endpoints: endpoints, RequestTimeout: time.Hour})
	a.stop()
	done := make(chan error, 1)
	go func() {
		_, err := clusterTimers{b}.TimerViews(context.Background(), []string{"tick.timer"})
		done <- err
	}()
	var err error
	await.Until(t, func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	}, "the view to give up")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("TimerViews: %v, want its deadline exceeded", err)
	}
}
