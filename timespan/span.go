package timespan

import (
	"encoding"
	"math"
	"strconv"
	"strings"
	"time"
)

// A Span is a length of time in microseconds, the unit systemd counts in.
// It reaches past 292 years (the limit of [time.Duration]) up to [Infinity],
// which systemd uses for "never" and which is also the largest value.
// The zero value is a span of length 0.
type Span uint64

// Common spans. Month and Year are the averages systemd uses:
// a year is 365.25 days and a month is a twelfth of that.
const (
	Microsecond Span = 1
	Millisecond      = 1000 * Microsecond
	Second           = 1000 * Millisecond
	Minute           = 60 * Second
	Hour             = 60 * Minute
	Day              = 24 * Hour
	Week             = 7 * Day
	Month            = 2629800 * Second
	Year             = 31557600 * Second
	Infinity    Span = math.MaxUint64
)

var (
	_ encoding.TextMarshaler   = Span(0)
	_ encoding.TextUnmarshaler = (*Span)(nil)
)

// A unitSuffix is a unit's suffix and its length, in the microseconds of
// parse_sec or the nanoseconds of parse_nsec.
type unitSuffix struct {
	suffix string
	span   Span
}

// units lists the suffixes in the order systemd tries them; the first one the
// text starts with wins, so "5secs" reads "sec" and leaves a stray "s".
var units = []unitSuffix{
	{"seconds", Second}, {"second", Second}, {"sec", Second}, {"s", Second},
	{"minutes", Minute}, {"minute", Minute}, {"min", Minute},
	{"months", Month}, {"month", Month}, {"M", Month},
	{"msec", Millisecond}, {"ms", Millisecond},
	{"m", Minute},
	{"hours", Hour}, {"hour", Hour}, {"hr", Hour}, {"h", Hour},
	{"days", Day}, {"day", Day}, {"d", Day},
	{"weeks", Week}, {"week", Week}, {"w", Week},
	{"years", Year}, {"year", Year}, {"y", Year},
	{"usec", Microsecond}, {"us", Microsecond},
	{"\u03bcs", Microsecond}, // Greek small letter mu
	{"\u00b5s", Microsecond}, // micro sign
}

// Parse parses a time span as systemd's parse_sec does: numbers with optional
// fractions and unit suffixes ("5min 30s", "1.5h", "2weeks"), summed;
// a number without a unit counts seconds; "infinity" is [Infinity].
func Parse(s string) (Span, error) {
	return ParseUnit(s, Second)
}

// ParseUnit is like [Parse], but a number without a unit counts unit
// (systemd's parse_time with a default unit). unit must not be zero.
func ParseUnit(s string, unit Span) (Span, error) {
	if unit == 0 {
		panic("timespan: ParseUnit with zero unit")
	}
	return parse(s, unit, units)
}

// nsecUnits are the suffixes of parse_nsec, in nanoseconds, in the order
// it tries them.
var nsecUnits = func() []unitSuffix {
	t := make([]unitSuffix, 0, len(units)+2)
	for _, u := range units {
		t = append(t, unitSuffix{u.suffix, u.span * 1000})
	}
	return append(t, unitSuffix{"nsec", 1}, unitSuffix{"ns", 1})
}()

// ParseNanoseconds parses a length of time in nanoseconds as systemd's
// parse_nsec does, for settings such as TimerSlackNSec=: the syntax of
// [Parse] with the units "nsec" and "ns" too, and a number without a
// unit counts nanoseconds. "infinity" is the largest value.
func ParseNanoseconds(s string) (uint64, error) {
	n, err := parse(s, 1, nsecUnits)
	return uint64(n), err
}

// parse reads a time span with the unit suffixes of table, in which a
// number without a suffix counts unit.
func parse(s string, unit Span, table []unitSuffix) (Span, error) {
	fail := func(off int, msg string, err error) (Span, error) {
		return 0, &ParseError{What: "time span", Input: s, Offset: off, Msg: msg, Err: err}
	}

	p := skipWhitespace(s, 0)
	if strings.HasPrefix(s[p:], "infinity") {
		rest := p + len("infinity")
		if q := skipWhitespace(s, rest); q != len(s) {
			return fail(rest, "unexpected text after \"infinity\"", nil)
		}
		return Infinity, nil
	}

	var total Span
	something := false
	unitStart, unitEnd := -1, -1 // the suffix of the last component
	for {
		p = skipWhitespace(s, p)
		if p == len(s) {
			if !something {
				return fail(p, "empty time span", nil)
			}
			return total, nil
		}
		if s[p] == '-' {
			return fail(p, "negative time span", ErrRange)
		}
		l, e, ok := strtoll(s, p)
		if !ok {
			return fail(p, "number too large", ErrRange)
		}
		if l < 0 {
			return fail(p, "negative time span", ErrRange)
		}
		// The digits after a dot are added below, once the unit is known.
		frac := -1
		switch {
		case e < len(s) && s[e] == '.':
			frac = e + 1
			p = frac + digitsAt(s, frac)
		case e == p && p == unitEnd && isUnitByte(s[p]):
			// Letters right after a unit: "5secs" reads "sec", then "s".
			return fail(unitStart, "unknown unit "+strconv.Quote(unitWordAt(s, unitStart)), nil)
		case e == p:
			return fail(p, "expected a number, found "+strconv.Quote(wordAt(s, p)), nil)
		default:
			p = e
		}

		multiplier := unit
		ws := p + spanWhitespace(s, p)
		sfx := ws
		for _, u := range table {
			if strings.HasPrefix(s[ws:], u.suffix) {
				multiplier, sfx = u.span, ws+len(u.suffix)
				break
			}
		}
		if sfx == p && p < len(s) {
			// Neither a unit nor a space: "12.34.56", "5x", "1e3".
			switch {
			case frac == p:
				return fail(frac, "expected digits after the decimal point", nil)
			case isUnitByte(s[p]):
				return fail(p, "unknown unit "+strconv.Quote(unitWordAt(s, p)), nil)
			}
			return fail(p, "expected a unit, found "+strconv.Quote(wordAt(s, p)), nil)
		}
		if sfx > ws {
			unitStart, unitEnd = ws, sfx
		}
		p = sfx

		if uint64(l) >= uint64(Infinity/multiplier) {
			return fail(e, "time span too large", ErrRange)
		}
		k := Span(l) * multiplier
		if k >= Infinity-total {
			return fail(e, "time span too large", ErrRange)
		}
		total += k
		something = true

		if frac >= 0 {
			m := multiplier / 10
			b := frac
			for ; b < len(s) && isDigit(s[b]); b, m = b+1, m/10 {
				k := Span(s[b]-'0') * m
				if k >= Infinity-total {
					return fail(b, "time span too large", ErrRange)
				}
				total += k
			}
			if b == frac {
				return fail(frac, "expected digits after the decimal point", nil)
			}
		}
	}
}

// String formats the span as systemd does with full accuracy ("1h 30min",
// "1.500000s", "infinity", "0"). [Parse] reads the result back exactly.
func (s Span) String() string {
	return s.Format(0)
}

// Format formats the span as systemd's format_timespan(s, accuracy): units
// from years down to microseconds, and only as precise as accuracy, which
// truncates ("1min 1.500s" at millisecond accuracy, "1min 1s" at second
// accuracy). An accuracy of 0 or 1µs is exact.
func (s Span) Format(accuracy Span) string {
	var buf [64]byte
	return string(s.AppendFormat(buf[:0], accuracy))
}

var spanTable = [...]struct {
	suffix string
	span   Span
}{
	{"y", Year}, {"month", Month}, {"w", Week}, {"d", Day}, {"h", Hour},
	{"min", Minute}, {"s", Second}, {"ms", Millisecond}, {"us", Microsecond},
}

// AppendFormat is like [Span.Format] but appends to b.
func (s Span) AppendFormat(b []byte, accuracy Span) []byte {
	if s == Infinity {
		return append(b, "infinity"...)
	}
	if s == 0 {
		return append(b, '0')
	}
	start := len(b)
	t := s
	something := false
	for _, u := range spanTable {
		if t == 0 || (t < accuracy && something) {
			break
		}
		if t < u.span {
			continue
		}
		if len(b) > start {
			b = append(b, ' ')
		}
		a, rem := t/u.span, t%u.span
		// Below a minute, a remainder is shown as a fraction of the unit.
		if t < Minute && rem > 0 {
			j := 0
			for cc := u.span; cc > 1; cc /= 10 {
				j++
			}
			for cc := accuracy; cc > 1; cc /= 10 {
				rem /= 10
				j--
			}
			if j > 0 {
				b = strconv.AppendUint(b, uint64(a), 10)
				b = append(b, '.')
				b = appendPadded(b, uint64(rem), j)
				b = append(b, u.suffix...)
				something = true
				break
			}
		}
		b = strconv.AppendUint(b, uint64(a), 10)
		b = append(b, u.suffix...)
		t = rem
		something = true
	}
	return b
}

// Duration returns the span as a [time.Duration]. ok is false when the span
// is longer than a Duration can hold (about 292 years), including Infinity.
func (s Span) Duration() (d time.Duration, ok bool) {
	if s > Span(math.MaxInt64/int64(time.Microsecond)) {
		return 0, false
	}
	return time.Duration(s) * time.Microsecond, true
}

// FromDuration converts d to a Span, truncating to whole microseconds.
// Negative durations become 0.
func FromDuration(d time.Duration) Span {
	if d < 0 {
		return 0
	}
	return Span(d / time.Microsecond)
}

// MarshalText implements [encoding.TextMarshaler] with [Span.String].
func (s Span) MarshalText() ([]byte, error) {
	return s.AppendFormat(nil, 0), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [Parse].
func (s *Span) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isCSpace reports whether c is white space for the C library (isspace in
// the C locale), which strtol and strptime skip.
func isCSpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r')
}

// isSpanSpace reports whether c is in systemd's WHITESPACE set.
func isSpanSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipWhitespace(s string, i int) int {
	return i + spanWhitespace(s, i)
}

func spanWhitespace(s string, i int) int {
	n := 0
	for i+n < len(s) && isSpanSpace(s[i+n]) {
		n++
	}
	return n
}

func digitsAt(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

// isUnitByte reports whether c may be part of a unit's name: an ASCII
// letter, or a byte of a multibyte character such as "µ".
func isUnitByte(c byte) bool { return isLetter(c) || c >= 0x80 }

// unitWordAt returns the unit-like word at i, for messages.
func unitWordAt(s string, i int) string {
	j := i
	for j < len(s) && isUnitByte(s[j]) {
		j++
	}
	return s[i:j]
}

// wordAt returns the text at i up to the next space, for messages.
func wordAt(s string, i int) string {
	j := i
	for j < len(s) && !isSpanSpace(s[j]) {
		j++
	}
	return s[i:j]
}

// strtoll reads a base-10 integer at i as C's strtoll does: leading C white
// space, an optional sign, digits. It returns the value, the index after
// the number (i itself when there were no digits), and false on overflow.
func strtoll(s string, i int) (v int64, end int, ok bool) {
	j := i
	for j < len(s) && isCSpace(s[j]) {
		j++
	}
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	n := digitsAt(s, j)
	if n == 0 {
		return 0, i, true
	}
	var u uint64
	overflow := false
	for _, c := range []byte(s[j : j+n]) {
		if u > (math.MaxUint64-9)/10 {
			overflow = true
		}
		u = u*10 + uint64(c-'0')
	}
	end = j + n
	if neg {
		if overflow || u > 1<<63 {
			return math.MinInt64, end, false
		}
		return -int64(u), end, true
	}
	if overflow || u > math.MaxInt64 {
		return math.MaxInt64, end, false
	}
	return int64(u), end, true
}
