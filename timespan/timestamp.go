package timespan

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// A Style selects one of the ways systemd prints a timestamp.
type Style int

const (
	Pretty   Style = iota // Mon 2023-10-30 03:00:00 CET
	Micro                 // Mon 2023-10-30 03:00:00.000000 CET
	UTC                   // Mon 2023-10-30 02:00:00 UTC
	MicroUTC              // Mon 2023-10-30 02:00:00.000000 UTC
	Unix                  // @1698631200
	Date                  // Mon 2023-10-30, in UTC
)

// MaxTimestamp is the last instant systemd formats and accepts as a
// timestamp, Thu 9999-12-30 23:59:59 UTC. It stays a day short of the end of
// year 9999 so that no time zone can push it past.
var MaxTimestamp = time.Unix(253402214399, 0).UTC()

const maxFormattableUsec = 253402214399000000

// usecOf returns t in microseconds since the epoch, clamped to the range of
// systemd's usec_t: 0 for the zero Time and for instants before the epoch,
// and [Infinity] for instants beyond it.
func usecOf(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if sec < 0 {
		return 0
	}
	if uint64(sec) > math.MaxUint64/1000000 {
		return math.MaxUint64
	}
	return addSat(uint64(sec)*1000000, uint64(t.Nanosecond()/1000))
}

func timeOfUsec(u uint64, loc *time.Location) time.Time {
	return time.Unix(int64(u/1000000), int64(u%1000000)*1000).In(loc)
}

// IsSet reports whether t is a timestamp systemd would show. systemd counts
// in microseconds since the epoch and treats 0 and the largest value as
// "unset", printed as "n/a" or "-": so are the zero Time, instants at or
// before the epoch, and instants at or past 2^64-1 microseconds.
func IsSet(t time.Time) bool {
	u := usecOf(t)
	return u != 0 && u != math.MaxUint64
}

var weekdayAbbrev = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// FormatTimestamp formats t as systemd's format_timestamp_style does, using
// t's location for the local styles. It returns "" when t is not set (see
// [IsSet]). Instants past [MaxTimestamp] print as "--- XXXX-XX-XX XX:XX:XX".
func FormatTimestamp(t time.Time, style Style) string {
	return string(AppendTimestamp(nil, t, style))
}

// AppendTimestamp is like [FormatTimestamp] but appends to b.
func AppendTimestamp(b []byte, t time.Time, style Style) []byte {
	u := usecOf(t)
	if u == 0 || u == math.MaxUint64 {
		return b
	}
	if style == Unix {
		return strconv.AppendUint(append(b, '@'), u/1000000, 10)
	}
	utc := style == UTC || style == MicroUTC || style == Date
	us := style == Micro || style == MicroUTC
	if u > maxFormattableUsec {
		b = append(b, "--- XXXX-XX-XX"...)
		if style != Date {
			b = append(b, " XX:XX:XX"...)
			if us {
				b = append(b, ".XXXXXX"...)
			}
			if utc {
				b = append(b, " UTC"...)
			}
		}
		return b
	}
	loc := t.Location()
	if utc {
		loc = time.UTC
	}
	c := CivilTime(int64(u/1000000), loc)
	start := len(b)
	b = append(b, weekdayAbbrev[c.Weekday]...)
	b = append(b, ' ')
	b = appendPadded(b, uint64(c.Year), 4)
	b = append(b, '-')
	b = appendPadded(b, uint64(c.Month), 2)
	b = append(b, '-')
	b = appendPadded(b, uint64(c.Day), 2)
	if style == Date {
		return b
	}
	b = append(b, ' ')
	b = appendPadded(b, uint64(c.Hour), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(c.Minute), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(c.Second), 2)
	if us {
		b = append(b, '.')
		b = appendPadded(b, u%1000000, 6)
	}
	switch {
	case utc:
		b = append(b, " UTC"...)
	case c.Zone != "" && len(b)-start+1+len(c.Zone)+1 <= formatTimestampMax:
		// systemd drops a zone name too long for its buffer.
		b = append(b, ' ')
		b = append(b, c.Zone...)
	}
	return b
}

// formatTimestampMax is the size of systemd's buffer for timestamps,
// FORMAT_TIMESTAMP_MAX, including the terminating NUL.
const formatTimestampMax = 3 + 1 + 10 + 1 + 8 + 1 + 6 + 1 + 6 + 1

// FormatRelative formats t relative to now as systemd's
// format_timestamp_relative: "3h 5min left", "2 days ago", "now". It returns
// "" when t is not set (see [IsSet]).
func FormatRelative(t, now time.Time) string {
	return string(AppendRelative(nil, t, now))
}

// AppendRelative is like [FormatRelative] but appends to b.
func AppendRelative(b []byte, t, now time.Time) []byte {
	return appendRelative(b, t, now, " left")
}

// FormatLeft is like [FormatRelative] but leaves out " left" for instants in
// the future ("5h", "2 days ago"), as the LEFT column of list-timers does.
func FormatLeft(t, now time.Time) string {
	return string(appendRelative(nil, t, now, ""))
}

func appendRelative(b []byte, t, now time.Time, left string) []byte {
	tu := usecOf(t)
	if tu == 0 || tu == math.MaxUint64 {
		return b
	}
	n := usecOf(now)
	var d Span
	suffix := left
	if n > tu {
		d, suffix = Span(n-tu), " ago"
	} else {
		d = Span(tu - n)
	}
	num := func(a Span, unit string) {
		b = strconv.AppendUint(b, uint64(a), 10)
		b = append(b, unit...)
	}
	pair := func(a Span, one, many string, c Span, one2, many2 string) {
		num(a, " ")
		b = append(b, plural(a, one, many)...)
		b = append(b, ' ')
		num(c, " ")
		b = append(b, plural(c, one2, many2)...)
	}
	switch {
	case d >= Year:
		pair(d/Year, "year", "years", d%Year/Month, "month", "months")
	case d >= Month:
		pair(d/Month, "month", "months", d%Month/Day, "day", "days")
	case d >= Week:
		pair(d/Week, "week", "weeks", d%Week/Day, "day", "days")
	case d >= 2*Day:
		num(d/Day, " days")
	case d >= 25*Hour:
		b = append(b, "1 day "...)
		num((d-Day)/Hour, "h")
	case d >= 6*Hour:
		num(d/Hour, "h")
	case d >= Hour:
		num(d/Hour, "h ")
		num(d%Hour/Minute, "min")
	case d >= 5*Minute:
		num(d/Minute, "min")
	case d >= Minute:
		num(d/Minute, "min ")
		num(d%Minute/Second, "s")
	case d >= Second:
		num(d/Second, "s")
	case d >= Millisecond:
		num(d/Millisecond, "ms")
	case d > 0:
		num(d, "us")
	default:
		return append(b, "now"...)
	}
	return append(b, suffix...)
}

func plural(n Span, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ParseTimestamp parses a timestamp as systemd 254's parse_timestamp does,
// relative to now, whose location is the local time zone. It accepts:
//
//   - "2012-11-23 11:12:13", with an optional ".123456" fraction, and the
//     shorter forms "2012-11-23 11:12", "2012-11-23", "11:12:13" and "11:12"
//     (today); two-digit years mean 1969 to 2068;
//   - "Nov 23 11:12:13" (the current year), as journal output prints;
//   - an optional weekday first ("Fri 2012-11-23"), which must be right;
//   - "now", "today", "yesterday", "tomorrow";
//   - "+5min", "-5min", "5min left", "5min ago", relative to now;
//   - "@1395716396.5", seconds since the epoch;
//   - a last word naming the zone: "UTC", a UTC offset ("+02:00", "-06",
//     "Z"), a zone name ("Asia/Tokyo"), or one of the local zone's
//     abbreviations ("CET", "CEST"), which selects standard or
//     daylight-saving time. Relative forms and "@" take no zone.
//
// Out-of-range days are carried over (February 30 is March 1 or 2), and
// local times that fall into a gap move forward by the length of the gap.
// The result is in now's location.
func ParseTimestamp(s string, now time.Time) (time.Time, error) {
	p := timestampParser{input: s, now: usecOf(now)}
	u, err := p.parse(now.Location())
	if err != nil {
		return time.Time{}, err
	}
	return timeOfUsec(u, now.Location()), nil
}

type timestampParser struct {
	input string
	now   uint64
	res   Resolver
}

func (p *timestampParser) fail(off int, msg string, err error) error {
	return &ParseError{What: "timestamp", Input: p.input, Offset: off, Msg: msg, Err: err}
}

// parse splits off a zone word and dispatches as parse_timestamp does.
func (p *timestampParser) parse(local *time.Location) (uint64, error) {
	t := p.input
	sp := strings.LastIndexByte(t, ' ')
	if sp < 0 {
		return p.parseIn(t, -1, false, -1, 0, local)
	}
	tzOff := sp + 1
	tz := t[tzOff:]
	if tz == "UTC" {
		return p.parseIn(t, tzOff, true, -1, 0, local)
	}
	if off, ok := parseUTCOffset(tz); ok {
		return p.parseIn(t, tzOff, true, -1, off, local)
	}
	if !ValidZoneName(tz) {
		return p.parseWithZone(t, tzOff, false, local)
	}
	loc, err := LoadLocation(tz)
	if err != nil {
		return p.parseWithZone(t, tzOff, false, local)
	}
	return p.parseWithZone(t, tzOff, true, loc)
}

// parseWithZone reads the last word as one of loc's abbreviations, or drops
// it when it named loc, or else keeps it as part of the time.
func (p *timestampParser) parseWithZone(t string, tzOff int, validTZ bool, loc *time.Location) (uint64, error) {
	rule := Rule(loc)
	for j, name := range [2]string{rule.Std, rule.DST} {
		if name != "" && t[tzOff:] == name {
			return p.parseIn(t, tzOff, false, j, 0, loc)
		}
	}
	if !validTZ {
		tzOff = -1
	}
	return p.parseIn(t, tzOff, false, -1, 0, loc)
}

var weekdayNames = [...]struct {
	name string
	day  time.Weekday
}{
	{"Sunday", time.Sunday}, {"Sun", time.Sunday},
	{"Monday", time.Monday}, {"Mon", time.Monday},
	{"Tuesday", time.Tuesday}, {"Tue", time.Tuesday},
	{"Wednesday", time.Wednesday}, {"Wed", time.Wednesday},
	{"Thursday", time.Thursday}, {"Thu", time.Thursday},
	{"Friday", time.Friday}, {"Fri", time.Friday},
	{"Saturday", time.Saturday}, {"Sat", time.Saturday},
}

// timestampLayouts are tried in order, as systemd does. fraction marks the
// layouts that may be followed by a fraction of a second; the fields a
// layout leaves out are set to zero, the date excepted (it stays today's).
var timestampLayouts = [...]struct {
	layout   string
	fraction bool
	noTime   bool // set hour, minute and second to zero
	noSecond bool
}{
	{"%y-%m-%d %H:%M:%S", true, false, false},
	{"%Y-%m-%d %H:%M:%S", true, false, false},
	{"%b %d %H:%M:%S", true, false, false},
	{"%y-%m-%d %H:%M", false, false, true},
	{"%Y-%m-%d %H:%M", false, false, true},
	{"%y-%m-%d", false, true, false},
	{"%Y-%m-%d", false, true, false},
	{"%H:%M:%S", true, false, false},
	{"%H:%M", false, false, true},
}

// parseIn parses t, cut at the zone word starting at tzOff unless tzOff is
// negative, in UTC shifted by gmtoff (utc) or in loc with the given DST flag.
func (p *timestampParser) parseIn(t string, tzOff int, utc bool, isdst, gmtoff int, loc *time.Location) (uint64, error) {
	withTZ := tzOff >= 0
	if withTZ {
		if tzOff <= 1 {
			return 0, p.fail(0, "nothing before the time zone", nil)
		}
		t = t[:tzOff-1]
	}
	if utc {
		if gmtoff > 86400 || gmtoff < -86400 {
			return 0, p.fail(tzOff, "UTC offset larger than a day", nil)
		}
		loc = time.UTC
	}

	if !withTZ {
		if strings.HasPrefix(t, "@") {
			u, err := Parse(t[1:])
			if err != nil {
				return 0, p.wrap(1, err)
			}
			return uint64(u), nil
		}
		if plus, minus, ok, err := p.relative(t); ok {
			if err != nil {
				return 0, err
			}
			return p.finish(p.now, plus, minus)
		}
	}

	var plus, minus uint64
	sec := int64(p.now / 1000000)
	c := p.res.civil(sec, p.res.lookup(sec, loc))
	c.IsDST = isdst
	weekday := time.Weekday(-1)
	fraction := uint64(0)
	switch t {
	case "yesterday":
		c.Day--
		c.Hour, c.Minute, c.Second = 0, 0, 0
	case "tomorrow":
		c.Day++
		c.Hour, c.Minute, c.Second = 0, 0, 0
	case "today":
		c.Hour, c.Minute, c.Second = 0, 0, 0
	default:
		rest := t
		for _, d := range weekdayNames {
			if len(rest) > len(d.name) && equalFold(rest[:len(d.name)], d.name) && rest[len(d.name)] == ' ' {
				weekday, rest = d.day, rest[len(d.name)+1:]
				break
			}
		}
		start := len(t) - len(rest)
		copied := c
		matched := false
		for _, l := range timestampLayouts {
			c = copied
			var sp strptime
			k := sp.parse(rest, l.layout, &c)
			if k < 0 {
				continue
			}
			if k == len(rest) {
				matched = true
				switch {
				case l.noTime:
					c.Hour, c.Minute, c.Second = 0, 0, 0
				case l.noSecond:
					c.Second = 0
				}
				break
			}
			if l.fraction && rest[k] == '.' {
				f, end, ok := parseFraction(rest, k+1)
				if !ok || end != len(rest) {
					return 0, p.fail(start+k+1, "bad fraction of a second", nil)
				}
				fraction, matched = f, true
				break
			}
		}
		if !matched {
			return 0, p.fail(start, "unknown timestamp format", nil)
		}
	}

	if weekday >= 0 && c.Weekday != weekday {
		return 0, p.fail(0, "weekday does not match the date", nil)
	}
	if gmtoff < 0 {
		plus = uint64(-gmtoff) * 1000000
		// Such a time may lie on the last day of 1969 in UTC; shift it into
		// 1970 and back again afterwards.
		if c.Year == 1969 && c.Month == 12 && c.Day == 31 {
			c.Year, c.Month, c.Day = 1970, 1, 1
			minus = uint64(Day)
		}
	} else {
		minus = uint64(gmtoff) * 1000000
	}
	sec, ok := p.res.Resolve(&c, loc)
	switch {
	case !ok:
		return 0, p.fail(0, "local time cannot be resolved", nil)
	case sec < 0:
		return 0, p.fail(0, "time before 1970", nil)
	}
	return p.finish(addSat(uint64(sec)*1000000, fraction), plus, minus)
}

// relative reads the forms relative to now: "now", "+SPAN", "-SPAN",
// "SPAN left" and "SPAN ago". ok is false if t is none of them.
func (p *timestampParser) relative(t string) (plus, minus uint64, ok bool, err error) {
	var text string
	var into *uint64
	off := 0
	switch {
	case t == "now":
		return 0, 0, true, nil
	case strings.HasPrefix(t, "+"):
		text, into, off = t[1:], &plus, 1
	case strings.HasPrefix(t, "-"):
		text, into, off = t[1:], &minus, 1
	case strings.HasSuffix(t, " ago"):
		text, into = strings.TrimSuffix(t, " ago"), &minus
	case strings.HasSuffix(t, " left"):
		text, into = strings.TrimSuffix(t, " left"), &plus
	default:
		return 0, 0, false, nil
	}
	v, perr := Parse(text)
	if perr != nil {
		return 0, 0, true, p.wrap(off, perr)
	}
	*into = uint64(v)
	return plus, minus, true, nil
}

func (p *timestampParser) finish(usec, plus, minus uint64) (uint64, error) {
	usec = addSat(usec, plus)
	if usec < minus {
		return 0, p.fail(0, "time before 1970", nil)
	}
	usec -= minus
	if usec > maxFormattableUsec {
		return 0, p.fail(0, "time after 9999-12-30", nil)
	}
	return usec, nil
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// parseFraction reads digits at i as a fraction of a second in
// microseconds: six digits, rounded half up by the seventh, the rest ignored.
func parseFraction(s string, i int) (usec uint64, end int, ok bool) {
	n := digitsAt(s, i)
	if n == 0 {
		return 0, i, false
	}
	for k := 0; k < 6; k++ {
		usec *= 10
		if k < n {
			usec += uint64(s[i+k] - '0')
		}
	}
	if n > 6 && s[i+6] >= '5' {
		usec++
	}
	return usec, i + n, true
}

// wrap turns the error of a span parsed at offset off of the input into an
// error about the timestamp.
func (p *timestampParser) wrap(off int, err error) error {
	pe := err.(*ParseError)
	return p.fail(off+pe.Offset, pe.Msg, pe.Err)
}
