package timespan

import (
	"encoding/binary"
	"os"
	"strings"
	"time"
)

// LocationFromTZ returns the local time zone that the C library derives
// from tz, the value of the TZ environment variable: "" means UTC; a name,
// with or without a leading colon, names a zone file (an absolute path, or
// one under [ZoneDir]); anything else is read as a POSIX rule such as
// "CET-1CEST,M3.5.0,M10.5.0/3" or "<+0530>-5:30". Like the C library, it
// always yields a zone: when the standard time of a rule cannot be read,
// the zone is UTC, named with as much of the rule as could be read ("Foo"
// for "Foo/Bar", nothing for "12").
func LocationFromTZ(tz string) *time.Location {
	tz = strings.TrimPrefix(tz, ":")
	if tz == "" {
		return time.UTC
	}
	path := ZoneDir + tz
	if strings.HasPrefix(tz, "/") {
		path = tz
	}
	if data, err := readZoneFile(path); err == nil {
		if loc, err := time.LoadLocationFromTZData(tz, data); err == nil {
			return loc
		}
	}
	if !strings.HasPrefix(tz, "/") {
		if _, err := os.Stat(ZoneDir); err != nil {
			if loc, err := time.LoadLocation(tz); err == nil {
				return loc
			}
		}
	}
	return locationFromRule(tz)
}

// locationFromRule builds a location for a POSIX TZ rule: a zone whose
// only transition lies far in the past and whose footer is the rule, which
// the time package evaluates for every later instant.
func locationFromRule(rule string) *time.Location {
	name, rest, ok := ruleName(rule)
	if !ok {
		return time.FixedZone("", 0)
	}
	offset, _, ok := ruleOffset(rest)
	if !ok {
		return time.FixedZone(name, 0)
	}
	loc, err := time.LoadLocationFromTZData(rule, tzif(name, -offset, rule))
	if err != nil {
		return time.FixedZone(name, 0)
	}
	return loc
}

// ruleName reads a zone abbreviation: three or more letters, or any of
// letters, digits, '+' and '-' in angle brackets.
func ruleName(s string) (name, rest string, ok bool) {
	if strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		if end < 4 {
			return "", "", false
		}
		return s[1:end], s[end+1:], true
	}
	n := 0
	for n < len(s) && ('a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z') {
		n++
	}
	return s[:n], s[n:], n >= 3
}

// ruleOffset reads "[+-]hh[:mm[:ss]]", hours west of UTC, as seconds.
func ruleOffset(s string) (offset int, rest string, ok bool) {
	sign := 1
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	var parts [3]int
	i := 0
	for k := 0; k < 3; k++ {
		if k > 0 {
			if i >= len(s) || s[i] != ':' {
				break
			}
			i++
		}
		n := digitsAt(s, i)
		if n == 0 || n > 2 {
			return 0, "", false
		}
		for _, c := range []byte(s[i : i+n]) {
			parts[k] = parts[k]*10 + int(c-'0')
		}
		i += n
	}
	if parts[0] > 24 || parts[1] > 59 || parts[2] > 59 {
		return 0, "", false
	}
	return sign * (parts[0]*3600 + parts[1]*60 + parts[2]), s[i:], true
}

// tzif encodes a version 2 zone file with one zone type and a footer.
func tzif(name string, utoff int, footer string) []byte {
	header := func(b []byte, timecnt, typecnt, charcnt uint32) []byte {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		for _, v := range []uint32{0, 0, 0, timecnt, typecnt, charcnt} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	ttinfo := func(b []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(utoff)))
		b = append(b, 0, 0) // not DST, abbreviation at index 0
		b = append(b, name...)
		return append(b, 0)
	}
	chars := uint32(len(name) + 1)
	// Version 1 data, which readers of version 2 skip.
	b := header(nil, 0, 1, chars)
	b = ttinfo(b)
	// Version 2 data: one transition, in 1800, to the standard time.
	b = header(b, 1, 1, chars)
	y1800 := int64(-5364662400)
	b = binary.BigEndian.AppendUint64(b, uint64(y1800))
	b = append(b, 0)
	b = ttinfo(b)
	b = append(b, '\n')
	b = append(b, footer...)
	return append(b, '\n')
}
