package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"sundial.dev/sundial/internal/await"
)

// publish publishes c's copies, hashes by unit, and waits until the
// cache of each of readers has them.
func publish(t *testing.T, c *Cluster, hashes map[string]string, readers ...*Cluster) map[string]string {
	t.Helper()
	got, err := c.PublishCopies(t.Context(), hashes)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readers {
		await.Until(t, func() bool {
			copies, lease := cachedCopies(r, c.Name())
			return maps.Equal(copies, hashes) && (len(hashes) == 0 || lease == int64(c.lease()))
		}, "%s's cache to have %s's copies", r.Name(), c.Name())
	}
	return got
}

// cachedCopies returns the hashes of a node's copies, by unit, as c's
// cache has them, and the lease they go with.
func cachedCopies(c *Cluster, node string) (map[string]string, int64) {
	k := c.cache
	k.mu.Lock()
	defer k.mu.Unlock()
	all := map[string]string{}
	n := k.held[node]
	if n == nil {
		return all, 0
	}
	for _, part := range n.parts {
		maps.Copy(all, part)
	}
	return all, n.lease
}

// heldKeys returns the keys under held/, with their values.
func heldKeys(t *testing.T, c *Cluster) map[string]string {
	t.Helper()
	resp, err := c.client.Get(t.Context(), heldPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, kv := range resp.Kvs {
		keys[string(kv.Key)] = string(kv.Value)
	}
	return keys
}

// The first hash published for a unit is the cluster's, whatever is
// published after; each node's own stays in its keys.
func TestPublishCopies(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	for _, tc := range []struct {
		c      *Cluster
		copies map[string]string
		want   map[string]string
	}{
		{a, map[string]string{"backup.timer": "h1"}, map[string]string{"backup.timer": "h1"}},
		{b, map[string]string{"backup.timer": "h2"}, map[string]string{"backup.timer": "h1"}},
		{b, map[string]string{"backup.timer": "h2", "bill.timer": "h3"}, map[string]string{"backup.timer": "h1", "bill.timer": "h3"}},
		{a, map[string]string{"backup.timer": "h1", "bill.timer": "h1"}, map[string]string{"backup.timer": "h1", "bill.timer": "h3"}},
	} {
		if got := publish(t, tc.c, tc.copies, a, b); !maps.Equal(got, tc.want) {
			t.Errorf("%s: PublishCopies(%v) = %v; want %v", tc.c.Name(), tc.copies, got, tc.want)
		}
	}
	var bs map[string]string
	if err := json.Unmarshal([]byte(heldKeys(t, a)[heldKey("b", partOf("backup.timer"))]), &bs); err != nil || bs["backup.timer"] != "h2" {
		t.Errorf("b's key of backup.timer's part = %v, %v; want backup.timer's hash h2 in it", bs, err)
	}
}

// PublishCopies writes only the keys of the parts that changed, and
// deletes those emptied; the units that have no hash of the cluster's go
// in a transaction a batch, whether the batch creates them or reads
// them.
func TestPublishCopiesWrites(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	mine, want := map[string]string{}, map[string]string{}
	for i := range 150 {
		u := fmt.Sprintf("t%03d.timer", i)
		mine[u], want[u] = "hb", "hb"
	}
	// Of the first batch, one unit has a hash of the cluster's, another.
	publish(t, a, map[string]string{"t001.timer": "ha"})
	want["t001.timer"] = "ha"
	revision := func() int64 {
		t.Helper()
		resp, err := a.client.Get(ctx, beatKey)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	check := func(what string, mine, want map[string]string, txns int64) {
		t.Helper()
		before := revision()
		got := publish(t, b, mine, b)
		if !maps.Equal(got, want) {
			t.Errorf("%s: PublishCopies = %v; want %v", what, got, want)
		}
		if n := revision() - before; n > txns {
			t.Errorf("%s: %d transactions; want %d at most", what, n, txns)
		}
		// b's keys hold its copies and nothing else, each in its part.
		held := map[string]string{}
		for key, v := range heldKeys(t, a) {
			node, part, _ := strings.Cut(key[len(heldPrefix):], "/")
			if node != "b" {
				continue
			}
			var hashes map[string]string
			if err := json.Unmarshal([]byte(v), &hashes); err != nil || len(hashes) == 0 {
				t.Errorf("%s: %s = %q, %v; want hashes", what, key, v, err)
			}
			for u, h := range hashes {
				if p := fmt.Sprintf("%02d", partOf(u)); p != part {
					t.Errorf("%s: %s in part %s; want %s", what, u, part, p)
				}
				held[u] = h
			}
		}
		if !maps.Equal(held, mine) {
			t.Errorf("%s: b's keys hold %v; want %v", what, held, mine)
		}
	}
	// Two batches, the first of which creates 127 and then reads one
	// and creates the rest: 3; the parts, in one.
	check("first", mine, want, 4)
	check("again, unchanged", mine, want, 0)
	mine["t002.timer"], want["t002.timer"] = "hc", "hb"
	check("one changed", mine, want, 1)
	// Withdrawn: the units of one part, whose key goes.
	for u := range mine {
		if partOf(u) == partOf("t003.timer") {
			delete(mine, u)
			delete(want, u)
		}
	}
	check("a part withdrawn", mine, want, 1)
	check("all withdrawn", map[string]string{}, map[string]string{}, 1)
}

// A node's copies go with its lease, and are published again whole under
// the next.
func TestPublishCopiesLease(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	mine := map[string]string{"backup.timer": "h1", "bill.timer": "h1"}
	publish(t, b, mine, a)
	ended, err := b.SessionEnded(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.Revoke(ctx, b.lease()); err != nil {
		t.Fatal(err)
	}
	<-ended
	await.Until(t, func() bool {
		copies, _ := cachedCopies(a, "b")
		return len(copies) == 0
	}, "b's copies to go with its lease")
	if _, err := b.live(ctx); err != nil {
		t.Fatal(err)
	}
	publish(t, b, mine, a)
	for _, cand := range [][]Candidate{candidates(t, a, "backup.timer"), candidates(t, a, "bill.timer")} {
		if len(cand) != 1 || cand[0].Name != "b" || cand[0].Lease != int64(b.lease()) {
			t.Errorf("Candidates once b published again = %+v; want b, with its lease %x", cand, b.lease())
		}
	}
}

// candidates returns the candidates for a timer, as c reads them.
func candidates(t *testing.T, c *Cluster, timer string) []Candidate {
	t.Helper()
	nodes, err := c.Candidates(t.Context(), timer)
	if err != nil {
		t.Fatal(err)
	}
	return nodes[0]
}

// A node that withdraws its copy's hash is no longer a candidate to run
// the unit; the others are, each with the cluster's hash.
func TestWithdrawCopy(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	for _, c := range []*Cluster{a, b} {
		publish(t, c, map[string]string{"backup.timer": "h1"}, a)
	}
	publish(t, a, map[string]string{}, a)
	if nodes := candidates(t, a, "backup.timer"); len(nodes) != 1 || nodes[0].Name != "b" || nodes[0].Hash != "h1" {
		t.Errorf("Candidates after a withdrew = %+v; want b alone, with h1", nodes)
	}
}

// The leader sets its copy's hash as the cluster's: the cache of every
// node has it, the nodes whose copy is the old one are no longer
// candidates, and a term ended sets nothing.
func TestSetHashes(t *testing.T) {
	a := testMember(t, "a")
	b := testClient(t, "b", a)
	ctx := t.Context()
	publish(t, b, map[string]string{"backup.timer": "h1"}, a)
	publish(t, a, map[string]string{"backup.timer": "h2"}, a)
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
