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

// BenchmarkNextTimeline measures Next as a scheduler asks it, from one
// elapse to the next, along 64 timelines that start from 2020 to 2035, on
// expressions of every kind, in UTC and in a zone with DST.
func BenchmarkNextTimeline(b *testing.B) {
	var bases [64]time.Time
	from, until := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	step := until.Sub(from) / time.Duration(len(bases))
	for i := range bases {
		// Spread over the years, and over the hours of the day.
		bases[i] = from.Add(time.Duration(i)*step + time.Duration(i*7919)*time.Second)
	}
	for _, spec := range []string{"*:0/5", "Mon..Fri 8..18:00/15", "Mon..Fri 03:00", "*-*-15 04:00", "*-02-29 12:00"} {
		for _, zone := range []string{"", " Europe/Berlin"} {
			s, err := calendar.Parse(spec + zone)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(spec+zone, func(b *testing.B) {
				at := bases
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					k := i % len(at)
					n, ok := s.Next(at[k])
					if !ok || n.After(until) {
						n = bases[k]
					}
					at[k] = n
					i++
				}
			})
		}
	}
}
