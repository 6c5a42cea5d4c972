package timer

import (
	"errors"
	"testing"
)

// TestSkip skips a timer's next calendar elapse: it fires at the one
// after, then on its schedule again; a skip of a monotonic elapse, or
// of a timer not waiting, is refused.
func TestSkip(t *testing.T) {
	w := newWorld(t, "2024-01-01 02:00:00 UTC", hour, 0, "")
	daily := w.add("daily.timer", "[Timer]\nOnCalendar=03:00\nAccuracySec=1us\n")
	daily.Start(w.sim.Now, 0)
	if err := w.sim.Engine.Skip(daily, w.sim.Now); err != nil {
		t.Fatal(err)
	}
	if got, want := daily.NextRealtime, uint64(mustTime(t, "2024-01-02 03:00:00 UTC").UnixMicro()); got != want {
		t.Errorf("next elapse after the skip %d, want %d", got, want)
	}
	w.check(w.run(2, ""),
		"Tue 2024-01-02 03:00:00.000000 UTC OnCalendar",
		"Wed 2024-01-03 03:00:00.000000 UTC OnCalendar")

	w = newWorld(t, "2024-01-01 02:00:00 UTC", hour, 0, "")
	mono := w.add("mono.timer", "[Timer]\nOnCalendar=03:00\nOnActiveSec=10min\nAccuracySec=1us\n")
	mono.Start(w.sim.Now, 0)
	if err := w.sim.Engine.Skip(mono, w.sim.Now); !errors.Is(err, ErrNoCalendarElapse) {
		t.Errorf("Skip of a monotonic elapse: %v", err)
	}
	dead := w.add("dead.timer", "[Timer]\nOnCalendar=03:00\n")
	if err := w.sim.Engine.Skip(dead, w.sim.Now); err == nil {
		t.Error("Skip of a timer not started: no error")
	}
}
