package calendar

import (
	"encoding"
	"strconv"
	"time"

	"sundial.dev/sundial/timespan"
)

// A Spec is a parsed calendar event expression. Use [Parse] to make one.
//
// The zero Spec matches every second, like "*-*-* *:*:*" in the local time
// of the instant passed to [Spec.Next].
type Spec struct {
	weekdays   uint8 // bit 0 is Monday, bit 6 Sunday; 0 means any day
	endOfMonth bool  // the day chain counts from the end of the month
	utc        bool
	abbrev     int8 // 0: none; 1: standard time asked for; 2: daylight-saving time
	zone       string
	loc        *time.Location // the zone, or the zone whose abbreviation was given

	// The chains; nil means "*". Seconds are counted in microseconds.
	year, month, day, hour, minute, usec []component
}

// A component is "start[..stop][/repeat]"; stop is -1 when absent and
// repeat 0 when absent.
type component struct {
	start, stop, repeat int32
}

var (
	_ encoding.TextMarshaler   = (*Spec)(nil)
	_ encoding.TextUnmarshaler = (*Spec)(nil)
)

const usecPerSec = 1000000

// everySecond is the seconds chain of "*".
var everySecond = []component{{0, -1, usecPerSec}}

var weekdayNames = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// String returns the normalized form of the expression, byte for byte as
// systemd prints it ("Mon..Fri *-*-* 03:00:00"). [Parse] reads it back to
// the same Spec.
func (s *Spec) String() string {
	return string(s.AppendText(nil))
}

// AppendText appends the normalized form of the expression to b.
func (s *Spec) AppendText(b []byte) []byte {
	if s.weekdays != 0 {
		b = appendWeekdays(b, s.weekdays)
		b = append(b, ' ')
	}
	b = appendChain(b, 4, s.year, false)
	b = append(b, '-')
	b = appendChain(b, 2, s.month, false)
	if s.endOfMonth {
		b = append(b, '~')
	} else {
		b = append(b, '-')
	}
	b = appendChain(b, 2, s.day, false)
	b = append(b, ' ')
	b = appendChain(b, 2, s.hour, false)
	b = append(b, ':')
	b = appendChain(b, 2, s.minute, false)
	b = append(b, ':')
	b = appendChain(b, 2, s.usec, true)
	switch {
	case s.utc:
		b = append(b, " UTC"...)
	case s.zone != "":
		b = append(b, ' ')
		b = append(b, s.zone...)
	case s.abbrev != 0:
		rule := timespan.Rule(s.loc)
		name := rule.Std
		if s.abbrev == 2 {
			name = rule.DST
		}
		if name != "" {
			b = append(b, ' ')
			b = append(b, name...)
		}
	}
	return b
}

// MarshalText implements [encoding.TextMarshaler] with the normalized form.
func (s *Spec) MarshalText() ([]byte, error) {
	return s.AppendText(nil), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [Parse].
func (s *Spec) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*s = *v
	return nil
}

// appendWeekdays prints runs of three or more days as "A..B" and shorter
// runs day by day.
func appendWeekdays(b []byte, bits uint8) []byte {
	first := true
	for x := 0; x < 7; {
		if bits&(1<<x) == 0 {
			x++
			continue
		}
		l := x
		for x < 7 && bits&(1<<x) != 0 {
			x++
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, weekdayNames[l]...)
		switch {
		case x > l+2:
			b = append(b, ".."...)
			b = append(b, weekdayNames[x-1]...)
		case x > l+1:
			b = append(b, ',')
			b = append(b, weekdayNames[x-1]...)
		}
	}
	return b
}

// chainIsStar reports whether the chain prints as "*": it is empty, or, for
// seconds, one of its components is every whole second.
func chainIsStar(c []component, usec bool) bool {
	if c == nil {
		return true
	}
	if usec {
		for _, x := range c {
			if x.start == 0 && x.stop < 0 && x.repeat == usecPerSec {
				return true
			}
		}
	}
	return false
}

func appendChain(b []byte, width int, c []component, usec bool) []byte {
	if chainIsStar(c, usec) {
		return append(b, '*')
	}
	d := int32(1)
	if usec {
		d = usecPerSec
	}
	for i, x := range c {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNum(b, x.start/d, width)
		if x.start%d > 0 {
			b = append(b, '.')
			b = appendNum(b, x.start%d, 6)
		}
		if x.stop > 0 {
			b = append(b, ".."...)
			b = appendNum(b, x.stop/d, width)
		}
		if x.stop%d > 0 {
			b = append(b, '.')
			b = appendNum(b, x.stop%d, 6)
		}
		if x.repeat > 0 && !(x.stop > 0 && x.repeat == d) {
			b = append(b, '/')
			b = strconv.AppendInt(b, int64(x.repeat/d), 10)
		}
		if x.repeat%d > 0 {
			b = append(b, '.')
			b = appendNum(b, x.repeat%d, 6)
		}
	}
	return b
}

func appendNum(b []byte, v int32, width int) []byte {
	var tmp [12]byte
	d := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}
