package cluster

import (
	"context"
	"slices"
	"testing"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// Each live node is listed with the address it serves its peers on;
// a node's other keys (the hashes of its units) are not nodes.
func TestNodes(t *testing.T) {
	a := testMember(t, "a")
	b := testOpen(t, Config{Name: "b", Endpoints: a.cfg.AdvertiseClientURLs, Address: "127.0.0.1:4242"})
	publish(t, b, map[string]string{"tick.timer": "h"})
	nodes, err := a.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nodes {
		got = append(got, n.Name+"@"+n.Address)
	}
	if want := []string{"a@", "b@127.0.0.1:4242"}; !slices.Equal(got, want) {
		t.Fatalf("Nodes = %q, want %q", got, want)
	}
}

// The first node to ask makes the secret; every node reads that one.
func TestSecret(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	sa, err := a.Secret(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Secret(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(sa) != 64 || sa != sb {
		t.Fatalf("Secret = %q on a, %q on b; want one of 64 hexadecimal digits", sa, sb)
	}
}

// A timer's view is the cluster's stamp and its last run, whichever node
// ran it; a timer never triggered has neither.
func TestTimerViews(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	term := lead(t, b)
	var st store.TimerState
	for _, at := range []uint64{100, 200} {
		var err error
		if st, _, err = b.Trigger(ctx, term, st, trigger("tick.timer", at)); err != nil {
			t.Fatal(err)
		}
	}
	// More timers than one transaction reads.
	names := []string{"tick.timer"}
	for i := range viewsPerTxn {
		names = append(names, "idle"+string(rune('a'+i%26))+string(rune('a'+i/26))+".timer")
	}
	views, err := a.TimerViews(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	v := views["tick.timer"]
	if v.State != st || v.Last.Node != "b" || v.Last.Started != 200 || v.Last.State != RunAssigned {
		t.Errorf("the view of tick.timer = %+v; want the stamp %+v, the run of 200 on b", v, st)
	}
	if len(views) != len(names) {
		t.Errorf("%d views of %d timers", len(views), len(names))
	}
	if v := views[names[len(names)-1]]; v.State != (store.TimerState{}) || v.Last.Key != "" {
		t.Errorf("the view of a timer never triggered = %+v; want none", v)
	}
}

// The cached views are the cluster's, as the watch brings them: they
// answer with a context already ended, reading nothing from etcd.
func TestCachedTimerViews(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	st, run, err := b.Trigger(t.Context(), lead(t, b), store.TimerState{}, trigger("tick.timer", 100))
	if err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	await.Until(t, func() bool {
		views := map[string]TimerView{}
		err := a.CachedTimerViews(ended, []string{"tick.timer", "idle.timer"}, func(name string, v TimerView) { views[name] = v })
		return err == nil && len(views) == 2 && views["tick.timer"].State == st && views["tick.timer"].Last.Key == run.Key &&
			views["idle.timer"] == (TimerView{})
	}, "a's cached views to have b's trigger %+v and run %s", st, run.Key)
}

func TestPeerHost(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "a", DataDir: "/d"}, "localhost"},
		{Config{Name: "a", DataDir: "/d", ListenClientURLs: []string{"http://10.0.0.1:2379"}}, "10.0.0.1"},
		{Config{Name: "a", DataDir: "/d", ListenClientURLs: []string{"http://0.0.0.0:2379"}, AdvertiseClientURLs: []string{"http://[fd00::1]:2379"}}, "fd00::1"},
		{Config{Name: "a", DataDir: "/d", ListenClientURLs: []string{"unix:///run/etcd"}}, ""},
		{Config{Name: "a", Endpoints: []string{"http://10.0.0.1:2379"}}, ""},
	} {
		if got := tc.cfg.PeerHost(); got != tc.want {
			t.Errorf("PeerHost of %+v = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}
