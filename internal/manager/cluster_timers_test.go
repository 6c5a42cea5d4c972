package manager

import (
	"context"
	"errors"
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

// fakeCluster is a cluster of timers' stamps, in memory: its terms'
// triggers compare the stamp's version, as etcd's do, and what each
// trigger of each term does is the test's.
type fakeCluster struct {
	// leadErrs is how many campaigns fail, as where etcd cannot be
	// reached, before one wins.
	leadErrs int
	// trigger, if set, is what the n-th trigger (from 0) of the term-th
	// term (from 0) does first: an error fails it, with ErrStale after
	// moving the stamp, as another trigger would.
	trigger func(term, n int) error
	// endFirst, if set, ends the first term (its Done closed, as its
	// lease ending would) once it has triggered once.
	endFirst bool
	// noLead, if set, has no campaign won: no node leads.
	noLead bool
	// down is what each term's Down tells: the whole cluster was down.
	down  bool
	beats int // of all terms

	mu        sync.Mutex
	campaigns int
	terms     int
	triggers  map[int]int                 // by term
	states    map[string]store.TimerState // by timer
	committed map[string]bool             // the invocations of the triggers that held
	fired     map[string]int              // the triggers that held, by timer
	reasons   map[string][]string         // of the triggers that held, by timer
	ended     int
	// hashes are the cluster's hashes of timers, the first published
	// unless the test set one.
	hashes map[string]string
	reads  int // of stamps, outside terms
	// lastRunning and lastEnded are what LastRun tells of every timer.
	lastRunning bool
	lastEnded   uint64
	lastRuns    int // calls of LastRun
}

func (f *fakeCluster) LastRun(ctx context.Context, timer string) (bool, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastRuns++
	return f.lastRunning, f.lastEnded, nil
}

func (f *fakeCluster) Timer(ctx context.Context, name string) (store.TimerState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.states[name], nil
}

func (f *fakeCluster) Lease() time.Duration { return 2 * time.Second }

func (f *fakeCluster) PublishHash(ctx context.Context, timer, hash string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hashes == nil {
		f.hashes = map[string]string{}
	}
	if _, ok := f.hashes[timer]; !ok {
		f.hashes[timer] = hash
	}
	return f.hashes[timer], nil
}

func (f *fakeCluster) Mark(u *unit.Unit) (bool, []unit.Diagnostic) {
	for _, a := range u.Assignments {
		if a.Section == "X-Sundial" && a.Key == "Cluster" && a.Value == "yes" {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeCluster) Lead(ctx context.Context) (ClusterTerm, error) {
	if f.noLead {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.campaigns++; f.campaigns <= f.leadErrs {
		return nil, errors.New("etcd cannot be reached")
	}
	f.terms++
	return &fakeTerm{f: f, n: f.terms - 1, done: make(chan struct{})}, nil
}

func (f *fakeCluster) EndRun(ctx context.Context, run ClusterRun, ended uint64, result, exitCode string, exitStatus int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended++
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

func (t *fakeTerm) MarkNodesLost(ctx context.Context, at uint64) error { return nil }

func (t *fakeTerm) Down(ctx context.Context) (bool, error) { return t.f.down, nil }

func (t *fakeTerm) Beat(ctx context.Context, at uint64) error {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.beats++
	return nil
}

func (t *fakeTerm) Activate(ctx context.Context, name string, prev store.TimerState, at uint64) (store.TimerState, error) {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states == nil {
		f.states, f.committed, f.fired = map[string]store.TimerState{}, map[string]bool{}, map[string]int{}
	}
	st := f.states[name]
	if prev.Version != st.Version {
		return store.TimerState{}, ErrStale
	}
	st.Version++
	st.ActiveRealtime = at
	f.states[name] = st
	return st, nil
}

func (t *fakeTerm) Timer(ctx context.Context, name string) (store.TimerState, error) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.states[name], nil
}

func (t *fakeTerm) Trigger(ctx context.Context, prev store.TimerState, tr store.Trigger) (store.TimerState, ClusterRun, error) {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.triggers == nil {
		f.triggers = map[int]int{}
	}
	n := f.triggers[t.n]
	f.triggers[t.n]++
	if f.states == nil {
		f.states, f.committed, f.fired = map[string]store.TimerState{}, map[string]bool{}, map[string]int{}
	}
	st := f.states[tr.Timer]
	if f.trigger != nil {
		if err := f.trigger(t.n, n); errors.Is(err, ErrStale) {
			st.Version++
			st.LastTrigger = tr.Realtime
			f.states[tr.Timer] = st
		} else if err != nil {
			return store.TimerState{}, nil, err
		}
	}
	if prev.Version != st.Version {
		return store.TimerState{}, nil, ErrStale
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
	if f.endFirst && t.n == 0 {
		t.Resign()
	}
	return st, tr.Invocation, nil
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			runs := filepath.Join(state, "runs")
			writeUnits(t, dir, map[string]string{
				"tick.timer":   "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
				"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo $$INVOCATION_ID >>" + runs + "'\n",
			})
			f := &fakeCluster{leadErrs: tc.leadErrs, trigger: tc.trigger, endFirst: tc.endFirst}
			var logs logBuffer
			lines := func() []string {
				data, _ := os.ReadFile(runs)
				return strings.Fields(string(data))
			}
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
			for _, inv := range lines() {
				if !f.committed[inv] {
					t.Errorf("run %s of no trigger that held; committed: %v", inv, f.committed)
				}
			}
			if tc.endFirst && f.triggers[0] != 1 {
				t.Errorf("%d triggers in the term that ended after its first", f.triggers[0])
			}
			if f.terms < tc.terms {
				t.Errorf("%d terms, want %d", f.terms, tc.terms)
			}
			if f.ended < 1 {
				t.Errorf("no run's end recorded in the cluster")
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
	runs := filepath.Join(state, "runs")
	writeUnits(t, dir, map[string]string{
		"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo $$INVOCATION_ID >>" + runs + "'\n",
	})
	timerFile := "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n"
	if err := os.WriteFile(filepath.Join(dir, "tick.timer"), []byte(timerFile), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeCluster{}
	led := func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.terms > 0
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
		_, err := os.Stat(runs)
		return err == nil
	}, func(m *Manager) { m.Cluster = f })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.committed) == 0 {
		t.Errorf("no trigger in the cluster")
	}
}

// TestClusterTimerHashDiffers runs two cluster timers, one of which the
// cluster has another copy of: it says so once in its journal and is
// never fired, while the other runs.
func TestClusterTimerHashDiffers(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	runs := filepath.Join(state, "runs")
	service := "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo $$INVOCATION_ID >>" + runs + "'\n"
	timer := "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n"
	writeUnits(t, dir, map[string]string{"tick.timer": timer, "tick.service": service, "tock.timer": timer, "tock.service": service})
	f := &fakeCluster{hashes: map[string]string{"tick.timer": "0123456789abcdef"}}
	var msgs []string
	runDaemon(t, dir, state, func(c *api.Client) bool {
		msgs = messages(c, "tick.timer")
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.fired["tock.timer"] >= 2 && slices.ContainsFunc(msgs, differs)
	}, func(m *Manager) { m.Cluster = f })
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fired["tick.timer"] != 0 {
		t.Errorf("tick.timer, whose copy differs, fired %d times", f.fired["tick.timer"])
	}
	if n := len(slices.DeleteFunc(msgs, func(m string) bool { return !differs(m) })); n != 1 {
		t.Errorf("the journal of tick.timer says %d times that its copy differs, want once: %q", n, msgs)
	}
	if f.hashes["tock.timer"] == "" {
		t.Errorf("no hash of tock.timer published")
	}
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
	}{
		{name: "stalled", said: 1, late: "5"},
		// Activated anew after the elapse following its last trigger,
		// which it does not catch up: its next is a minute away.
		{name: "activated", activated: due},
		{name: "running", running: true},
		// 4.5 s after the run's end, at the first scan past 4 s.
		{name: "ended", ended: due + 3_500_000, said: 1, late: "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{
				"tick.timer":   "[Timer]\nOnCalendar=minutely\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
				"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
			})
			clk := &stepClock{now: timer.Instant{Realtime: due, Monotonic: 1000_000_000, Boottime: 1000_000_000}}
			f := &fakeCluster{noLead: true, lastRunning: tc.running, lastEnded: tc.ended,
				states: map[string]store.TimerState{"tick.timer": {LastTrigger: due - 30_000_000, ActiveRealtime: tc.activated, Version: 1}}}
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
			said := "tick.timer: overdue by " + tc.late + " s; no leader has fired it."
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
	now := clock.Real{}.Now().Realtime
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{
				"tick.timer":   "[Timer]\n" + tc.timer + "\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
				"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
			})
			st := tc.state
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
			if active := f.states["tick.timer"].ActiveRealtime; tc.activate == (active == tc.state.ActiveRealtime) {
				t.Errorf("active since %d, was %d: want the term's activation %v", active, tc.state.ActiveRealtime, tc.activate)
			}
			if tc.journal == "" && slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, "whole cluster") }) {
				t.Errorf("the journal says %q", msgs)
			}
		})
	}
}

// TestClusterTimerRunElsewhere has a new term find the last run of a
// cluster timer's unit running on another node: the timer waits for its
// end, as for a run here, and then fires the elapse it missed, once.
func TestClusterTimerRunElsewhere(t *testing.T) {
	now := clock.Real{}.Now().Realtime
	hour := uint64(time.Hour / time.Microsecond)
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"tick.timer":   "[Timer]\nOnCalendar=hourly\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n",
		"tick.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	f := &fakeCluster{states: map[string]store.TimerState{"tick.timer": {LastTrigger: now - 2*hour, ActiveRealtime: now - 3*hour, Version: 1}},
		lastRunning: true, committed: map[string]bool{}, fired: map[string]int{}}
	runDaemon(t, dir, state, func(c *api.Client) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fired["tick.timer"] > 0 && f.lastRunning {
			t.Fatalf("fired while its unit runs elsewhere")
		}
		if f.lastRunning && f.lastRuns >= 3 {
			// The leader has found the run going on, as it scanned:
			// now it ends.
			f.lastRunning, f.lastEnded = false, now
		}
		return f.fired["tick.timer"] > 0
	}, func(m *Manager) { m.Cluster = f })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reasons["tick.timer"]) != 1 || !strings.HasSuffix(f.reasons["tick.timer"][0], "(catch-up)") {
		t.Errorf("fired for %q, want one catch-up", f.reasons["tick.timer"])
	}
}
