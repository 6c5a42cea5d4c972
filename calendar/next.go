package calendar

import (
	"cmp"
	"errors"
	"math"
	"time"

	"sundial.dev/sundial/timespan"
)

// maxYear is the last year the search looks at.
const maxYear = 2199

// maxPasses bounds the search, as systemd does; it reports an infinite loop
// after that many passes.
const maxPasses = 1000

// Errors of [Spec.NextErr].
var (
	// ErrNever means that the expression does not elapse again.
	ErrNever = errors.New("calendar: no next elapse")

	// ErrLoop means that the search gave up after systemd's limit of 1000
	// passes without settling, which systemd reports as "Infinite loop in
	// calendar calculation". It takes an unusual expression meeting a
	// daylight-saving change at midnight.
	ErrLoop = errors.New("calendar: infinite loop in calendar calculation")

	// ErrLate means that after lies beyond [timespan.MaxTimestamp], where
	// systemd does not compute elapses.
	ErrLate = errors.New("calendar: base time after the year 9999")
)

// Next returns the first instant strictly after after that matches the
// expression, and false if there is none ("never"): the expression names a
// date in the past, a date that does not exist (February 30), or nothing
// up to the year 2199. [Spec.NextErr] tells these cases from the rare
// failures.
//
// The search follows systemd's calendar_spec_next_usec step by step, on
// wall-clock fields resolved as the C library resolves them. The time zone is
// the expression's own (UTC, a zone name, or the zone whose abbreviation it
// gave), else the location of after. Where clocks are set forward, times in
// the gap are skipped (a daily 02:30 does not run that day); where clocks are
// set back, the repeated hour is walked once, in the offset in effect when
// the search enters it. The result is in the location of after. Instants
// before 1970 count as the start of 1970, where systemd's clock begins.
func (s *Spec) Next(after time.Time) (time.Time, bool) {
	t, err := s.NextErr(after)
	return t, err == nil
}

// NextErr is like [Spec.Next], but reports why there is no next elapse:
// [ErrNever], [ErrLoop] or [ErrLate].
func (s *Spec) NextErr(after time.Time) (time.Time, error) {
	t, _, err := s.next(after, true)
	return t, err
}

// next is NextErr; with try, it tries the pinned and the tracked search
// first (see [search]). It reports the mode of the search that gave the
// result.
func (s *Spec) next(after time.Time, try bool) (t time.Time, mode searchMode, err error) {
	var loc *time.Location
	switch {
	case s.utc:
	case s.loc != nil:
		loc = s.loc
	default:
		loc = after.Location()
		if loc == time.UTC {
			loc = nil
		}
	}
	if after.After(timespan.MaxTimestamp) {
		return time.Time{}, exact, ErrLate
	}
	// One microsecond later, split into whole seconds and the rest.
	sec := after.Unix()
	usec := after.Nanosecond()/1000 + 1
	if usec == usecPerSec {
		sec, usec = sec+1, 0
	}
	if sec < 0 {
		// systemd's clock starts at the epoch.
		sec, usec = 0, 0
	}

	// Most searches stay within one period of the zone's offset: search
	// as though in it, and then check that the search did. Most others
	// meet no change of the offset closely: search tracking the periods.
	if try {
		if p, ok := pin(loc, sec, int(s.abbrev)-1); ok {
			start := sec + p.offset
			tm := timespan.CivilTime(start, nil)
			m := search{loc: loc, mode: pinned, offset: p.offset, lo: start, hi: start}
			psec, pusec, perr := s.search(&m, tm, usec)
			// Without a result, the span may lack the fields last searched.
			if (perr == nil || loc == nil) && p.holds(&m, sec) {
				t, err = result(psec, pusec, perr, after)
				return t, pinned, err
			}
			p = zonePeriod(loc, sec, true)
			tm.IsDST = b2i(p.dst) // as the fields of the start are
			m = search{loc: loc, mode: tracked, periods: [2]period{p, p}}
			psec, pusec, perr = s.search(&m, tm, usec)
			if !m.unclean {
				t, err = result(psec, pusec, perr, after)
				return t, tracked, err
			}
		}
	}
	m := search{loc: loc}
	sec, usec, err = s.search(&m, timespan.CivilTime(sec, loc), usec)
	t, err = result(sec, usec, err, after)
	return t, exact, err
}

// result is the instant sec and usec in the location of after.
func result(sec int64, usec int, err error, after time.Time) (time.Time, error) {
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, int64(usec)*1000).In(after.Location()), nil
}

// search finds the next elapse from the fields tm and usec, and returns it
// as seconds since the epoch and microseconds.
func (s *Spec) search(m *search, tm timespan.Civil, usec int) (int64, int, error) {
	if err := s.findNext(m, &tm, &usec); err != nil {
		return 0, 0, err
	}
	t, ok := m.resolve(&tm)
	if !ok {
		return 0, 0, ErrNever
	}
	return t, usec, nil
}

// A search resolves the wall-clock fields of one Next, in one of three
// ways, its mode.
type search struct {
	r    timespan.Resolver
	loc  *time.Location
	mode searchMode

	// pinned
	offset int64 // of the period
	lo, hi int64 // the local times resolved, in seconds

	// tracked
	periods [2]period // the periods of the zone last seen, the latest first
	rho     int64     // mktime's memory: its last result less the fields it was given
	unclean bool      // a resolution left the clean case
}

type searchMode int

const (
	// exact resolves the fields as mktime does in loc, with a
	// [timespan.Resolver] as fresh as the process systemd starts.
	exact searchMode = iota

	// pinned resolves them by arithmetic alone, as timegm does, as though
	// all of them fell into one period of loc with a constant offset, and
	// notes the span of the local times it resolved. Where mktime's probes
	// of every one of them would have stayed within that period (see
	// [period.holds]), each resolution, and so the whole search, is the
	// exact one. This is what makes Next fast: a lookup of the zone for the
	// start, instead of several for every step.
	pinned

	// tracked resolves them by arithmetic too, and follows mktime's probes
	// of each one through the periods of loc, as long as they settle as
	// they do away from changes of the offset: the first probe, with the
	// offset of the previous call, lands in a period whose offset then
	// names an instant in that same period (and the DST flag asked for, if
	// any, is that period's). Then mktime's result is the one of that
	// arithmetic, and its next call starts from that period's offset. A
	// resolution that leaves this case makes the search unclean, and the
	// exact search runs instead. It serves searches that cross changes of
	// the offset without meeting them, such as a yearly date.
	tracked
)

// resolve normalizes c and returns the instant it names, as
// [timespan.Resolver.Resolve] does.
func (m *search) resolve(c *timespan.Civil) (int64, bool) {
	switch m.mode {
	case pinned:
		local, _ := m.r.Resolve(c, nil)
		m.lo, m.hi = min(m.lo, local), max(m.hi, local)
		return local - m.offset, true
	case tracked:
		isdst, second := c.IsDST, c.Second
		local, _ := m.r.Resolve(c, nil)
		// mktime probes with the seconds put within 0 to 59, and adds the
		// rest at the end.
		want := local - int64(second-min(max(second, 0), 59))
		p := m.period(want + m.rho)
		t := local - p.offset
		if !p.contains(want-p.offset) || !p.contains(t) || (isdst >= 0 && (isdst == 1) != p.dst) {
			m.unclean = true
		}
		m.rho = -p.offset
		c.IsDST = b2i(p.dst)
		return t, true
	}
	return m.r.Resolve(c, m.loc)
}

// period returns the period of the zone around sec, from those last seen
// if it can.
func (m *search) period(sec int64) period {
	if p := m.periods[0]; p.contains(sec) {
		return p
	}
	if p := m.periods[1]; p.contains(sec) {
		m.periods[0], m.periods[1] = p, m.periods[0]
		return p
	}
	p := zonePeriod(m.loc, sec, true)
	m.periods[0], m.periods[1] = p, m.periods[0]
	return p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// settle is resolve for the search's own fields, where only the
// normalized fields count. Pinned, fields in range stand as they are,
// without a resolution: the search only moves forward, so that they lie
// between the start and the result, which the span includes.
func (m *search) settle(c *timespan.Civil) bool {
	if m.mode == pinned && c.InRange() {
		return true
	}
	_, ok := m.resolve(c)
	return ok
}

// bounds is withinBounds for c once one of its fields was matched, with
// the result res of matchChain. Pinned, fields that the match left as they
// were are still in range, as the fields above had been checked to be.
func (m *search) bounds(c *timespan.Civil, res int) int {
	if m.mode == pinned && res == 0 {
		return 1
	}
	return withinBounds(m, c)
}

// A period is a span [start, end) of seconds since the epoch over which a
// zone keeps one offset and DST flag.
type period struct {
	start, end, offset int64
	dst                bool
}

func (p period) contains(sec int64) bool {
	return p.start <= sec && sec < p.end
}

// zonePeriod returns the period of loc around sec; its DST flag only with
// dst, which takes another lookup. A nil loc, UTC, is one period.
func zonePeriod(loc *time.Location, sec int64, dst bool) period {
	p := period{start: math.MinInt64, end: math.MaxInt64}
	if loc == nil {
		return p
	}
	t := time.Unix(sec, 0).In(loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	p.offset = int64(off)
	if dst {
		p.dst = t.IsDST()
	}
	if !start.IsZero() {
		p.start = start.Unix()
	}
	if !end.IsZero() {
		p.end = end.Unix()
	}
	return p
}

// pin returns the period of loc around sec, and whether a pinned search
// may be tried in it: not if the expression asks for the DST flag (dst 0
// or 1) the period does not have, which mktime answers with another
// period's offset. The period has its DST flag only if asked for.
func pin(loc *time.Location, sec int64, dst int) (period, bool) {
	p := zonePeriod(loc, sec, dst >= 0)
	return p, dst < 0 || (dst == 1) == p.dst
}

// holds reports whether the pinned search m from sec gave the exact
// result. mktime probes fields first with the offset of its previous call
// and then with the offset found there; it settles on the first probe that
// lands in a period whose offset it was probed with. The search's first
// call, on the fields of the start, probes with the offset 0 of a fresh
// process; every later one with the period's own. So if the first probe
// and all the local times resolved, taken in the period's offset, lie in
// the period, every call of mktime settled in it, as the pinned search
// assumed. (A minute of slack covers the seconds above 59 of a repetition
// that carries, which mktime probes as 59. Instants before 1970 fail the
// check: a day counted from the end of the month does not resolve there.)
func (p period) holds(m *search, sec int64) bool {
	if m.loc == nil {
		// No zone: every resolution is timegm's, pinned or not.
		return true
	}
	first := sec + p.offset
	return p.start <= first && first < p.end &&
		m.lo-p.offset-60 >= max(p.start, 0) && m.hi-p.offset < p.end
}

// findNext searches from tm and usec, replacing them with the result. The
// wall-clock fields are matched from the year down to the microsecond; every
// change is checked with a resolution, and a field that did not survive it
// (a day that does not exist, an hour in a DST gap) moves the search on.
func (s *Spec) findNext(m *search, tm *timespan.Civil, usec *int) error {
	c := *tm
	tmUsec := *usec
	invalidateDST := false
	dst := int(s.abbrev) - 1

	for range maxPasses {
		m.settle(&c)
		if !invalidateDST {
			c.IsDST = dst
		}

		res := matchChain(m, s.year, false, &c, &c.Year)
		if res < 0 {
			return ErrNever
		}
		if res > 0 {
			c.Month, c.Day, c.Hour, c.Minute, c.Second, tmUsec = 1, 1, 0, 0, 0, 0
		}
		if withinBounds(m, &c) <= 0 {
			return ErrNever
		}

		res = matchChain(m, s.month, false, &c, &c.Month)
		if res > 0 {
			c.Day, c.Hour, c.Minute, c.Second, tmUsec = 1, 0, 0, 0, 0
		}
		if res >= 0 {
			res = m.bounds(&c, res)
		}
		if res < 0 {
			c.Year++
			c.Month, c.Day, c.Hour, c.Minute, c.Second, tmUsec = 1, 1, 0, 0, 0, 0
			continue
		}
		if res == 0 {
			continue
		}

		res = matchChain(m, s.day, s.endOfMonth, &c, &c.Day)
		if res > 0 {
			c.Hour, c.Minute, c.Second, tmUsec = 0, 0, 0, 0
		}
		if res >= 0 {
			res = m.bounds(&c, res)
		}
		if res < 0 {
			c.Month++
			c.Day, c.Hour, c.Minute, c.Second, tmUsec = 1, 0, 0, 0, 0
			continue
		}
		if res == 0 {
			continue
		}

		if !s.matchesWeekday(m, &c) {
			c.Day++
			c.Hour, c.Minute, c.Second, tmUsec = 0, 0, 0, 0
			continue
		}

		res = matchChain(m, s.hour, false, &c, &c.Hour)
		if res > 0 {
			c.Minute, c.Second, tmUsec = 0, 0, 0
		}
		if res >= 0 {
			res = m.bounds(&c, res)
		}
		if res < 0 {
			c.Day++
			c.Hour, c.Minute, c.Second, tmUsec = 0, 0, 0, 0
			continue
		}
		if res == 0 {
			// The hour may not exist because of a DST change; start over
			// from the normalized time.
			continue
		}

		res = matchChain(m, s.minute, false, &c, &c.Minute)
		if res > 0 {
			c.Second, tmUsec = 0, 0
		}
		if res >= 0 {
			res = m.bounds(&c, res)
		}
		if res < 0 {
			c.Hour++
			c.Minute, c.Second, tmUsec = 0, 0, 0
			continue
		}
		if res == 0 {
			continue
		}

		us := c.Second*usecPerSec + tmUsec
		secs := s.usec
		if secs == nil {
			secs = everySecond
		}
		res = matchChain(m, secs, false, &c, &us)
		tmUsec = us % usecPerSec
		c.Second = us / usecPerSec
		if res >= 0 {
			res = m.bounds(&c, res)
		}
		if res < 0 {
			c.Minute++
			c.Second, tmUsec = 0, 0
			continue
		}
		if res == 0 {
			continue
		}

		// The result must be later than the start. If it is not, a DST
		// change made the fields repeat: step on and let the resolution
		// pick the offset from now on.
		order := compareFields(tm, &c)
		if order == 0 {
			order = cmp.Compare(*usec, tmUsec+1)
		}
		if order >= 0 {
			invalidateDST = true
			c.Hour++
			continue
		}

		*tm = c
		*usec = tmUsec
		return nil
	}
	return ErrLoop
}

// matchChain finds the earliest value of the chain at or after *val, and stores
// it. It returns -1 if there is none, 1 if *val changed and 0 if not.
// With eom, the chain counts days from the end of c's month.
func matchChain(m *search, chain []component, eom bool, c *timespan.Civil, val *int) int {
	if chain == nil {
		return 0
	}
	return matchComponents(m, chain, eom, c, val)
}

// matchComponents is matchChain for a chain other than "*".
func matchComponents(m *search, chain []component, eom bool, c *timespan.Civil, val *int) int {
	d, found := 0, false
	for _, x := range chain {
		start, stop := int(x.start), int(x.stop)
		if eom {
			start = endOfMonth(m, c, start)
			stop = endOfMonth(m, c, stop)
			if stop > 0 {
				start, stop = stop, start
			}
		}
		if start >= *val {
			if !found || start < d {
				d, found = start, true
			}
		} else if x.repeat > 0 {
			// The first repetition at or after *val; a range steps by one,
			// which needs no division.
			k := *val
			if rep := int(x.repeat); rep > 1 {
				k = start + rep*((*val-start+rep-1)/rep)
			}
			if (!found || k < d) && (stop < 0 || k <= stop) {
				d, found = k, true
			}
		}
	}
	if !found {
		return -1
	}
	changed := 0
	if *val != d {
		changed = 1
	}
	*val = d
	return changed
}

// endOfMonth returns the day that is the given number of days from the end
// of c's month (1 is the last day), or -1.
func endOfMonth(m *search, c *timespan.Civil, day int) int {
	t := *c
	t.Month++
	t.Day = 1 - day
	// Like mktime's -1, any time before 1970 counts as a failure.
	if sec, ok := m.resolve(&t); !ok || sec < 0 || t.Month != c.Month {
		return -1
	}
	return t.Day
}

// withinBounds resolves a copy of c to see whether its fields survive. It
// returns 1 if they do; 0 if they moved forward, in which case c takes the
// normalized fields with the field below the highest changed one reset; and
// -1 if they moved backward, failed to resolve or passed the last year.
func withinBounds(m *search, c *timespan.Civil) int {
	if c.Year > maxYear {
		return -1
	}
	if m.mode == pinned && c.InRange() {
		return 1
	}
	t := *c
	if _, ok := m.resolve(&t); !ok {
		return -1
	}
	var order int
	switch {
	case t.Year != c.Year:
		order = cmp.Compare(t.Year, c.Year)
		t.Month = 1
	case t.Month != c.Month:
		order = cmp.Compare(t.Month, c.Month)
		t.Day = 1
	case t.Day != c.Day:
		order = cmp.Compare(t.Day, c.Day)
		t.Hour = 0
	case t.Hour != c.Hour:
		order = cmp.Compare(t.Hour, c.Hour)
		t.Minute = 0
	case t.Minute != c.Minute:
		order = cmp.Compare(t.Minute, c.Minute)
		t.Second = 0
	default:
		order = cmp.Compare(t.Second, c.Second)
	}
	switch {
	case order < 0:
		return -1
	case order > 0:
		*c = t
		return 0
	}
	return 1
}

func (s *Spec) matchesWeekday(m *search, c *timespan.Civil) bool {
	if s.weekdays == 0 {
		return true
	}
	var wd time.Weekday
	if m.mode == pinned {
		// withinBounds let the fields pass, so they are in range: the day
		// needs no resolution, only its weekday, which c may keep.
		c.SetDerived()
		wd = c.Weekday
	} else {
		t := *c
		if _, ok := m.resolve(&t); !ok {
			return false
		}
		wd = t.Weekday
	}
	k := (int(wd) + 6) % 7 // Monday is 0
	return s.weekdays&(1<<k) != 0
}

func compareFields(a, b *timespan.Civil) int {
	return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Month, b.Month), cmp.Compare(a.Day, b.Day),
		cmp.Compare(a.Hour, b.Hour), cmp.Compare(a.Minute, b.Minute), cmp.Compare(a.Second, b.Second))
}
