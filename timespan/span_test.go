package timespan_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"sundial.dev/sundial/timespan"
)

// Error classes, named as systemd names them.
const (
	einval = "EINVAL"
	erange = "ERANGE"
)

// errClass returns "" for nil, ERANGE for errors wrapping ErrRange and
// EINVAL for the other errors.
func errClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, timespan.ErrRange):
		return erange
	}
	return einval
}

// parseTests are the time spans of systemd.time(7) and test-time-util.c's
// parse_sec, with what systemd-analyze timespan (252, whose parse_time and
// format_timespan are those of 254) prints for them.
var parseTests = []struct {
	in   string
	want timespan.Span
	str  string // format_timespan(want, 0), the "Human:" line
}{
	// The verified examples of the specification, in its order.
	{"5h 30min", 19800000000, "5h 30min"},
	{"2h30m", 9000000000, "2h 30min"},
	{"90", 90000000, "1min 30s"},
	{"1.5h", 5400000000, "1h 30min"},
	{"1.5", 1500000, "1.500000s"},
	{".5s", 500000, "500ms"},
	{"0.5", 500000, "500ms"},
	{"infinity", timespan.Infinity, "infinity"},
	{" infinity ", timespan.Infinity, "infinity"},
	{"1y", 31557600000000, "1y"},
	{"1M", 2629800000000, "1month"},
	{"1month", 2629800000000, "1month"},
	{"0.5y", 15778800000000, "6month"},
	{"1.5M", 3944700000000, "1month 2w 1d 5h 15min"},
	{"1w", 604800000000, "1w"},
	{"1 week", 604800000000, "1w"},
	{"7d", 604800000000, "1w"},
	{"2weeks", 1209600000000, "2w"},
	{"3days", 259200000000, "3d"},
	{"1hr", 3600000000, "1h"},
	{"1 hour", 3600000000, "1h"},
	{"1h", 3600000000, "1h"},
	{"30m", 1800000000, "30min"},
	{"30min", 1800000000, "30min"},
	{"45s", 45000000, "45s"},
	{"100ms", 100000, "100ms"},
	{"100msec", 100000, "100ms"},
	{"50us", 50, "50us"},
	{"50usec", 50, "50us"},
	{"50µs", 50, "50us"}, // U+00B5 micro sign
	{"50μs", 50, "50us"}, // U+03BC Greek small letter mu
	{"+5s", 5000000, "5s"},
	{"5s 5s", 10000000, "10s"},
	{"5 6", 11000000, "11s"},
	{"3 s", 3000000, "3s"},
	{"5 us", 5, "5us"},
	{"2 m", 120000000, "2min"},
	{"10 min 3", 603000000, "10min 3s"},
	{"1y 2M 3w 4d 5h 6min 7s 8ms 9us", 38995567008009, "1y 2month 3w 4d 5h 6min 7.008009s"},
	{"1.123456789s", 1123456, "1.123456s"}, // truncated, not rounded
	{"1.0000001s", 1000000, "1s"},
	{"1.5us", 1, "1us"},
	{"0.1us", 0, "0"},
	{"0.0000001", 0, "0"},
	{"12.34 .56", 12900000, "12.900000s"},
	{"12.34s.56", 12900000, "12.900000s"},
	{"1h1", 3601000000, "1h 1s"},
	{"1hour1min", 3660000000, "1h 1min"},
	{"25h", 90000000000, "1d 1h"},
	{"365d", 31536000000000, "11month 4w 2d 4h 30min"},
	{"30d", 2592000000000, "4w 2d"},
	{"12month", 31557600000000, "1y"},
	{"1000000", 1000000000000, "1w 4d 13h 46min 40s"},
	{"0", 0, "0"},
	{"0s", 0, "0"},

	// test-time-util.c, parse_sec.
	{"5s", 5000000, "5s"},
	{"5s500ms", 5500000, "5.500000s"},
	{" 5s 500ms  ", 5500000, "5.500000s"},
	{" 5.5s  ", 5500000, "5.500000s"},
	{" 5.5s 0.5ms ", 5500500, "5.500500s"},
	{" .22s ", 220000, "220ms"},
	{" .50y ", 15778800000000, "6month"},
	{"2.5", 2500000, "2.500000s"},
	{".7", 700000, "700ms"},
	{"23us", 23, "23us"},
	{"23μs", 23, "23us"},
	{"23µs", 23, "23us"},
	{"+3.1s", 3100000, "3.100000s"},
	{"3.1s.2", 3300000, "3.300000s"},
	{"3.1 .2", 3300000, "3.300000s"},
	{"3.1 sec .2 sec", 3300000, "3.300000s"},
	{"3.1 sec 1.2 sec", 4300000, "4.300000s"},

	// Every spelling of the suffix table.
	{"5seconds", 5000000, "5s"},
	{"5second", 5000000, "5s"},
	{"5sec", 5000000, "5s"},
	{"5minutes", 300000000, "5min"},
	{"5minute", 300000000, "5min"},
	{"5min", 300000000, "5min"},
	{"5months", 13149000000000, "5month"},
	{"5msec", 5000, "5ms"},
	{"5hours", 18000000000, "5h"},
	{"5hour", 18000000000, "5h"},
	{"5days", 432000000000, "5d"},
	{"5day", 432000000000, "5d"},
	{"5weeks", 3024000000000, "1month 4d 13h 30min"},
	{"5week", 3024000000000, "1month 4d 13h 30min"},
	{"5years", 157788000000000, "5y"},
	{"5year", 157788000000000, "5y"},
	{"5y", 157788000000000, "5y"},
	{"5usec", 5, "5us"},

	// White space: strtoll skips \v and \f too, the suffix search does not.
	{"\v5", 5000000, "5s"},
	{"\v-0", 0, "0"}, // strtoll reads -0, which is not negative
	{"\f5s\r", 5000000, "5s"},
	{"5\t6", 11000000, "11s"},
	{"\t5s\t", 5000000, "5s"},
	{"007", 7000000, "7s"}, // always decimal

	// The largest spans.
	{"584541y", 18446711061600000000, "584541y"},
	{"584541y 1y", 18446742619200000000, "584542y"},
	{"5124095575h", 18446744070000000000, "584542y 2w 2d 19h"},
	{"5124095575h 3709551614us", timespan.Infinity - 1, "584542y 2w 2d 20h 1min 49.551614s"},
}

// parseErrorTests are rejected by systemd-analyze timespan with the errno
// class given. Where msg is set, it is our whole message.
var parseErrorTests = []struct {
	in    string
	class string
	msg   string
}{
	// The invalid inputs of the specification.
	{"5.", einval, `timespan: bad time span "5.": column 3: expected digits after the decimal point`},
	{"1.5.5", einval, ""},
	{"5secs", einval, `timespan: bad time span "5secs": column 2: unknown unit "secs"`},
	{"5mins", einval, ""},
	{"5H", einval, `timespan: bad time span "5H": column 2: unknown unit "H"`},
	{"1e3", einval, ""},
	{"infinityx", einval, `timespan: bad time span "infinityx": column 9: unexpected text after "infinity"`},
	{"", einval, `timespan: bad time span "": column 1: empty time span`},
	{" ", einval, ""},
	{"5s,6s", einval, `timespan: bad time span "5s,6s": column 3: expected a number, found ",6s"`},
	{"5s;", einval, ""},
	{"1. 5h", einval, ""},
	{"10mseconds", einval, `timespan: bad time span "10mseconds": column 3: unknown unit "mseconds"`},
	{"µs", einval, ""},
	{"0x10", einval, ""},
	{"5 minutes ago", einval, `timespan: bad time span "5 minutes ago": column 11: expected a number, found "ago"`},
	{"-5s", erange, `timespan: bad time span "-5s": column 1: negative time span`},
	{"-0", erange, ""},
	{"1h-1m", erange, `timespan: bad time span "1h-1m": column 3: negative time span`},
	{"18446744073709551615", erange, `timespan: bad time span "18446744073709551615": column 1: number too large`},
	{"584542y", erange, `timespan: bad time span "584542y": column 7: time span too large`},
	{"213503982334601y", erange, ""},

	// test-time-util.c, parse_sec.
	{" xyz ", einval, ""},
	{" . ", einval, ""},
	{" 5. ", einval, ""},
	{".s ", einval, ""},
	{"-5s ", erange, ""},
	{"-0.3s ", erange, ""},
	{"-0.0s ", erange, ""},
	{"-0.-0s ", erange, ""},
	{"0.-0s ", einval, ""},
	{"3.-0s ", einval, ""},
	{" infinity .7", einval, ""},
	{".3 infinity", einval, ""},
	{"3.+1s", einval, `timespan: bad time span "3.+1s": column 3: expected digits after the decimal point`},
	{"3. 1s", einval, ""},
	{"3.s", einval, ""},
	{"12.34.56", einval, `timespan: bad time span "12.34.56": column 6: expected a unit, found ".56"`},
	{"12..34", einval, ""},
	{"..1234", einval, ""},
	{"1234..", einval, ""},

	// More, each confirmed with systemd-analyze timespan.
	{".", einval, ""},
	{"++5", einval, ""},
	{"+-5", einval, ""}, // no digits after the sign: strtoll reads nothing
	{"+ -5", einval, ""},
	{"5ns", einval, ""}, // only parse_nsec knows nanoseconds
	{"5nsec", einval, ""},
	{"5S", einval, ""},
	{"5D", einval, ""},
	{"5Y", einval, ""},
	{"5hrs", einval, ""},
	{"5 µ", einval, ""},
	{"5\vs", einval, ""}, // \v is no white space between number and unit
	{"5 \vs", einval, ""},
	{"5 5x", einval, ""},
	{"1,5s", einval, ""},
	{"1.5 .", einval, ""},
	{"infinity infinity", einval, ""},
	{"5\x00", einval, `timespan: bad time span "5\x00": column 2: expected a unit, found "\x00"`},
	{"\v-5", erange, ""}, // strtoll skips \v and reads -5
	{"5s -1s", erange, ""},
	{"99999999999999999999", erange, ""},
	{"9223372036854775808", erange, ""},
	{"9223372036854775807", erange, ""},
	{"18446744073709551614us", erange, ""}, // more than strtoll reads
	{"5124095576h", erange, ""},
	{"584542.y", erange, ""}, // the range is checked before the digits after the dot
	{"584541y 584541y", erange, ""},
	{"5124095575h 3709551615us", erange, ""}, // reaches infinity
}

func TestTablesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range parseTests {
		if seen[tt.in] {
			t.Errorf("parseTests: %q twice", tt.in)
		}
		seen[tt.in] = true
	}
	for _, tt := range parseErrorTests {
		if seen[tt.in] {
			t.Errorf("parseErrorTests: %q twice, or also in parseTests", tt.in)
		}
		seen[tt.in] = true
	}
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := timespan.Parse(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("Span(%d).String() = %q, want %q", got, s, tt.str)
			}
			back, err := timespan.Parse(tt.str)
			if tt.want >= 584542*timespan.Year && tt.want != timespan.Infinity {
				// As in systemd, the years of such a span do not fit on
				// their own, and the form does not read back.
				if !errors.Is(err, timespan.ErrRange) {
					t.Errorf("Parse(%q) = %d, %v, want ErrRange", tt.str, back, err)
				}
				return
			}
			if err != nil || back != got {
				t.Errorf("Parse(%q) = %d, %v, want %d", tt.str, back, err, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := timespan.Parse(tt.in)
			if got != 0 || errClass(err) != tt.class {
				t.Fatalf("Parse(%q) = %d, %v, want 0 and %s", tt.in, got, err, tt.class)
			}
			var pe *timespan.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %#v, want a *ParseError", tt.in, err)
			}
			if pe.Input != tt.in || pe.Offset < 0 || pe.Offset > len(tt.in) {
				t.Errorf("Parse(%q) = %#v, want the input and an offset into it", tt.in, pe)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("Parse(%q) = %v, want %s", tt.in, err, tt.msg)
			}
		})
	}
}

// parseUnitTests read spans with other default units, as systemd's
// parse_time(text, default_unit) does.
var parseUnitTests = []struct {
	in    string
	unit  timespan.Span
	want  timespan.Span
	class string
}{
	// test-time-util.c, parse_time.
	{"5", timespan.Microsecond, 5, ""},
	{"5", timespan.Millisecond, 5 * timespan.Millisecond, ""},
	{"5", timespan.Second, 5 * timespan.Second, ""},
	{"5s", timespan.Microsecond, 5 * timespan.Second, ""},
	{"5s", timespan.Second, 5 * timespan.Second, ""},
	{"5s", timespan.Millisecond, 5 * timespan.Second, ""},
	{"11111111111111y", timespan.Microsecond, 0, erange},
	{"1.1111111111111y", timespan.Microsecond, 35063999999997, ""},

	// A default unit of 1µs leaves no room for fractions, as parse_nsec's
	// nanoseconds do not ("2.5" is 2ns there, ".7" is 0).
	{"2.5", timespan.Microsecond, 2, ""},
	{".7", timespan.Microsecond, 0, ""},
	{"3.1 .2s", timespan.Microsecond, 200003, ""},
	{"1.2345", timespan.Millisecond, 1234, ""},
	{"5 6", timespan.Millisecond, 11 * timespan.Millisecond, ""},
	{"2.5", timespan.Minute, 150 * timespan.Second, ""},
	{"5s 3", timespan.Minute, 185 * timespan.Second, ""},
	{"1.5", timespan.Hour, 90 * timespan.Minute, ""},
	{"0.5", timespan.Day, 12 * timespan.Hour, ""},
	{"1.99", 7, 7, ""}, // 7/10 is 0: the fraction adds nothing
	{"infinity", timespan.Microsecond, timespan.Infinity, ""},
	{"5124095575", timespan.Hour, 18446744070000000000, ""},
	{"5124095576", timespan.Hour, 0, erange},
	{"-1", timespan.Microsecond, 0, erange},
	{"", timespan.Minute, 0, einval},
	{"1x", timespan.Minute, 0, einval},
}

func TestParseUnit(t *testing.T) {
	for _, tt := range parseUnitTests {
		t.Run(tt.in+"/"+tt.unit.String(), func(t *testing.T) {
			got, err := timespan.ParseUnit(tt.in, tt.unit)
			if got != tt.want || errClass(err) != tt.class {
				t.Errorf("ParseUnit(%q, %v) = %d, %v, want %d (%s)", tt.in, tt.unit, got, err, tt.want, tt.class)
			}
		})
	}
	t.Run("zero unit", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Errorf("ParseUnit(%q, 0) did not panic", "5")
			}
		}()
		timespan.ParseUnit("5", 0)
	})
}

// parseNanosecondsTests are parse_nsec's: units down to nanoseconds, a
// bare number counts nanoseconds.
var parseNanosecondsTests = []struct {
	in    string
	want  uint64
	class string
}{
	{"5", 5, ""}, {"5ns", 5, ""}, {"5nsec", 5, ""}, {"1.5us", 1500, ""}, {"1.5µs", 1500, ""},
	{"2ms 3ns", 2000003, ""}, {"1s", 1000000000, ""}, {"1.5", 1, ""}, {"0.9", 0, ""},
	{"1min", 60000000000, ""}, {"infinity", math.MaxUint64, ""}, {"18446744073709551615", 0, erange},
	{"5sec", 5000000000, ""}, {"5secs", 0, einval}, {"", 0, einval}, {"-1", 0, erange}, {"x", 0, einval},
}

func TestParseNanoseconds(t *testing.T) {
	for _, tt := range parseNanosecondsTests {
		got, err := timespan.ParseNanoseconds(tt.in)
		if got != tt.want || errClass(err) != tt.class {
			t.Errorf("ParseNanoseconds(%q) = %d, %v, want %d (%s)", tt.in, got, err, tt.want, tt.class)
		}
	}
}

// formatTests is the accuracy table of the specification: format_timespan
// at several accuracies.
var formatTests = []struct {
	span timespan.Span
	want [6]string // at accuracy 0, 1µs, 1ms, 1s, 1min, 1d
}{
	{1234, [6]string{"1.234ms", "1.234ms", "1ms", "1ms", "1ms", "1ms"}},
	{1200000, [6]string{"1.200000s", "1.200000s", "1.200s", "1s", "1s", "1s"}},
	{12345678, [6]string{"12.345678s", "12.345678s", "12.345s", "12s", "12s", "12s"}},
	{59999999, [6]string{"59.999999s", "59.999999s", "59.999s", "59s", "59s", "59s"}},
	{60500000, [6]string{"1min 500ms", "1min 500ms", "1min 500ms", "1min", "1min", "1min"}},
	{61500000, [6]string{"1min 1.500000s", "1min 1.500000s", "1min 1.500s", "1min 1s", "1min", "1min"}},
	{3661000000, [6]string{"1h 1min 1s", "1h 1min 1s", "1h 1min 1s", "1h 1min 1s", "1h 1min", "1h"}},
	{90061001001, [6]string{"1d 1h 1min 1.001001s", "1d 1h 1min 1.001001s", "1d 1h 1min 1.001s", "1d 1h 1min 1s", "1d 1h 1min", "1d"}},
	{691200000000, [6]string{"1w 1d", "1w 1d", "1w 1d", "1w 1d", "1w 1d", "1w 1d"}},
	{38995567008009, [6]string{
		"1y 2month 3w 4d 5h 6min 7.008009s",
		"1y 2month 3w 4d 5h 6min 7.008009s",
		"1y 2month 3w 4d 5h 6min 7.008s",
		"1y 2month 3w 4d 5h 6min 7s",
		"1y 2month 3w 4d 5h 6min",
		"1y 2month 3w 4d",
	}},
	// And the ends.
	{0, [6]string{"0", "0", "0", "0", "0", "0"}},
	{1, [6]string{"1us", "1us", "1us", "1us", "1us", "1us"}},
	{timespan.Infinity, [6]string{"infinity", "infinity", "infinity", "infinity", "infinity", "infinity"}},
	{timespan.Infinity - 1, [6]string{
		"584542y 2w 2d 20h 1min 49.551614s",
		"584542y 2w 2d 20h 1min 49.551614s",
		"584542y 2w 2d 20h 1min 49.551s",
		"584542y 2w 2d 20h 1min 49s",
		"584542y 2w 2d 20h 1min",
		"584542y 2w 2d",
	}},
}

var formatAccuracies = [6]timespan.Span{0, timespan.Microsecond, timespan.Millisecond, timespan.Second, timespan.Minute, timespan.Day}

func TestFormat(t *testing.T) {
	for _, tt := range formatTests {
		for i, acc := range formatAccuracies {
			t.Run(tt.span.String()+"/"+acc.String(), func(t *testing.T) {
				if got := tt.span.Format(acc); got != tt.want[i] {
					t.Errorf("Span(%d).Format(%v) = %q, want %q", tt.span, acc, got, tt.want[i])
				}
				b := tt.span.AppendFormat([]byte("x"), acc)
				if string(b) != "x"+tt.want[i] {
					t.Errorf("Span(%d).AppendFormat(%q, %v) = %q, want %q", tt.span, "x", acc, b, "x"+tt.want[i])
				}
			})
		}
	}
}

// TestFormatRoundTrip is test-time-util.c's format_timespan test: at
// accuracies of 1µs, 1ms and 1s, what is printed parses back to the same
// value at that accuracy.
func TestFormatRoundTrip(t *testing.T) {
	values := []timespan.Span{
		0, 1, 1 * timespan.Second, 999 * timespan.Millisecond, 1234567, 12, 123, 1234, 12345,
		123456, 1234567, 12345678, 1200000, 1230000, 1234000, 1234500, 1234560, 1234567,
		986087, 500 * timespan.Millisecond, 9*timespan.Year/5 - 23, timespan.Infinity,
	}
	for _, acc := range []timespan.Span{1, timespan.Millisecond, timespan.Second} {
		for _, v := range values {
			s := v.Format(acc)
			back, err := timespan.Parse(s)
			if err != nil || back/acc != v/acc {
				t.Errorf("Parse(%q) = %d, %v, want %d at accuracy %v (Span(%d).Format(%v))", s, back, err, v, acc, v, acc)
			}
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		span timespan.Span
		want time.Duration
		ok   bool
	}{
		{0, 0, true},
		{90 * timespan.Second, 90 * time.Second, true},
		{1, time.Microsecond, true},
		{timespan.Span(1<<63-1) / 1000, time.Duration(1<<63-1) / 1000 * 1000, true},
		{timespan.Span(1<<63-1)/1000 + 1, 0, false},
		{300 * timespan.Year, 0, false},
		{timespan.Infinity, 0, false},
	} {
		if got, ok := tt.span.Duration(); got != tt.want || ok != tt.ok {
			t.Errorf("Span(%d).Duration() = %v, %v, want %v, %v", tt.span, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want timespan.Span
	}{
		{-time.Second, 0},
		{0, 0},
		{999, 0},
		{1500 * time.Nanosecond, 1},
		{90 * time.Second, 90 * timespan.Second},
	} {
		if got := timespan.FromDuration(tt.d); got != tt.want {
			t.Errorf("FromDuration(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestSpanText(t *testing.T) {
	var s timespan.Span
	if err := s.UnmarshalText([]byte("1.5h")); err != nil || s != 90*timespan.Minute {
		t.Fatalf("UnmarshalText(%q) = %v, gives %d, want %d", "1.5h", err, s, 90*timespan.Minute)
	}
	if b, err := s.MarshalText(); err != nil || string(b) != "1h 30min" {
		t.Fatalf("MarshalText() = %q, %v, want %q", b, err, "1h 30min")
	}
	err := s.UnmarshalText([]byte("-1s"))
	if !errors.Is(err, timespan.ErrRange) || s != 90*timespan.Minute {
		t.Fatalf("UnmarshalText(%q) = %v, gives %d, want ErrRange and no change", "-1s", err, s)
	}
}
