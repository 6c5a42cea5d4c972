package timer

import (
	"fmt"
	"runtime"
	"testing"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// benchTimers makes n timers of the kinds a host has: daily and hourly
// calendar timers at spread times, and monotonic ones, started.
func benchTimers(b *testing.B, e *Engine, n int, now Instant) []*Timer {
	b.Helper()
	timers := make([]*Timer, n)
	for i := range timers {
		cfg := &unit.TimerSection{AccuracySec: timespan.Minute, RemainAfterElapse: true, Unit: fmt.Sprintf("job%d.service", i)}
		switch i % 3 {
		case 0:
			spec, err := calendar.Parse(fmt.Sprintf("*-*-* %02d:%02d:%02d", i%24, i/24%60, i%60))
			if err != nil {
				b.Fatal(err)
			}
			cfg.Values = []unit.TimerValue{{Base: unit.OnCalendar, Calendar: spec}}
		case 1:
			spec, err := calendar.Parse(fmt.Sprintf("*-*-* *:%02d:00", i%60))
			if err != nil {
				b.Fatal(err)
			}
			cfg.Values = []unit.TimerValue{{Base: unit.OnCalendar, Calendar: spec}}
			cfg.RandomizedDelaySec = 5 * timespan.Minute
		default:
			cfg.Values = []unit.TimerValue{{Base: unit.OnBoot, Span: 15 * timespan.Minute}, {Base: unit.OnUnitActive, Span: timespan.Span(i%7+1) * timespan.Hour}}
		}
		timers[i] = e.Add(fmt.Sprintf("job%d.timer", i), cfg)
		timers[i].Start(now, 0)
	}
	return timers
}

const benchTimerCount = 100_000

// BenchmarkElapse processes elapses of 100,000 timers one after another:
// the wake-up is found, the due timers fire, their units start and stop,
// and each timer computes and arms its next elapse.
func BenchmarkElapse(b *testing.B) {
	now := Instant{Realtime: 1704103200000000, Monotonic: uint64(timespan.Hour), Boottime: uint64(timespan.Hour)}
	e := &Engine{Perturbation: 39118225}
	benchTimers(b, e, benchTimerCount, now)
	start := func(Trigger) error { return nil }
	elapses := 0
	b.ResetTimer()
	for b.Loop() {
		// The next wake-up on either clock.
		wr, wm := e.Wakeup(Realtime), e.Wakeup(Monotonic)
		d := min(subSat(wr, now.Realtime), subSat(wm, now.Monotonic))
		now.Realtime += d
		now.Monotonic += d
		now.Boottime += d
		for _, t := range e.Due(now) {
			if e.Fire(t, now, start) {
				t.UnitChanged(now, UnitState{ActiveAt: now.Monotonic})
				t.UnitChanged(now, UnitState{Inactive: true, ActiveAt: now.Monotonic, InactiveAt: now.Monotonic})
				elapses++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(elapses), "ns/elapse")
}

// BenchmarkTimerMemory reports the memory 100,000 started timers take,
// per timer, their settings (which the loaded units hold) apart.
func BenchmarkTimerMemory(b *testing.B) {
	now := Instant{Realtime: 1704103200000000, Monotonic: uint64(timespan.Hour), Boottime: uint64(timespan.Hour)}
	var perTimer float64
	for b.Loop() {
		b.StopTimer()
		src := benchTimers(b, &Engine{}, benchTimerCount, now) // the settings, made first
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		e := &Engine{}
		for _, t := range src {
			e.Add(t.Name, t.Config).Start(now, 0)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perTimer = float64(after.HeapAlloc-before.HeapAlloc) / benchTimerCount
		runtime.KeepAlive(e)
		runtime.KeepAlive(src)
		b.StartTimer()
	}
	b.ReportMetric(perTimer, "bytes/timer")
}
