package timespan

import (
	"math"
	"time"
)

// Civil is a broken-down wall-clock time, like C's struct tm. Its fields may
// be out of range before it is resolved ("October 32", "hour 24"): resolving
// carries them into the next field, as mktime does.
type Civil struct {
	Year   int // the full year, e.g. 2024
	Month  int // 1 to 12 when normalized
	Day    int // 1 to 31 when normalized
	Hour   int
	Minute int
	Second int

	// IsDST asks for daylight-saving time (1) or standard time (0) when
	// resolving; negative means "whichever is in effect". Resolution sets it
	// to the flag of the result.
	IsDST int

	// Set by resolution and by [CivilTime]; ignored on input.
	Weekday time.Weekday
	YearDay int    // days since January 1, 0 to 365
	Offset  int    // seconds east of UTC
	Zone    string // the zone's abbreviation, e.g. "CET"
}

// CivilTime returns the wall-clock fields of the instant sec (seconds since
// the Unix epoch) in loc, as C's localtime does. A nil loc means UTC.
func CivilTime(sec int64, loc *time.Location) Civil {
	var r Resolver
	if loc == nil {
		return r.civil(sec, zonePeriod{name: "UTC"})
	}
	return r.civil(sec, r.lookup(sec, loc))
}

// A Resolver turns wall-clock fields into instants the way the GNU C
// library's mktime does, which is what systemd relies on. Where a local time
// is ambiguous because clocks were set back, mktime picks the UTC offset it
// used on its previous call, and a Resolver remembers that offset between
// calls in the same way. Where a local time does not exist because clocks
// were set forward, the fields are read with the offset in force before the
// change, which moves them forward by the length of the gap. Where the
// fields ask for a DST flag the zone does not have at that time, they are
// read with the offset of the nearest period that has it, or else shifted
// by an hour.
//
// The zero value is ready to use, in the state of a freshly started
// process. A Resolver must not be used by several goroutines at once.
type Resolver struct {
	offset int64 // result minus requested fields, from the last resolution
	zone   zonePeriod
}

// zonePeriod caches the zone in effect over [start, end) in loc.
type zonePeriod struct {
	loc        *time.Location
	start, end int64
	offset     int64
	name       string
	dst        bool
}

func (z *zonePeriod) contains(sec int64, loc *time.Location) bool {
	return z.loc == loc && z.start <= sec && sec < z.end
}

func (r *Resolver) lookup(sec int64, loc *time.Location) zonePeriod {
	if loc == nil {
		loc = time.UTC
	}
	if r.zone.contains(sec, loc) {
		return r.zone
	}
	t := time.Unix(sec, 0).In(loc)
	name, off := t.Zone()
	start, end := t.ZoneBounds()
	z := zonePeriod{loc: loc, start: math.MinInt64, end: math.MaxInt64, offset: int64(off), name: name, dst: t.IsDST()}
	if !start.IsZero() {
		z.start = start.Unix()
	}
	if !end.IsZero() {
		z.end = end.Unix()
	}
	r.zone = z
	return z
}

func (r *Resolver) civil(sec int64, z zonePeriod) Civil {
	var c Civil
	c.setFromLocal(sec + z.offset)
	c.Offset = int(z.offset)
	c.Zone = z.name
	if z.dst {
		c.IsDST = 1
	}
	return c
}

// Resolve normalizes c in loc and returns the instant it names, in seconds
// since the Unix epoch, as mktime does, or as timegm does for a nil loc
// (which, unlike mktime in UTC, ignores the DST flag). On
// success c holds the normalized fields of the result, including its
// weekday, offset and zone. ok is false, and c unchanged, when mktime's
// probing does not settle within its limit of six probes, which takes a
// zone with several offset changes in quick succession.
func (r *Resolver) Resolve(c *Civil, loc *time.Location) (sec int64, ok bool) {
	switch {
	case loc == nil:
		// timegm, which ignores the DST flag.
		c.IsDST = 0
		return r.resolveUTC(c), true
	case loc == time.UTC && c.IsDST <= 0:
		// mktime in UTC, where only a DST flag would change anything.
		return r.resolveUTC(c), true
	}
	return r.resolveLocal(c, loc)
}

// resolveUTC resolves fields that ask for standard time in UTC.
func (r *Resolver) resolveUTC(c *Civil) int64 {
	if c.InRange() {
		// Nothing to carry: only the derived fields change. This is the
		// common case in calendar searches, and worth its shortcut.
		days := c.SetDerived()
		c.IsDST, c.Offset, c.Zone = 0, 0, "UTC"
		return days*86400 + int64(c.Hour*3600+c.Minute*60+c.Second)
	}
	t := localSeconds(c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second)
	*c = r.civil(t, zonePeriod{name: "UTC"})
	return t
}

// SetDerived sets the weekday and the day of the year of fields in range
// ([Civil.InRange]) as resolving them would, without the rest of a
// resolution, and returns the day's number since the epoch.
func (c *Civil) SetDerived() int64 {
	days := daysFromCivil(int64(c.Year), c.Month, c.Day)
	c.Weekday = weekdayOf(days)
	c.YearDay = yearDay(c.Year, c.Month, c.Day)
	return days
}

var daysBeforeMonth = [12]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// yearDay returns the day of the year of a date in range, from 0.
func yearDay(year, month, day int) int {
	n := daysBeforeMonth[month-1] + day - 1
	if month > 2 && isLeap(year) {
		n++
	}
	return n
}

func isLeap(y int) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

// daysIn returns the length of the month.
func daysIn(year, month int) int {
	if month == 2 && isLeap(year) {
		return 29
	}
	return [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
}

// InRange reports whether resolving would leave the date and time as
// they are.
func (c *Civil) InRange() bool {
	return 1 <= c.Month && c.Month <= 12 && 1 <= c.Day && c.Day <= daysIn(c.Year, c.Month) &&
		0 <= c.Hour && c.Hour < 24 && 0 <= c.Minute && c.Minute < 60 && 0 <= c.Second && c.Second < 60
}

// resolveLocal follows the probing of glibc's __mktime_internal: guess with
// the previous offset, correct by the difference between the wanted fields
// and the fields of the guess, and settle oscillations in a gap.
func (r *Resolver) resolveLocal(c *Civil, loc *time.Location) (int64, bool) {
	secRequested := c.Second
	sec := min(max(c.Second, 0), 59)
	want := localSeconds(c.Year, c.Month, c.Day, c.Hour, c.Minute, sec)
	isdst := c.IsDST

	t0 := want + r.offset
	t, t1, t2 := t0, t0, t0
	dst2 := false
	var z zonePeriod
	found := false
	for remaining := 6; ; {
		z = r.lookup(t, loc)
		dt := want - (t + z.offset)
		if dt == 0 {
			break
		}
		if t == t1 && t != t2 {
			// Oscillating between two instants: the fields fall into a gap.
			// Settle on the side with the other DST flag than asked for, or
			// when none was asked for, on the daylight-saving side.
			oscillating := !dst2 || z.dst
			if isdst >= 0 {
				oscillating = (isdst != 0) != z.dst
			}
			if oscillating {
				found = true
				break
			}
		}
		remaining--
		if remaining == 0 {
			return 0, false
		}
		t1, t2, t, dst2 = t2, t, t+dt, z.dst
	}

	if !found && isdstDiffer(isdst, z.dst) {
		// The fields exist, but with the other DST flag. Look for the
		// nearest period with the wanted flag and read the fields with its
		// offset; failing that, assume DST differs by one hour. The stride
		// is shorter than any DST period in tzdata.
		const stride, durationMax = 601200, 457243200
		ok := false
	search:
		for delta := int64(stride); delta < durationMax/2+stride; delta += stride {
			for direction := int64(-1); direction <= 1; direction += 2 {
				ot := t + delta*direction
				if oz := r.lookup(ot, loc); !isdstDiffer(isdst, oz.dst) {
					t = want - oz.offset
					ok = true
					break search
				}
			}
		}
		if !ok {
			dstDifference := int64(b2i(isdst == 0) - b2i(!z.dst))
			t += 3600 * dstDifference
		}
		z = r.lookup(t, loc)
	}

	r.offset = t - want
	if fieldSecond(t+z.offset) != secRequested {
		// Out-of-range seconds were probed as 0 or 59; add the rest now.
		t += int64(secRequested - sec)
		z = r.lookup(t, loc)
	}
	if t+z.offset == want && c.InRange() {
		// The fields stand as they were: only the derived ones change.
		c.SetDerived()
		c.Offset, c.Zone, c.IsDST = int(z.offset), z.name, b2i(z.dst)
		return t, true
	}
	*c = r.civil(t, z)
	return t, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isdstDiffer(want int, dst bool) bool {
	return want >= 0 && (want != 0) != dst
}

func fieldSecond(local int64) int {
	return int(floorMod(local, 60))
}

// localSeconds returns the fields as seconds since the epoch as though they
// were UTC, carrying out-of-range values into the larger fields.
func localSeconds(year, month, day, hour, minute, second int) int64 {
	y := int64(year) + floorDiv(int64(month)-1, 12)
	m := int(floorMod(int64(month)-1, 12)) + 1
	days := daysFromCivil(y, m, 1) + int64(day) - 1
	return days*86400 + int64(hour)*3600 + int64(minute)*60 + int64(second)
}

// setFromLocal sets the date, time, weekday and day of the year from
// seconds since the epoch read as UTC.
func (c *Civil) setFromLocal(local int64) {
	days := floorDiv(local, 86400)
	rem := local - days*86400
	y, m, d := civilFromDays(days)
	c.Year, c.Month, c.Day = int(y), m, d
	c.Hour, c.Minute, c.Second = int(rem/3600), int(rem%3600/60), int(rem%60)
	c.Weekday = weekdayOf(days)
	c.YearDay = yearDay(c.Year, m, d)
	c.IsDST = 0
}

// daysFromCivil returns the number of days from 1970-01-01 to the given date
// of the proleptic Gregorian calendar; month is 1 to 12, day may be any
// value and counts on from the first of the month.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March is 0
	doy := int64((153*mp+2)/5 + d - 1)
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func weekdayOf(days int64) time.Weekday {
	return time.Weekday(floorMod(days+4, 7)) // 1970-01-01 was a Thursday
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	return a - floorDiv(a, b)*b
}
