package manager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// fakeCluster is a cluster of timers' stamps and runs, in memory: its
// terms' triggers compare the stamp's version, as etcd's do, and what
// each trigger of each term does is the test's. The daemon under test
// is the node "self"; runs assigned to the other nodes, which the test
// names, run until the test ends them.
type fakeCluster struct {
	// leadErrs is how many campaigns fail, as where etcd cannot be
	// reached, before one wins.
	leadErrs int
	// trigger, if set, is what the n-th trigger (from 0) of the term-th
	// term (from 0) does first: an error fails it, with ErrStale after
	// moving the stamp, as another trigger would; errReplyLost commits
	// it, then fails it as a reply lost would.
	trigger func(term, n int) error
	// endFirst, if set, ends the first term (its Done closed, as its
	// lease ending would) once it has triggered once.
	endFirst bool
	// closeFollow, if set, closes the first Follow's channel once a
	// trigger has held, as etcd closes a watch when its Raft leader
	// changes; followClosed, once it has.
	closeFollow, followClosed bool
	// noLead, if set, has no campaign won: no node leads; hold, if
	// set, has none won until it is closed.
	noLead bool
	hold   chan struct{}
	// down is what each term's Down tells: the whole cluster was down.
	down  bool
	beats int // of all terms
	// others are the live nodes beside self, with the cluster's copy.
	others []string

	mu        sync.Mutex
	campaigns int
	terms     []*fakeTerm
	triggers  map[int]int                 // by term
	states    map[string]store.TimerState // by timer
	committed map[string]bool             // the invocations of the triggers that held
	fired     map[string]int              // the triggers that held, by timer
	reasons   map[string][]string         // of the triggers that held, by timer
	ended     int
	// runs are the runs recorded, in order.
	runs []*fakeRun
	// overlaps are the triggers of a timer whose unit had a run not
	// ended, which the leader must never make.
	overlaps []string
	// changed is told when a run is assigned.
	changed chan struct{}
	// followers are the terms' Follow channels.
	followers []chan ClusterEvent
	// hashes are the cluster's hashes of timers, the first published
	// unless the test set one.
	hashes map[string]string
	reads  int // of stamps, outside terms
	// termReads are the reads of stamps in terms.
	termReads int
	// lastRunning and lastEnded are what LastRun tells of a timer that
	// has no run.
	lastRunning bool
	lastEnded   uint64
	// onLastRun, if set, is called as LastRun begins.
	onLastRun func()
	// lease is the leader's lease, 2 s for none.
	lease time.Duration
	// endErrs is how many records of runs' ends fail first.
	endErrs int
	// onFollow, if set, is called as Follow begins.
	onFollow func()
	// session is closed when self's session ends (LoseLease).
	session chan struct{}
	// published counts the hashes published, by timer; mine is self's
	// copy's, published and not withdrawn, by timer.
	published map[string]int
	mine      map[string]string
	// leaderBeats are the beats that Beats tells, by the leader's clock.
	leaderBeats chan uint64
}

// sessionNow is self's session now; f.mu held.
func (f *fakeCluster) sessionNow() chan struct{} {
	if f.session == nil {
		f.session = make(chan struct{})
	}
	return f.session
}

// LoseLease ends self's session, as its lease's expiry would, and has
// it join again at once: its runs not ended are lost, as a leader
// marks them once self came again under a new lease.
func (f *fakeCluster) LoseLease() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.sessionNow())
	f.session = make(chan struct{})
	for _, r := range f.runs {
		if r.node == "self" && r.runState().Running {
			f.endRun(r, "node-lost")
		}
	}
}

func (f *fakeCluster) SessionEnded(ctx context.Context) (<-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessionNow(), nil
}

// errReplyLost has a fake trigger commit, then fail.
var errReplyLost = errors.New("the reply was lost")

type fakeRun struct {
	timer, unit, reason, invocation, node, state string
	started, ended                               uint64
}

func (r *fakeRun) runState() ClusterRunState {
	return ClusterRunState{Timer: r.timer, Node: r.node, Started: r.started, Ended: r.ended,
		Running: r.state == "assigned" || r.state == "running"}
}

// tell sends ev to the terms following.
func (f *fakeCluster) tell(ev ClusterEvent) {
	for _, ch := range f.followers {
		ch <- ev
	}
}

// endRun ends a run not ended, as state, and tells the followers.
func (f *fakeCluster) endRun(r *fakeRun, state string) {
	r.state, r.ended = state, r.started+1
	f.tell(ClusterEvent{Ended: r.runState()})
}

// End ends the runs of timer not ended, as their node would.
func (f *fakeCluster) End(timer string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.timer == timer && r.runState().Running {
			f.endRun(r, "ended")
		}
	}
}

// Leave has node leave, and Come come, as a node's key goes and comes.
func (f *fakeCluster) Leave(node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.others = slices.DeleteFunc(f.others, func(n string) bool { return n == node })
	f.tell(ClusterEvent{Node: node})
}

func (f *fakeCluster) Come(node string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.others = append(f.others, node)
	f.tell(ClusterEvent{Node: node})
}

// runsOf returns the runs of timer: "node state" each.
func (f *fakeCluster) runsOf(timer string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var runs []string
	for _, r := range f.runs {
		if r.timer == timer {
			runs = append(runs, r.node+" "+r.state)
		}
	}
	return runs
}

func (f *fakeCluster) LastRun(ctx context.Context, timer string) (ClusterRunState, error) {
	if f.onLastRun != nil {
		f.onLastRun()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range slices.Backward(f.runs) {
		if r.timer == timer {
			return r.runState(), nil
		}
	}
	return ClusterRunState{Running: f.lastRunning, Ended: f.lastEnded}, nil
}

func (f *fakeCluster) Timer(ctx context.Context, name string) (store.TimerState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.states[name], nil
}

func (f *fakeCluster) Lease() time.Duration {
	if f.lease > 0 {
		return f.lease
	}
	return 2 * time.Second
}

func (f *fakeCluster) PublishCopies(ctx context.Context, hashes map[string]string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hashes == nil {
		f.hashes = map[string]string{}
	}
	if f.published == nil {
		f.published = map[string]int{}
	}
	cluster := make(map[string]string, len(hashes))
	for timer, h := range hashes {
		if _, ok := f.hashes[timer]; !ok {
			f.hashes[timer] = h
		}
		f.published[timer]++
		cluster[timer] = f.hashes[timer]
	}
	f.mine = maps.Clone(hashes)
	return cluster, nil
}

// Beats tells the beats sent on f.leaderBeats, if any.
func (f *fakeCluster) Beats(ctx context.Context, each func(at uint64)) error {
	for {
		select {
		case at := <-f.leaderBeats:
			each(at)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *fakeCluster) ClusterHash(timer string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hashes[timer]
	return h, ok
}

func (f *fakeCluster) Mark(u *unit.Unit) (bool, []unit.Diagnostic) {
	for _, a := range u.Assignments {
		if a.Section == "X-Sundial" && a.Key == "Cluster" && a.Value == "yes" {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeCluster) NodeGlobs(u *unit.Unit) []string {
	var globs []string
	for _, a := range u.Assignments {
		if a.Section == "X-Sundial" && a.Key == "Nodes" {
			globs = append(globs, strings.Fields(a.Value)...)
		}
	}
	return globs
}

func (f *fakeCluster) Lead(ctx context.Context) (ClusterTerm, error) {
	if f.noLead {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.campaigns++; f.campaigns <= f.leadErrs {
		return nil, errors.New("etcd cannot be reached")
	}
	t := &fakeTerm{f: f, n: len(f.terms), done: make(chan struct{})}
	f.terms = append(f.terms, t)
	return t, nil
}

// Assignments acknowledges the runs assigned to self, as they are.
func (f *fakeCluster) Assignments(ctx context.Context, start func(ClusterAssignment)) error {
	f.mu.Lock()
	if f.changed == nil {
		f.changed = make(chan struct{}, 1)
	}
	changed := f.changed
	session := f.sessionNow()
	f.mu.Unlock()
	for {
		f.mu.Lock()
		var acked []ClusterAssignment
		for _, r := range f.runs {
			if r.node == "self" && r.state == "assigned" {
				r.state = "running"
				acked = append(acked, ClusterAssignment{Timer: r.timer, Unit: r.unit, Reason: "OnCalendar",
					Invocation: r.invocation, Elapse: r.started, Run: r, SessionEnded: session})
			}
		}
		f.mu.Unlock()
		for _, a := range acked {
			start(a)
		}
		select {
		case <-changed:
		case <-session:
			return ErrSessionEnded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *fakeCluster) EndRun(ctx context.Context, run ClusterRun, ended uint64, result, exitCode string, exitStatus int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.endErrs > 0 {
		f.endErrs--
		return errors.New("etcd cannot be reached")
	}
	f.ended++
	if r := run.(*fakeRun); r.state == "running" {
		f.endRun(r, "ended")
	}
	return nil
}

type fakeTerm struct {
	f    *fakeCluster
	n    int
	done chan struct{}
	once sync.Once
}

func (t *fakeTerm) Done() <-chan struct{} { return t.done }

func (t *fakeTerm) Resign() error {
	t.once.Do(func() { close(t.done) })
	return nil
}

func (t *fakeTerm) MarkNodesLost(ctx context.Context, at uint64) error {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.runState().Running && r.node != "self" && !slices.Contains(f.others, r.node) {
			f.endRun(r, "node-lost")
		}
	}
	return nil
}

func (t *fakeTerm) Follow(ctx context.Context) ([]ClusterRunState, <-chan ClusterEvent, error) {
	f := t.f
	if f.onFollow != nil {
		f.onFollow()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var unfinished []ClusterRunState
	for _, r := range f.runs {
		if r.runState().Running {
			unfinished = append(unfinished, r.runState())
		}
	}
	ch := make(chan ClusterEvent, 100)
	f.followers = append(f.followers, ch)
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.followers = slices.DeleteFunc(f.followers, func(c chan ClusterEvent) bool { return c == ch })
	})
	return unfinished, ch, nil
}

// Nodes returns self where it published the cluster's copy of a timer,
// and the others for every timer that the cluster has a copy of.
func (t *fakeTerm) Nodes(ctx context.Context, timers []string) ([][]ClusterNode, error) {
	return t.f.Candidates(ctx, timers)
}

func (f *fakeCluster) Candidates(ctx context.Context, timers []string) ([][]ClusterNode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := make([][]ClusterNode, len(timers))
	for i, timer := range timers {
		hash, ok := f.hashes[timer]
		if !ok {
			continue
		}
		for _, name := range append([]string{"self"}, f.others...) {
			if name == "self" && f.mine[timer] != hash {
				continue
			}
			n := ClusterNode{Name: name, Hash: hash}
			for _, r := range f.runs {
				if r.node == name && r.runState().Running {
					n.Busy++
				}
			}
			all[i] = append(all[i], n)
		}
	}
	return all, nil
}

func (t *fakeTerm) Down(ctx context.Context) (bool, error) { return t.f.down, nil }

func (t *fakeTerm) SetHashes(ctx context.Context, hashes map[string]string) error {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-t.done:
		return ErrDeposed
	default:
	}
	if f.hashes == nil {
		f.hashes = map[string]string{}
	}
	maps.Copy(f.hashes, hashes)
	return nil
}

func (t *fakeTerm) Beat(ctx context.Context, at uint64) error {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.beats++
	return nil
}

func (t *fakeTerm) Activate(ctx context.Context, as []ClusterActivation) ([]store.TimerState, []error) {
	states, errs := make([]store.TimerState, len(as)), make([]error, len(as))
	for i, a := range as {
		states[i], errs[i] = t.activate(a)
	}
	return states, errs
}

func (t *fakeTerm) activate(a ClusterActivation) (store.TimerState, error) {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states == nil {
		f.states, f.committed, f.fired = map[string]store.TimerState{}, map[string]bool{}, map[string]int{}
	}
	st := f.states[a.Timer]
	if a.Prev.Version != st.Version {
		return store.TimerState{}, ErrStale
	}
	st.Version++
	st.ActiveRealtime = a.At
	f.states[a.Timer] = st
	return st, nil
}

func (t *fakeTerm) Timer(ctx context.Context, name string) (store.TimerState, error) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.termReads++
	return t.f.states[name], nil
}

func (t *fakeTerm) Trigger(ctx context.Context, ts []ClusterTrigger) ([]store.TimerState, []error) {
	states, errs := make([]store.TimerState, len(ts)), make([]error, len(ts))
	for i, tr := range ts {
		states[i], errs[i] = t.trigger(tr.Prev, tr.Trigger, tr.Node)
	}
	return states, errs
}

func (t *fakeTerm) trigger(prev store.TimerState, tr store.Trigger, node ClusterNode) (store.TimerState, error) {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.triggers == nil {
		f.triggers = map[int]int{}
	}
	n := f.triggers[t.n]
	f.triggers[t.n]++
	if f.committed == nil {
		f.committed, f.fired = map[string]bool{}, map[string]int{}
	}
	if f.states == nil {
		f.states = map[string]store.TimerState{}
	}
	select {
	case <-t.done:
		return store.TimerState{}, ErrDeposed
	default:
	}
	st := f.states[tr.Timer]
	var fault error
	if f.trigger != nil {
		if err := f.trigger(t.n, n); errors.Is(err, ErrStale) {
			st.Version++
			st.LastTrigger = tr.Realtime
			f.states[tr.Timer] = st
		} else if errors.Is(err, errReplyLost) {
			fault = err
		} else if err != nil {
			return store.TimerState{}, err
		}
	}
	if prev.Version != st.Version {
		return store.TimerState{}, ErrStale
	}
	for _, r := range f.runs {
		if r.timer == tr.Timer && r.runState().Running {
			f.overlaps = append(f.overlaps, fmt.Sprintf("%s at %d over the run of %d on %s", tr.Timer, tr.Realtime, r.started, r.node))
		}
	}
	st.Version++
	st.LastTrigger = tr.Realtime
	f.states[tr.Timer] = st
	f.committed[tr.Invocation] = true
	f.fired[tr.Timer]++
	if f.reasons == nil {
		f.reasons = map[string][]string{}
	}
	f.reasons[tr.Timer] = append(f.reasons[tr.Timer], tr.Reason)
	f.runs = append(f.runs, &fakeRun{timer: tr.Timer, unit: tr.Unit, reason: tr.Reason, invocation: tr.Invocation, node: node.Name,
		state: "assigned", started: tr.Realtime})
	if f.changed == nil {
		f.changed = make(chan struct{}, 1)
	}
	select {
	case f.changed <- struct{}{}:
	default:
	}
	if f.endFirst && t.n == 0 {
		t.Resign()
	}
	if f.closeFollow && !f.followClosed && len(f.followers) > 0 {
		f.followClosed = true
		close(f.followers[0])
		f.followers = f.followers[1:]
	}
	if fault != nil {
		return store.TimerState{}, fault
	}
	return st, nil
}

// TestClusterTimers runs a cluster timer that elapses every second with
// a fake cluster, until its service has run twice: each run is one of a
// trigger that held, none of a deposed term's or of a stamp that moved,
// and the timer never fired here on its own.
func TestClusterTimers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		leadErrs  int
		trigger   func(term, n int) error
		endFirst  bool
		terms     int  // at least
		unreached bool // the log says once that the cluster cannot be reached
		// again: how many times the log says a term took the timers
		// up again; with terms 1, there was one term.
		again       int
		closeFollow bool
	}{
		{name: "leader", terms: 1},
		{name: "deposed", terms: 2, trigger: func(term, n int) error {
			if term == 0 {
				return ErrDeposed
			}
			return nil
		}},
		{name: "stale", terms: 1, trigger: func(term, n int) error {
			if n == 0 {
				return ErrStale
			}
			return nil
		}},
		{name: "unreachable", leadErrs: 2, terms: 1, unreached: true},
		{name: "ended", endFirst: true, terms: 2},
		// The first trigger commits, but its reply is lost: the term
		// takes the timers up again from the stamp, and the run
		// assigned runs all the same, once.
		{name: "reply lost", terms: 1, again: 1, trigger: func(term, n int) error {
			if term == 0 && n == 0 {
				return errReplyLost
			}
			return nil
		}},
		// The runs can no longer be followed: the term takes the timers
		// up again, and leads on.
		{name: "follow lost", terms: 1, again: 1, closeFollow: true},
		// Every trigger of the first term fails: it takes the timers up
		// again once, and then ends.
		{name: "failing", terms: 2, again: 1, unreached: true, trigger: func(term, n int) error {
			if term == 0 {
				return errors.New("etcd cannot be reached")
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			runs := newRunLog(state)
			writeUnits(t, dir, map[string]string{
				"tick.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
				"tick.service": runs.oneshot(),
			})
			f := &fakeCluster{leadErrs: tc.leadErrs, trigger: tc.trigger, endFirst: tc.endFirst, closeFollow: tc.closeFollow}
			var logs logBuffer
			lines := runs.lines
			// Until the timer here shows the cluster's last trigger, as
			// list-timers does.
			shown := func(c *api.Client) bool {
				timers, err := c.Timers(context.Background())
				return err == nil && len(timers) == 1 && timers[0].LastTrigger > 0
			}
			runDaemon(t, dir, state, func(c *api.Client) bool { return len(lines()) >= 2 && shown(c) }, func(m *Manager) {
				m.Cluster = f
				m.Logger = newLogger(&logs)
			})
			f.mu.Lock()
			defer f.mu.Unlock()
			ran := map[string]bool{}
			for _, inv := range lines() {
				if !f.committed[inv] {
					t.Errorf("run %s of no trigger that held; committed: %v", inv, f.committed)
				}
				if ran[inv] {
					t.Errorf("run %s twice", inv)
				}
				ran[inv] = true
			}
			if !ran[f.runs[0].invocation] {
				t.Errorf("the first trigger's run, %s, did not run: %q", f.runs[0].invocation, lines())
			}
			if len(f.overlaps) > 0 {
				t.Errorf("triggers over a run not ended: %q", f.overlaps)
			}
			if tc.endFirst && f.triggers[0] != 1 {
				t.Errorf("%d triggers in the term that ended after its first", f.triggers[0])
			}
			if len(f.terms) < tc.terms {
				t.Errorf("%d terms, want %d", len(f.terms), tc.terms)
			}
			if f.ended < 1 {
				t.Errorf("no run's end recorded in the cluster")
			}
			again := strings.Count(logs.String(), "again under the same term")
			if again != tc.again || tc.again > 0 && tc.terms == 1 && len(f.terms) != 1 {
				t.Errorf("%d terms, and the log says %d times that the timers were taken up again, want %d:\n%s", len(f.terms), again, tc.again, logs.String())
			}
			told := strings.Count(logs.String(), "Cannot reach the cluster")
			if want := map[bool]int{true: 1}[tc.unreached]; told != want {
				t.Errorf("the log says %d times that the cluster cannot be reached, want %d:\n%s", told, want, logs.String())
			}
		})
	}
}

// TestClusterTimerStarted starts a cluster timer by hand while the node
// leads: the leader takes it up, and its service runs.
func TestClusterTimerStarted(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := newRunLog(state)
	writeUnits(t, dir, map[string]string{
		"tick.service": runs.oneshot(),
	})
	timerFile := "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n"
	if err := os.WriteFile(filepath.Join(dir, "tick.timer"), []byte(timerFile), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeCluster{}
	led := func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.terms) > 0
	}
	started := false
	runDaemon(t, dir, state, func(c *api.Client) bool {
		if !started && led() {
			res, err := c.Jobs(context.Background(), api.JobRequest{Verb: "start", Units: []string{"tick.timer"}})
			if err != nil || len(res) != 1 || res[0].Error != "" {
				t.Fatalf("start: %v %+v", err, res)
			}
			started = true
		}
		_, err := os.Stat(string(runs))
		return err == nil
	}, func(m *Manager) { m.Cluster = f })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.committed) == 0 {
		t.Errorf("no trigger in the cluster")
	}
}

// TestClusterTimerStoppedHere stops a cluster timer on the node that
// leads, while another node has it started: the node withdraws its copy,
// and the leader fires the timer on, each run on the other node.
func TestClusterTimerStoppedHere(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := newRunLog(state)
	writeUnits(t, dir, map[string]string{
		"tick.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
		"tick.service": runs.oneshot(),
	})
	f := &fakeCluster{others: []string{"b"}}
	stopped := false
	mark := -1 // the first run after the copy here was withdrawn
	runDaemon(t, dir, state, func(c *api.Client) bool {
		// b ends its runs, as it would, so that the timer fires again.
		f.End("tick.timer")
		if !stopped {
			if f.firedOf("tick.timer") == 0 {
				return false
			}
			res, err := c.Jobs(context.Background(), api.JobRequest{Verb: "stop", Units: []string{"tick.timer"}})
			if err != nil || len(res) != 1 || res[0].Error != "" {
				t.Fatalf("stop: %v %+v", err, res)
			}
			stopped = true
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, published := f.mine["tick.timer"]; published {
			return false
		}
		if mark < 0 {
			// One trigger may be under way from a read of the nodes
			// before the withdrawal, as an elapse may race a stop.
			mark = len(f.runs) + 1
		}
		return len(f.runs)-mark >= 2
	}, func(m *Manager) { m.Cluster = f })
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs[mark:] {
		if r.node != "b" {
			t.Errorf("a run of the timer stopped here went to %s, want b", r.node)
		}
	}
	if len(f.overlaps) > 0 {
		t.Errorf("triggers over a run not ended: %q", f.overlaps)
	}
}

// TestClusterTimerHashDiffers runs two cluster timers on a node that
// does not lead yet, one of which the cluster has another copy of: it
// says so once in its journal; once a leader makes this node's copy the
// cluster's, it says so too, and, leading, the node fires both.
func TestClusterTimerHashDiffers(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := newRunLog(state)
	service := runs.oneshot()
	timer := "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n"
	writeUnits(t, dir, map[string]string{"tick.timer": timer, "tick.service": service, "tock.timer": timer, "tock.service": service})
	f := &fakeCluster{hashes: map[string]string{"tick.timer": "0123456789abcdef"}, hold: make(chan struct{})}
	var msgs []string
	set := false
	runDaemon(t, dir, state, func(c *api.Client) bool {
		msgs = messages(c, "tick.timer")
		f.mu.Lock()
		defer f.mu.Unlock()
		if !set && slices.ContainsFunc(msgs, differs) {
			// Another node leads, and sets its copy, the same as this
			// node's, as the cluster's.
			f.hashes["tick.timer"] = f.mine["tick.timer"]
			set = true
		}
		if set && len(f.terms) == 0 && slices.ContainsFunc(msgs, again) {
			close(f.hold)
		}
		return f.fired["tock.timer"] >= 1 && f.fired["tick.timer"] >= 1
	}, func(m *Manager) { m.Cluster = f })
	if n := len(slices.DeleteFunc(slices.Clone(msgs), func(m string) bool { return !differs(m) })); n != 1 {
		t.Errorf("the journal of tick.timer says %d times that its copy differs, want once: %q", n, msgs)
	}
	if n := len(slices.DeleteFunc(slices.Clone(msgs), func(m string) bool { return !again(m) })); n != 1 {
		t.Errorf("the journal of tick.timer says %d times that its copy is the cluster's again, want once: %q", n, msgs)
	}
}

// TestClusterTimerLeaderHash leads with a copy of a cluster timer other
// than the cluster's: the leader's copy becomes the cluster's, and the
// timer fires.
func TestClusterTimerLeaderHash(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := newRunLog(state)
	writeUnits(t, dir, map[string]string{
		"tick.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
		"tick.service": runs.oneshot(),
	})
	f := &fakeCluster{hashes: map[string]string{"tick.timer": "0123456789abcdef"}}
	runDaemon(t, dir, state, func(c *api.Client) bool { return len(runs.lines()) >= 1 }, func(m *Manager) { m.Cluster = f })
	f.mu.Lock()
	defer f.mu.Unlock()
	if h := f.hashes["tick.timer"]; h != f.mine["tick.timer"] {
		t.Errorf("the cluster's hash of tick.timer is %s, want the leader's, %s", h, f.mine["tick.timer"])
	}
}

// again reports whether a message says that the node's copy of a timer
// is the cluster's again.
func again(msg string) bool {
	return strings.HasPrefix(msg, "tick.timer: this node's copy is the cluster's again (hash ") && strings.HasSuffix(msg, "); running it.")
}

// differs reports whether a message says that the node's copy of a
// timer is not the cluster's.
func differs(msg string) bool {
	return strings.HasPrefix(msg, "tick.timer: this node's copy differs from the cluster's (hash ") &&
		strings.HasSuffix(msg, ", cluster 0123456789ab); not running it.")
}

// TestClusterTimerStall has no leader fire a cluster timer: once its
// elapse is overdue by more than twice the lease (2 s), each node says so
// once in its journal; not while its unit's last run runs, and counted
// from that run's end.
func TestClusterTimerStall(t *testing.T) {
	// The stamp 30 s before a whole minute, which is due then.
	const due = 1_700_000_040_000_000
	for _, tc := range []struct {
		name    string
		running bool
		ended   uint64
		said    int    // the times the stall is said
		late    string // by how much, in seconds, when it is
		// activated is when the timer was activated in the cluster, if
		// after its last trigger: the whole cluster was down between.
		activated uint64
		// timer is its [Timer] section's settings, if not minutely; run,
		// its unit's last run, if any.
		timer string
		run   *fakeRun
		// nodes are its Nodes=, and why, what the stall says of it, if
		// not that no leader fired it.
		nodes, why string
	}{
		{name: "stalled", said: 1, late: "5"},
		// No live node matches its Nodes=: the elapse waits for one.
		{name: "no node", said: 1, late: "5", nodes: "zed", why: "no live node matches Nodes=zed and has the cluster's copy of it"},
		// Activated anew after the elapse following its last trigger,
		// which it does not catch up: its next is a minute away.
		{name: "activated", activated: due},
		{name: "running", running: true},
		// 4.5 s after the run's end, at the first scan past 4 s.
		{name: "ended", ended: due + 3_500_000, said: 1, late: "4"},
		// Due 30 s after its unit's last run ended, 20 s after its
		// last trigger's 30 s: not overdue.
		{name: "unit inactive", timer: "OnUnitInactiveSec=30s", run: &fakeRun{timer: "tick.timer", unit: "tick.service", node: "b",
			state: "ended", started: due - 30_000_000, ended: due - 10_000_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{
				"tick.timer":   "[Timer]\n" + cmp.Or(tc.timer, "OnCalendar=minutely") + "\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\nNodes=" + tc.nodes + "\n",
				"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
			})
			clk := &stepClock{now: timer.Instant{Realtime: due, Monotonic: 1000_000_000, Boottime: 1000_000_000}}
			f := &fakeCluster{noLead: true, lastRunning: tc.running, lastEnded: tc.ended,
				states: map[string]store.TimerState{"tick.timer": {LastTrigger: due - 30_000_000, ActiveRealtime: tc.activated, Version: 1}}}
			if tc.run != nil {
				f.runs = []*fakeRun{tc.run}
			}
			d := startTestDaemon(t, dir, state, clk, "boot1", func(m *Manager) { m.Cluster = f })
			reads := func() int {
				f.mu.Lock()
				defer f.mu.Unlock()
				return f.reads
			}
			await.Until(t, func() bool { return reads() > 0 }, "the stamp read")
			// 3 s, 5 s, then 6 s to 11 s overdue, a scan each.
			steps := []time.Duration{3 * time.Second, 2 * time.Second}
			for range 6 {
				steps = append(steps, time.Second)
			}
			for _, step := range steps {
				n := reads()
				clk.Advance(step)
				await.Until(t, func() bool { return reads() > n }, "the stamp read again")
			}
			said := "tick.timer: overdue by " + tc.late + " s; " + cmp.Or(tc.why, "no leader has fired it") + "."
			if tc.said > 0 {
				await.Until(t, func() bool { return d.log.count(said) == tc.said }, "the stall said")
			}
			d.stop()
			late := d.log.count(said)
			d.log.mu.Lock()
			defer d.log.mu.Unlock()
			n := 0
			for _, msg := range d.log.msgs {
				if strings.Contains(msg, "overdue by") {
					n++
				}
			}
			if n != tc.said || late != tc.said {
				t.Errorf("%d messages of the stall, want %d of %s s: %q", n, tc.said, tc.late, d.log.msgs)
			}
		})
	}
}

// TestClusterTimerResume has a new term take up a cluster timer from the
// cluster's stamp: after a failover, an elapse missed fires once, late,
// and OnActiveSec= counts from the timer's activation in the cluster, not
// from the term's start; after the whole cluster's stop, only a
// Persistent= timer catches up, and the journal says why another does
// not.
func TestClusterTimerResume(t *testing.T) {
	began := clock.Real{}.Now()
	now, up := began.Realtime, began.Monotonic // up: since this machine's boot
	hour := uint64(time.Hour / time.Microsecond)
	for _, tc := range []struct {
		name     string
		timer    string
		down     bool
		state    store.TimerState
		fires    bool   // at once, as a catch-up
		journal  string // the timer's journal says, as it takes it up
		activate bool   // the activation stored is the term's
		beats    int    // the leader's scans it is given, else until it took it up
	}{
		{name: "failover", timer: "OnCalendar=hourly", state: store.TimerState{LastTrigger: now - 2*hour, ActiveRealtime: now - 3*hour}, fires: true},
		{name: "active", timer: "OnActiveSec=1h", state: store.TimerState{ActiveRealtime: now - 2*hour}, fires: true},
		{name: "outage", timer: "OnCalendar=hourly", down: true, state: store.TimerState{LastTrigger: now - 2*hour, ActiveRealtime: now - 3*hour},
			journal: "not caught up, as the timer is not Persistent=.", activate: true},
		{name: "outage persistent", timer: "OnCalendar=hourly\nPersistent=yes", down: true,
			state: store.TimerState{LastTrigger: now - 2*hour, ActiveRealtime: now - 3*hour}, fires: true, activate: true},
		{name: "outage active", timer: "OnActiveSec=1h", down: true, state: store.TimerState{ActiveRealtime: now - 2*hour}, activate: true},
		// Activated and fired by a node whose clock is 2 s ahead: fired.
		{name: "active ahead", timer: "OnActiveSec=1s", state: store.TimerState{ActiveRealtime: now + 1e6, LastTrigger: now + 2e6}, beats: 4},
		// Fired by the last leader: not again.
		{name: "active fired", timer: "OnActiveSec=1s", state: store.TimerState{ActiveRealtime: now - 9e6, LastTrigger: now - 8e6}, beats: 4},
		// Activated, or last fired, before this machine booted, and due
		// since: not counted from its boot.
		{name: "active before boot", timer: fmt.Sprintf("OnActiveSec=%dus", up+hour), state: store.TimerState{ActiveRealtime: now - up - 2*hour}, fires: true},
		{name: "unit active before boot", timer: fmt.Sprintf("OnUnitActiveSec=%dus", up+hour),
			state: store.TimerState{LastTrigger: now - up - 2*hour, ActiveRealtime: now - up - 3*hour}, fires: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{
				"tick.timer":   "[Timer]\n" + tc.timer + "\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
				"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
			})
			// The stamps are of the case's start, not of the test's.
			st, later := tc.state, clock.Real{}.Now().Realtime-now
			for _, stamp := range []*uint64{&st.ActiveRealtime, &st.LastTrigger} {
				if *stamp > 0 {
					*stamp += later
				}
			}
			st.Version = 1
			f := &fakeCluster{down: tc.down, states: map[string]store.TimerState{"tick.timer": st},
				committed: map[string]bool{}, fired: map[string]int{}}
			var msgs []string
			runDaemon(t, dir, state, func(c *api.Client) bool {
				msgs = messages(c, "tick.timer")
				f.mu.Lock()
				defer f.mu.Unlock()
				taken := f.states["tick.timer"].Version > 1
				if tc.fires {
					return f.fired["tick.timer"] > 0
				}
				if tc.beats > 0 {
					return f.beats >= tc.beats
				}
				return taken && (tc.journal == "" || slices.ContainsFunc(msgs, func(m string) bool { return strings.HasSuffix(m, tc.journal) }))
			}, func(m *Manager) { m.Cluster = f })
			f.mu.Lock()
			defer f.mu.Unlock()
			if !tc.fires && f.fired["tick.timer"] > 0 {
				t.Errorf("fired %d times (%q), want none", f.fired["tick.timer"], f.reasons["tick.timer"])
			}
			if tc.fires && (len(f.reasons["tick.timer"]) != 1 || !strings.HasSuffix(f.reasons["tick.timer"][0], "(catch-up)")) {
				t.Errorf("fired for %q, want one catch-up", f.reasons["tick.timer"])
			}
			if active := f.states["tick.timer"].ActiveRealtime; tc.activate == (active == st.ActiveRealtime) {
				t.Errorf("active since %d, was %d: want the term's activation %v", active, st.ActiveRealtime, tc.activate)
			}
			if tc.journal == "" && slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "whole cluster") }) {
				t.Errorf("the journal says %q", msgs)
			}
		})
	}
}

func TestPlaceRun(t *testing.T) {
	nodes := []ClusterNode{{Name: "db1", Busy: 2}, {Name: "web-a", Busy: 1}, {Name: "web-b", Busy: 1}, {Name: "web-c", Busy: 3}}
	for _, tc := range []struct {
		name  string
		globs []string
		given map[string]int
		want  string // "" for none
	}{
		{"least busy, then by name", nil, nil, "web-a"},
		{"spread over the equally busy", nil, map[string]int{"web-a": 1}, "web-b"},
		{"busy first", []string{"web-*"}, map[string]int{"web-a": 5, "web-b": 5}, "web-a"},
		{"globs", []string{"db?", "web-c"}, nil, "db1"},
		{"none matches", []string{"cache*"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := placeRun(nodes, tc.globs, tc.given)
			if got := map[bool]string{true: n.Name}[ok]; got != tc.want {
				t.Errorf("placeRun = %q, want %q", got, tc.want)
			}
		})
	}
	if _, ok := placeRun(nil, nil, nil); ok {
		t.Errorf("placeRun of no nodes found one")
	}
}

// firedOf returns how many triggers of timer held.
func (f *fakeCluster) firedOf(timer string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired[timer]
}

// TestClusterPlacement runs a cluster timer whose Nodes= names another
// node, that elapses once: while no live node matches, the elapse waits
// and its journal says why, once; once the node comes, the run is
// assigned to it, and does not run here.
func TestClusterPlacement(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := newRunLog(state)
	writeUnits(t, dir, map[string]string{
		"once.timer":   "[Timer]\nOnActiveSec=1s\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\nNodes=zed zoe\n",
		"once.service": runs.oneshot(),
	})
	f := &fakeCluster{others: []string{"apple"}}
	const why = "once.timer: no live node matches Nodes=zed zoe and has the cluster's copy of it; the elapse waits."
	came := false
	var msgs []string
	runDaemon(t, dir, state, func(c *api.Client) bool {
		msgs = messages(c, "once.timer")
		if !came && slices.Contains(msgs, why) {
			f.Come("zed")
			came = true
		}
		return came && f.firedOf("once.timer") == 1
	}, func(m *Manager) { m.Cluster = f })
	if n := len(slices.DeleteFunc(msgs, func(m string) bool { return m != why })); n != 1 {
		t.Errorf("the journal says %d times why the elapse waits, want once", n)
	}
	if got := f.runsOf("once.timer"); !slices.Equal(got, []string{"zed assigned"}) {
		t.Errorf("runs = %q, want one assigned to zed", got)
	}
	if _, err := os.Stat(string(runs)); err == nil {
		t.Errorf("the run assigned to zed ran here")
	}
}

// TestClusterPlacementTogether has four cluster timers elapse together
// while zed runs a run already and zoe none: their runs go to the least
// busy node as each is assigned, counting those assigned with them, as
// one after the other: two to each, not all four to zoe.
func TestClusterPlacementTogether(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	units := map[string]string{}
	for _, name := range []string{"a", "b", "c", "d"} {
		units[name+".timer"] = "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\nNodes=z*\n"
		units[name+".service"] = "[Service]\nType=oneshot\nExecStart=/bin/true\n"
	}
	writeUnits(t, dir, units)
	f := &fakeCluster{others: []string{"zed", "zoe"}, runs: []*fakeRun{{timer: "other.timer", node: "zed", state: "running"}}}
	runDaemon(t, dir, state, func(c *api.Client) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.runs) == 5
	}, func(m *Manager) { m.Cluster = f })
	on := map[string]int{}
	for _, name := range []string{"a", "b", "c", "d"} {
		for _, r := range f.runsOf(name + ".timer") {
			on[strings.Fields(r)[0]]++
		}
	}
	if on["zed"] != 2 || on["zoe"] != 2 {
		t.Errorf("runs by node = %v; want 2 on zed and 2 on zoe", on)
	}
}

// TestClusterOverlap runs two cluster timers that elapse every second:
// long.timer's run on another node does not end until the test ends it,
// and the timer does not fire while it has not, across a new term too,
// however often tick.timer fires; once it ends (or its node is lost),
// long.timer fires once, late.
func TestClusterOverlap(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failover bool   // a new term while the run runs
		lost     bool   // its node leaves, rather than its run ending
		want     string // the run of the second trigger
	}{
		{name: "ended", want: "zed ended"},
		{name: "failover", failover: true, want: "zed ended"},
		{name: "node lost", lost: true, want: "zed node-lost"},
		{name: "node lost after failover", failover: true, lost: true, want: "zed node-lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			timer := "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n"
			writeUnits(t, dir, map[string]string{
				"long.timer":   timer + "Nodes=z*\n",
				"long.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
				"tick.timer":   timer + "Nodes=self\n",
				"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
			})
			f := &fakeCluster{others: []string{"zed", "zoe"}}
			// step: 0 until long.timer fired, with tick.timer's count
			// then; 1 once tick.timer fired 3 more times (in a new term
			// with failover); 2 once long.timer's run ended.
			step, ticks, terms := 0, 0, 0
			// next moves the steps on, and reports whether the run of
			// long.timer is to end now.
			next := func() (end bool) {
				f.mu.Lock()
				defer f.mu.Unlock()
				switch {
				case step == 0 && f.fired["long.timer"] == 1:
					step, ticks, terms = 1, f.fired["tick.timer"], len(f.terms)
					if tc.failover {
						f.terms[len(f.terms)-1].Resign()
					}
				case step == 1 && f.fired["tick.timer"] >= ticks+3 && (len(f.terms) > terms) == tc.failover:
					if n := f.fired["long.timer"]; n != 1 {
						t.Errorf("long.timer fired %d times while its run ran", n)
					}
					step = 2
					return true
				}
				return false
			}
			runDaemon(t, dir, state, func(c *api.Client) bool {
				if next() {
					if tc.lost {
						f.Leave("zed")
					} else {
						f.End("long.timer")
					}
				}
				return step == 2 && f.firedOf("long.timer") == 2
			}, func(m *Manager) { m.Cluster = f })
			f.mu.Lock()
			if len(f.overlaps) > 0 {
				t.Errorf("triggers over a run not ended: %q", f.overlaps)
			}
			f.mu.Unlock()
			got := f.runsOf("long.timer")
			if len(got) != 2 || got[0] != tc.want || got[1] == tc.want {
				t.Errorf("runs of long.timer = %q; want %s, then another", got, tc.want)
			}
		})
	}
}

// TestClusterUnitInactive has a leader take up a timer with
// OnUnitInactiveSec= whose last run, on another node, ended after its
// last trigger: its elapse counts from that end, in the cluster's
// record, and is not due at once, as it would be from the trigger.
func TestClusterUnitInactive(t *testing.T) {
	const now = 1_700_000_040_000_000
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"after.timer":   "[Timer]\nOnUnitInactiveSec=2s\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\nNodes=zed\n",
		"after.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	clk := &stepClock{now: timer.Instant{Realtime: now, Monotonic: 1000_000_000, Boottime: 1000_000_000}}
	last := &fakeRun{timer: "after.timer", unit: "after.service", node: "zed", state: "ended", started: now - 10_000_000}
	// The lease long enough that no stall is looked for.
	f := &fakeCluster{others: []string{"zed"}, runs: []*fakeRun{last}, lease: time.Hour,
		states: map[string]store.TimerState{"after.timer": {LastTrigger: now - 10_000_000, Version: 1}}}
	// The run ended half a second before the leader reads it.
	var ended uint64
	f.onLastRun = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if ended == 0 {
			ended = clk.Now().Realtime - 500_000
			last.ended = ended
		}
	}
	d := startTestDaemon(t, dir, state, clk, "boot1", func(m *Manager) { m.Cluster = f })
	defer d.stop()
	// The leader takes the timer up at a scan once its copy is known to
	// be the cluster's: the clock moves on in steps until it has.
	await.Until(t, func() bool {
		f.mu.Lock()
		read := ended > 0
		f.mu.Unlock()
		if !read {
			clk.Advance(100 * time.Millisecond)
		}
		return read
	}, "the leader's read of the last run")
	clk.Advance(2 * time.Second)
	await.Until(t, func() bool { return f.firedOf("after.timer") == 1 }, "after.timer fired")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.runs[1]; r.reason != "OnUnitInactiveSec" || r.started < ended+2_000_000 {
		t.Errorf("after.timer fired at %d for %q; want at 2 s after its last run's end, %d, on time", r.started, r.reason, ended+2_000_000)
	}
}

// TestClusterEndRetried fails the record of a run's end in the cluster
// at first: it is tried again until it holds, and the timer, which waits
// for the run's end, fires again.
func TestClusterEndRetried(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"tick.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
		"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	f := &fakeCluster{endErrs: 2}
	var logs logBuffer
	runDaemon(t, dir, state, func(c *api.Client) bool { return f.firedOf("tick.timer") >= 2 }, func(m *Manager) {
		m.Cluster = f
		m.Logger = newLogger(&logs)
	})
	if n := strings.Count(logs.String(), "Failed to record the end of a run of tick.service in the cluster; trying again."); n != 1 {
		t.Errorf("the log says %d times that the end failed, want once:\n%s", n, logs.String())
	}
}

// TestClusterNodeLeftAtTermStart has the node of a run not ended leave
// just before the new leader follows the nodes, untold: the term marks
// its run lost all the same, and the timer, which waited for it, fires.
func TestClusterNodeLeftAtTermStart(t *testing.T) {
	const before = 1_700_000_000_000_000
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"long.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\nNodes=z*\n",
		"long.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	f := &fakeCluster{others: []string{"zed", "zoe"},
		states: map[string]store.TimerState{"long.timer": {LastTrigger: before, Version: 1}},
		runs:   []*fakeRun{{timer: "long.timer", unit: "long.service", node: "zed", state: "running", started: before}}}
	f.onFollow = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.others = slices.DeleteFunc(f.others, func(n string) bool { return n == "zed" })
	}
	runDaemon(t, dir, state, func(c *api.Client) bool { return f.firedOf("long.timer") == 1 }, func(m *Manager) { m.Cluster = f })
	if got := f.runsOf("long.timer"); len(got) != 2 || got[0] != "zed node-lost" || got[1] != "zoe assigned" {
		t.Errorf("runs of long.timer = %q; want zed's lost, then one assigned to zoe", got)
	}
}

// TestClusterLeaseLost has this node lose its lease while the run of a
// cluster timer it was assigned runs: the run's unit is stopped at once,
// being lost to the cluster, whose leader may run the next elapse on
// another node; and the node, joined again, publishes its hashes again
// and runs the next elapse it is assigned: the unit, stopped, starts
// again.
func TestClusterLeaseLost(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := newRunLog(state)
	writeUnits(t, dir, map[string]string{
		"long.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\nNodes=self\n",
		"long.service": "[Service]\nExecStart=/bin/sh -c '" + runs.echo() + "; exec sleep 1000'\n",
	})
	f := &fakeCluster{}
	lines := runs.lines
	lost := false
	var stopped []string
	runDaemon(t, dir, state, func(c *api.Client) bool {
		if !lost && len(lines()) == 1 {
			lost = true
			f.LoseLease()
		}
		stopped = messages(c, "long.service")
		f.mu.Lock()
		published := f.published["long.timer"]
		f.mu.Unlock()
		return len(lines()) >= 2 && published >= 2
	}, func(m *Manager) { m.Cluster = f })
	if !slices.ContainsFunc(stopped, func(msg string) bool { return strings.Contains(msg, "lost to the cluster") }) {
		t.Errorf("the journal of long.service does not say its run was stopped as lost: %q", stopped)
	}
	got := f.runsOf("long.timer")
	if len(got) < 2 || got[0] != "self node-lost" {
		t.Errorf("runs of long.timer = %q; want the first lost, then another", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.overlaps) > 0 {
		t.Errorf("triggers over a run not ended: %q", f.overlaps)
	}
}

// A runLog is a file that each run of a test's service appends its
// invocation ID to.
type runLog string

// newRunLog is the run log of a test's state directory, with no run yet.
func newRunLog(state string) runLog { return runLog(filepath.Join(state, "runs")) }

// echo is a shell command that appends the run's invocation ID.
func (r runLog) echo() string { return "echo $$INVOCATION_ID >>" + string(r) }

// oneshot is the file of a oneshot service whose run appends.
func (r runLog) oneshot() string {
	return "[Service]\nType=oneshot\nExecStart=/bin/sh -c '" + r.echo() + "'\n"
}

// lines are the invocation IDs of the runs so far.
func (r runLog) lines() []string {
	data, _ := os.ReadFile(string(r))
	return strings.Fields(string(data))
}

// TestClusterClockSkew has the leader beat 30 s ahead of this node's
// clock, then in step, then 30 s behind: the log says each, once.
func TestClusterClockSkew(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	f := &fakeCluster{noLead: true, leaderBeats: make(chan uint64)}
	var logs logBuffer
	want := []string{
		"This node's clock is 30s behind the leader's: the cluster's timers elapse by the clock of the node that leads, and would fire 30s late while this one does.",
		"This node's clock is in step with the leader's again.",
		"This node's clock is 30s ahead of the leader's: the cluster's timers elapse by the clock of the node that leads, and would fire 30s early while this one does.",
	}
	offsets := []time.Duration{30 * time.Second, 0, -30 * time.Second}
	step := 0
	var clk clock.Clock = clock.Real{}
	runDaemon(t, dir, state, func(c *api.Client) bool {
		if step == len(want) {
			return true
		}
		// Twice each: the second, past the first, says nothing more.
		// The second is taken once the first has been told of.
		for range 2 {
			at := int64(clk.Now().Realtime) + offsets[step].Microseconds()
			select {
			case f.leaderBeats <- uint64(at):
			case <-time.After(await.Deadline):
				t.Fatal("the clock's watcher took no beat")
			}
		}
		if strings.Contains(logs.String(), want[step]) {
			step++
		}
		return false
	}, func(m *Manager) {
		m.Cluster = f
		m.Logger = newLogger(&logs)
	})
	for _, w := range want {
		if n := strings.Count(logs.String(), w); n != 1 {
			t.Errorf("the log says %d times %q, want once:\n%s", n, w, logs.String())
		}
	}
}
