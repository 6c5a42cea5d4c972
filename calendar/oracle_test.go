package calendar_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/timespan"
)

// The zones the expressions are evaluated in: plain DST, a negative UTC
// offset, half-hour DST, a quarter-hour offset, negative DST and DST that
// began at midnight.
var oracleZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Asia/Kathmandu", "Europe/Dublin", "America/Sao_Paulo",
}

// TestOracleCalendar compares generated expressions with systemd-analyze:
// the verdict, the normalized form and five elapses, in several zones and
// from bases next to their DST changes.
func TestOracleCalendar(t *testing.T) {
	oracle.Path(t)
	seed := oracle.Seed(t)
	for zi, zone := range oracleZones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, uint64(zi)))
			g := specGenerator{rng: rng, local: timespan.Rule(loc)}
			bases := oracleBases(rng, loc)
			cases := 0
			for bi, base := range bases {
				specs := make([]string, 400)
				for i := range specs {
					specs[i] = g.spec()
				}
				if bi == 0 {
					specs = append(specs, dstSpecs...)
				}
				// The C library changes the local abbreviations it knows
				// (tzname) as it converts times, so that an expression
				// naming one can read differently after other expressions
				// in the same process. Such expressions go first in a
				// process of their own, where systemd reads them as we do.
				var shared, alone []string
				for _, spec := range specs {
					if g.namesLocalZone(spec) {
						alone = append(alone, spec)
					} else {
						shared = append(shared, spec)
					}
				}
				want := oracle.CalendarBatch(t, zone, base, 5, shared)
				for i, spec := range shared {
					compareCalendar(t, spec, loc, base, want[i])
				}
				for _, spec := range alone {
					compareCalendar(t, spec, loc, base, oracle.CalendarBatch(t, zone, base, 5, []string{spec})[0])
				}
				cases += len(specs)
			}
			t.Logf("%d expressions from %d bases", cases, len(bases))
		})
	}
}

// dstSpecs are expressions that meet daylight-saving changes in interesting
// ways.
var dstSpecs = []string{
	"minutely", "hourly", "daily", "*:0/15", "*:0/30", "*:*:0/20", "*:*:*",
	"*-*-* 00:00", "*-*-* 00:30", "*-*-* 01:30", "*-*-* 02:00", "*-*-* 02:30",
	"*-*-* 03:00", "*-*-* 01,02,03:00,30", "Sun *-*-* 01:00", "*-*~01 02:30",
}

// oracleBases returns instants around the DST changes of loc in several
// years, and a few random ones.
func oracleBases(rng *rand.Rand, loc *time.Location) []int64 {
	var bases []int64
	t := time.Date(2040, 1, 1, 0, 0, 0, 0, loc)
	for len(bases) < 8 {
		start, _ := t.ZoneBounds()
		if start.IsZero() || start.Year() < 1975 {
			break
		}
		if rng.IntN(3) == 0 {
			bases = append(bases, start.Unix()-int64(rng.IntN(7200)))
		}
		t = start.Add(-time.Second)
	}
	for range 3 {
		bases = append(bases, rng.Int64N(5000000000))
	}
	return bases
}

func compareCalendar(t *testing.T, spec string, loc *time.Location, base int64, want oracle.Calendar) {
	t.Helper()
	s, err := calendar.ParseInLocation(spec, loc)
	if got := errnoOf(err); got != want.Err {
		t.Errorf("Parse(%q) = %v (%q), systemd says %q", spec, err, got, want.Err)
		return
	}
	if err != nil {
		return
	}
	if want.NextErr != "" {
		compareNextErr(t, s, loc, base, want.NextErr)
		return
	}
	if got := s.String(); got != want.Normalized {
		t.Errorf("Parse(%q).String() = %q, systemd says %q", spec, got, want.Normalized)
	}
	var got, gotUTC []string
	never := false
	next := time.Unix(base, 0).In(loc)
	for range 5 {
		n, err := s.NextErr(next)
		if errors.Is(err, calendar.ErrNever) {
			never = len(got) == 0
			break
		}
		if err != nil {
			t.Errorf("%q from @%d in %s: %v", spec, base, loc, err)
			return
		}
		got = append(got, timespan.FormatTimestamp(n, timespan.Pretty))
		gotUTC = append(gotUTC, timespan.FormatTimestamp(n, timespan.UTC))
		next = n
	}
	if never != want.Never || strings.Join(got, "; ") != strings.Join(want.Elapses, "; ") {
		t.Errorf("%q from @%d in %s:\n got %s\nwant %s", spec, base, loc, strings.Join(got, "; "), strings.Join(want.Elapses, "; "))
		return
	}
	if len(want.ElapsesUTC) > 0 && strings.Join(gotUTC, "; ") != strings.Join(want.ElapsesUTC, "; ") {
		t.Errorf("%q from @%d in %s, in UTC:\n got %s\nwant %s", spec, base, loc, strings.Join(gotUTC, "; "), strings.Join(want.ElapsesUTC, "; "))
	}
}

// compareNextErr checks that an elapse fails as systemd's does, within five
// iterations.
func compareNextErr(t *testing.T, s *calendar.Spec, loc *time.Location, base int64, want string) {
	t.Helper()
	next := time.Unix(base, 0).In(loc)
	for range 5 {
		n, err := s.NextErr(next)
		var got string
		switch {
		case err == nil:
			next = n
			continue
		case errors.Is(err, calendar.ErrLoop):
			got = oracle.EDEADLK
		case errors.Is(err, calendar.ErrLate):
			got = oracle.EINVAL
		}
		if got != want {
			t.Errorf("%q from @%d in %s: %v, systemd says %q", s, base, loc, err, want)
		}
		return
	}
	t.Errorf("%q from @%d in %s: five elapses, systemd says %q", s, base, loc, want)
}

func errnoOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, calendar.ErrRange):
		return oracle.ERANGE
	case errors.Is(err, calendar.ErrTooLong):
		return oracle.ENOBUFS
	}
	return oracle.EINVAL
}

// specGenerator makes expressions from the whole grammar, and mistakes.
type specGenerator struct {
	rng   *rand.Rand
	local timespan.ZoneRule
}

var generatorWeekdays = []string{
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
	"monday", "TUESDAY", "Wednesday", "thu", "friday", "Saturday", "sun", "Mo", "Fri,",
}

func (g *specGenerator) pick(s []string) string { return s[g.rng.IntN(len(s))] }

// namesLocalZone reports whether spec ends in one of the local zone's
// abbreviations.
func (g *specGenerator) namesLocalZone(spec string) bool {
	for _, name := range []string{g.local.Std, g.local.DST} {
		if name != "" && len(spec) > len(name) && strings.EqualFold(spec[len(spec)-len(name):], name) {
			return true
		}
	}
	return false
}

func (g *specGenerator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *specGenerator) num(lo, hi int) string {
	v := lo + g.rng.IntN(hi-lo+1)
	if g.chance(0.5) {
		return fmt.Sprintf("%02d", v)
	}
	return fmt.Sprint(v)
}

func (g *specGenerator) component(lo, hi int, seconds bool) string {
	s := g.num(lo, hi)
	if seconds && g.chance(0.3) {
		s += "." + g.digits(1+g.rng.IntN(7))
	}
	if g.chance(0.2) {
		s += ".." + g.num(lo, hi)
	}
	if g.chance(0.3) {
		s += "/" + g.num(1, max(1, (hi-lo)/2))
		if seconds && g.chance(0.3) {
			s += "." + g.digits(1+g.rng.IntN(3))
		}
	}
	return s
}

func (g *specGenerator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

func (g *specGenerator) chain(lo, hi int, seconds bool) string {
	if g.chance(0.3) {
		return "*"
	}
	var parts []string
	for range 1 + g.rng.IntN(3) {
		parts = append(parts, g.component(lo, hi, seconds))
	}
	return strings.Join(parts, ",")
}

func (g *specGenerator) weekdays() string {
	var items []string
	for range 1 + g.rng.IntN(3) {
		item := g.pick(generatorWeekdays)
		if g.chance(0.4) {
			item += g.pick([]string{"..", "-"}) + g.pick(generatorWeekdays)
		}
		items = append(items, item)
	}
	return strings.Join(items, ",")
}

var shorthandNames = []string{
	"minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually",
	"yearly", "annually", "Semi-Annually", "bi-annually", "anually", "Biannually",
}

func (g *specGenerator) spec() string {
	var s string
	switch {
	case g.chance(0.08):
		s = g.pick(shorthandNames)
	case g.chance(0.04):
		s = "@" + g.pick([]string{"", " ", "+", "-"}) + fmt.Sprint(g.rng.Int64N(8000000000))
	case g.chance(0.02):
		s = strings.Repeat("1,", 235+g.rng.IntN(10)) + "1:00"
	default:
		var parts []string
		if g.chance(0.4) {
			parts = append(parts, g.weekdays())
		}
		if g.chance(0.6) {
			d := ""
			if g.chance(0.5) {
				d = g.chain(0, 2199, false) + "-"
			}
			d += g.chain(1, 12, false) + g.pick([]string{"-", "-", "~"}) + g.chain(1, 31, false)
			parts = append(parts, d)
		}
		if g.chance(0.8) || len(parts) == 0 {
			tm := g.chain(0, 23, false) + ":" + g.chain(0, 59, false)
			if g.chance(0.6) {
				tm += ":" + g.chain(0, 59, true)
			}
			parts = append(parts, tm)
		}
		s = strings.Join(parts, " ")
	}
	switch x := g.rng.Float64(); {
	case x < 0.08:
		s += " UTC"
	case x < 0.12:
		s += " utc"
	case x < 0.17:
		s += " " + g.pick([]string{g.local.Std, g.local.DST, strings.ToLower(g.local.DST)})
	case x < 0.24:
		s += " " + g.pick([]string{"Europe/Berlin", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Foo/Bar", "Europe/berlin", "EST5EDT", "Local"})
	}
	if g.chance(0.15) {
		s = g.mutate(s)
	}
	return s
}

// mutate inserts, deletes or replaces one character. Newlines are left out:
// systemd-analyze's output could not be told apart.
func (g *specGenerator) mutate(s string) string {
	i := g.rng.IntN(len(s) + 1)
	c := g.pick([]string{" ", "-", "~", ":", ".", ",", "/", "*", "0", "9", "a", "Z", "@", "\t", "+", "..", "  "})
	switch g.rng.IntN(3) {
	case 0:
		return s[:i] + c + s[i:]
	case 1:
		if i < len(s) {
			return s[:i] + s[i+1:]
		}
		return s
	default:
		if i < len(s) {
			return s[:i] + c + s[i+1:]
		}
		return s + c
	}
}
