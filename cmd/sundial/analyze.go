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
	"syscall"
	"time"
	"unicode/utf8"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

const analyzeUsage = `%s [OPTIONS...] COMMAND ...

Check calendar events, timestamps, time spans and unit files as systemd
reads them.

Commands:
  calendar SPEC...           Validate repetitive calendar time
                             events
  timestamp TIMESTAMP...     Validate a timestamp
  timespan SPAN...           Validate a time span
  verify FILE...             Check unit files for correctness
  condition CONDITION...     Evaluate conditions and asserts
` + analyzeOptions

// analyzeOptions are the options of the time-language verbs.
const analyzeOptions = `
Options:
  -h --help                  Show this help
     --version               Show package version
     --iterations=N          Show the specified number of iterations
     --base-time=TIMESTAMP   Calculate calendar times relative to
                             specified time
     --no-pager              Do not pipe output into a pager
  -q --quiet                 Do not log the result of each condition
     --system                Operate on system systemd instance
     --user                  Operate on user systemd instance
     --man[=BOOL]            Do [not] check for existence of man pages
     --generators[=BOOL]     Accepted for compatibility; there are no
                             generators to run
     --recursive-errors=MODE Control which units are verified
     --unit=UNIT             Evaluate conditions and asserts of unit
`

// analyzeMain is systemd-analyze: options, then a verb and its operands.
// As in systemd, options may follow the verb and its operands, are acted on
// in the order given, and "--" ends them.
func analyzeMain(c *cli, args []string) int {
	fs := c.flags()
	switchOption(fs, "help", "h")
	switchOption(fs, "version", "")
	switchOption(fs, "quiet", "q")
	switchOption(fs, "no-pager", "")
	fs.String("iterations", "", "")
	fs.String("base-time", "", "")
	switchOption(fs, "user", "")
	switchOption(fs, "system", "")
	optionalOption(fs, "man")
	optionalOption(fs, "generators")
	fs.String("recursive-errors", "", "")
	fs.String("unit", "", "")
	a := analyzer{cli: c, iterations: 1, localIsUTC: timespan.Rule(time.Local).IsUTC()}
	a.verifier = verifier{man: true}
	ok, status := c.parse(fs, args, func(name, value string) error {
		switch name {
		case "help":
			fmt.Fprintf(c.stdout, c.usage, c.prog)
			return errDone
		case "version":
			printVersion(c)
			return errDone
		case "iterations":
			n, ok := parseUnsigned(value)
			if !ok {
				return usageError("Failed to parse iterations: " + value)
			}
			a.iterations = n
		case "base-time":
			t, err := timespan.ParseTimestamp(value, now())
			if err != nil {
				return usageError("Failed to parse --base-time= parameter: " + value)
			}
			a.base = t
		case "quiet":
			a.quiet = true
		case "unit":
			a.unitFile = value
		case "user":
			a.scope = unit.UserScope
		case "system":
			a.scope = unit.SystemScope
		case "man", "generators":
			b, ok := true, true
			if value != noArgument {
				b, ok = unit.ParseBoolean(value)
			}
			if !ok {
				return usageError(fmt.Sprintf("Failed to parse boolean argument to --%s: %s.", name, value))
			}
			if name == "man" {
				a.man = b
			}
		case "recursive-errors":
			switch value {
			case "help":
				fmt.Fprintln(c.stdout, "no\nyes\none")
				return errDone
			case "no", "yes", "one":
				a.recursive = value
			default:
				return usageError(fmt.Sprintf("Unknown mode passed to --recursive-errors='%s'.", value))
			}
		}
		return nil
	})
	if !ok {
		return status
	}
	if a.base.IsZero() {
		// One base for all expressions, as in systemd.
		a.base = now()
	}
	return a.verb(fs.Args())
}

type analyzer struct {
	*cli
	verifier
	iterations uint
	// base is the time calendar searches from. Everything else reads the
	// clock when it needs it, as systemd does: a timestamp "+3h" is read a
	// moment before it is shown, and so is "2h 59min left".
	base     time.Time
	quiet    bool   // --quiet: condition logs nothing
	unitFile string // --unit=: the unit whose conditions condition tests
	// Whether the local zone is UTC all year, in which case systemd leaves
	// out the "(in UTC)" lines.
	localIsUTC bool
}

// verb runs one of the time-language verbs.
func (a *analyzer) verb(args []string) int {
	if len(args) == 0 {
		if a.systemd {
			a.errorf("Command verb required.")
		} else {
			fmt.Fprintf(a.stderr, a.usage, a.prog)
		}
		return 1
	}
	switch args[0] {
	case "help":
		fmt.Fprintf(a.stdout, a.usage, a.prog)
		return 0
	case "verify":
		if len(args) < 2 {
			a.errorf("Too few arguments.")
			return 1
		}
		return a.verify(args[1:])
	case "condition":
		if len(args) < 2 && a.unitFile == "" {
			a.errorf("Too few arguments for condition")
			return 1
		}
		return a.condition(args[1:])
	}
	run := map[string]func(string) bool{
		"calendar":  a.calendar,
		"timestamp": a.timestamp,
		"timespan":  a.timespan,
	}[args[0]]
	if run == nil {
		if a.systemd {
			a.errorf("Unknown command verb %s.", args[0])
		} else {
			a.errorf("%s: unknown command %q; see '%s --help'", a.prog, args[0], a.prog)
		}
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
	// Two or three rows an elapse, some 30 bytes each: room for them up
	// front saves copying as they are added, but a large --iterations of
	// an expression that soon stops elapsing must not cost memory.
	rows := 2 + 3*int(min(a.iterations, 1<<14))
	t := vtable{buf: make([]byte, 0, 32*rows), rows: make([]vrow, 0, rows)}
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
	ts, err := timespan.ParseTimestamp(arg, now())
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
	t.addRelative(ts, now())
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
	t.addRelative(ts, now())
}

// hint suggests the verb that would accept arg, as systemd-analyze does.
func (a *analyzer) hint(arg string, cal, stamp, span bool) {
	if cal {
		if _, err := calendar.Parse(arg); err == nil {
			a.errorf("Hint: this expression is a valid calendar specification. Use '%s calendar \"%s\"' instead?", a.prog, arg)
		}
	}
	if stamp {
		if _, err := timespan.ParseTimestamp(arg, now()); err == nil {
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
	if e, ok := errors.AsType[syscall.Errno](err); ok {
		// Go's texts are the C library's, less the capital.
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
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

// microSymbol is systemd's glyph for "micro": "μ" where the locale is
// UTF-8, else "u". As in systemd, SYSTEMD_UTF8 decides if it is a boolean;
// otherwise the locale is LC_ALL, LC_CTYPE or LANG, the first not empty. The
// C locale counts as UTF-8 only when none of the three is set, not even to
// "". (Where the named locale is not installed, systemd's setlocale fails
// and it assumes UTF-8; that cannot be seen from here, and a non-UTF-8
// locale is taken to be installed.)
func microSymbol() string {
	if v, ok := os.LookupEnv("SYSTEMD_UTF8"); ok {
		if utf8, ok := unit.ParseBoolean(v); ok && utf8 {
			return "μ"
		} else if ok {
			return "u"
		}
	}
	locale, set := "", false
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		v, ok := os.LookupEnv(name)
		set = set || ok
		if locale == "" {
			locale = v
		}
	}
	if locale == "" {
		locale = "C"
	}
	if i := strings.IndexByte(locale, '.'); i >= 0 {
		codeset := strings.ToLower(locale[i+1:])
		codeset, _, _ = strings.Cut(codeset, "@")
		if codeset == "utf-8" || codeset == "utf8" {
			return "μ"
		}
	}
	if (locale == "C" || locale == "POSIX") && !set {
		return "μ"
	}
	return "u"
}

// parseUnsigned reads a number as systemd's safe_atou.
func parseUnsigned(s string) (uint, bool) {
	n, err := unit.SafeAtou(s)
	return n, err == nil
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
