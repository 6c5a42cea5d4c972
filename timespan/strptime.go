package timespan

import (
	"strings"
	"unicode/utf8"
)

// strptime holds the parts of the GNU C library's strptime that systemd's
// timestamp parser depends on: numeric fields that skip leading white space
// and read at most as many digits as fit the field, English month names, and
// white space in the format matching any run of white space.
type strptime struct {
	wantXDay bool // a date field was read; recompute the weekday
}

var monthNames = [12]string{
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
}

// parse matches s against format, storing fields into c. It returns the
// index in s where matching stopped, or -1 if s does not match.
func (p *strptime) parse(s, format string, c *Civil) int {
	rp := 0
	for i := 0; i < len(format); i++ {
		f := format[i]
		if isCSpace(f) {
			for rp < len(s) && isCSpace(s[rp]) {
				rp++
			}
			continue
		}
		if f != '%' {
			if rp >= len(s) || s[rp] != f {
				return -1
			}
			rp++
			continue
		}
		i++
		var ok bool
		switch format[i] {
		case 'y':
			var v int
			if v, rp, ok = getNumber(s, rp, 0, 99, 2); !ok {
				return -1
			}
			// 69 to 99 are the twentieth century, as POSIX suggests.
			if v >= 69 {
				c.Year = 1900 + v
			} else {
				c.Year = 2000 + v
			}
			p.wantXDay = true
		case 'Y':
			if c.Year, rp, ok = getNumber(s, rp, 0, 9999, 4); !ok {
				return -1
			}
			p.wantXDay = true
		case 'm':
			if c.Month, rp, ok = getNumber(s, rp, 1, 12, 2); !ok {
				return -1
			}
			p.wantXDay = true
		case 'd':
			if c.Day, rp, ok = getNumber(s, rp, 1, 31, 2); !ok {
				return -1
			}
			p.wantXDay = true
		case 'H':
			if c.Hour, rp, ok = getNumber(s, rp, 0, 23, 2); !ok {
				return -1
			}
		case 'M':
			if c.Minute, rp, ok = getNumber(s, rp, 0, 59, 2); !ok {
				return -1
			}
		case 'S':
			if c.Second, rp, ok = getNumber(s, rp, 0, 61, 2); !ok {
				return -1
			}
		case 'b':
			m := matchMonth(s[rp:])
			if m < 0 {
				return -1
			}
			rp += m >> 8
			c.Month = m&0xff + 1
			p.wantXDay = true
		default:
			panic("timespan: unsupported strptime conversion")
		}
	}
	if p.wantXDay {
		// The date may be out of range (February 30); the weekday is that of
		// the day as many days after the first of the month.
		days := daysFromCivil(int64(c.Year), c.Month, c.Day)
		c.Weekday = weekdayOf(days)
	}
	return rp
}

// getNumber reads a decimal number at i after optional white space, taking
// digits while there are at most n and the value times ten stays within to.
func getNumber(s string, i, from, to, n int) (v, end int, ok bool) {
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return 0, i, false
	}
	for {
		v = v*10 + int(s[i]-'0')
		i++
		n--
		if n <= 0 || v*10 > to || i >= len(s) || !isDigit(s[i]) {
			break
		}
	}
	return v, i, from <= v && v <= to
}

// matchMonth matches a full or abbreviated English month name, ignoring
// case, at the start of s. It returns the length matched shifted left by 8
// plus the month's index, or -1.
func matchMonth(s string) int {
	for i, name := range monthNames {
		for _, n := range [2]string{name, name[:3]} {
			if len(s) >= len(n) && equalFold(s[:len(n)], n) {
				return len(n)<<8 | i
			}
		}
	}
	return -1
}

// equalFold compares s with an ASCII name ignoring the case of ASCII
// letters only, as the C library does in the C locale.
func equalFold(s, name string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0 && strings.EqualFold(s, name)
}

// parseUTCOffset reads a whole word as strptime's %z does: "Z", or a sign
// followed by two or four digits, optionally with a colon after the hours.
// The hours are not limited; minutes must be below 60.
func parseUTCOffset(s string) (offset int, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && s[i] == 'Z' {
		return 0, i+1 == len(s)
	}
	if i >= len(s) || (s[i] != '+' && s[i] != '-') {
		return 0, false
	}
	neg := s[i] == '-'
	i++
	v, n := 0, 0
	for n < 4 && i < len(s) && isDigit(s[i]) {
		v = v*10 + int(s[i]-'0')
		i++
		n++
		if n == 2 && i+1 < len(s) && s[i] == ':' && isDigit(s[i+1]) {
			i++
		}
	}
	switch {
	case n == 2:
		v *= 100
	case n != 4, v%100 >= 60:
		return 0, false
	}
	offset = v/100*3600 + v%100*60
	if neg {
		offset = -offset
	}
	return offset, i == len(s)
}
