package timer

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// The boundaries below are timer.c's and sd-event's exactly: each table
// puts the instant in question 1 µs before, at and 1 µs after the
// elapse, so that a comparison moved by one (< for <=, or the reverse)
// fails a row.

// boundaryEngine is an engine whose manager started at 1 s of uptime.
func boundaryEngine() *Engine {
	return &Engine{Location: time.UTC, Startup: Instant{Realtime: 1_700_000_000_000_000, Monotonic: 1_000_000, Boottime: 1_000_000}}
}

// at is the instant mono µs after boot, on the engine's machine.
func at(e *Engine, mono uint64) Instant {
	return Instant{Realtime: e.Startup.Realtime - e.Startup.Monotonic + mono, Monotonic: mono, Boottime: mono}
}

// TestUnitInactiveDue: OnUnitInactiveSec= counts from the instant the
// unit last became inactive, and the timer is due once the clock reads
// that plus the span, not a microsecond before (sd-event dispatches a
// timer source whose next elapse is at or before now).
func TestUnitInactiveDue(t *testing.T) {
	const inactive, span = 5_000_000, 10_000_000
	for _, tc := range []struct {
		offset int64
		due    bool
	}{{-1, false}, {0, true}, {1, true}} {
		t.Run(fmt.Sprint(tc.offset), func(t *testing.T) {
			e := boundaryEngine()
			tm := e.Add("x.timer", loadTimer(t, "x.timer", "[Timer]\nOnUnitInactiveSec=10s\nAccuracySec=1us\n"))
			tm.Start(at(e, 2_000_000), 0)
			tm.UnitChanged(at(e, inactive), UnitState{Inactive: true, ActiveAt: 4_000_000, InactiveAt: inactive})
			if tm.State != Waiting || tm.NextMonotonic != inactive+span {
				t.Fatalf("state %s, next elapse %d; want waiting, %d", tm.State, tm.NextMonotonic, inactive+span)
			}
			due := e.Due(at(e, uint64(inactive+span+tc.offset)))
			if got := len(due) == 1 && due[0] == tm; got != tc.due {
				t.Errorf("due %v at elapse%+d µs, want %v", got, tc.offset, tc.due)
			}
		})
	}
}

// TestOneTimePassed: a timer that fired before computes its next elapse
// again; a one-time value (OnBootSec=) whose elapse is before now has
// passed and is disabled, one whose elapse is now is not (timer.c's
// next_elapse < now).
func TestOneTimePassed(t *testing.T) {
	const elapse = 10_000_000
	for _, tc := range []struct {
		offset int64
		state  State
		next   uint64
	}{{-1, Waiting, elapse}, {0, Waiting, elapse}, {1, Elapsed, Infinity}} {
		t.Run(fmt.Sprint(tc.offset), func(t *testing.T) {
			e := boundaryEngine()
			tm := e.Add("x.timer", loadTimer(t, "x.timer", "[Timer]\nOnBootSec=10s\nAccuracySec=1us\nRemainAfterElapse=yes\n"))
			tm.Start(at(e, 2_000_000), 0)
			tm.LastTrigger = Dual{Realtime: at(e, 3_000_000).Realtime, Monotonic: 3_000_000}
			tm.UnitChanged(at(e, uint64(elapse+tc.offset)), UnitState{Inactive: true, ActiveAt: 3_000_000, InactiveAt: 4_000_000})
			if tm.State != tc.state || tm.NextMonotonic != tc.next {
				t.Errorf("now elapse%+d µs: state %s, next elapse %d; want %s, %d", tc.offset, tm.State, tm.NextMonotonic, tc.state, tc.next)
			}
		})
	}
}

// TestPersistentStampNow: with Persistent=, the stamp is the last
// trigger only if it is before now; one at now or later is in the
// future (timer_start's ft < now(CLOCK_REALTIME)).
func TestPersistentStampNow(t *testing.T) {
	for _, tc := range []struct {
		offset int64
		used   bool
	}{{-1, true}, {0, false}, {1, false}} {
		e := boundaryEngine()
		var logs []string
		e.Log = func(_ *Timer, _ slog.Level, msg string) { logs = append(logs, msg) }
		tm := e.Add("x.timer", loadTimer(t, "x.timer", "[Timer]\nOnCalendar=daily\nPersistent=yes\n"))
		now := at(e, 2_000_000)
		stamp := uint64(int64(now.Realtime) + tc.offset)
		tm.Start(now, stamp)
		if used := tm.LastTrigger.Realtime == stamp; used != tc.used || used == (len(logs) > 0) {
			t.Errorf("stamp now%+d µs: used %v, want %v; logged %q", tc.offset, used, tc.used, logs)
		}
	}
}
