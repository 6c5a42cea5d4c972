package timer

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// loadTimer reads a timer unit from its text.
func loadTimer(t *testing.T, name, text string) *unit.TimerSection {
	t.Helper()
	l := &unit.Loader{FS: fstest.MapFS{"units/" + name: {Data: []byte(text)}}, Path: []string{"/units"}}
	u, err := l.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if u.LoadState != unit.Loaded {
		t.Fatalf("%s: %v %v", name, u.LoadState, u.Diagnostics)
	}
	return u.Timer
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := timespan.ParseTimestamp(s, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// The host of the tests: the boot ID of the spec's example, whose
// position for coalesced wake-ups is 39.118225 s into the minute.
var testBootID = [16]byte{0x31, 0xd7, 0x0f, 0xe6, 0xee, 0xa2, 0x48, 0x76, 0xa0, 0xeb, 0xd1, 0x9d, 0xe6, 0x8d, 0x74, 0x18}

// A world is a simulation with the machine booted uptime before from,
// the manager started at startup (monotonic).
type world struct {
	t      *testing.T
	sim    *Simulation
	loc    *time.Location
	events []string
}

func newWorld(t *testing.T, from string, uptime, startup timespan.Span, zone string) *world {
	t.Helper()
	loc := time.UTC
	if zone != "" {
		var err error
		if loc, err = time.LoadLocation(zone); err != nil {
			t.Fatal(err)
		}
	}
	rt := uint64(mustTime(t, from).UnixMicro())
	now := Instant{Realtime: rt, Monotonic: uint64(uptime), Boottime: uint64(uptime)}
	e := &Engine{
		Location:     loc,
		Startup:      Instant{Realtime: rt - uint64(uptime) + uint64(startup), Monotonic: uint64(startup), Boottime: uint64(startup)},
		Perturbation: Perturbation(testBootID),
	}
	return &world{t: t, sim: &Simulation{Engine: e, Now: now}, loc: loc}
}

func (w *world) add(name, text string) *Timer {
	return w.sim.Add(name, loadTimer(w.t, name, text))
}

// record is an emit function that keeps "TIME REASON" lines.
func (w *world) record(e Elapse) bool {
	line := timespan.FormatTimestamp(time.UnixMicro(int64(e.At.Realtime)).In(w.loc), timespan.Micro) + " " + e.Reason.String()
	if len(w.sim.timers) > 1 {
		line += " " + e.Timer.Name
	}
	if !e.Started {
		line += " (still running)"
	}
	w.events = append(w.events, line)
	return true
}

// advanceTo runs until the realtime ts, then moves the clocks there.
func (w *world) advanceTo(ts string) {
	end := uint64(mustTime(w.t, ts).UnixMicro())
	w.sim.Run(end, w.record)
	w.sim.Advance(end - w.sim.Now.Realtime)
}

// run runs until n elapses or the realtime until.
func (w *world) run(n int, until string) []string {
	end := uint64(Infinity)
	if until != "" {
		end = uint64(mustTime(w.t, until).UnixMicro())
	}
	start := len(w.events)
	w.sim.Run(end, func(e Elapse) bool {
		w.record(e)
		return len(w.events)-start < n
	})
	return w.events[start:]
}

func (w *world) check(got []string, want ...string) {
	w.t.Helper()
	if !slices.Equal(got, want) {
		w.t.Errorf("elapses:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const hour = timespan.Hour

func TestCalendarAccuracy(t *testing.T) {
	// Where in its window a daily timer fires, with the host's position
	// 39.118225 s into the minute (the spec's table, §4.7).
	for _, tc := range []struct {
		accuracy string
		want     string
	}{
		{"", "Tue 2024-01-02 00:00:39.118225 UTC OnCalendar"},
		{"AccuracySec=1min", "Tue 2024-01-02 00:00:39.118225 UTC OnCalendar"},
		{"AccuracySec=5s", "Tue 2024-01-02 00:00:04.118225 UTC OnCalendar"},
		{"AccuracySec=0", "Tue 2024-01-02 00:00:00.118225 UTC OnCalendar"},
		{"AccuracySec=1us", "Tue 2024-01-02 00:00:00.000000 UTC OnCalendar"},
		{"AccuracySec=1h", "Tue 2024-01-02 00:59:39.118225 UTC OnCalendar"},
	} {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.add("a.timer", "[Timer]\nOnCalendar=daily\n"+tc.accuracy+"\n").Start(w.sim.Now, 0)
		w.check(w.run(1, ""), tc.want)
	}
}

func TestCalendarSequence(t *testing.T) {
	// Each elapse counts from the last trigger.
	w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
	w.add("a.timer", "[Timer]\nOnCalendar=*-*-* 0/8:00\nAccuracySec=1us\n").Start(w.sim.Now, 0)
	w.check(w.run(4, ""),
		"Mon 2024-01-01 16:00:00.000000 UTC OnCalendar",
		"Tue 2024-01-02 00:00:00.000000 UTC OnCalendar",
		"Tue 2024-01-02 08:00:00.000000 UTC OnCalendar",
		"Tue 2024-01-02 16:00:00.000000 UTC OnCalendar")
}

func TestCoalescing(t *testing.T) {
	// A timer due at 03:00 with a minute's accuracy, and an exact one at
	// 03:00:30: they wake the loop at 03:00:29.118225, the latest spot
	// at the host's position within 10 s that both windows allow; the
	// first fires then, the second at its time.
	w := newWorld(t, "2024-01-01 02:00:00 UTC", hour, 0, "")
	w.add("a.timer", "[Timer]\nOnCalendar=03:00\n").Start(w.sim.Now, 0)
	w.add("b.timer", "[Timer]\nOnCalendar=03:00:30\nAccuracySec=1us\n").Start(w.sim.Now, 0)
	w.check(w.run(2, ""),
		"Mon 2024-01-01 03:00:29.118225 UTC OnCalendar a.timer",
		"Mon 2024-01-01 03:00:30.000000 UTC OnCalendar b.timer")
}

func TestMonotonic(t *testing.T) {
	for _, tc := range []struct {
		name            string
		timer           string
		uptime, startup timespan.Span
		runtime         timespan.Span
		container       bool
		want            []string
		n               int
		until           string
		state           State
		remainAfter     bool
	}{
		{
			name:  "fstrim: OnBootSec and OnUnitActiveSec",
			timer: "OnBootSec=15min\nOnUnitActiveSec=1d\nAccuracySec=1us", uptime: 10 * timespan.Minute,
			want: []string{"Mon 2024-01-01 10:05:00.000000 UTC OnBootSec", "Tue 2024-01-02 10:05:00.000000 UTC OnUnitActiveSec", "Wed 2024-01-03 10:05:00.000000 UTC OnUnitActiveSec"}, n: 3,
		},
		{
			name:  "OnBootSec in the past fires at once, once",
			timer: "OnBootSec=15min\nAccuracySec=1us", uptime: hour,
			want: []string{"Mon 2024-01-01 10:00:00.000000 UTC OnBootSec (catch-up)"}, n: 5, until: "2024-01-05", state: Elapsed,
		},
		{
			name:  "OnBootSec in a container counts from the manager's start",
			timer: "OnBootSec=15min\nAccuracySec=1us", uptime: hour, startup: 50 * timespan.Minute, container: true,
			want: []string{"Mon 2024-01-01 10:05:00.000000 UTC OnBootSec"}, n: 5, until: "2024-01-05", state: Elapsed,
		},
		{
			name:  "OnStartupSec counts from the manager's start",
			timer: "OnStartupSec=20min\nAccuracySec=1us", uptime: hour, startup: 50 * timespan.Minute,
			want: []string{"Mon 2024-01-01 10:10:00.000000 UTC OnStartupSec"}, n: 5, until: "2024-01-05", state: Elapsed,
		},
		{
			name:  "OnActiveSec counts from the start of the timer",
			timer: "OnActiveSec=90s\nAccuracySec=1us", uptime: hour,
			want: []string{"Mon 2024-01-01 10:01:30.000000 UTC OnActiveSec"}, n: 5, until: "2024-01-05", state: Elapsed,
		},
		{
			name:  "OnActiveSec with RemainAfterElapse=no: the timer goes",
			timer: "OnActiveSec=90s\nAccuracySec=1us\nRemainAfterElapse=no", uptime: hour,
			want: []string{"Mon 2024-01-01 10:01:30.000000 UTC OnActiveSec"}, n: 5, until: "2024-01-05", state: Dead,
		},
		{
			name:  "OnUnitActiveSec alone never fires",
			timer: "OnUnitActiveSec=1h\nRemainAfterElapse=no", uptime: hour,
			want: nil, n: 5, until: "2024-01-05", state: Elapsed,
		},
		{
			name:  "OnUnitInactiveSec counts from the end of the run",
			timer: "OnActiveSec=1min\nOnUnitInactiveSec=1h\nAccuracySec=1us", uptime: hour, runtime: 10 * timespan.Minute,
			want: []string{"Mon 2024-01-01 10:01:00.000000 UTC OnActiveSec", "Mon 2024-01-01 11:11:00.000000 UTC OnUnitInactiveSec", "Mon 2024-01-01 12:21:00.000000 UTC OnUnitInactiveSec"}, n: 3,
		},
		{
			name:  "OnUnitActiveSec counts from the start of the run",
			timer: "OnActiveSec=1min\nOnUnitActiveSec=1h\nAccuracySec=1us", uptime: hour, runtime: 10 * timespan.Minute,
			want: []string{"Mon 2024-01-01 10:01:00.000000 UTC OnActiveSec", "Mon 2024-01-01 11:01:00.000000 UTC OnUnitActiveSec", "Mon 2024-01-01 12:01:00.000000 UTC OnUnitActiveSec"}, n: 3,
		},
		{
			name:  "a unit that runs longer than the interval runs again at once",
			timer: "OnCalendar=minutely\nAccuracySec=1us", uptime: hour, runtime: 150 * timespan.Second,
			want: []string{"Mon 2024-01-01 10:01:00.000000 UTC OnCalendar", "Mon 2024-01-01 10:03:30.000000 UTC OnCalendar (catch-up)", "Mon 2024-01-01 10:06:00.000000 UTC OnCalendar (catch-up)"}, n: 3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "2024-01-01 10:00:00 UTC", tc.uptime, tc.startup, "")
			w.sim.Engine.InContainer = tc.container
			w.sim.Runtime = uint64(tc.runtime)
			tm := w.add("a.timer", "[Timer]\n"+tc.timer+"\n")
			tm.Start(w.sim.Now, 0)
			w.check(w.run(tc.n, tc.until), tc.want...)
			if tc.until != "" && tm.State != tc.state {
				t.Errorf("state %v, want %v", tm.State, tc.state)
			}
		})
	}
}

func TestPersistent(t *testing.T) {
	stamp := uint64(mustTime(t, "2023-12-28 03:00:00 UTC").UnixMicro())
	t.Run("a missed run fires once at start", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		tm := w.add("a.timer", "[Timer]\nOnCalendar=daily\nPersistent=yes\nAccuracySec=1us\n")
		tm.Start(w.sim.Now, stamp)
		w.check(w.run(2, ""),
			"Mon 2024-01-01 10:00:00.000000 UTC OnCalendar (catch-up)",
			"Tue 2024-01-02 00:00:00.000000 UTC OnCalendar")
	})
	t.Run("no earlier than the manager's start, plus the random delay", func(t *testing.T) {
		// Booted an hour ago, the manager 50 minutes ago: the missed run
		// counts from then.
		// The manager starts at 10:00, an hour after boot.
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, hour, "")
		w.sim.Engine.Rand = func() uint64 { return uint64(30 * timespan.Minute) }
		tm := w.add("a.timer", "[Timer]\nOnCalendar=daily\nPersistent=yes\nAccuracySec=1us\nRandomizedDelaySec=2h\n")
		tm.Start(w.sim.Now, stamp)
		w.check(w.run(1, ""), "Mon 2024-01-01 10:30:00.000000 UTC OnCalendar (catch-up)")
		// Later, the missed run counts from the manager's start still.
		w = newWorld(t, "2024-01-01 10:00:00 UTC", hour, 10*timespan.Minute, "")
		w.sim.Engine.Rand = func() uint64 { return uint64(30 * timespan.Minute) }
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nPersistent=yes\nAccuracySec=1us\nRandomizedDelaySec=2h\n").Start(w.sim.Now, stamp)
		if got := w.sim.timers[0].NextRealtime; got != uint64(mustTime(t, "2024-01-01 09:40 UTC").UnixMicro()) {
			t.Errorf("next elapse %s, want 09:40", time.UnixMicro(int64(got)).UTC())
		}
		w.check(w.run(1, ""), "Mon 2024-01-01 10:00:00.000000 UTC OnCalendar (catch-up)")
	})
	t.Run("without a stamp nothing is missed", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nPersistent=yes\nAccuracySec=1us\n").Start(w.sim.Now, 0)
		w.check(w.run(1, ""), "Tue 2024-01-02 00:00:00.000000 UTC OnCalendar")
	})
	t.Run("a stamp in the future is not used", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		var logged []string
		w.sim.Engine.Log = func(_ *Timer, _ slog.Level, msg string) { logged = append(logged, msg) }
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nPersistent=yes\nAccuracySec=1us\n").Start(w.sim.Now, uint64(mustTime(t, "2024-02-01 UTC").UnixMicro()))
		w.check(w.run(1, ""), "Tue 2024-01-02 00:00:00.000000 UTC OnCalendar")
		if !slices.Contains(logged, "Not using persistent file timestamp Thu 2024-02-01 00:00:00 UTC as it is in the future.") {
			t.Errorf("logged %q", logged)
		}
	})
	t.Run("a past OnBootSec is dropped, not fired, when there is a stamp", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.add("a.timer", "[Timer]\nOnBootSec=15min\nOnCalendar=Sat\nPersistent=yes\nAccuracySec=1us\n").Start(w.sim.Now, uint64(mustTime(t, "2024-01-01 09:00 UTC").UnixMicro()))
		w.check(w.run(1, ""), "Sat 2024-01-06 00:00:00.000000 UTC OnCalendar")
	})
}

func TestRandomizedDelay(t *testing.T) {
	t.Run("drawn anew each time", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		draws := []uint64{uint64(90 * timespan.Minute), uint64(7*hour + 5)}
		w.sim.Engine.Rand = func() uint64 { d := draws[0]; draws = append(draws[1:], d); return d }
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nRandomizedDelaySec=6h\nAccuracySec=1us\n").Start(w.sim.Now, 0)
		w.check(w.run(2, ""),
			"Tue 2024-01-02 01:30:00.000000 UTC OnCalendar",
			"Wed 2024-01-03 01:00:00.000005 UTC OnCalendar")
	})
	t.Run("drawn from the name and the last trigger", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.sim.Engine.Rand = func() uint64 { panic("no random draw") }
		var keys []string
		w.sim.Engine.Draw = func(name string, last uint64) uint64 {
			keys = append(keys, fmt.Sprintf("%s %d", name, last))
			return uint64(90*timespan.Minute) + last%2
		}
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nRandomizedDelaySec=6h\nAccuracySec=1us\n").Start(w.sim.Now, 0)
		w.check(w.run(2, ""),
			"Tue 2024-01-02 01:30:00.000000 UTC OnCalendar",
			"Wed 2024-01-03 01:30:00.000000 UTC OnCalendar")
		first := mustTime(t, "2024-01-02 01:30 UTC").UnixMicro()
		slices.Sort(keys)
		if keys = slices.Compact(keys); !slices.Equal(keys, []string{"a.timer 0", fmt.Sprintf("a.timer %d", first)}) {
			t.Errorf("draws of %q, want of the last trigger: none, then the first", keys)
		}
	})
	t.Run("fixed, drawn from the name alone", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.sim.Engine.Draw = func(name string, last uint64) uint64 {
			if name != "a.timer" || last != 0 {
				t.Errorf("Draw(%s, %d), want of a.timer, 0", name, last)
			}
			return uint64(10 * timespan.Minute)
		}
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nRandomizedDelaySec=6h\nFixedRandomDelay=yes\nAccuracySec=1us\n").Start(w.sim.Now, 0)
		w.check(w.run(2, ""),
			"Tue 2024-01-02 00:10:00.000000 UTC OnCalendar",
			"Wed 2024-01-03 00:10:00.000000 UTC OnCalendar")
	})
	t.Run("fixed by machine and name", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.sim.Engine.MachineID = [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
		w.sim.Engine.Rand = func() uint64 { panic("no random draw") }
		tm := w.sim.Add("foo.timer", loadTimer(t, "foo.timer", "[Timer]\nOnCalendar=daily\nRandomizedDelaySec=1h\nFixedRandomDelay=yes\nAccuracySec=1us\n"))
		tm.Start(w.sim.Now, 0)
		// 144873041088774685 mod 1h is 1488.774685 s.
		w.check(w.run(2, ""),
			"Tue 2024-01-02 00:24:48.774685 UTC OnCalendar",
			"Wed 2024-01-03 00:24:48.774685 UTC OnCalendar")
	})
}

// TestLogLevel checks that the messages below LogLevel are left out,
// and those at it or above it told.
func TestLogLevel(t *testing.T) {
	for _, c := range []struct {
		level slog.Level
		want  bool
	}{{0, false}, {slog.LevelDebug, true}} {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		var msgs []string
		w.sim.Engine.Log = func(_ *Timer, level slog.Level, msg string) { msgs = append(msgs, level.String()+" "+msg) }
		w.sim.Engine.LogLevel = c.level
		w.sim.Engine.Rand = func() uint64 { return uint64(90 * timespan.Minute) }
		w.add("a.timer", "[Timer]\nOnCalendar=daily\nRandomizedDelaySec=6h\n").Start(w.sim.Now, 0)
		if got := slices.Contains(msgs, "DEBUG Adding 1h 30min random time."); got != c.want {
			t.Errorf("LogLevel %v: messages %q", c.level, msgs)
		}
	}
}

func TestRestartQuirk(t *testing.T) {
	// systemd 254 (#31231): a restarted timer counts from its previous
	// activation, so an event since then fires it at once.
	w := newWorld(t, "2024-01-01 10:20:00 UTC", hour, 0, "")
	tm := w.add("a.timer", "[Timer]\nOnCalendar=*:32:00\nAccuracySec=1us\n")
	tm.Start(w.sim.Now, 0)
	w.check(w.run(1, ""), "Mon 2024-01-01 10:32:00.000000 UTC OnCalendar")
	w.advanceTo("2024-01-01 10:40 UTC")
	tm.Stop(w.sim.Now)
	tm.Start(w.sim.Now, 0)
	w.check(w.run(2, ""),
		"Mon 2024-01-01 10:40:00.000000 UTC OnCalendar (catch-up)",
		"Mon 2024-01-01 11:32:00.000000 UTC OnCalendar")
}

func TestClockChange(t *testing.T) {
	t.Run("OnClockChange fires", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		tm := w.add("a.timer", "[Timer]\nOnClockChange=yes\n")
		tm.Start(w.sim.Now, 0)
		if tm.State != Waiting || tm.NextRealtime != 0 || tm.NextMonotonic != 0 {
			t.Fatalf("state %v, next %d %d", tm.State, tm.NextRealtime, tm.NextMonotonic)
		}
		w.sim.SetRealtime(uint64(mustTime(t, "2024-01-01 12:00 UTC").UnixMicro()), w.record)
		w.check(w.events, "Mon 2024-01-01 12:00:00.000000 UTC OnClockChange")
	})
	t.Run("a jump back sets the last trigger back and computes again", func(t *testing.T) {
		w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
		w.add("a.timer", "[Timer]\nOnCalendar=hourly\nAccuracySec=1us\n").Start(w.sim.Now, 0)
		w.check(w.run(1, ""), "Mon 2024-01-01 11:00:00.000000 UTC OnCalendar")
		w.advanceTo("2024-01-01 11:10 UTC")
		w.sim.SetRealtime(uint64(mustTime(t, "2024-01-01 08:30 UTC").UnixMicro()), w.record)
		w.check(w.run(2, ""),
			"Mon 2024-01-01 09:00:00.000000 UTC OnCalendar",
			"Mon 2024-01-01 10:00:00.000000 UTC OnCalendar")
	})
}

func TestSuspend(t *testing.T) {
	// Asleep from 10:30 to 14:30: the calendar timer missed three
	// elapses and fires once on waking; the monotonic one does not see
	// the sleep; with WakeSystem= it counts it.
	w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
	w.add("cal.timer", "[Timer]\nOnCalendar=hourly\nAccuracySec=1us\n").Start(w.sim.Now, 0)
	w.add("mono.timer", "[Timer]\nOnActiveSec=2h\nAccuracySec=1us\n").Start(w.sim.Now, 0)
	w.add("wake.timer", "[Timer]\nOnActiveSec=2h\nAccuracySec=1us\nWakeSystem=yes\n").Start(w.sim.Now, 0)
	w.sim.Advance(uint64(30 * timespan.Minute))
	w.sim.Suspend(uint64(4*hour), w.record)
	w.check(w.events,
		"Mon 2024-01-01 14:30:00.000000 UTC OnCalendar (catch-up) cal.timer",
		"Mon 2024-01-01 14:30:00.000000 UTC OnActiveSec (catch-up) wake.timer")
	w.check(w.run(3, ""),
		"Mon 2024-01-01 15:00:00.000000 UTC OnCalendar cal.timer",
		"Mon 2024-01-01 16:00:00.000000 UTC OnCalendar cal.timer",
		"Mon 2024-01-01 16:00:00.000000 UTC OnActiveSec mono.timer")
}

func TestDST(t *testing.T) {
	// 02:30 does not exist in Berlin on 2024-03-31: that day is skipped,
	// as systemd skips it; on 2024-10-27 it exists twice and runs once.
	w := newWorld(t, "2024-03-29 11:00:00 UTC", hour, 0, "Europe/Berlin")
	w.add("a.timer", "[Timer]\nOnCalendar=*-*-* 02:30\nAccuracySec=1us\n").Start(w.sim.Now, 0)
	w.check(w.run(3, ""),
		"Sat 2024-03-30 02:30:00.000000 CET OnCalendar",
		"Mon 2024-04-01 02:30:00.000000 CEST OnCalendar",
		"Tue 2024-04-02 02:30:00.000000 CEST OnCalendar")
	w = newWorld(t, "2024-10-26 10:00:00 UTC", hour, 0, "Europe/Berlin")
	w.add("a.timer", "[Timer]\nOnCalendar=*-*-* 02:30\nAccuracySec=1us\n").Start(w.sim.Now, 0)
	w.check(w.run(3, ""),
		"Sun 2024-10-27 02:30:00.000000 CEST OnCalendar",
		"Mon 2024-10-28 02:30:00.000000 CET OnCalendar",
		"Tue 2024-10-29 02:30:00.000000 CET OnCalendar")
}

func TestStillRunning(t *testing.T) {
	// A timer whose unit another timer started finds it running: the
	// start does nothing, and the timer waits for the unit to stop.
	w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
	w.sim.Runtime = uint64(2 * hour)
	w.add("a.timer", "[Timer]\nOnCalendar=10:30\nAccuracySec=1us\nUnit=job.service\n").Start(w.sim.Now, 0)
	w.add("b.timer", "[Timer]\nOnCalendar=11:00\nAccuracySec=1us\nUnit=job.service\n").Start(w.sim.Now, 0)
	w.check(w.run(2, ""),
		"Mon 2024-01-01 10:30:00.000000 UTC OnCalendar a.timer",
		"Mon 2024-01-01 11:00:00.000000 UTC OnCalendar b.timer (still running)")
}

func TestTriggerEnv(t *testing.T) {
	tr := Trigger{Timer: &Timer{Name: "a.timer"}, At: Dual{1700000000000000, 3600000000}}
	want := []string{"TRIGGER_UNIT=a.timer", "TRIGGER_TIMER_REALTIME_USEC=1700000000000000", "TRIGGER_TIMER_MONOTONIC_USEC=3600000000"}
	if got := tr.Env(); !slices.Equal(got, want) {
		t.Errorf("Env() = %q, want %q", got, want)
	}
}

func TestWakeSystemCoalescedApart(t *testing.T) {
	// WakeSystem= timers are armed on the alarm clocks, which sd-event
	// coalesces apart from the others: b's window alone wakes the loop
	// at 03:00:30 (together, as in TestCoalescing, they would wake it at
	// 03:00:29.118225), and a, due since 03:00, fires then too.
	w := newWorld(t, "2024-01-01 02:00:00 UTC", hour, 0, "")
	w.add("a.timer", "[Timer]\nOnCalendar=03:00\n").Start(w.sim.Now, 0)
	w.add("b.timer", "[Timer]\nOnCalendar=03:00:30\nAccuracySec=1us\nWakeSystem=yes\n").Start(w.sim.Now, 0)
	if got, want := w.sim.Engine.Wakeup(Realtime), uint64(mustTime(t, "2024-01-01 03:00:39.118225 UTC").UnixMicro()); got != want {
		t.Errorf("realtime wake-up %d, want %d", got, want)
	}
	w.check(w.run(2, ""),
		"Mon 2024-01-01 03:00:30.000000 UTC OnCalendar a.timer",
		"Mon 2024-01-01 03:00:30.000000 UTC OnCalendar b.timer")
}

func TestRearmedBeforeFiring(t *testing.T) {
	// A timer armed again between being due and firing does not fire
	// then, but when it is due again: here its unit started by hand in
	// between, and the timer computed its elapse again (OnActiveSec=
	// still due at once).
	w := newWorld(t, "2024-01-01 10:00:00 UTC", hour, 0, "")
	tm := w.add("a.timer", "[Timer]\nOnActiveSec=1min\nOnUnitActiveSec=1h\nAccuracySec=1us\n")
	tm.Start(w.sim.Now, 0)
	w.sim.Advance(uint64(timespan.Minute))
	due := w.sim.Engine.Due(w.sim.Now)
	if len(due) != 1 {
		t.Fatalf("due %d timers", len(due))
	}
	tm.UnitChanged(w.sim.Now, UnitState{ActiveAt: w.sim.Now.Monotonic})
	if w.sim.Engine.Fire(tm, w.sim.Now, func(Trigger) error { return nil }) {
		t.Fatal("fired though armed again")
	}
	if want := uint64(hour + timespan.Minute); tm.NextMonotonic != want {
		t.Errorf("next %d, want %d", tm.NextMonotonic, want)
	}
	if due := w.sim.Engine.Due(w.sim.Now); len(due) != 1 || !w.sim.Engine.Fire(due[0], w.sim.Now, func(Trigger) error { return nil }) {
		t.Error("not fired when due again")
	}
}

func TestClockJumped(t *testing.T) {
	at := Instant{Realtime: 1_700_000_000_000_000, Monotonic: 1_000_000, Boottime: 1_000_000}
	for _, tc := range []struct {
		name string
		d    Instant // added to at
		want bool
	}{
		{"time passes", Instant{60e6, 60e6, 60e6}, false},
		{"a suspend", Instant{3600e6, 1e6, 3600e6}, false},
		{"a little drift", Instant{60_400_000, 60e6, 60e6}, false},
		{"set forward", Instant{3600e6, 1e6, 1e6}, true},
		{"set back", Instant{0, 60e6, 60e6}, true},
	} {
		now := Instant{at.Realtime + tc.d.Realtime, at.Monotonic + tc.d.Monotonic, at.Boottime + tc.d.Boottime}
		if got := ClockJumped(at, now); got != tc.want {
			t.Errorf("%s: ClockJumped = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReplace: new settings, as daemon-reload gives them, keep the last
// trigger, and a waiting timer elapses by the new schedule from it; a
// one-time value that elapsed stays elapsed.
func TestReplace(t *testing.T) {
	e := &Engine{Location: time.UTC}
	now := Instant{Realtime: uint64(mustTime(t, "2024-01-01 10:00:00 UTC").UnixMicro()), Monotonic: 3600e6}
	e.Startup = now
	old := e.Add("r.timer", loadTimer(t, "r.timer", "[Timer]\nOnActiveSec=1s\nOnCalendar=*:00/30\nAccuracySec=1us\n"))
	old.Start(now, 0)
	now.Realtime += 1e6
	now.Monotonic += 1e6
	fired := false
	for _, d := range e.Due(now) {
		fired = e.Fire(d, now, func(Trigger) error { return nil })
	}
	if !fired {
		t.Fatal("the timer did not fire")
	}
	now.Realtime += 2e6
	now.Monotonic += 2e6
	old.UnitChanged(now, UnitState{Inactive: true, ActiveAt: now.Monotonic, InactiveAt: now.Monotonic})
	last := old.LastTrigger
	r := e.Replace(old, loadTimer(t, "r.timer", "[Timer]\nOnActiveSec=1s\nOnCalendar=*:00/20\nAccuracySec=1us\n"), now)
	if r.State != Waiting || r.LastTrigger != last {
		t.Fatalf("replaced: state %v, last trigger %v, want waiting, %v", r.State, r.LastTrigger, last)
	}
	want := uint64(mustTime(t, "2024-01-01 10:20:00 UTC").UnixMicro())
	if r.NextRealtime != want || r.NextMonotonic != 0 {
		t.Errorf("next %d/%d, want %d by the new schedule, the elapsed OnActiveSec= not again", r.NextRealtime, r.NextMonotonic, want)
	}
	if got := e.Due(Instant{Realtime: want - 1, Monotonic: now.Monotonic + 1000e6}); len(got) != 0 {
		t.Errorf("due before its time: %v", got)
	}
}
