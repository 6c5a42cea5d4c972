package calendar_test

import (
	"errors"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
)

func FuzzParse(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(tt.in, int64(1698494400))
	}
	for _, tt := range errorTests {
		f.Add(tt.in, int64(0))
	}
	for _, tt := range elapseTests {
		f.Add(tt.spec, tt.base)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Skip(err)
	}
	f.Fuzz(func(t *testing.T, in string, base int64) {
		s, err := calendar.ParseInLocation(in, berlin)
		if err != nil {
			var pe *calendar.ParseError
			if s != nil || !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %v, %v; want nil and a *ParseError", in, s, err)
			}
			if pe.Offset < 0 || pe.Offset > len(in) {
				t.Fatalf("Parse(%q): offset %d outside the input", in, pe.Offset)
			}
			return
		}
		norm := s.String()
		s2, err := calendar.ParseInLocation(norm, berlin)
		if err != nil {
			t.Fatalf("Parse(%q) ok but its normal form %q fails: %v", in, norm, err)
		}
		if got := s2.String(); got != norm {
			t.Fatalf("normal form of %q is %q, but that normalizes to %q", in, norm, got)
		}
		// Next is strictly increasing. (It need not agree with the
		// normalized form's: like systemd's, "0:0:0/1,0.1" prints as
		// "*-*-* 00:00:*", which drops the fractions.)
		for _, spec := range []*calendar.Spec{s, s2} {
			prev := time.Unix(base%(1<<34), 0).In(berlin)
			for range 3 {
				next, ok := spec.Next(prev)
				if !ok {
					break
				}
				if !next.After(prev) {
					t.Fatalf("%q: Next(%v) = %v, not after it", spec, prev, next)
				}
				prev = next
			}
		}
	})
}
