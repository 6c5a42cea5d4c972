package timespan

import (
	"bytes"
	"errors"
	"io"
	"os"
	"time"
)

// ZoneDir is where systemd looks for time zone files, and where
// [LoadLocation] looks first.
const ZoneDir = "/usr/share/zoneinfo/"

// ValidZoneName reports whether name is spelled like a time zone name as
// systemd requires: "UTC", or letters, digits, "-", "_", "+" and single
// slashes, neither leading nor trailing. It does not look for the zone.
func ValidZoneName(name string) bool {
	if name == "UTC" {
		return true
	}
	if name == "" || name[0] == '/' {
		return false
	}
	slash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			if slash {
				return false
			}
			slash = true
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c), c == '-', c == '_', c == '+':
		default:
			return false
		}
		slash = false
	}
	return !slash
}

var errNoZone = errors.New("unknown time zone")

// LoadLocation loads the time zone name as systemd accepts one: the name must
// satisfy [ValidZoneName], and the zone file must exist in [ZoneDir] and
// start with the TZif magic. Where the system has no zone files, the zones
// known to the Go runtime are used instead.
func LoadLocation(name string) (*time.Location, error) {
	if !ValidZoneName(name) {
		return nil, errNoZone
	}
	if name == "UTC" {
		return time.UTC, nil
	}
	data, err := readZoneFile(ZoneDir + name)
	switch {
	case err == nil:
		return time.LoadLocationFromTZData(name, data)
	case errors.Is(err, os.ErrNotExist) && name != "Local":
		if _, statErr := os.Stat(ZoneDir); statErr == nil {
			return nil, err
		}
		return time.LoadLocation(name)
	default:
		return nil, err
	}
}

func readZoneFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, errNoZone
	}
	// Zone files are small; the limit keeps a stray large file from being
	// read whole.
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte("TZif")) {
		return nil, errNoZone
	}
	return data, nil
}

// A ZoneRule names a zone's standard and daylight-saving time, as the C
// library's tzset derives them from the zone's latest transitions: the
// tzname, timezone and daylight variables that systemd consults to recognize
// abbreviations such as "CET" and "CEST" and to decide whether the local
// zone is UTC.
type ZoneRule struct {
	Std, DST             string // tzname[0] and tzname[1]; DST is Std for zones without DST
	StdOffset, DSTOffset int    // seconds east of UTC
}

// IsUTC reports whether the rule is UTC all year, as C's in_utc_timezone
// would report it (a zone with an offset of zero and no DST, such as GMT).
func (z ZoneRule) IsUTC() bool {
	return z.StdOffset == 0 && z.DSTOffset == 0
}

// ruleHorizon is where the scan for the latest transitions starts: past the
// last transition that zic writes out explicitly (2037), so that the scan
// sees what the C library sees at the end of a zone file.
var ruleHorizon = time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// Rule returns the rule of loc. A nil loc means UTC.
func Rule(loc *time.Location) ZoneRule {
	if loc == nil {
		loc = time.UTC
	}
	var rule ZoneRule
	haveStd, haveDST := false, false
	t := time.Unix(ruleHorizon, 0).In(loc)
	for {
		name, off := t.Zone()
		if t.IsDST() {
			if !haveDST {
				rule.DST, rule.DSTOffset, haveDST = name, off, true
			}
		} else if !haveStd {
			rule.Std, rule.StdOffset, haveStd = name, off, true
		}
		start, _ := t.ZoneBounds()
		if (haveStd && haveDST) || start.IsZero() {
			break
		}
		t = start.Add(-time.Second)
	}
	switch {
	case !haveStd:
		rule.Std, rule.StdOffset = rule.DST, rule.DSTOffset
	case !haveDST:
		rule.DST, rule.DSTOffset = rule.Std, rule.StdOffset
	}
	return rule
}
