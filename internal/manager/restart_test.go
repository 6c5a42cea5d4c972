package manager

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
)

// A stepClock moves when told to, and by a microsecond each time it is
// read, as time goes on while the daemon works; the timers it made fire
// as it passes them.
type stepClock struct {
	mu    sync.Mutex
	now   timer.Instant
	waits map[*stepWait]bool
}

type stepWait struct {
	at uint64 // monotonic µs
	c  chan time.Time
}

func (c *stepClock) Now() timer.Instant {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(1)
	return c.now
}

func (c *stepClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &stepWait{at: c.now.Monotonic + uint64(max(d, 0)/time.Microsecond), c: make(chan time.Time, 1)}
	if w.at <= c.now.Monotonic {
		w.c <- time.Time{}
		return w.c, func() bool { return false }
	}
	if c.waits == nil {
		c.waits = map[*stepWait]bool{}
	}
	c.waits[w] = true
	return w.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := c.waits[w]
		delete(c.waits, w)
		return was
	}
}

// Advance moves the clocks on by d, and fires the timers it passes.
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(uint64(d / time.Microsecond))
}

func (c *stepClock) advance(us uint64) {
	c.now.Realtime += us
	c.now.Monotonic += us
	c.now.Boottime += us
	for w := range c.waits {
		if w.at <= c.now.Monotonic {
			w.c <- time.Time{}
			delete(c.waits, w)
		}
	}
}

// A logTap keeps the messages a daemon logs, for a test to wait on.
type logTap struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logTap) Enabled(context.Context, slog.Level) bool { return true }
func (l *logTap) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logTap) WithGroup(string) slog.Handler            { return l }
func (l *logTap) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}

// count is how many times msg was logged.
func (l *logTap) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// A testDaemon is a Manager running in a test.
type testDaemon struct {
	t      *testing.T
	m      *Manager
	log    *logTap
	cancel context.CancelFunc
	ended  chan error
	dead   atomic.Bool // its writes to the store fail, as after kill -9
}

func startTestDaemon(t *testing.T, dir, state string, clk *stepClock, boot string, configure ...func(*Manager)) *testDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &testDaemon{t: t, log: &logTap{}, cancel: cancel, ended: make(chan error, 1)}
	d.m = &Manager{UnitPath: []string{dir}, StateDir: state, Env: []string{"PATH=/usr/bin:/bin"}, Clock: clk, Boot: boot, Logger: slog.New(d.log)}
	d.m.faults = func(w storeWrites) storeWrites { return fullDisk{w, &d.dead} }
	for _, f := range configure {
		f(d.m)
	}
	go func() { d.ended <- d.m.Run(ctx) }()
	t.Cleanup(d.stop)
	return d
}

// kill stops the daemon as kill -9 does, as far as the store is
// concerned: nothing it would write at its stop is written.
func (d *testDaemon) kill() {
	d.dead.Store(true)
	d.stop()
}

func (d *testDaemon) stop() {
	if d.cancel != nil {
		d.cancel()
		d.cancel = nil
		if err := <-d.ended; err != nil {
			d.t.Errorf("the daemon: %v", err)
		}
	}
}

// TestTimerBasesKept restarts the daemon killed while its timers wait:
// within the same boot, their monotonic bases are what they were, as
// systemd's are across daemon-reexec; in another boot, or after a clean
// stop (systemd's exit), they start anew.
func TestTimerBasesKept(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timer    string
		boot     string   // the second daemon's
		before   []string // clock moves before the restart
		after    []string // and after
		fired    []uint64 // the runs' starts, seconds after the first start
		firstRun bool     // a run at the first move
		clean    bool     // the first daemon stopped, not killed
	}{
		// Fires 10 min after the timer's start, the restart 6 min in.
		{name: "OnActiveSec", timer: "OnActiveSec=10min", boot: "boot1", before: []string{"6m"}, after: []string{"3m59s", "1s", "6m"}, fired: []uint64{600}},
		{name: "OnActiveSec/reboot", timer: "OnActiveSec=10min", boot: "boot2", before: []string{"6m"}, after: []string{"4m", "5m59s", "1s"}, fired: []uint64{960}},
		{name: "OnActiveSec/stopped", timer: "OnActiveSec=10min", boot: "boot1", clean: true, before: []string{"6m"}, after: []string{"4m", "5m59s", "1s"}, fired: []uint64{960}},
		// Counted from the daemon's first start in the boot, unless it
		// stopped cleanly.
		{name: "OnStartupSec", timer: "OnStartupSec=10min", boot: "boot1", before: []string{"6m"}, after: []string{"3m59s", "1s", "6m"}, fired: []uint64{600}},
		{name: "OnStartupSec/reboot", timer: "OnStartupSec=10min", boot: "boot2", before: []string{"6m"}, after: []string{"4m", "5m59s", "1s"}, fired: []uint64{960}},
		{name: "OnStartupSec/stopped", timer: "OnStartupSec=10min", boot: "boot1", clean: true, before: []string{"6m"}, after: []string{"4m", "5m59s", "1s"}, fired: []uint64{960}},
		// Fired before a clean stop, it fires again after the start.
		{name: "OnActiveSec/fired/stopped", timer: "OnActiveSec=1min", boot: "boot1", clean: true, before: []string{"1m", "5m"}, after: []string{"59s", "1s"}, fired: []uint64{60, 420}, firstRun: true},
		// Fires at 1 min, then 10 min after its service ended (or started).
		{name: "OnUnitInactiveSec", timer: "OnActiveSec=1min\nOnUnitInactiveSec=10min", boot: "boot1", before: []string{"1m", "5m"}, after: []string{"4m59s", "2s"}, fired: []uint64{60, 661}, firstRun: true},
		{name: "OnUnitActiveSec", timer: "OnActiveSec=1min\nOnUnitActiveSec=10min", boot: "boot1", before: []string{"1m", "5m"}, after: []string{"4m59s", "1s"}, fired: []uint64{60, 660}, firstRun: true},
		// After a reboot, the timer starts anew: 1 min after the restart.
		{name: "OnUnitActiveSec/reboot", timer: "OnActiveSec=1min\nOnUnitActiveSec=10min", boot: "boot2", before: []string{"1m", "5m"}, after: []string{"59s", "1s"}, fired: []uint64{60, 420}, firstRun: true},
		// A one-time elapse that came before the restart does not come again.
		{name: "OnActiveSec/fired", timer: "OnActiveSec=1min\nOnUnitActiveSec=20min", boot: "boot1", before: []string{"1m", "5m"}, after: []string{"14m59s", "1s"}, fired: []uint64{60, 1260}, firstRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{
				"later.timer":   "[Timer]\n" + tc.timer + "\nAccuracySec=1us\n",
				"later.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
			})
			const start = 1_700_000_000_000_000
			clk := &stepClock{now: timer.Instant{Realtime: start, Monotonic: 1000_000_000, Boottime: 1000_000_000}}
			advance := func(d *testDaemon, step string) {
				dur, err := time.ParseDuration(step)
				if err != nil {
					t.Fatal(err)
				}
				clk.Advance(dur)
				// Two turns of the loop, the second once the timers due at
				// the time the first began with have fired.
				for range 2 {
					if err := (backend{d.m}).ask(context.Background(), func() {}); err != nil {
						t.Fatal(err)
					}
				}
			}
			first := startTestDaemon(t, dir, state, clk, "boot1")
			await.Until(t, func() bool { return first.log.count("Started later.timer.") == 1 }, "the timer started")
			for i, step := range tc.before {
				advance(first, step)
				if i == 0 && tc.firstRun {
					// Over before the clock moves on.
					await.Until(t, func() bool { return first.log.count("Finished later.service.") == 1 }, "the first run")
				}
			}
			if tc.clean {
				first.stop()
			} else {
				first.kill()
			}
			second := startTestDaemon(t, dir, state, clk, tc.boot)
			// Up once its loop answers, the timer armed; a timer taken
			// up is not said to start again, one started anew is.
			await.Until(t, func() bool {
				second.log.mu.Lock()
				defer second.log.mu.Unlock()
				return slices.ContainsFunc(second.log.msgs, func(m string) bool { return strings.HasPrefix(m, "later.timer: ") })
			}, "the timer armed again")
			if err := (backend{second.m}).ask(context.Background(), func() {}); err != nil {
				t.Fatal(err)
			}
			if n, want := second.log.count("Started later.timer."), map[bool]int{true: 0, false: 1}[tc.boot == "boot1" && !tc.clean]; n != want {
				t.Errorf("Started later.timer. logged %d times, want %d", n, want)
			}
			want := len(tc.fired)
			if tc.firstRun {
				want--
			}
			for _, step := range tc.after {
				advance(second, step)
			}
			await.Until(t, func() bool { return second.log.count("Finished later.service.") == want }, "the runs")
			second.stop()
			s, err := store.Open(context.Background(), filepath.Join(state, "sundial.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var fired []uint64
			for r, err := range s.Runs(context.Background(), "later.service", 0) {
				if err != nil {
					t.Fatal(err)
				}
				fired = append(fired, (r.Started-start)/1e6)
			}
			if !slices.Equal(fired, tc.fired) {
				t.Errorf("runs at %v s, want %v", fired, tc.fired)
			}
		})
	}
}

// TestTimerActivationRetried has the write of the timers' activations
// at the daemon's start fail, the disk full: it is kept
// and tried again with the other records, and made once it can be.
func TestTimerActivationRetried(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"later.timer":   "[Timer]\nOnActiveSec=1h\n",
		"later.service": "[Service]\nExecStart=/bin/true\n",
	})
	clk := &stepClock{now: timer.Instant{Realtime: 1_700_000_000_000_000, Monotonic: 1000_000_000, Boottime: 1000_000_000}}
	first := startTestDaemon(t, dir, state, clk, "boot1")
	await.Until(t, func() bool { return first.log.count("Started later.timer.") == 1 }, "the timer started")
	// Stopped once it is up: its loop answers.
	if err := (backend{first.m}).ask(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	first.stop()
	// In another boot, the timer starts anew: its activation is written,
	// on a disk full until the write has failed.
	var full atomic.Bool
	full.Store(true)
	d := startTestDaemon(t, dir, state, clk, "boot2", func(m *Manager) {
		m.faults = func(w storeWrites) storeWrites { return fullDisk{w, &full} }
	})
	await.Until(t, func() bool {
		d.log.mu.Lock()
		defer d.log.mu.Unlock()
		return slices.ContainsFunc(d.log.msgs, func(m string) bool { return strings.Contains(m, "timers'") })
	}, "the write failed")
	full.Store(false)
	clk.Advance(recordRetry)
	var since timer.Dual
	for range 2 {
		if err := (backend{d.m}).ask(context.Background(), func() { since = d.m.units["later.timer"].timer.InactiveExit }); err != nil {
			t.Fatal(err)
		}
	}
	st, err := d.m.store.Timer(context.Background(), "later.timer")
	if err != nil {
		t.Fatal(err)
	}
	if st.ActiveRealtime != since.Realtime || st.ActiveMonotonic != since.Monotonic || since.Monotonic == 0 {
		t.Errorf("stored: %+v; active since %+v", st, since)
	}
}
