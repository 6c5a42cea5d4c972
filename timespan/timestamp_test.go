package timespan_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"sundial.dev/sundial/timespan"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("zone %s: %v", name, err)
	}
	return loc
}

func TestFormatTimestamp(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	ts := time.Date(2023, 10, 30, 3, 0, 0, 123456000, berlin)
	for _, tt := range []struct {
		t     time.Time
		style timespan.Style
		want  string
	}{
		{ts, timespan.Pretty, "Mon 2023-10-30 03:00:00 CET"},
		{ts, timespan.Micro, "Mon 2023-10-30 03:00:00.123456 CET"},
		{ts, timespan.UTC, "Mon 2023-10-30 02:00:00 UTC"},
		{ts, timespan.MicroUTC, "Mon 2023-10-30 02:00:00.123456 UTC"},
		{ts, timespan.Unix, "@1698631200"},
		{ts, timespan.Date, "Mon 2023-10-30"},
		{time.Date(2023, 7, 1, 12, 0, 0, 0, berlin), timespan.Pretty, "Sat 2023-07-01 12:00:00 CEST"},
		// Unset: the zero Time, the epoch and before, and 2^64-1 µs.
		{time.Time{}, timespan.Pretty, ""},
		{time.Unix(0, 0), timespan.Pretty, ""},
		{time.Unix(-5, 0), timespan.UTC, ""},
		{time.Unix(18446744073709, 551615000), timespan.Pretty, ""},
		// The first and last instants systemd formats.
		{time.Unix(0, 1000), timespan.UTC, "Thu 1970-01-01 00:00:00 UTC"},
		{time.Unix(0, 1000), timespan.MicroUTC, "Thu 1970-01-01 00:00:00.000001 UTC"},
		{timespan.MaxTimestamp, timespan.UTC, "Thu 9999-12-30 23:59:59 UTC"},
		{timespan.MaxTimestamp.Add(time.Second), timespan.UTC, "--- XXXX-XX-XX XX:XX:XX UTC"},
		{timespan.MaxTimestamp.Add(time.Second), timespan.Micro, "--- XXXX-XX-XX XX:XX:XX.XXXXXX"},
		{timespan.MaxTimestamp.Add(time.Second), timespan.Date, "--- XXXX-XX-XX"},
		// A zone name too long for systemd's buffer is left out.
		{time.Date(2023, 1, 1, 0, 0, 0, 0, time.FixedZone("VERYLONGNAME", 3600)), timespan.Micro, "Sun 2023-01-01 00:00:00.000000"},
		{time.Date(2023, 1, 1, 0, 0, 0, 0, time.FixedZone("VERYLONGNAME", 3600)), timespan.Pretty, "Sun 2023-01-01 00:00:00 VERYLONGNAME"},
		{time.Date(2023, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)), timespan.Pretty, "Sun 2023-01-01 00:00:00"},
	} {
		if got := timespan.FormatTimestamp(tt.t, tt.style); got != tt.want {
			t.Errorf("FormatTimestamp(%v, %d) = %q, want %q", tt.t, tt.style, got, tt.want)
		}
	}
}

func TestFormatRelative(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	const (
		day   = 24 * time.Hour
		month = 2629800 * time.Second
		year  = 31557600 * time.Second
	)
	for _, tt := range []struct {
		d          time.Duration // t - now
		want, left string
	}{
		{0, "now", "now"},
		{time.Microsecond, "1us left", "1us"},
		{-5 * time.Millisecond, "5ms ago", "5ms ago"},
		{3 * time.Second, "3s left", "3s"},
		{-(time.Minute + 5*time.Second), "1min 5s ago", "1min 5s ago"},
		{7 * time.Minute, "7min left", "7min"},
		{time.Hour + 30*time.Minute, "1h 30min left", "1h 30min"},
		{9 * time.Hour, "9h left", "9h"},
		{-(39 * time.Hour), "1 day 15h ago", "1 day 15h ago"},
		{50 * time.Hour, "2 days left", "2 days"},
		{-(7 * day), "1 week 0 days ago", "1 week 0 days ago"},
		{15 * day, "2 weeks 1 day left", "2 weeks 1 day"},
		{-(month + 2*day), "1 month 2 days ago", "1 month 2 days ago"},
		{-(15 * day), "2 weeks 1 day ago", "2 weeks 1 day ago"},
		{-(year + month), "1 year 1 month ago", "1 year 1 month ago"},
		{-(2*year + 2*month), "2 years 2 months ago", "2 years 2 months ago"},
		{year + month, "1 year 1 month left", "1 year 1 month"},
		{1096 * day, "3 years 0 months left", "3 years 0 months"},
	} {
		ts := now.Add(tt.d)
		if got := timespan.FormatRelative(ts, now); got != tt.want {
			t.Errorf("FormatRelative(now%+v) = %q, want %q", tt.d, got, tt.want)
		}
		if got := timespan.FormatLeft(ts, now); got != tt.left {
			t.Errorf("FormatLeft(now%+v) = %q, want %q", tt.d, got, tt.left)
		}
		// The relative forms read back as timestamps, less precisely.
		if tt.d != 0 {
			rel := timespan.FormatRelative(ts, now)
			back, err := timespan.ParseTimestamp(rel, now)
			if err != nil {
				t.Errorf("ParseTimestamp(%q) = %v", rel, err)
			} else if diff := back.Sub(ts).Abs(); diff > tt.d.Abs()/10+time.Second {
				t.Errorf("ParseTimestamp(%q) = %v, want about %v", rel, back, ts)
			}
		}
	}
	if got := timespan.FormatRelative(time.Time{}, now); got != "" {
		t.Errorf("FormatRelative(unset) = %q", got)
	}
}

// parseTimestampTests were run with TZ=Asia/Shanghai at now, 2026-11-23
// 04:18:36 CST; most were confirmed with systemd-analyze timestamp. The
// installed systemd (252) differs from 254 where a row says so. A row
// without a result is an error, or an instant systemd does not show (the
// epoch).
var parseTimestampTests = []struct {
	in   string
	want string // UTC, microsecond style; "" for an error
}{
	{"now", "Sun 2026-11-22 20:18:36.000000 UTC"},
	{"today", "Sun 2026-11-22 16:00:00.000000 UTC"},
	{"today UTC", "Sun 2026-11-22 00:00:00.000000 UTC"},
	{"yesterday", "Sat 2026-11-21 16:00:00.000000 UTC"},
	{"tomorrow", "Mon 2026-11-23 16:00:00.000000 UTC"},
	{"tomorrow Pacific/Auckland", "Mon 2026-11-23 11:00:00.000000 UTC"}, // 252 fails: zone suffix
	{"+3h30min", "Sun 2026-11-22 23:48:36.000000 UTC"},
	{"+ 5s", "Sun 2026-11-22 20:18:41.000000 UTC"},
	{"-5s", "Sun 2026-11-22 20:18:31.000000 UTC"},
	{"-0", "Sun 2026-11-22 20:18:36.000000 UTC"},
	{"11min ago", "Sun 2026-11-22 20:07:36.000000 UTC"},
	{"3h left", "Sun 2026-11-22 23:18:36.000000 UTC"},
	{"2 months 5 days ago", "Thu 2026-09-17 23:18:36.000000 UTC"},
	{"@1395716396", "Tue 2014-03-25 02:59:56.000000 UTC"},
	{"@1.5h", "Thu 1970-01-01 01:30:00.000000 UTC"},
	{"2012-11-23 11:12:13 UTC", "Fri 2012-11-23 11:12:13.000000 UTC"},
	{"12-11-23", "Thu 2012-11-22 16:00:00.000000 UTC"},
	{"69-01-01", ""}, // 1969 is before the epoch
	{"70-01-01 12:00 UTC", "Thu 1970-01-01 12:00:00.000000 UTC"},
	{"68-01-01 UTC", "Sun 2068-01-01 00:00:00.000000 UTC"},
	{"11:12", "Mon 2026-11-23 03:12:00.000000 UTC"},
	{"11:12:13.5", "Mon 2026-11-23 03:12:13.500000 UTC"},
	{"Fri 2012-11-23 11:12:13", "Fri 2012-11-23 03:12:13.000000 UTC"},
	{"friday 2012-11-23", "Thu 2012-11-22 16:00:00.000000 UTC"},
	{"Mon 2023-10-31 10:00", ""}, // wrong weekday
	{"Mon 11:12", "Mon 2026-11-23 03:12:00.000000 UTC"},
	{"Tue 11:12", ""}, // today is a Monday
	{"Nov 23 11:12:13", "Mon 2026-11-23 03:12:13.000000 UTC"},
	{"November 23 11:12:13.25", "Mon 2026-11-23 03:12:13.250000 UTC"},
	{"2023-10-31 10:00:00.1234567", "Tue 2023-10-31 02:00:00.123457 UTC"},
	{"2023-10-31 10:00:00.1234564", "Tue 2023-10-31 02:00:00.123456 UTC"},
	{"2023-10-31 10:00:00.", ""},
	{"2023-10-31 10:00.5", ""},
	{"2023-02-30", "Wed 2023-03-01 16:00:00.000000 UTC"},
	{"2024-02-30", "Thu 2024-02-29 16:00:00.000000 UTC"},
	{"2023-10-31 10:00:60", "Tue 2023-10-31 02:01:00.000000 UTC"},
	{"2023-10-31 24:00", ""},
	{"2023-10-31 10:60", ""},
	{"2023-13-01", ""},
	{" 2023-1-5  1:2:3", "Wed 2023-01-04 17:02:03.000000 UTC"},
	{"2023-10-31 10:00 +02:00", "Tue 2023-10-31 08:00:00.000000 UTC"}, // 252 fails: offsets
	{"2023-10-31 10:00 Z", "Tue 2023-10-31 10:00:00.000000 UTC"},      // 252 fails
	{"2023-10-31 10:00 -0630", "Tue 2023-10-31 16:30:00.000000 UTC"},  // 252 fails
	{"2023-10-31 10:00 +2400", "Mon 2023-10-30 10:00:00.000000 UTC"},  // 252 fails
	{"2023-10-31 10:00 +25", ""},
	{"2023-10-31 10:00 +5", ""},
	{"2023-10-31 10:00 utc", ""},                                             // 252 accepts
	{"2023-10-31 10:00 Europe/Berlin", "Tue 2023-10-31 09:00:00.000000 UTC"}, // 252 fails
	{"2023-10-31 10:00 Asia/Tokyo", "Tue 2023-10-31 01:00:00.000000 UTC"},    // 252 fails
	{"2023-07-31 10:00 CET", "Mon 2023-07-31 09:00:00.000000 UTC"},           // 252 fails; CET is a zone file
	{"2023-10-31 10:00 CST", "Tue 2023-10-31 02:00:00.000000 UTC"},
	{"2023-10-31 10:00 cst", ""}, // 252 accepts
	{"2023-10-31 10:00 Foo/Bar", ""},
	{"now UTC", ""},
	{"+5min UTC", ""},
	{"@5 UTC", ""},
	{" UTC", ""},
	{"2023-10-31T10:00:00", ""},
	{"5s", ""},
	{"12", ""},
	{"show", ""},
	{"cancel", ""},
	{"", ""},
	{"9999-12-30 23:59:59 UTC", "Thu 9999-12-30 23:59:59.000000 UTC"},
	{"9999-12-31 00:00 UTC", ""},
	{"1970-01-01 00:00 UTC", ""}, // the epoch itself reads as "unset"
}

func TestParseTimestamp(t *testing.T) {
	shanghai := mustLoad(t, "Asia/Shanghai")
	now := time.Date(2026, 11, 23, 4, 18, 36, 0, shanghai)
	for _, tt := range parseTimestampTests {
		got, err := timespan.ParseTimestamp(tt.in, now)
		switch {
		case tt.want == "" && err == nil && timespan.IsSet(got):
			t.Errorf("ParseTimestamp(%q) = %s, want error", tt.in, timespan.FormatTimestamp(got, timespan.MicroUTC))
		case tt.want == "":
			if err != nil {
				var pe *timespan.ParseError
				if !errors.As(err, &pe) {
					t.Errorf("ParseTimestamp(%q) error %T, want *ParseError", tt.in, err)
				}
			}
		case err != nil:
			t.Errorf("ParseTimestamp(%q) = %v, want %s", tt.in, err, tt.want)
		case timespan.FormatTimestamp(got, timespan.MicroUTC) != tt.want:
			t.Errorf("ParseTimestamp(%q) = %s, want %s", tt.in, timespan.FormatTimestamp(got, timespan.MicroUTC), tt.want)
		case got.Location() != shanghai:
			t.Errorf("ParseTimestamp(%q) in %v, want the location of now", tt.in, got.Location())
		}
	}
}

// Vectors of systemd 254's test-time-util.c.
func TestParseTimestampUpstream(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in, tz string
		want   int64 // µs since the epoch
	}{
		{"Thu 1970-01-01 00:01 UTC", "", 60e6},
		{"70-01-01 00:00:01.001 UTC", "", 1001000},
		{"1970-01-01 00:00:01.0010 UTC", "", 1001000},
		{"1970-01-01 09:01 Asia/Tokyo", "", 60e6},
		{"Thu 70-01-01 09:00:01 Asia/Tokyo", "", 1e6},
		{"Wed 1969-12-31 19:01 America/New_York", "", 60e6},
		{"Wed 1969-12-31 19:01 EST", "America/New_York", 60e6},
		{"Wed 1969-12-31 18:01 -06", "", 60e6},
		{"Wed 1969-12-31 18:01 -0600", "", 60e6},
		{"Wed 1969-12-31 18:01 -06:00", "", 60e6},
		{"1969-12-31 18:00 -06", "", 0},
	} {
		loc := time.UTC
		if tt.tz != "" {
			loc = mustLoad(t, tt.tz)
		}
		got, err := timespan.ParseTimestamp(tt.in, now.In(loc))
		if err != nil || got.UnixMicro() != tt.want {
			t.Errorf("ParseTimestamp(%q) in %q = %d, %v, want %d", tt.in, tt.tz, got.UnixMicro(), err, tt.want)
		}
	}
	for _, in := range []string{"+5hours", "-10days", "2weeks left", "30minutes ago"} {
		if _, err := timespan.ParseTimestamp(in, now); err != nil {
			t.Errorf("ParseTimestamp(%q) = %v", in, err)
		}
	}
}

// Formatting in a zone whose abbreviations are numeric and parsing the
// result back gives the same instant (timezone_offset_change in
// test-time-util.c).
func TestTimestampOffsetChange(t *testing.T) {
	for _, tt := range []struct {
		zone string
		at   int64
	}{
		{"Africa/Casablanca", 1529197200}, // Sun 2018-06-17 03:00:00 +01
		{"Africa/Casablanca", 1526781600},
		{"Asia/Atyrau", 1099156800},
		{"Asia/Atyrau", 1111744800},
		{"Chile/EasterIsland", 1491030000},
		{"Chile/EasterIsland", 1502852400},
	} {
		loc := mustLoad(t, tt.zone)
		ts := time.Unix(tt.at, 0).In(loc)
		s := timespan.FormatTimestamp(ts, timespan.Pretty)
		back, err := timespan.ParseTimestamp(s, ts)
		if err != nil || !back.Equal(ts) {
			t.Errorf("%s: ParseTimestamp(%q) = %v, %v, want %v", tt.zone, s, back, err, ts)
		}
	}
}

// Every style reads back: the microsecond styles exactly, the others to the
// second (test-time-util.c checks this in every zone).
func TestTimestampRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns"} {
		loc := mustLoad(t, zone)
		rule := timespan.Rule(loc)
		for range 2000 {
			ts := time.UnixMicro(1 + rng.Int64N(253402214399000000)).In(loc)
			if name, _ := ts.Zone(); name != rule.Std && name != rule.DST {
				// An abbreviation the zone no longer uses (AEST on Lord
				// Howe Island before 1981) is not recognized, as in a
				// fresh systemd process.
				continue
			}
			for _, style := range []timespan.Style{timespan.Pretty, timespan.Micro, timespan.UTC, timespan.MicroUTC, timespan.Unix} {
				s := timespan.FormatTimestamp(ts, style)
				back, err := timespan.ParseTimestamp(s, ts)
				want := ts
				if style != timespan.Micro && style != timespan.MicroUTC {
					want = ts.Truncate(time.Second)
				}
				if err != nil {
					t.Fatalf("%s: ParseTimestamp(%q) = %v", zone, s, err)
				}
				if !back.Equal(want) {
					// The C library cannot tell apart the two instants of
					// a repeated hour whose abbreviations are the same.
					if style == timespan.Pretty || style == timespan.Micro {
						if _, off := ts.Zone(); ambiguous(ts, off) {
							continue
						}
					}
					t.Fatalf("%s: ParseTimestamp(%q) = %v, want %v", zone, s, back, want)
				}
			}
		}
	}
}

// ambiguous reports whether the wall-clock time of ts occurs twice with
// the same abbreviation, or once more with another offset.
func ambiguous(ts time.Time, off int) bool {
	for _, d := range []time.Duration{-3 * time.Hour, -time.Hour, -30 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour} {
		o := ts.Add(d)
		if _, off2 := o.Zone(); off2 != off && o.Add(time.Duration(off2-off)*time.Second).Equal(ts.Add(d)) {
			return true
		}
	}
	start, end := ts.ZoneBounds()
	return ts.Sub(start) < 3*time.Hour || end.Sub(ts) < 3*time.Hour
}
