package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
)

const analyzeUsage = `%s [OPTIONS...] COMMAND ...

Check calendar events, timestamps and time spans as systemd reads them.

Commands:
  calendar SPEC...           Validate repetitive calendar time
  timestamp TIMESTAMP...     Validate a timestamp
  timespan SPAN...           Validate a time span
` + analyzeOptions

// analyzeOptions are the options of the time-language verbs.
const analyzeOptions = `
Options:
  -h --help                  Show this help
     --version               Show package version
     --iterations=N          Show the specified number of iterations
     --base-time=TIMESTAMP   Calculate calendar times relative to
                             specified time
`

// analyzeMain is systemd-analyze: options, then a verb and its operands.
func analyzeMain(c *cli, args []string, usage string) int {
	fs := c.flags(true)
	help := fs.BoolP("help", "h", false, "")
	version := fs.Bool("version", false, "")
	iterations := fs.String("iterations", "1", "")
	baseTime := fs.String("base-time", "", "")
	if !c.parse(fs, args) {
		return 1
	}
	switch {
	case *help:
		fmt.Fprintf(c.stdout, usage, c.prog)
		return 0
	case *version:
		printVersion(c)
		return 0
	}
	a := analyzer{cli: c, iterations: 1, localIsUTC: timespan.Rule(time.Local).IsUTC()}
	if fs.Changed("iterations") {
		n, ok := parseUnsigned(*iterations)
		if !ok {
			c.errorf("Failed to parse iterations: %s", *iterations)
			return 1
		}
		a.iterations = n
	}
	a.now = now()
	a.base = a.now
	if fs.Changed("base-time") {
		t, err := timespan.ParseTimestamp(*baseTime, a.now)
		if err != nil {
			c.errorf("Failed to parse --base-time= parameter: %s", *baseTime)
			return 1
		}
		a.base = t
	}
	return a.verb(fs.Args())
}

type analyzer struct {
	*cli
	iterations uint
	now, base  time.Time
	// Whether the local zone is UTC all year, in which case systemd leaves
	// out the "(in UTC)" lines.
	localIsUTC bool
}

// verb runs one of the time-language verbs.
func (a *analyzer) verb(args []string) int {
	if len(args) == 0 {
		a.errorf("Command verb required.")
		return 1
	}
	run := map[string]func(string) bool{
		"calendar":  a.calendar,
		"timestamp": a.timestamp,
		"timespan":  a.timespan,
	}[args[0]]
	if run == nil {
		a.errorf("Unknown command verb %s.", args[0])
		return 1
	}
	if len(args) < 2 {
		a.errorf("Too few arguments.")
		return 1
	}
	status := 0
	for i, arg := range args[1:] {
		if !run(arg) {
			status = 1
			if args[0] == "timespan" {
				// systemd-analyze timespan stops at the first error.
				break
			}
		}
		if i < len(args)-2 {
			fmt.Fprintln(a.stdout)
		}
	}
	return status
}

func (a *analyzer) calendar(arg string) bool {
	spec, err := calendar.Parse(arg)
	if err != nil {
		a.errorf("Failed to parse calendar specification '%s': %s", arg, errnoText(err))
		a.hint(arg, false, true, true)
		return false
	}
	var t vtable
	norm := spec.String()
	if norm != arg {
		t.add("Original form", arg)
	}
	t.add("Normalized form", norm)
	base := a.base
	for i := range a.iterations {
		next, err := spec.NextErr(base)
		switch {
		case errors.Is(err, calendar.ErrNever):
			if i == 0 {
				t.add("Next elapse", "never")
			}
		case errors.Is(err, calendar.ErrLoop):
			a.errorf("Infinite loop in calendar calculation: %s", norm)
			a.errorf("Failed to determine next elapse for '%s': Resource deadlock avoided", arg)
			return false
		case err != nil:
			a.errorf("Failed to determine next elapse for '%s': Invalid argument", arg)
			return false
		}
		if err != nil {
			break
		}
		if i == 0 {
			t.addTimestamp("Next elapse", 0, next, timespan.Pretty)
		} else {
			t.addTimestamp("Iteration #", int(i)+1, next, timespan.Pretty)
		}
		a.addUTCAndRelative(&t, next)
		base = next
	}
	t.write(a.stdout)
	return true
}

func (a *analyzer) timestamp(arg string) bool {
	ts, err := timespan.ParseTimestamp(arg, a.now)
	if err != nil {
		a.errorf("Failed to parse \"%s\": %s", arg, errnoText(err))
		a.hint(arg, true, false, true)
		return false
	}
	var t vtable
	t.add("Original form", arg)
	t.addTimestamp("Normalized form", 0, ts, timespan.Pretty)
	if !a.localIsUTC {
		t.addTimestamp("(in UTC)", 0, ts, timespan.UTC)
	}
	t.add("UNIX seconds", unixSeconds(ts))
	t.addRelative(ts, a.now)
	t.write(a.stdout)
	return true
}

func (a *analyzer) timespan(arg string) bool {
	span, err := timespan.Parse(arg)
	if err != nil {
		a.errorf("Failed to parse time span '%s': %s", arg, errnoText(err))
		a.hint(arg, true, true, false)
		return false
	}
	var t vtable
	t.add("Original", arg)
	t.add(microSymbol()+"s", strconv.FormatUint(uint64(span), 10))
	t.add("Human", span.String())
	t.write(a.stdout)
	return true
}

func (a *analyzer) addUTCAndRelative(t *vtable, ts time.Time) {
	if !a.localIsUTC {
		t.addTimestamp("(in UTC)", 0, ts, timespan.UTC)
	}
	t.addRelative(ts, a.now)
}

// hint suggests the verb that would accept arg, as systemd-analyze does.
func (a *analyzer) hint(arg string, cal, stamp, span bool) {
	if cal {
		if _, err := calendar.Parse(arg); err == nil {
			a.errorf("Hint: this expression is a valid calendar specification. Use '%s calendar \"%s\"' instead?", a.prog, arg)
		}
	}
	if stamp {
		if _, err := timespan.ParseTimestamp(arg, a.now); err == nil {
			a.errorf("Hint: this expression is a valid timestamp. Use '%s timestamp \"%s\"' instead?", a.prog, arg)
		}
	}
	if span {
		if _, err := timespan.Parse(arg); err == nil {
			a.errorf("Hint: this expression is a valid timespan. Use '%s timespan \"%s\"' instead?", a.prog, arg)
		}
	}
}

// errnoText names the class of a parse error in the words of strerror, as
// systemd prints it.
func errnoText(err error) string {
	switch {
	case errors.Is(err, timespan.ErrRange):
		return "Numerical result out of range"
	case errors.Is(err, calendar.ErrTooLong):
		return "No buffer space available"
	}
	return "Invalid argument"
}

// unixSeconds prints "@SECONDS", with six decimals if there is a fraction.
func unixSeconds(t time.Time) string {
	u := t.UnixMicro()
	if t.Unix() > math.MaxInt64/1000000 {
		u = math.MaxInt64
	}
	if u < 0 {
		u = 0
	}
	if u%1000000 == 0 {
		return fmt.Sprintf("@%d", u/1000000)
	}
	return fmt.Sprintf("@%d.%06d", u/1000000, u%1000000)
}

// microSymbol is "μ", or "u" where the locale is not UTF-8.
func microSymbol() string {
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		val := os.Getenv(v)
		if val == "" {
			continue
		}
		if val == "C" || val == "POSIX" {
			return "μ"
		}
		l := strings.ToLower(val)
		if strings.Contains(l, "utf-8") || strings.Contains(l, "utf8") {
			return "μ"
		}
		return "u"
	}
	return "μ"
}

// parseUnsigned reads a number as systemd's safe_atou: optional leading
// white space and plus sign, decimal digits, nothing after.
func parseUnsigned(s string) (uint, bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	s = strings.TrimPrefix(s, "+")
	n, err := strconv.ParseUint(s, 10, 32)
	return uint(n), err == nil
}

// A vtable is systemd's two-column "vertical" table: keys right-aligned and
// followed by a colon, then the values. As in systemd's tables, a value
// narrower than the widest one loses its trailing white space, and a time
// that is not set shows as "-". The values are kept in one buffer, since the
// calendar verb may add thousands of rows.
type vtable struct {
	buf  []byte
	rows []vrow
}

type vrow struct {
	key        string
	n          int // appended to the key if not 0: "Iteration #2"
	start, end int // the value in buf
}

func (t *vtable) begin(key string, n int) {
	t.rows = append(t.rows, vrow{key: key, n: n, start: len(t.buf)})
}

// finish ends the row begun last; an unset time shows as "-".
func (t *vtable) finish(isTime bool) {
	r := &t.rows[len(t.rows)-1]
	if isTime && len(t.buf) == r.start {
		t.buf = append(t.buf, '-')
	}
	r.end = len(t.buf)
}

func (t *vtable) add(key, value string) {
	t.begin(key, 0)
	t.buf = append(t.buf, value...)
	t.finish(false)
}

func (t *vtable) addTimestamp(key string, n int, ts time.Time, style timespan.Style) {
	t.begin(key, n)
	t.buf = timespan.AppendTimestamp(t.buf, ts, style)
	t.finish(true)
}

func (t *vtable) addRelative(ts, now time.Time) {
	t.begin("From now", 0)
	t.buf = timespan.AppendRelative(t.buf, ts, now)
	t.finish(true)
}

func (t *vtable) write(w io.Writer) {
	keyWidth := func(r vrow) int {
		n := utf8.RuneCountInString(r.key) + 1
		for v := r.n; v > 0; v /= 10 {
			n++
		}
		return n
	}
	kw, vw := 0, 0
	for _, r := range t.rows {
		kw = max(kw, keyWidth(r))
		vw = max(vw, utf8.RuneCount(t.buf[r.start:r.end]))
	}
	out := bufio.NewWriter(w)
	var num [20]byte
	for _, r := range t.rows {
		for range kw - keyWidth(r) {
			out.WriteByte(' ')
		}
		out.WriteString(r.key)
		if r.n > 0 {
			out.Write(strconv.AppendInt(num[:0], int64(r.n), 10))
		}
		out.WriteString(": ")
		v := t.buf[r.start:r.end]
		if utf8.RuneCount(v) < vw {
			v = bytes.TrimRight(v, " \t\n\r")
		}
		out.Write(v)
		out.WriteByte('\n')
	}
	out.Flush()
}
