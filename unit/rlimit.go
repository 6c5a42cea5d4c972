package unit

import (
	"math"
	"strconv"
	"strings"

	"sundial.dev/sundial/timespan"
)

// An Rlimit is a Limit…= setting: the soft and the hard limit, with
// RlimitInfinity for no limit.
type Rlimit struct {
	Soft, Hard uint64
}

// RlimitInfinity is the limit "infinity", RLIM_INFINITY.
const RlimitInfinity = math.MaxUint64

// rlimitKinds say how the value of each Limit…= setting reads, by
// resource: a size, a count, CPU seconds, microseconds or a nice level.
var rlimitKinds = map[string]byte{
	"CPU": 's', "FSIZE": 'b', "DATA": 'b', "STACK": 'b', "CORE": 'b', "RSS": 'b',
	"NOFILE": 'n', "AS": 'b', "NPROC": 'n', "MEMLOCK": 'b', "LOCKS": 'n',
	"SIGPENDING": 'n', "MSGQUEUE": 'b', "NICE": 'p', "RTPRIO": 'n', "RTTIME": 'u',
}

// rlimitSetting is config_parse_rlimit: "SOFT[:HARD]".
func rlimitSetting(c *settingCtx, a *Assignment) error {
	resource := strings.TrimPrefix(a.Key, "Limit")
	rl, err := parseRlimit(rlimitKinds[resource], a.Value)
	switch {
	case err == errSoftAboveHard:
		c.warn(a, "Soft resource limit chosen higher than hard limit, ignoring: %s", a.Value)
		return nil
	case err != nil:
		c.warn(a, "Failed to parse resource value, ignoring: %s", a.Value)
		return nil
	}
	s := c.service()
	if s.Limits == nil {
		s.Limits = map[string]Rlimit{}
	}
	s.Limits[resource] = rl
	return nil
}

// errSoftAboveHard is rlimit_parse's EILSEQ.
var errSoftAboveHard = errno(84)

// parseRlimit is systemd's rlimit_parse.
func parseRlimit(kind byte, v string) (Rlimit, error) {
	w := words{s: v}
	soft, ok, err := w.next(":", extractDontCoalesceSeparators)
	if err != nil {
		return Rlimit{}, err
	}
	if !ok {
		return Rlimit{}, eINVAL
	}
	sl, err := parseRlimitOne(kind, soft)
	if err != nil {
		return Rlimit{}, err
	}
	hard, ok, err := w.next(":", extractDontCoalesceSeparators)
	if err != nil {
		return Rlimit{}, err
	}
	if !w.done && w.i < len(w.s) {
		return Rlimit{}, eINVAL
	}
	if !ok {
		return Rlimit{sl, sl}, nil
	}
	hl, err := parseRlimitOne(kind, hard)
	if err != nil {
		return Rlimit{}, err
	}
	if sl > hl {
		return Rlimit{}, errSoftAboveHard
	}
	return Rlimit{sl, hl}, nil
}

// parseRlimitOne is systemd's rlimit_parse_one for one limit.
func parseRlimitOne(kind byte, v string) (uint64, error) {
	if v == "infinity" && kind != 'p' {
		return RlimitInfinity, nil
	}
	var n uint64
	var err error
	switch kind {
	case 'n':
		n, err = parseUint(v, 0, false, math.MaxUint64)
	case 'b':
		n, err = ParseSize(v, 1024)
	case 's':
		var t timespan.Span
		if t, err = timespan.Parse(v); err == nil {
			if t == timespan.Infinity {
				return RlimitInfinity, nil
			}
			n = (uint64(t) + 999999) / 1000000
		}
	case 'u':
		var t timespan.Span
		if t, err = timespan.ParseUnit(v, 1); err == nil {
			return uint64(t), nil
		}
	case 'p':
		return parseRlimitNice(v)
	}
	if err != nil {
		return 0, eINVAL
	}
	if n == RlimitInfinity {
		return 0, eRANGE
	}
	return n, nil
}

// parseRlimitNice reads RLIMIT_NICE: "+N" and "-N" are nice levels, 19
// down to -20, a bare number the raw limit, 0 to 40.
func parseRlimitNice(v string) (uint64, error) {
	switch {
	case strings.HasPrefix(v, "+"):
		n, err := parseUint(v[1:], 0, false, math.MaxUint64)
		if err != nil || n >= 20 {
			return 0, eRANGE
		}
		return 20 - n, nil
	case strings.HasPrefix(v, "-"):
		n, err := parseUint(v[1:], 0, false, math.MaxUint64)
		if err != nil || n > 20 {
			return 0, eRANGE
		}
		return 20 + n, nil
	}
	n, err := parseUint(v, 0, false, math.MaxUint64)
	if err != nil || n > 40 {
		return 0, eRANGE
	}
	return n, nil
}

// ParseSize reads a size as systemd's parse_size: numbers with an
// optional fraction and one of the suffixes B, K, M, G, T, P, E of the
// base (1024 or 1000), each suffix smaller than the last, summed: "1G
// 512M". Its errors are EINVAL and ERANGE, with strerror's texts.
func ParseSize(t string, base uint64) (uint64, error) {
	suffixes := "EPTGMKB"
	factors := make([]uint64, len(suffixes)+1)
	f := uint64(1)
	for i := len(suffixes) - 2; i >= 0; i-- {
		f *= base
		factors[i] = f
	}
	factors[len(suffixes)-1], factors[len(suffixes)] = 1, 1 // "B" and ""
	var r uint64
	start := 0
	p := t
	for {
		p = strings.TrimLeft(p, whitespace)
		// strtoull: white space, a sign, decimal digits.
		d := strings.TrimLeft(p, " \t\n\v\f\r")
		neg := false
		if d != "" && (d[0] == '+' || d[0] == '-') {
			neg, d = d[0] == '-', d[1:]
		}
		digits := len(d) - len(strings.TrimLeft(d, "0123456789"))
		if digits == 0 {
			return 0, eINVAL
		}
		l, err := strconv.ParseUint(d[:digits], 10, 64)
		if err != nil {
			return 0, eRANGE
		}
		if neg {
			l = -l
		}
		if strings.HasPrefix(p, "-") {
			return 0, eRANGE
		}
		e := d[digits:]
		frac := 0.0
		if strings.HasPrefix(e, ".") {
			e = e[1:]
			if n := len(e) - len(strings.TrimLeft(e, "0123456789")); n > 0 {
				l2, err := strconv.ParseUint(e[:n], 10, 64)
				if err != nil {
					return 0, eRANGE
				}
				frac = float64(l2)
				for range n {
					frac /= 10
				}
				e = e[n:]
			}
		}
		e = strings.TrimLeft(e, whitespace)
		i := start
		for ; i < len(suffixes); i++ {
			if strings.HasPrefix(e, suffixes[i:i+1]) {
				break
			}
		}
		// i == len(suffixes) is "", which every string starts with.
		fac := factors[i]
		add := uint64(0)
		if frac > 0 {
			add = 1
		}
		if l+add > math.MaxUint64/fac {
			return 0, eRANGE
		}
		tmp := l*fac + uint64(frac*float64(fac))
		if tmp > math.MaxUint64-r {
			return 0, eRANGE
		}
		r += tmp
		if i < len(suffixes) {
			e = e[1:]
		}
		p = e
		start = i + 1
		if p == "" {
			return r, nil
		}
		if start > len(suffixes) {
			return 0, eINVAL
		}
	}
}
