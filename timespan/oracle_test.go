package timespan_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/timespan"
)

// TestOracleTimespan compares generated time spans, valid and not, with
// systemd-analyze timespan: the verdict, the value and the human form.
func TestOracleTimespan(t *testing.T) {
	oracle.Path(t)
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 11))
	inputs := make([]string, 3000)
	for i := range inputs {
		inputs[i] = genSpan(rng)
	}
	want := oracle.TimespanBatch(t, inputs)
	for i, in := range inputs {
		got, err := timespan.Parse(in)
		switch {
		case errnoOf(err) != want[i].Err:
			t.Errorf("Parse(%q) = %d, %v; systemd says %q", in, got, err, want[i].Err)
		case err != nil:
		case strconv.FormatUint(uint64(got), 10) != want[i].Usec || got.String() != want[i].Human:
			t.Errorf("Parse(%q) = %d %q; systemd says %s %q", in, got, got, want[i].Usec, want[i].Human)
		}
	}
}

func errnoOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, timespan.ErrRange):
		return oracle.ERANGE
	}
	return oracle.EINVAL
}

var spanUnits = []string{
	"seconds", "second", "sec", "s", "minutes", "minute", "min", "months", "month", "M",
	"msec", "ms", "m", "hours", "hour", "hr", "h", "days", "day", "d", "weeks", "week",
	"w", "years", "year", "y", "usec", "us", "μs", "µs", "", "", "ns", "S", "H", "secs", "mins",
}

func genSpan(rng *rand.Rand) string {
	if rng.IntN(30) == 0 {
		return []string{"infinity", " infinity ", "infinityx", "-5s", "-0", "+5s", "1e3", "0x10",
			"18446744073709551615", "584542y", "584541y", "213503982334601y", "5 6", "  ", "",
			"\v5", "\f-5", "+-5", "++5", "5.", ".5", "..5", "1.5.5"}[rng.IntN(23)]
	}
	var parts []string
	for range 1 + rng.IntN(4) {
		n := strconv.FormatInt(rng.Int64N(pow10(rng.IntN(8))+1), 10)
		if rng.IntN(5) == 0 {
			n += "." + fmt.Sprintf("%08d", rng.Int64N(1e8))[:1+rng.IntN(7)]
		}
		if rng.IntN(20) == 0 {
			n = "." + strconv.Itoa(rng.IntN(100))
		}
		sep := []string{"", "", " ", "  ", "\t"}[rng.IntN(5)]
		parts = append(parts, n+sep+spanUnits[rng.IntN(len(spanUnits))])
	}
	s := strings.Join(parts, []string{"", " "}[rng.IntN(2)])
	if rng.IntN(10) == 0 {
		i := rng.IntN(len(s) + 1)
		s = s[:i] + string("-+. ,;x"[rng.IntN(7)]) + s[i:]
	}
	return s
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// TestOracleTimestamp compares generated timestamps with systemd-analyze
// timestamp in several zones: the verdict, the instant and its local form.
//
// The installed systemd 252 reads zone suffixes differently from 254, which
// we follow (numeric offsets and zone names are new in 254; 252 matches
// "UTC" and the local abbreviations in any case, 254 only exactly), so the
// generated inputs end in no zone or in "UTC" or a local abbreviation
// spelled exactly; the 254 forms have table tests.
func TestOracleTimestamp(t *testing.T) {
	oracle.Path(t)
	seed := oracle.Seed(t)
	for zi, zone := range []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc := mustLoad(t, zone)
			rng := rand.New(rand.NewPCG(seed, uint64(zi)))
			rule := timespan.Rule(loc)
			inputs := make([]string, 1500)
			for i := range inputs {
				inputs[i] = genTimestamp(rng, loc, rule)
			}
			before := time.Now().In(loc)
			want := oracle.TimestampBatch(t, zone, inputs)
			after := time.Now().In(loc)
			alone := 0
			for i, in := range inputs {
				if compareTimestamp(in, before, after, want[i]) == "" {
					continue
				}
				// The C library keeps state between the arguments of one
				// process (the offset mktime used last, the abbreviations it
				// knows); we compare with a process of its own.
				alone++
				before = time.Now().In(loc)
				w := oracle.TimestampBatch(t, zone, []string{in})[0]
				after = time.Now().In(loc)
				if msg := compareTimestamp(in, before, after, w); msg != "" {
					t.Error(msg)
				}
			}
			t.Logf("%d timestamps, %d asked again alone", len(inputs), alone)
		})
	}
}

// compareTimestamp compares our reading of in with systemd's, given that
// systemd read it between before and after. It returns what differs.
func compareTimestamp(in string, before, after time.Time, want oracle.Timestamp) string {
	got, err := timespan.ParseTimestamp(in, before)
	if e := errnoOf(err); e != want.Err {
		return fmt.Sprintf("ParseTimestamp(%q) = %v, %v; systemd says %q", in, got, err, want.Err)
	}
	if err != nil {
		return ""
	}
	later, _ := timespan.ParseTimestamp(in, after)
	if !later.Equal(got) {
		// Relative to now: compare the instant, to the clocks' skew.
		u, err := strconv.ParseFloat(strings.TrimPrefix(want.Unix, "@"), 64)
		if err != nil || float64(got.Unix()) > u+1 || float64(later.Unix()) < u-1 {
			return fmt.Sprintf("ParseTimestamp(%q) = %v to %v; systemd says %s", in, got, later, want.Unix)
		}
		return ""
	}
	if s := timespan.FormatTimestamp(got, timespan.Pretty); s != want.Normalized && !(s == "" && want.Normalized == "-") {
		return fmt.Sprintf("ParseTimestamp(%q) = %s; systemd says %s", in, s, want.Normalized)
	}
	if u := unixSeconds(got); u != want.Unix {
		return fmt.Sprintf("ParseTimestamp(%q) = %s; systemd says %s", in, u, want.Unix)
	}
	return ""
}

func isZoneFile(name string) bool {
	_, err := timespan.LoadLocation(name)
	return err == nil
}

func unixSeconds(t time.Time) string {
	u := t.UnixMicro()
	if u%1e6 == 0 {
		return fmt.Sprintf("@%d", u/1e6)
	}
	return fmt.Sprintf("@%d.%06d", u/1e6, u%1e6)
}

var (
	genWeekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "monday", "FRIDAY", "sunday"}
	genMonths   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "November", "march", "SEPT"}
)

// genTimestamp makes a timestamp in one of the forms systemd reads, often
// next to a DST change of loc, sometimes broken.
func genTimestamp(rng *rand.Rand, loc *time.Location, rule timespan.ZoneRule) string {
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	switch rng.IntN(12) {
	case 0:
		return "@" + strconv.FormatInt(rng.Int64N(4e9), 10) + pick([]string{"", ".5", ".123456789", "s", "min", " 5"})
	case 1:
		return pick([]string{"now", "today", "yesterday", "tomorrow", "+5min", "-3h", "2 days ago", "1 week 0 days left", "+ 5s", "-", "now ", "today UTC"})
	}
	// Fields near a DST change, or anywhere.
	var ts time.Time
	if rng.IntN(2) == 0 {
		t := time.Date(1975+rng.IntN(60), time.Month(1+rng.IntN(12)), 1, 0, 0, 0, 0, loc)
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			start = t
		}
		ts = start.Add(time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour).In(loc)
	} else {
		ts = time.Unix(rng.Int64N(7e9), 0).In(loc)
	}
	y, m, d := ts.Date()
	h, mi, s := ts.Clock()
	year := strconv.Itoa(y)
	switch rng.IntN(6) {
	case 0:
		year = fmt.Sprintf("%02d", y%100)
	case 1:
		year = strconv.Itoa(y % 100)
	}
	month, day := strconv.Itoa(int(m)), strconv.Itoa(d)
	if rng.IntN(3) != 0 {
		month, day = fmt.Sprintf("%02d", m), fmt.Sprintf("%02d", d)
	}
	if rng.IntN(10) == 0 {
		day = strconv.Itoa(28 + rng.IntN(5)) // maybe out of range
	}
	date := year + "-" + month + "-" + day
	clock := fmt.Sprintf("%02d:%02d:%02d", h, mi, s)
	if rng.IntN(15) == 0 {
		clock = fmt.Sprintf("%02d:%02d:%02d", rng.IntN(26), rng.IntN(62), rng.IntN(63))
	}
	var out string
	switch rng.IntN(7) {
	case 0:
		out = date
	case 1:
		out = date + " " + clock[:5]
	case 2:
		out = pick(genMonths) + " " + day + " " + clock
	case 3:
		out = clock[:5+3*rng.IntN(2)]
	default:
		out = date + " " + clock
	}
	if rng.IntN(5) == 0 && strings.Count(out, ":") == 2 {
		out += "." + fmt.Sprintf("%09d", rng.Int64N(1e9))[:rng.IntN(9)]
	}
	if rng.IntN(4) == 0 {
		wd := ts.Weekday().String()
		if rng.IntN(3) == 0 {
			wd = pick(genWeekdays)
		}
		out = wd[:3+rng.IntN(2)*(len(wd)-3)] + " " + out
	}
	switch rng.IntN(8) {
	case 0:
		out += " UTC"
	case 1:
		// Not when the abbreviation names a zone file too (CET, EST),
		// which 252 looks up as a zone and fails on, nor when it reads as
		// a UTC offset (+0545), which 254 takes as one and 252 as the
		// abbreviation.
		if abbrev := pick([]string{rule.Std, rule.DST}); !isZoneFile(abbrev) && !strings.ContainsAny(abbrev[:1], "+-") {
			out += " " + abbrev
		}
	}
	if rng.IntN(12) == 0 {
		i := rng.IntN(len(out) + 1)
		out = out[:i] + string(" -:.T,x"[rng.IntN(7)]) + out[i:]
	}
	return out
}
