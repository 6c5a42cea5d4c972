package calendar_test

import (
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
)

// BenchmarkNext measures one Next from a fixed base; the targets are no
// allocations, and well under a microsecond for specs in UTC.
func BenchmarkNext(b *testing.B) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Skip(err)
	}
	base := time.Date(2023, 10, 28, 12, 0, 0, 0, time.UTC)
	for _, bm := range []struct {
		name, spec string
		loc        *time.Location
	}{
		{"weekday-range", "Mon..Fri *-*-* 09..17:00/30", time.UTC},
		{"end-of-month", "*-*~07/2 12:00", time.UTC},
		{"hourly", "hourly", time.UTC},
		{"seconds", "*:*:0/7", time.UTC},
		{"leap-day", "Mon *-02-29", time.UTC},
		{"zone", "Mon..Fri *-*-* 03:00 Europe/Berlin", time.UTC},
		{"local", "Mon..Fri *-*-* 03:00", berlin},
	} {
		s, err := calendar.Parse(bm.spec)
		if err != nil {
			b.Fatal(err)
		}
		from := base.In(bm.loc)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := s.Next(from); !ok {
					b.Fatal("never")
				}
			}
		})
	}
}
