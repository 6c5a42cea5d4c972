package calendar

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"sundial.dev/sundial/timespan"
)

// ErrRange is wrapped by a [*ParseError] for numbers that do not fit, such
// as a repetition of 0 or a second value beyond 2147 seconds; systemd calls
// these ERANGE rather than EINVAL. It is the same value as [timespan.ErrRange].
var ErrRange = timespan.ErrRange

// ErrTooLong is wrapped by a [*ParseError] for a chain of more than
// [MaxComponents] values ("1,2,3,…"), which systemd rejects with ENOBUFS.
var ErrTooLong = errors.New("too many values in a list")

// MaxComponents is the longest list one field may hold.
const MaxComponents = 241

// A ParseError describes a calendar expression that could not be parsed.
type ParseError struct {
	Input  string // the expression
	Offset int    // byte offset into Input where the problem was found
	Msg    string // what was wrong, lowercase, without trailing period
	Err    error  // ErrRange, ErrTooLong, or nil for other mistakes
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("calendar: bad expression %q: column %d: %s", e.Input, e.Offset+1, e.Msg)
}

// Unwrap returns [ErrRange], [ErrTooLong] or nil.
func (e *ParseError) Unwrap() error { return e.Err }

// Parse parses a calendar event expression as systemd does, with local
// time zone abbreviations ("12:00 CET") taken from [time.Local]. See the
// package documentation for the syntax.
func Parse(s string) (*Spec, error) {
	return ParseInLocation(s, time.Local)
}

// ParseInLocation is like [Parse] but takes the zone abbreviations from loc.
// An expression that names one of them is evaluated in loc.
func ParseInLocation(s string, loc *time.Location) (*Spec, error) {
	p := parser{in: s}
	if err := p.parse(loc); err != nil {
		return nil, err
	}
	return &p.spec, nil
}

// chain identifies one of the six fields.
type chain int

const (
	chainYear chain = iota
	chainMonth
	chainDay
	chainHour
	chainMinute
	chainSecond
	numChains
)

var chainNames = [numChains]string{"year", "month", "day", "hour", "minute", "second"}

type parser struct {
	in   string
	end  int // the end of the text before a zone suffix
	i    int
	spec Spec
	pos  [numChains][]int // where each component started, in parse order
}

func (p *parser) fail(off int, err error, format string, args ...any) error {
	return &ParseError{Input: p.in, Offset: off, Msg: fmt.Sprintf(format, args...), Err: err}
}

func (p *parser) at(i int) byte {
	if i < p.end {
		return p.in[i]
	}
	return 0
}

func (p *parser) chain(c chain) *[]component {
	s := &p.spec
	return [numChains]*[]component{&s.year, &s.month, &s.day, &s.hour, &s.minute, &s.usec}[c]
}

var shorthands = map[string]string{
	"minutely":      "*-*-* *:*:00",
	"hourly":        "*-*-* *:00:00",
	"daily":         "*-*-* 00:00:00",
	"monthly":       "*-*-01 00:00:00",
	"weekly":        "Mon *-*-* 00:00:00",
	"yearly":        "*-01-01 00:00:00",
	"annually":      "*-01-01 00:00:00",
	"anually":       "*-01-01 00:00:00", // sic, accepted by systemd for compatibility
	"quarterly":     "*-01,04,07,10-01 00:00:00",
	"semiannually":  "*-01,07-01 00:00:00",
	"semi-annually": "*-01,07-01 00:00:00",
	"biannually":    "*-01,07-01 00:00:00",
	"bi-annually":   "*-01,07-01 00:00:00",
}

func (p *parser) parse(local *time.Location) error {
	s := &p.spec
	p.end = len(p.in)
	p.zoneSuffix(local)
	if p.end == 0 {
		return p.fail(0, nil, "empty expression")
	}

	body := p.in[:p.end]
	if exp, ok := shorthand(body); ok {
		// The expansions are themselves expressions; parse them in place
		// so they share one code path, keeping only the zone found above.
		q := parser{in: exp, end: len(exp)}
		if err := q.parseBody(); err != nil {
			panic("calendar: bad shorthand expansion " + exp)
		}
		zone := s.zone
		utc, abbrev, loc := s.utc, s.abbrev, s.loc
		*s = q.spec
		s.zone, s.utc, s.abbrev, s.loc = zone, utc, abbrev, loc
		return p.finish()
	}
	if err := p.parseBody(); err != nil {
		return err
	}
	return p.finish()
}

// zoneSuffix strips a trailing " UTC", local zone abbreviation or zone name.
func (p *parser) zoneSuffix(local *time.Location) {
	s := &p.spec
	in := p.in
	if len(in) >= 4 && equalFold(in[len(in)-4:], " UTC") {
		s.utc = true
		p.end = len(in) - 4
		return
	}
	rule := timespan.Rule(local)
	for j, name := range [2]string{rule.Std, rule.DST} {
		n := len(name)
		if name == "" || len(in) <= n || !equalFold(in[len(in)-n:], name) || in[len(in)-n-1] != ' ' {
			continue
		}
		s.abbrev = int8(j + 1)
		s.loc = local
		p.end = len(in) - n - 1
		return
	}
	if sp := strings.LastIndexByte(in, ' '); sp >= 0 {
		if loc, err := timespan.LoadLocation(in[sp+1:]); err == nil {
			p.end = sp
			if loc == time.UTC {
				s.utc = true
			} else {
				s.zone, s.loc = in[sp+1:], loc
			}
		}
	}
}

// parseBody parses "[weekdays] [date] [time]" up to p.end.
func (p *parser) parseBody() error {
	if err := p.weekdays(); err != nil {
		return err
	}
	done, err := p.date()
	if err != nil {
		return err
	}
	if !done {
		if err := p.time(); err != nil {
			return err
		}
	}
	if p.i != p.end {
		return p.fail(p.i, nil, "unexpected %q", p.in[p.i:p.end])
	}
	return nil
}

var weekdayTable = [...]struct {
	name string
	nr   int
}{
	{"Monday", 0}, {"Mon", 0}, {"Tuesday", 1}, {"Tue", 1},
	{"Wednesday", 2}, {"Wed", 2}, {"Thursday", 3}, {"Thu", 3},
	{"Friday", 4}, {"Fri", 4}, {"Saturday", 5}, {"Sat", 5},
	{"Sunday", 6}, {"Sun", 6},
}

func (p *parser) weekdays() error {
	l := -1 // the start of an open range
	first := true
	for {
		start := p.i
		nr := -1
		for _, d := range weekdayTable {
			n := len(d.name)
			if p.end-p.i < n || !equalFold(p.in[p.i:p.i+n], d.name) {
				continue
			}
			switch p.at(p.i + n) {
			case 0, '-', '.', ',', ' ':
			default:
				return p.fail(p.i+n, nil, "unexpected %q after weekday %q", p.in[p.i+n], p.in[p.i:p.i+n])
			}
			nr = d.nr
			p.spec.weekdays |= 1 << nr
			if l >= 0 {
				if l > nr {
					return p.fail(start, nil, "weekday range ends before it starts")
				}
				for j := l + 1; j < nr; j++ {
					p.spec.weekdays |= 1 << j
				}
			}
			p.i += n
			break
		}
		if nr < 0 {
			if first {
				return nil
			}
			return p.fail(p.i, nil, "expected a weekday")
		}
		switch p.at(p.i) {
		case 0:
			return nil
		case ' ':
			p.skipSpaces()
			return nil
		case '.':
			if l >= 0 {
				return p.fail(p.i, nil, "weekday range with more than two ends")
			}
			if p.at(p.i+1) != '.' {
				return p.fail(p.i, nil, "expected \"..\"")
			}
			l = nr
			p.i += 2
		case '-':
			if l >= 0 {
				return p.fail(p.i, nil, "weekday range with more than two ends")
			}
			l = nr
			p.i++
		case ',':
			l = -1
			p.i++
		}
		// A trailing comma is allowed, an open range is not.
		if c := p.at(p.i); c == 0 || c == ' ' {
			p.skipSpaces()
			if l >= 0 {
				return p.fail(p.i, nil, "weekday range without an end")
			}
			return nil
		}
		first = false
	}
}

// shorthand returns the expansion of a shorthand such as "daily".
func shorthand(s string) (string, bool) {
	for name, exp := range shorthands {
		if equalFold(s, name) {
			return exp, true
		}
	}
	return "", false
}

// equalFold compares s with an ASCII name ignoring the case of ASCII
// letters only, as systemd does (strcasecmp in the C locale): "WEEKLY" is
// weekly, "weeKly" with a Kelvin sign is not.
func equalFold(s, name string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0 && strings.EqualFold(s, name)
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (p *parser) skipSpaces() {
	for p.at(p.i) == ' ' {
		p.i++
	}
}

// date parses the date part. It reports done when the date was an "@"
// timestamp, after which no time may follow.
func (p *parser) date() (done bool, err error) {
	if p.at(p.i) == 0 {
		return false, nil
	}
	if p.at(p.i) == '@' {
		return true, p.epoch()
	}
	save := p.i
	var chains [3][]component
	var pos [3][]int
	if chains[0], pos[0], err = p.parseChain(false); err != nil {
		return false, err
	}
	// Followed by ':' or nothing, it was an hour: start over as a time.
	if c := p.at(p.i); c == 0 || c == ':' {
		p.i = save
		return false, nil
	}
	sep := func() error {
		switch p.at(p.i) {
		case '~':
			p.spec.endOfMonth = true
		case '-':
		default:
			return p.fail(p.i, nil, "expected \"-\" or \"~\" in the date")
		}
		p.i++
		return nil
	}
	if err := sep(); err != nil {
		return false, err
	}
	if chains[1], pos[1], err = p.parseChain(false); err != nil {
		return false, err
	}
	if c := p.at(p.i); c == 0 || c == ' ' {
		p.skipSpaces()
		p.spec.month, p.spec.day = chains[0], chains[1]
		p.pos[chainMonth], p.pos[chainDay] = pos[0], pos[1]
		return false, nil
	}
	if p.spec.endOfMonth {
		return false, p.fail(p.i, nil, "\"~\" must separate the month and the day")
	}
	if err := sep(); err != nil {
		return false, err
	}
	if chains[2], pos[2], err = p.parseChain(false); err != nil {
		return false, err
	}
	if c := p.at(p.i); c != 0 && c != ' ' {
		return false, p.fail(p.i, nil, "unexpected %q after the date", c)
	}
	p.skipSpaces()
	p.spec.year, p.spec.month, p.spec.day = chains[0], chains[1], chains[2]
	p.pos[chainYear], p.pos[chainMonth], p.pos[chainDay] = pos[0], pos[1], pos[2]
	return false, nil
}

// epoch parses "@SECONDS", an exact instant in UTC.
func (p *parser) epoch() error {
	start := p.i + 1
	v, end, err := strtoul(p.in[:p.end], start)
	if err == errNoDigits {
		return p.fail(start, nil, "expected seconds since the epoch after \"@\"")
	}
	if err != nil {
		return p.fail(start, ErrRange, "number too large")
	}
	// C converts to time_t, so "-5" wraps back to -5, and fails only when
	// the year does not fit in an int.
	c := timespan.CivilTime(int64(v), nil)
	if c.Year > math.MaxInt32 || c.Year-1900 < math.MinInt32 {
		return p.fail(start, ErrRange, "time out of range")
	}
	s := &p.spec
	s.utc = true
	s.year = []component{{int32(c.Year), -1, 0}}
	s.month = []component{{int32(c.Month), -1, 0}}
	s.day = []component{{int32(c.Day), -1, 0}}
	s.hour = []component{{int32(c.Hour), -1, 0}}
	s.minute = []component{{int32(c.Minute), -1, 0}}
	s.usec = []component{{int32(c.Second) * usecPerSec, -1, 0}}
	for ch := range numChains {
		p.pos[ch] = []int{p.i}
	}
	p.i = end
	return nil
}

// time parses "hour:minute[:second]"; nothing means 00:00:00.
func (p *parser) time() error {
	s := &p.spec
	zero := func() []component { return []component{{0, -1, 0}} }
	if p.at(p.i) == 0 {
		s.hour, s.minute, s.usec = zero(), zero(), zero()
		p.pos[chainHour], p.pos[chainMinute], p.pos[chainSecond] = []int{p.i}, []int{p.i}, []int{p.i}
		return nil
	}
	var err error
	if s.hour, p.pos[chainHour], err = p.parseChain(false); err != nil {
		return err
	}
	if p.at(p.i) != ':' {
		return p.fail(p.i, nil, "expected \":\" after the hour")
	}
	p.i++
	if s.minute, p.pos[chainMinute], err = p.parseChain(false); err != nil {
		return err
	}
	if p.at(p.i) == 0 {
		s.usec = zero()
		p.pos[chainSecond] = []int{p.i}
		return nil
	}
	if p.at(p.i) == ' ' {
		return p.fail(p.i, nil, "unexpected space after the time")
	}
	if p.at(p.i) != ':' {
		return p.fail(p.i, nil, "expected \":\" after the minute")
	}
	p.i++
	if s.usec, p.pos[chainSecond], err = p.parseChain(true); err != nil {
		return err
	}
	if p.at(p.i) != 0 {
		return p.fail(p.i, nil, "unexpected %q after the time", p.in[p.i:p.end])
	}
	return nil
}

// parseChain parses "*" or a comma-separated list of components.
func (p *parser) parseChain(usec bool) ([]component, []int, error) {
	if p.at(p.i) == '*' {
		p.i++
		if usec {
			return []component{{0, -1, usecPerSec}}, []int{p.i - 1}, nil
		}
		return nil, nil, nil
	}
	var c []component
	var pos []int
	for {
		if len(c) >= MaxComponents {
			return nil, nil, p.fail(p.i, ErrTooLong, "more than %d values in one field", MaxComponents)
		}
		start := p.i
		x, err := p.component(usec)
		if err != nil {
			return nil, nil, err
		}
		c = append(c, x)
		pos = append(pos, start)
		if p.at(p.i) != ',' {
			return c, pos, nil
		}
		p.i++
	}
}

func (p *parser) component(usec bool) (component, error) {
	start, err := p.decimal(usec)
	if err != nil {
		return component{}, err
	}
	stop, repeat := int32(-1), int32(0)
	if p.at(p.i) == '.' && p.at(p.i+1) == '.' {
		p.i += 2
		if stop, err = p.decimal(usec); err != nil {
			return component{}, err
		}
		repeat = 1
		if usec {
			repeat = usecPerSec
		}
	}
	if p.at(p.i) == '/' {
		p.i++
		at := p.i
		if repeat, err = p.decimal(usec); err != nil {
			return component{}, err
		}
		if repeat == 0 {
			return component{}, p.fail(at, ErrRange, "repetition of 0")
		}
	} else {
		if start > math.MaxInt32-repeat {
			return component{}, p.fail(p.i, ErrRange, "number too large")
		}
		// Without a repetition, a range of seconds steps by whole seconds
		// and so must span at least one.
		if usec && stop >= 0 && start+repeat > stop {
			return component{}, p.fail(p.i, nil, "range of seconds shorter than a second needs a repetition")
		}
	}
	switch p.at(p.i) {
	case 0, ' ', ',', '-', '~', ':':
	default:
		return component{}, p.fail(p.i, nil, "unexpected %q", p.in[p.i])
	}
	return component{start, stop, repeat}, nil
}

// decimal reads an unsigned number, in microseconds and with an optional
// fraction for seconds.
func (p *parser) decimal(usec bool) (int32, error) {
	start := p.i
	if c := p.at(p.i); c < '0' || c > '9' {
		switch {
		case c == 0:
			return 0, p.fail(p.i, nil, "expected a number at the end")
		case c == ' ':
			return 0, p.fail(p.i, nil, "expected a number, found a space")
		case isLetter(c):
			j := p.i
			for isLetter(p.at(j)) {
				j++
			}
			return 0, p.fail(p.i, nil, "unknown word %q", p.in[p.i:j])
		}
		return 0, p.fail(p.i, nil, "expected a number, found %q", c)
	}
	v, end, err := strtoul(p.in[:p.end], p.i)
	if err != nil {
		return 0, p.fail(start, ErrRange, "number too large")
	}
	p.i = end
	if usec {
		if v > math.MaxUint64/usecPerSec {
			return 0, p.fail(start, ErrRange, "number too large")
		}
		v *= usecPerSec
		// One dot is a decimal point, two are a range.
		if p.at(p.i) == '.' && p.at(p.i+1) != '.' {
			p.i++
			frac, ok := p.fraction()
			if !ok {
				return 0, p.fail(p.i, nil, "expected digits after the decimal point")
			}
			v += frac
		}
	}
	if v > math.MaxInt32 {
		return 0, p.fail(start, ErrRange, "number too large")
	}
	return int32(v), nil
}

// fraction reads up to six digits of a fraction of a second, rounding half
// up by the seventh and ignoring the rest.
func (p *parser) fraction() (uint64, bool) {
	var v uint64
	for k := 0; k < 6; k++ {
		c := p.at(p.i)
		if c < '0' || c > '9' {
			if k == 0 {
				return 0, false
			}
			for ; k < 6; k++ {
				v *= 10
			}
			break
		}
		v = v*10 + uint64(c-'0')
		p.i++
	}
	if c := p.at(p.i); c >= '5' && c <= '9' {
		v++
	}
	for c := p.at(p.i); c >= '0' && c <= '9'; c = p.at(p.i) {
		p.i++
	}
	return v, true
}

var (
	errNoDigits = errors.New("no digits")
	errOverflow = errors.New("overflow")
)

// strtoul reads a number at i as C's strtoul does: leading white space, an
// optional sign (a minus negates in unsigned arithmetic), then digits.
func strtoul(s string, i int) (v uint64, end int, err error) {
	j := i
	for j < len(s) && (s[j] == ' ' || ('\t' <= s[j] && s[j] <= '\r')) {
		j++
	}
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	k := j
	for ; k < len(s) && '0' <= s[k] && s[k] <= '9'; k++ {
		d := uint64(s[k] - '0')
		if v > (math.MaxUint64-d)/10 {
			err = errOverflow
		}
		v = v*10 + d
	}
	if k == j {
		return 0, i, errNoDigits
	}
	if err != nil {
		return math.MaxUint64, k, err
	}
	if neg {
		v = -v
	}
	return v, k, nil
}

// finish normalizes the spec as systemd does and then checks it.
func (p *parser) finish() error {
	s := &p.spec
	if s.weekdays == 0x7f {
		s.weekdays = 0
	}
	if s.endOfMonth && s.day == nil {
		s.endOfMonth = false
	}
	fixYear(s.year)
	for ch := range numChains {
		c := *p.chain(ch)
		normalizeComponents(c)
		c, p.pos[ch] = sortChain(c, p.pos[ch])
		if err := p.validate(ch, c); err != nil {
			return err
		}
		*p.chain(ch) = c
	}
	return nil
}

// fixYear maps two-digit years: 0 to 69 are 2000 to 2069, 70 to 99 are
// 1970 to 1999.
func fixYear(c []component) {
	fix := func(v *int32) {
		switch {
		case *v >= 0 && *v < 70:
			*v += 2000
		case *v >= 70 && *v < 100:
			*v += 1900
		}
	}
	for i := range c {
		fix(&c[i].start)
		fix(&c[i].stop)
	}
}

// normalizeComponents lowers each stop to the last value the repetition
// reaches, and turns components that cannot repeat into single values.
func normalizeComponents(c []component) {
	for i := range c {
		x := &c[i]
		if x.stop > x.start && x.repeat > 0 {
			x.stop -= (x.stop - x.start) % x.repeat
		}
		if (x.stop > x.start && x.repeat > 0 && x.start+x.repeat > x.stop) || x.start == x.stop {
			x.repeat, x.stop = 0, -1
		}
	}
}

// sortChain sorts the components and drops exact duplicates, keeping the
// position in the input of each.
func sortChain(c []component, pos []int) ([]component, []int) {
	if len(c) <= 1 {
		return c, pos
	}
	idx := make([]int, len(c))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := c[a], c[b]
		return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.stop, y.stop), cmp.Compare(x.repeat, y.repeat))
	})
	out := make([]component, 0, len(c))
	outPos := make([]int, 0, len(c))
	for _, i := range idx {
		if len(out) > 0 && out[len(out)-1] == c[i] {
			continue
		}
		out = append(out, c[i])
		if i < len(pos) {
			outPos = append(outPos, pos[i])
		}
	}
	return out, outPos
}

var chainRanges = [numChains][2]int32{
	{1970, 2199}, {1, 12}, {1, 31}, {0, 23}, {0, 59}, {0, 60*usecPerSec - 1},
}

// validate checks each component of a normalized, sorted chain against the
// range of its field. Counted from the end of the month, a day may be at
// most 28 days from it, and systemd takes three more days off that limit
// for each further value of the list.
func (p *parser) validate(ch chain, c []component) error {
	from, to := chainRanges[ch][0], chainRanges[ch][1]
	eom := ch == chainDay && p.spec.endOfMonth
	for i, x := range c {
		if eom {
			to -= 3
		}
		bad := func(format string, args ...any) error {
			pos := 0
			if i < len(p.pos[ch]) {
				pos = p.pos[ch][i]
			}
			return p.fail(pos, nil, "%s "+format, append([]any{chainNames[ch]}, args...)...)
		}
		switch {
		case eom && (x.start > to || x.stop > to):
			return bad("%s too far from the end of the month (at most %s for value %d of the list)", p.show(ch, max(x.start, x.stop)), p.show(ch, to), i+1)
		case x.start < from || x.start > to:
			return bad("%s out of range %s..%s", p.show(ch, x.start), p.show(ch, from), p.show(ch, to))
		case x.repeat > to-from:
			return bad("repetition %s longer than the range %s..%s", p.show(ch, x.repeat), p.show(ch, from), p.show(ch, to))
		case x.stop >= 0 && (x.stop < from || x.stop > to):
			return bad("%s out of range %s..%s", p.show(ch, x.stop), p.show(ch, from), p.show(ch, to))
		case x.stop >= 0 && x.start+x.repeat > x.stop:
			return bad("range %s..%s ends before it starts", p.show(ch, x.start), p.show(ch, x.stop))
		case x.stop < 0 && eom && x.start-x.repeat < from:
			return bad("repetition %s steps past the start of the month", p.show(ch, x.repeat))
		case x.stop < 0 && !eom && x.start+x.repeat > to:
			return bad("repetition %s never repeats within %s..%s", p.show(ch, x.repeat), p.show(ch, from), p.show(ch, to))
		}
	}
	return nil
}

// show formats a value of the chain for messages.
func (p *parser) show(ch chain, v int32) string {
	if ch != chainSecond {
		return fmt.Sprint(v)
	}
	if v%usecPerSec == 0 {
		return fmt.Sprint(v / usecPerSec)
	}
	return fmt.Sprintf("%d.%06d", v/usecPerSec, v%usecPerSec)
}
