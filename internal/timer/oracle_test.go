package timer

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/timespan"
)

// TestSimulationOracle runs calendar timers with no delay and exact
// accuracy on the simulated clock, and compares each elapse with
// systemd-analyze calendar's iterations from the same start: a timer
// counts each elapse from its last trigger, as the iterations do from
// the one before. The starts lie before DST changes of each zone.
func TestSimulationOracle(t *testing.T) {
	oracle.Path(t)
	specs := []string{
		"daily", "hourly", "weekly", "monthly", "quarterly", "minutely", "*-*-* 6,18:00", "Mon..Fri 03:00",
		"Sun *-*-* 03:10:00", "*-*-01 00:00", "*:0/15", "Sat,Sun 10:30", "*-02-29 12:00", "*-*-* 02:30",
		"*-*~1 23:00", "*-*-* 01:59:59", "*-*-* 00/2:30:15", "Mon *-*-1..7 09:00", "*-*-* 03:00 UTC",
		"*-*-* 02:30 America/New_York", "2024-*-* 12:00:00.5", "*-*-* *:*:00/7",
	}
	const iterations = 30
	for _, c := range []struct {
		zone  string
		bases []string
	}{
		{"UTC", []string{"2024-01-30 10:00:00 UTC"}},
		{"Europe/Berlin", []string{"2024-03-30 20:00:00 UTC", "2024-10-26 22:30:00 UTC"}},
		{"America/New_York", []string{"2024-03-09 12:00:00 UTC", "2024-11-02 23:00:00 UTC"}},
		{"Australia/Lord_Howe", []string{"2024-04-06 10:00:00 UTC", "2024-10-05 12:00:00 UTC"}},
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range c.bases {
			b := mustTime(t, base)
			want := oracle.CalendarBatch(t, c.zone, b.Unix(), iterations, specs)
			for i, spec := range specs {
				if want[i].Err != "" || want[i].NextErr != "" {
					t.Fatalf("%s: systemd-analyze: %s%s", spec, want[i].Err, want[i].NextErr)
				}
				got := simulateCalendar(t, spec, loc, b, len(want[i].Elapses))
				if !slices.Equal(got, want[i].Elapses) {
					t.Errorf("%s in %s from %s:\n ours:    %q\n systemd: %q", spec, c.zone, base, got, want[i].Elapses)
				}
			}
		}
	}
}

// simulateCalendar returns the first n elapses of a timer with the
// calendar spec, started at base, as systemd-analyze prints times.
func simulateCalendar(t *testing.T, spec string, loc *time.Location, base time.Time, n int) []string {
	t.Helper()
	rt := uint64(base.UnixMicro())
	now := Instant{Realtime: rt, Monotonic: uint64(timespan.Hour), Boottime: uint64(timespan.Hour)}
	e := &Engine{Location: loc, Startup: now}
	sim := &Simulation{Engine: e, Now: now}
	sim.Add("x.timer", loadTimer(t, "x.timer", fmt.Sprintf("[Timer]\nOnCalendar=%s\nAccuracySec=1us\n", spec))).Start(now, 0)
	var got []string
	sim.Run(Infinity, func(el Elapse) bool {
		got = append(got, timespan.FormatTimestamp(time.UnixMicro(int64(el.At.Realtime)).In(loc), timespan.Pretty))
		return len(got) < n
	})
	return got
}
