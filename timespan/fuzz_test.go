package timespan_test

import (
	"errors"
	"testing"
	"time"

	"sundial.dev/sundial/timespan"
)

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in, uint64(0))
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in, uint64(timespan.Second))
	}
	f.Fuzz(func(t *testing.T, in string, acc uint64) {
		d, err := timespan.Parse(in)
		if err != nil {
			var pe *timespan.ParseError
			if d != 0 || !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %d, %v; want 0 and a *ParseError", in, d, err)
			}
			return
		}
		if d >= 584542*timespan.Year && d != timespan.Infinity {
			// Like systemd's, the years of such a span overflow on their
			// own: "584542y 2w" does not parse back.
			return
		}
		if back, err := timespan.Parse(d.String()); err != nil || back != d {
			t.Fatalf("Parse(%q) = %d, but Parse(%q) = %d, %v", in, d, d.String(), back, err)
		}
		accuracy := timespan.Span(acc % uint64(timespan.Year))
		s := d.Format(accuracy)
		back, err := timespan.Parse(s)
		if err != nil || back > d || (d != timespan.Infinity && accuracy > 0 && d-back >= accuracy && d-back >= timespan.Minute) {
			t.Fatalf("Span(%d).Format(%d) = %q, which parses to %d, %v", d, accuracy, s, back, err)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, tt := range parseTimestampTests {
		f.Add(tt.in, int64(1795400000))
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Skip(err)
	}
	f.Fuzz(func(t *testing.T, in string, now int64) {
		base := time.Unix(now%(1<<35), 0).In(berlin)
		ts, err := timespan.ParseTimestamp(in, base)
		if err != nil {
			var pe *timespan.ParseError
			if !ts.IsZero() || !errors.As(err, &pe) {
				t.Fatalf("ParseTimestamp(%q) = %v, %v; want zero and a *ParseError", in, ts, err)
			}
			return
		}
		if !timespan.IsSet(ts) || ts.After(timespan.MaxTimestamp) {
			return
		}
		s := timespan.FormatTimestamp(ts, timespan.MicroUTC)
		back, err := timespan.ParseTimestamp(s, base)
		if err != nil || !back.Equal(ts) {
			t.Fatalf("ParseTimestamp(%q) = %v, but ParseTimestamp(%q) = %v, %v", in, ts, s, back, err)
		}
	})
}
