package calendar_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
)

// pinnedZones are the zones the pinned search is checked in: those of the
// differential test, and more with unusual changes: a half-hour and a
// 45-minute DST, a DST of two hours, a zone that skipped a whole day, zones
// of fixed offsets, and zones made of a POSIX rule alone.
var pinnedZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
	"Europe/Dublin", "America/Sao_Paulo", "Pacific/Chatham", "America/St_Johns",
	"Antarctica/Troll", "Pacific/Apia", "Europe/London",
}

// TestPinnedExact compares Next, which searches pinned to the period of
// the zone's offset around the start, or tracking the periods, where it
// can, with the search that resolves every step as mktime does: on generated expressions of every
// kind, from random instants of 1970 to 2200, from instants around DST
// changes (in the gaps and in the repeated hours), and from leap days and
// the ends of years and months, three elapses each. The results each of
// the faster searches gave must be many.
func TestPinnedExact(t *testing.T) {
	var locs []*time.Location
	for _, name := range pinnedZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, loc)
	}
	locs = append(locs,
		time.FixedZone("+0530", 19800), time.FixedZone("-1100", -39600),
		timespan.LocationFromTZ("CET-1CEST,M3.5.0,M10.5.0/3"),
		timespan.LocationFromTZ("<+1345>-13:45<+1245>,M9.5.0/2:45,M4.1.0/3:45"),
	)
	rng := rand.New(rand.NewPCG(20, 26))
	for _, loc := range locs {
		t.Run(loc.String(), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(rng.Uint64(), 0))
			g := &specGen{rng: rng, abbrevs: zoneAbbreviations(loc)}
			specs := slices.Concat(dstSpecs, []string{
				"*:0/5", "Mon..Fri 8..18:00/15", "Mon..Fri 03:00", "*-*-15 04:00", "*-02-29 12:00",
				"*-*~01", "*-02~01 23:00", "*-12-31 23:59:59", "*-*-31", "*-*-1/7 0/5:0/7",
			})
			var modes [3]int
			cases := 0
			check := func(spec string, base time.Time) {
				s, err := calendar.ParseInLocation(spec, loc)
				if err != nil {
					return
				}
				cases++
				from := base
				for range 3 {
					got, mode, err := s.NextTried(from)
					want, werr := s.NextExact(from)
					if !got.Equal(want) || !errors.Is(err, werr) || got.Location() != want.Location() {
						t.Fatalf("%q from %v (%d): %v, %v (mode %d); exact %v, %v",
							spec, from, from.Unix(), got, err, mode, want, werr)
					}
					modes[mode]++
					if err != nil {
						break
					}
					from = got
				}
			}
			for _, base := range pinnedBases(rng, loc) {
				for range 12 {
					check(g.expression(), base)
				}
				check(g.clock(), base)
				check(g.endOfMonth(), base)
				check(specs[rng.IntN(len(specs))], base)
			}
			t.Logf("%d cases; %d elapses pinned, %d tracked, %d exact",
				cases, modes[calendar.ModePinned], modes[calendar.ModeTracked], modes[calendar.ModeExact])
			if modes[calendar.ModePinned] < 1000 {
				t.Errorf("only %d elapses pinned", modes[calendar.ModePinned])
			}
			if loc != time.UTC && modes[calendar.ModeTracked] < 100 {
				t.Errorf("only %d elapses tracked", modes[calendar.ModeTracked])
			}
		})
	}
}

// pinnedBases returns the instants to start from in loc.
func pinnedBases(rng *rand.Rand, loc *time.Location) []time.Time {
	var bases []time.Time
	lo := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 150 {
		bases = append(bases, time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(2)*rng.Int64N(1e9)))
	}
	for _, s := range []int64{0, 1, 3599, 86399, 86400*3 + 7} {
		bases = append(bases, time.Unix(s, 0))
	}
	bases = append(bases, time.Unix(-86400, 0), timespan.MaxTimestamp, timespan.MaxTimestamp.Add(-time.Hour))
	// Leap days, the ends of months and years, in local time.
	for _, y := range []int{1970, 1972, 1999, 2000, 2024, 2037, 2038, 2096, 2100, 2104, 2198, 2199} {
		for _, d := range []time.Time{
			time.Date(y, 2, 28, 23, 59, 59, 999999000, loc), time.Date(y, 2, 29, 12, 0, 0, 0, loc),
			time.Date(y, 12, 31, 23, 59, 59, 0, loc), time.Date(y, 12, 31, 12, 0, 0, 0, loc),
			time.Date(y, time.Month(1+rng.IntN(12)), 28+rng.IntN(4), 23, rng.IntN(60), 0, 0, loc),
		} {
			bases = append(bases, d)
		}
	}
	// Around changes of the offset: in gaps, in repeated hours, and on
	// either side, near enough for mktime's probes to cross them.
	trs := zoneTransitions(loc)
	for range min(40, len(trs)) {
		tr := trs[rng.IntN(len(trs))]
		for _, d := range []time.Duration{
			-time.Microsecond, 0, time.Second, -time.Hour, -3 * time.Hour, -25 * time.Hour, -49 * time.Hour,
			30 * time.Minute, time.Hour, 2*time.Hour - time.Second, 26 * time.Hour,
			time.Duration(rng.Int64N(int64(96*time.Hour))) - 48*time.Hour,
		} {
			bases = append(bases, tr.at.Add(d))
		}
	}
	for i := range bases {
		bases[i] = bases[i].In(loc)
	}
	return bases
}
