package timespan_test

import (
	"errors"
	"strings"
	"testing"

	"sundial.dev/sundial/timespan"
)

// parseTests come from systemd's documentation and test-time-util.c, and
// were all confirmed with systemd-analyze timespan.
var parseTests = []struct {
	in   string
	want timespan.Span
	str  string // format_timespan(want, 0)
}{
	{"5h 30min", 19800000000, "5h 30min"},
	{"2h30m", 9000000000, "2h 30min"},
	{"90", 90000000, "1min 30s"},
	{"1.5h", 5400000000, "1h 30min"},
	{"1.5", 1500000, "1.500000s"},
	{".5s", 500000, "500ms"},
	{"0.5", 500000, "500ms"},
	{"infinity", 18446744073709551615, "infinity"},
	{" infinity ", 18446744073709551615, "infinity"},
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
	{"50µs", 50, "50us"},
	{"50μs", 50, "50us"},
	{"+5s", 5000000, "5s"},
	{"5s 5s", 10000000, "10s"},
	{"5 6", 11000000, "11s"},
	{"10 min 3", 603000000, "10min 3s"},
	{"1y 2M 3w 4d 5h 6min 7s 8ms 9us", 38995567008009, "1y 2month 3w 4d 5h 6min 7.008009s"},
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
	{"1.123456789s", 1123456, "1.123456s"},
	{"3 s", 3000000, "3s"},
	{"5 us", 5, "5us"},
	{"2 m", 120000000, "2min"},
	{" 5s 500ms  ", 5500000, "5.500000s"},
	{" 5.5s 0.5ms ", 5500500, "5.500500s"},
	{" .50y ", 15778800000000, "6month"},
	{"3.1s.2", 3300000, "3.300000s"},
	{"3.1 sec 1.2 sec", 4300000, "4.300000s"},
	{"\v5", 5000000, "5s"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		got, err := timespan.Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("Span(%d).String() = %q, want %q", got, s, tt.str)
		}
		if back, err := timespan.Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(%q) = %d, %v, want %d", got.String(), back, err, got)
		}
	}
}

// parseErrorTests are rejected by systemd; rangeErr marks ERANGE.
var parseErrorTests = []struct {
	in       string
	rangeErr bool
}{
	{"5.", false}, {"1.5.5", false}, {"5secs", false}, {"5mins", false}, {"5H", false},
	{"1e3", false}, {"infinityx", false}, {"", false}, {" ", false}, {"5s,6s", false},
	{"5s;", false}, {"1. 5h", false}, {"10mseconds", false}, {"µs", false}, {"0x10", false},
	{"5 minutes ago", false}, {" . ", false}, {".s ", false}, {"0.-0s ", false},
	{"3.-0s ", false}, {"3.+1s", false}, {"12..34", false}, {"..1234", false},
	{"1234..", false}, {".3 infinity", false}, {" infinity .7", false}, {"3. 1s", false},
	{"3.s", false}, {"++5", false}, {"5ns", false},
	{"-5s", true}, {"-0", true}, {"1h-1m", true}, {"-0.3s ", true},
	{"18446744073709551615", true}, {"584542y", true}, {"213503982334601y", true},
	{"99999999999999999999", true}, {"\v-5", true},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		got, err := timespan.Parse(tt.in)
		var pe *timespan.ParseError
		if err == nil || !errors.As(err, &pe) || got != 0 {
			t.Errorf("Parse(%q) = %d, %v, want a *ParseError", tt.in, got, err)
			continue
		}
		if errors.Is(err, timespan.ErrRange) != tt.rangeErr {
			t.Errorf("Parse(%q) = %v, ErrRange %v, want %v", tt.in, err, !tt.rangeErr, tt.rangeErr)
		}
	}
}

func TestParseErrorMessages(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"5secs", `timespan: bad time span "5secs": column 5: unexpected "s"`},
		{"1h-1m", `timespan: bad time span "1h-1m": column 3: negative time span`},
		{"3.s", `timespan: bad time span "3.s": column 3: expected digits after the decimal point`},
		{"", `timespan: bad time span "": column 1: empty time span`},
		{"infinityx", `timespan: bad time span "infinityx": column 9: unexpected text after "infinity"`},
		{"584542y", `timespan: bad time span "584542y": column 7: time span too large`},
	} {
		_, err := timespan.Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestParseUnit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		unit timespan.Span
		want timespan.Span
	}{
		{"5", timespan.Microsecond, 5},
		{"5", timespan.Millisecond, 5000},
		{"2.5", timespan.Minute, 150 * timespan.Second},
		{"1.1111111111111y", timespan.Microsecond, 35063999999997},
		{"5s 3", timespan.Minute, 185 * timespan.Second},
	} {
		got, err := timespan.ParseUnit(tt.in, tt.unit)
		if err != nil || got != tt.want {
			t.Errorf("ParseUnit(%q, %d) = %d, %v, want %d", tt.in, tt.unit, got, err, tt.want)
		}
	}
	if _, err := timespan.ParseUnit("11111111111111y", timespan.Microsecond); !errors.Is(err, timespan.ErrRange) {
		t.Errorf("ParseUnit(11111111111111y, 1us) = %v, want ErrRange", err)
	}
}

// formatTests is systemd's table of format_timespan at several accuracies.
var formatTests = []struct {
	span timespan.Span
	want [5]string // at accuracy 0, 1ms, 1s, 1min, 1d
}{
	{1234, [5]string{"1.234ms", "1ms", "1ms", "1ms", "1ms"}},
	{1200000, [5]string{"1.200000s", "1.200s", "1s", "1s", "1s"}},
	{12345678, [5]string{"12.345678s", "12.345s", "12s", "12s", "12s"}},
	{59999999, [5]string{"59.999999s", "59.999s", "59s", "59s", "59s"}},
	{60500000, [5]string{"1min 500ms", "1min 500ms", "1min", "1min", "1min"}},
	{61500000, [5]string{"1min 1.500000s", "1min 1.500s", "1min 1s", "1min", "1min"}},
	{3661000000, [5]string{"1h 1min 1s", "1h 1min 1s", "1h 1min 1s", "1h 1min", "1h"}},
	{90061001001, [5]string{"1d 1h 1min 1.001001s", "1d 1h 1min 1.001s", "1d 1h 1min 1s", "1d 1h 1min", "1d"}},
	{691200000000, [5]string{"1w 1d", "1w 1d", "1w 1d", "1w 1d", "1w 1d"}},
	{38995567008009, [5]string{"1y 2month 3w 4d 5h 6min 7.008009s", "1y 2month 3w 4d 5h 6min 7.008s", "1y 2month 3w 4d 5h 6min 7s", "1y 2month 3w 4d 5h 6min", "1y 2month 3w 4d"}},
	{0, [5]string{"0", "0", "0", "0", "0"}},
	{timespan.Infinity, [5]string{"infinity", "infinity", "infinity", "infinity", "infinity"}},
}

func TestFormat(t *testing.T) {
	accuracies := [5]timespan.Span{0, timespan.Millisecond, timespan.Second, timespan.Minute, timespan.Day}
	for _, tt := range formatTests {
		for i, acc := range accuracies {
			if got := tt.span.Format(acc); got != tt.want[i] {
				t.Errorf("Span(%d).Format(%d) = %q, want %q", tt.span, acc, got, tt.want[i])
			}
		}
		// Accuracy 1µs is the same as 0.
		if got := tt.span.Format(timespan.Microsecond); got != tt.want[0] {
			t.Errorf("Span(%d).Format(1) = %q, want %q", tt.span, got, tt.want[0])
		}
	}
}

// Formatting at an accuracy and parsing back loses no more than the
// accuracy (test-time-util.c's round trip).
func TestFormatRoundTrip(t *testing.T) {
	var values []timespan.Span
	for v := timespan.Span(1); v < 1e6; v = v*10 + v%10 + 1 {
		values = append(values, v)
	}
	values = append(values, 500*timespan.Millisecond, 9*timespan.Year/5-23)
	for _, acc := range []timespan.Span{1, timespan.Millisecond, timespan.Second} {
		for _, v := range values {
			s := v.Format(acc)
			back, err := timespan.Parse(s)
			if err != nil || back/acc != v/acc {
				t.Errorf("Parse(Span(%d).Format(%d) = %q) = %d, %v", v, acc, s, back, err)
			}
		}
	}
}

func TestDuration(t *testing.T) {
	if d, ok := (90 * timespan.Second).Duration(); !ok || d.String() != "1m30s" {
		t.Errorf("Duration() = %v, %v", d, ok)
	}
	if _, ok := timespan.Infinity.Duration(); ok {
		t.Error("Infinity.Duration() ok")
	}
	if _, ok := (300 * timespan.Year).Duration(); ok {
		t.Error("300y Duration() ok")
	}
	if got := timespan.FromDuration(-1); got != 0 {
		t.Errorf("FromDuration(-1) = %d", got)
	}
}

func TestSpanText(t *testing.T) {
	var s timespan.Span
	if err := s.UnmarshalText([]byte("1.5h")); err != nil || s != 90*timespan.Minute {
		t.Fatalf("UnmarshalText(1.5h) = %d, %v", s, err)
	}
	b, err := s.MarshalText()
	if err != nil || string(b) != "1h 30min" {
		t.Fatalf("MarshalText() = %q, %v", b, err)
	}
	if err := s.UnmarshalText([]byte("-1s")); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("UnmarshalText(-1s) = %v", err)
	}
}
