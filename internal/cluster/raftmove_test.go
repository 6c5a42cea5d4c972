package cluster

import (
	"context"
	"testing"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// raftLeader returns the index in members of the member that leads
// etcd's Raft, as the first one's member sees it, or -1 for none.
func raftLeader(t *testing.T, members []*Cluster) int {
	t.Helper()
	for _, m := range members[0].Status(t.Context()).Members {
		for i, c := range members {
			if m.RaftLeader && c.Name() == m.Name {
				return i
			}
		}
	}
	return -1
}

// moved reports whether c has handed Raft leadership on.
func moved(c *Cluster) bool {
	for _, r := range c.meter.Stats().Requests {
		if r.Op == "move_leader" {
			return r.Duration.Count > r.Failures
		}
	}
	return false
}

// The node that leads the timers while its member leads etcd's Raft,
// from the start of its term or from a change of Raft leader during it,
// hands Raft leadership to another member, and goes on leading the
// timers.
func TestRaftLeadershipMoves(t *testing.T) {
	for _, tc := range []struct {
		name string
		// comes is set when Raft leadership comes to the leader of the
		// timers once its term has begun, rather than being its
		// member's when it began.
		comes bool
	}{
		{"term begins on the Raft leader", false},
		{"Raft leadership comes to the leader of the timers", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members := testMembers(t, "a", "b", "c")
			raft := -1
			await.Until(t, func() bool { raft = raftLeader(t, members); return raft >= 0 }, "a Raft leader")
			leader := members[raft]
			if tc.comes {
				leader = members[(raft+1)%len(members)]
			}
			term := lead(t, leader)
			if tc.comes {
				// Not waited for: the member that asks waits to see
				// the leader of the timers lead Raft, which may hand
				// Raft leadership on, even back to it, before it does.
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					members[raft].client.MoveLeader(ctx, uint64(leader.etcd.Server.MemberID()))
				}()
				defer func() { cancel(); <-done }()
			}
			var to int
			await.Until(t, func() bool {
				to = raftLeader(t, members)
				return moved(leader) && to >= 0 && members[to] != leader
			}, "%s, leading the timers, to hand Raft leadership on", leader.Name())
			if closed(term.Done()) {
				t.Fatalf("the term of %s ended when Raft leadership went to %s", leader.Name(), members[to].Name())
			}
			if _, _, err := leader.Trigger(t.Context(), term, store.TimerState{}, trigger("clean.timer", 10)); err != nil {
				t.Errorf("Trigger of %s after Raft leadership went to %s: %v; want the term to hold", leader.Name(), members[to].Name(), err)
			}
		})
	}
}

// TestTransferee: Raft leadership goes to the healthy member that has
// applied most, never to one catching up.
func TestTransferee(t *testing.T) {
	for _, tc := range []struct {
		name   string
		others []follower
		want   string // "" for none
	}{
		{"none", nil, ""},
		{"none healthy", []follower{{name: "b", applied: 9}, {name: "c", applied: 10}}, ""},
		{"most applied", []follower{{name: "b", applied: 9, ok: true}, {name: "c", applied: 10, ok: true}}, "c"},
		{"the first of those alike", []follower{{name: "b", applied: 10, ok: true}, {name: "c", applied: 10, ok: true}}, "b"},
		{"the healthy one", []follower{{name: "b", applied: 9, ok: true}, {name: "c", applied: 10}}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if to := transferee(tc.others); to != nil {
				got = to.name
			}
			if got != tc.want {
				t.Errorf("transferee(%+v) = %q, want %q", tc.others, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		index, applied uint64
		want           bool
	}{
		{100, 100, true},
		{100 + maxApplyLag, 100, true},
		{101 + maxApplyLag, 100, false},
		{100, 101, true}, // committed read before applied: a race, not a lag
	} {
		if got := caughtUp(tc.index, tc.applied); got != tc.want {
			t.Errorf("caughtUp(%d, %d) = %v, want %v", tc.index, tc.applied, got, tc.want)
		}
	}
}
