package measure

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// A Figure is a line of a report; Limit is 0 for none.
type Figure struct {
	What    string
	Value   float64
	Unit    string
	Limit   float64
	AtLeast bool // the figure must reach the limit, not stay under it
}

func (f Figure) String() string {
	s := fmt.Sprintf("%-28s %9s %-3s", f.What, num(f.Value), f.Unit)
	if f.Limit == 0 {
		return strings.TrimRight(s, " ")
	}
	op := "<"
	if f.AtLeast {
		op = ">="
	}
	s = fmt.Sprintf("%s   target %-2s %6s %-3s  (%.2f of target)", s, op, num(f.Limit), f.Unit, f.Value/f.Limit)
	if f.Missed() {
		s += "  MISSED"
	}
	return s
}

// Missed reports whether the figure has a target and misses it.
func (f Figure) Missed() bool {
	switch {
	case f.Limit == 0:
		return false
	case f.AtLeast:
		return f.Value < f.Limit
	default:
		return f.Value >= f.Limit
	}
}

func num(v float64) string {
	prec := 3
	if v >= 100 {
		prec = 0
	} else if v >= 1 {
		prec = 2
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// Percentile is the nearest-rank percentile of sorted values.
func Percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// A Resident set of a process, in MB: the whole and its peak, and the
// whole's anonymous pages (the Go heap, stacks) and file-backed ones
// (mapped files, such as the binary and a database).
type Resident struct {
	RSS, HWM, Anon, File float64
}

// Memory returns a process's resident set.
func Memory(pid int) (Resident, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Resident{}, err
	}
	var r Resident
	fields := map[string]*float64{"VmRSS:": &r.RSS, "VmHWM:": &r.HWM, "RssAnon:": &r.Anon, "RssFile:": &r.File}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" || fields[f[0]] == nil {
			continue
		}
		kB, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return Resident{}, fmt.Errorf("/proc/%d/status: %q: %w", pid, line, err)
		}
		*fields[f[0]] = kB * 1024 / 1e6
	}
	return r, nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux architecture Go runs on.
const clockTicks = 100

// CPU returns the CPU time a process has used, user and system, in
// seconds.
func CPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command, which may hold spaces, in its
	// parentheses: utime and stime are the 12th and 13th.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	var ticks float64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += float64(n)
	}
	return ticks / clockTicks, nil
}
