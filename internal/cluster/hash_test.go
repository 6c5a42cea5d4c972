package cluster

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
)

// The first hash published for a unit is the cluster's, whatever is
// published after; each node's own stays under its key.
func TestPublishHash(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	for _, tc := range []struct {
		c          *Cluster
		unit, hash string
		want       string
	}{
		{a, "backup.timer", "h1", "h1"},
		{b, "backup.timer", "h2", "h1"},
		{a, "backup.timer", "h1", "h1"},
		{b, "bill.timer", "h3", "h3"},
		{a, "bill.timer", "h1", "h3"},
	} {
		got, err := tc.c.PublishHash(ctx, tc.unit, tc.hash)
		if err != nil || got != tc.want {
			t.Errorf("%s: PublishHash(%s, %s) = %q, %v; want %q", tc.c.Name(), tc.unit, tc.hash, got, err, tc.want)
		}
	}
	resp, err := a.client.Get(ctx, copiesOf("backup.timer")+"b")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "h2" {
		t.Errorf("b's hash of backup.timer = %+v, %v; want h2", resp, err)
	}
}

// PublishHashes returns the cluster's hash of each unit, as PublishHash
// does, and puts each copy; units that all have the cluster's hash, or
// that none has, go in one transaction a batch.
func TestPublishHashes(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	units := make([]string, 150)
	mine, want := make([]string, len(units)), make([]string, len(units))
	for i := range units {
		units[i] = fmt.Sprintf("t%03d.timer", i)
		mine[i], want[i] = "hb", "hb"
	}
	// Of the first batch, one unit has a hash of the cluster's, another.
	if _, err := a.PublishHash(ctx, units[1], "ha"); err != nil {
		t.Fatal(err)
	}
	want[1] = "ha"
	revision := func() int64 {
		t.Helper()
		resp, err := a.client.Get(ctx, beatKey)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	for _, round := range []struct {
		what string
		txns int64 // the most transactions
	}{
		// 64 units a batch: the first, which has a unit with a hash, a
		// unit at a time; the others, with none, at once.
		{"first", 64 + 2},
		{"again, every unit with a hash", 3},
	} {
		before := revision()
		got, err := b.PublishHashes(ctx, units, mine)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%s: PublishHashes = %q, %v; want %q", round.what, got, err, want)
		}
		if n := revision() - before; n > round.txns {
			t.Errorf("%s: %d transactions; want %d at most", round.what, n, round.txns)
		}
	}
	resp, err := a.client.Get(ctx, copiesPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]string{}
	for _, kv := range resp.Kvs {
		copies[string(kv.Key)] = string(kv.Value)
	}
	for i, u := range units {
		if h := copies[copiesOf(u)+"b"]; h != mine[i] {
			t.Errorf("b's copy of %s = %q; want %q", u, h, mine[i])
		}
	}
	if _, err := b.PublishHashes(ctx, units[:2], mine[:1]); err == nil {
		t.Error("PublishHashes with a hash short: no error")
	}
}

// A node that withdraws its copy's hash is no longer a candidate to run
// the unit; the others are, each with the cluster's hash.
func TestWithdrawHash(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	for _, c := range []*Cluster{a, b} {
		if _, err := c.PublishHash(ctx, "backup.timer", "h1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.WithdrawHash(ctx, "backup.timer"); err != nil {
		t.Fatal(err)
	}
	nodes, err := a.Candidates(ctx, "backup.timer")
	if err != nil || len(nodes) != 1 || len(nodes[0]) != 1 || nodes[0][0].Name != "b" || nodes[0][0].Hash != "h1" {
		t.Errorf("Candidates after a withdrew = %+v, %v; want b alone, with h1", nodes, err)
	}
	// Withdrawn again, or never published: nothing to do.
	for _, c := range []*Cluster{a, b} {
		if err := c.WithdrawHash(ctx, "bill.timer"); err != nil {
			t.Errorf("%s: WithdrawHash of a hash never published: %v", c.Name(), err)
		}
	}
}

// The leader sets its copy's hash as the cluster's: the cache of every
// node has it, the nodes whose copy is the old one are no longer
// candidates, and a term ended sets nothing.
func TestSetHashes(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	if _, err := b.PublishHash(ctx, "backup.timer", "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PublishHash(ctx, "backup.timer", "h2"); err != nil {
		t.Fatal(err)
	}
	term := lead(t, a)
	// More units than one transaction holds.
	hashes := map[string]string{"backup.timer": "h2"}
	for i := range 200 {
		hashes[fmt.Sprintf("t%03d.timer", i)] = "h"
	}
	if err := a.SetHashes(ctx, term, hashes); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cluster{a, b} {
		await.Until(t, func() bool {
			h, ok := c.ClusterHash("backup.timer")
			last, _ := c.ClusterHash("t199.timer")
			return ok && h == "h2" && last == "h"
		}, "%s's cache to have the hashes set", c.Name())
	}
	nodes, err := a.Candidates(ctx, "backup.timer")
	if err != nil || len(nodes[0]) != 1 || nodes[0][0].Name != "a" {
		t.Errorf("Candidates after the leader set h2 = %+v, %v; want a alone", nodes, err)
	}
	if err := term.Resign(); err != nil {
		t.Fatal(err)
	}
	if err := a.SetHashes(ctx, term, map[string]string{"backup.timer": "h3"}); !errors.Is(err, ErrDeposed) {
		t.Errorf("SetHashes of a term resigned = %v; want ErrDeposed", err)
	}
}
