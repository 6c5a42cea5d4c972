package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

const journalctlUsage = `%s [OPTIONS...]

Show the journal of the sundial daemon's units. With no daemon running,
read what the daemon left in its state directory. On a node of a
cluster, show the lines of every live node, merged by time, each with
its node's name where the host's goes; a node that does not answer is
named on standard error, once, and the others' lines shown; where etcd
does not answer, this node's lines, and a line on standard error that
says so.

Options:
  -h --help                  Show this help
     --version               Show package version
     --system                Show the system's daemon's journal (default)
     --user                  Show the user's daemon's journal
  -D --directory=PATH        Read the journal of the state directory PATH
                             when no daemon runs
  -u --unit=UNIT             Show entries of the unit, or of the units a
                             pattern matches (may be repeated)
     --user-unit=UNIT        Show entries of the user's unit
  -t --identifier=STRING     Show entries with the syslog identifier
  -p --priority=RANGE        Show entries with the priority, or in the
                             range of priorities
  -g --grep=PATTERN          Show entries whose message matches PATTERN
     --case-sensitive[=BOOL] Force case sensitive or insensitive matching
  -S --since=DATE            Show entries not older than the date
  -U --until=DATE            Show entries not newer than the date
  -b --boot[=ID]             Show current boot or the specified boot
  -o --output=STRING         Change journal output mode (short,
                             short-precise, short-iso, short-full, cat,
                             with-unit, verbose, export, json,
                             json-pretty, json-sse, json-seq)
     --output-fields=LIST    Select fields to print in verbose/export/json
  -n --lines[=[+]INTEGER]    Number of journal entries to show (default: 10),
                             from the end, or with + from the start
  -r --reverse               Show the newest entries first
     --utc                   Express time in Coordinated Universal Time (UTC)
  -x --catalog               Add message explanations where available
  -a --all                   Show all fields, including long and unprintable
  -l --full                  Accepted for compatibility; fields are never
                             ellipsized
     --no-hostname           Suppress output of hostname field
  -f --follow                Follow the journal
     --no-tail               Show all lines, even in follow mode
  -q --quiet                 Do not show info messages
     --no-pager              Accepted for compatibility; there is no pager
  -e --pager-end             Show the last 1000 entries of the current boot
     --list-boots            Show terse information about recorded boots
     --disk-usage            Show total disk usage of the journal
     --vacuum-size=BYTES     Reduce disk usage below specified size
     --vacuum-time=TIME      Remove journal entries older than specified time
`

// Special values of journalOptions.lines, as journalctl's arg_lines.
const (
	linesDefault = -2
	linesAll     = -1
)

// journalOptions are journalctl's options.
type journalOptions struct {
	daemonOptions
	system                 bool // --system given
	dir                    string
	units, userUnits       []string
	identifiers            []string
	priorities             uint8
	pattern                string
	caseSensitive          *bool // nil: by the pattern's capitals
	lines                  int
	oldest                 bool // -n +N
	since, until           uint64
	sinceSet, untilSet     bool
	boot, follow, reverse  bool
	bootID                 string // -b's boot, "" for the current one or by offset
	bootOffset             int
	catalog, quiet, noTail bool
	utc, noHostname        bool
	all                    bool // -a: fields as they are, blobs too
	output                 string
	fields                 []string // --output-fields; nil for all
	action                 string   // "", "list-boots", "disk-usage", "vacuum"
	vacuum                 api.Vacuum
	vacuumTime             timespan.Span
}

func journalctlMain(c *cli, args []string) int {
	fs := c.flags()
	o := &journalOptions{daemonOptions: daemonOptions{usage: journalctlUsage}, lines: linesDefault, output: "short"}
	o.declareAll(fs)
	ok, status := c.parse(fs, optionalArguments(fs, args), func(name, value string) error {
		if name == "system" {
			o.system = true
		}
		if name == "output" && value == "help" {
			// The modes, and no more, as journalctl's parse_argv.
			fmt.Fprintln(c.stdout, strings.Join(outputModes, "\n"))
			return errDone
		}
		if done, err := o.option(c, name); done {
			return err
		}
		return o.set(name, value)
	})
	if !ok {
		return status
	}
	switch {
	case fs.NArg() > 0 && o.action != "":
		// As journalctl's parse_argv.
		c.errorf("Extraneous arguments starting with '%s'", fs.Arg(0))
		return 1
	case fs.NArg() > 0:
		// journalctl's matches (FIELD=VALUE, a program's path, "+").
		c.errorf("Matches such as '%s' are not supported: -u, --user-unit=, -t, -p, -g, -S, -U and -b select entries.", fs.Arg(0))
		return 1
	}
	if err := o.check(); err != nil {
		c.errorf("%s", err)
		return 1
	}
	src := o.source()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch o.action {
	case "disk-usage":
		return o.diskUsage(c, src)
	case "vacuum":
		return o.vacuumJournal(ctx, c, src)
	case "list-boots":
		boots, err := src.JournalBoots(ctx)
		if o.journalEmpty(c, err) {
			return 0
		}
		if err != nil {
			return src.failed(c, "read the journal", err)
		}
		listBoots(c, boots, o)
		return 0
	}
	q, ok, err := o.query(ctx, c, src)
	if o.journalEmpty(c, err) {
		return o.noEntries(c)
	}
	if uerr, isUsage := errors.AsType[usageError](err); isUsage {
		c.errorf("%s", uerr)
		return 1
	}
	if err != nil {
		return src.failed(c, "read the journal", err)
	}
	if !ok {
		c.errorf("Failed to add filter for units: No data available")
		return 1
	}
	if o.follow {
		return o.followJournal(ctx, c, src, q)
	}
	var entries []api.Entry
	if o.lines != 0 {
		var j api.ClusterJournal
		j, err = src.ClusterJournal(ctx, q)
		err = tellPartial(c, err, nil)
		if o.journalEmpty(c, err) {
			return o.noEntries(c)
		}
		if err != nil {
			return src.failed(c, "read the journal", err)
		}
		entries = j.Entries
		tellMissing(c, j, nil)
	}
	if o.reverse {
		slices.Reverse(entries)
	}
	p := o.printer(c)
	p.print(entries)
	if len(entries) == 0 {
		return o.noEntries(c)
	}
	return 0
}

// noEntries says there are none, and returns the exit status.
func (o *journalOptions) noEntries(c *cli) int {
	if !o.quiet {
		fmt.Fprintln(c.stdout, "-- No entries --")
	}
	if o.pattern != "" {
		// As grep does, for scripts.
		return 1
	}
	return 0
}

// journalEmpty reports whether err is no daemon and no database, and
// says so as journalctl's main() says it finds no journal files: a
// notice, not an error.
func (o *journalOptions) journalEmpty(c *cli, err error) bool {
	if _, ok := errors.AsType[errNoJournal](err); !ok {
		return false
	}
	if !o.quiet {
		fmt.Fprintln(c.stderr, "No journal files were found.")
	}
	return true
}

// declareAll declares journalctl's options.
func (o *journalOptions) declareAll(fs *pflag.FlagSet) {
	o.declare(fs)
	fs.StringP("directory", "D", "", "")
	fs.StringArrayP("unit", "u", nil, "")
	fs.StringArray("user-unit", nil, "")
	fs.StringArrayP("identifier", "t", nil, "")
	fs.StringP("priority", "p", "", "")
	fs.StringP("grep", "g", "", "")
	optionalOption(fs, "case-sensitive")
	fs.StringP("lines", "n", "", "")
	fs.Lookup("lines").NoOptDefVal = optionalNoArgument
	fs.StringP("since", "S", "", "")
	fs.StringP("until", "U", "", "")
	fs.StringP("output", "o", "", "")
	fs.String("output-fields", "", "")
	fs.String("vacuum-size", "", "")
	fs.String("vacuum-time", "", "")
	fs.StringP("boot", "b", "", "")
	fs.Lookup("boot").NoOptDefVal = optionalNoArgument
	declareUnsupported(fs)
	for _, s := range [][2]string{{"all", "a"}, {"follow", "f"}, {"reverse", "r"}, {"catalog", "x"}, {"pager-end", "e"},
		{"quiet", "q"}, {"no-pager", ""}, {"full", "l"}, {"no-tail", ""}, {"utc", ""}, {"no-hostname", ""}, {"list-boots", ""}, {"disk-usage", ""}} {
		switchOption(fs, s[0], s[1])
	}
}

// unsupported are journalctl's options that sundial does not take, by
// name (and letter), with what it takes instead; "=" ends the name of
// one with an argument. They are refused saying so, not as options
// unheard of.
var unsupported = []struct{ option, why string }{
	{"dmesg/k", "sundial's journal holds no kernel messages"},
	{"machine=/M", "sundial reads the journal of this machine's daemons only"},
	{"file=", "sundial reads a daemon's journal, or with -D a state directory's"},
	{"root=", "sundial reads a daemon's journal, or with -D a state directory's"},
	{"namespace=", "sundial reads a daemon's journal, or with -D a state directory's"},
	{"vacuum-files=", "sundial's journal is one database; --vacuum-size= and --vacuum-time= bound it"},
	{"rotate", "sundial's journal is one database; --vacuum-size= and --vacuum-time= bound it"},
	{"flush", "the sundial daemon writes its journal to its state directory only"},
	{"sync", "the sundial daemon writes each line to its database as it comes"},
	{"cursor=/c", "-S and -U select entries by time"},
	{"after-cursor=", "-S and -U select entries by time"},
	{"cursor-file=", "-S and -U select entries by time"},
	{"show-cursor", "-S and -U select entries by time"},
}

// declareUnsupported declares the options sundial refuses.
func declareUnsupported(fs *pflag.FlagSet) {
	for _, u := range unsupported {
		name, short, _ := strings.Cut(u.option, "/")
		if long, ok := strings.CutSuffix(name, "="); ok {
			fs.StringP(long, short, "", "")
		} else {
			switchOption(fs, name, short)
		}
	}
}

// refuse says why an option sundial does not take is refused.
func refuse(name string) error {
	for _, u := range unsupported {
		long, _, _ := strings.Cut(u.option, "/")
		if long == name || long == name+"=" {
			return usageError(fmt.Sprintf("--%s is not supported: %s.", long, u.why))
		}
	}
	return nil
}

// set takes one option, as journalctl's parse_argv.
func (o *journalOptions) set(name, value string) error {
	if err := refuse(name); err != nil {
		return err
	}
	switch name {
	case "directory":
		o.dir = value
	case "unit":
		o.units = append(o.units, value)
	case "user-unit":
		o.userUnits = append(o.userUnits, value)
	case "identifier":
		o.identifiers = append(o.identifiers, value)
	case "priority":
		p, err := parsePriorities(value)
		if err != nil {
			return err
		}
		o.priorities = p
	case "grep":
		o.pattern = value
	case "case-sensitive":
		b := true
		if value != noArgument {
			v, ok := unit.ParseBoolean(value)
			if !ok {
				return usageError(fmt.Sprintf("Bad --case-sensitive= argument \"%s\": Invalid argument", value))
			}
			b = v
		}
		o.caseSensitive = &b
	case "lines":
		return o.setLines(value)
	case "since", "until":
		t, err := timespan.ParseTimestamp(value, now())
		if err != nil {
			return usageError(fmt.Sprintf("Failed to parse timestamp: %s", value))
		}
		us := uint64(max(t.UnixMicro(), 1))
		if name == "since" {
			o.since, o.sinceSet = us, true
		} else {
			o.until, o.untilSet = us, true
		}
	case "output":
		if !slices.Contains(outputModes, value) {
			return usageError("Unknown output format '" + value + "'.")
		}
		o.output = value
		if slices.Contains(quietModes, value) {
			o.quiet = true
		}
	case "output-fields":
		o.fields = append(o.fields, strings.Split(value, ",")...)
	case "boot":
		o.boot, o.bootID, o.bootOffset = true, "", 0
		if value != noArgument {
			id, offset, all, ok := parseBootDescriptor(value)
			if !ok {
				return usageError(fmt.Sprintf("Failed to parse boot descriptor '%s'", value))
			}
			o.boot, o.bootID, o.bootOffset = !all, id, offset
		}
	case "all":
		o.all = true
	case "follow":
		o.follow = true
	case "reverse":
		o.reverse = true
	case "catalog":
		o.catalog = true
	case "pager-end":
		// No pager to jump to the end of: the end is what is shown.
		if o.lines == linesDefault {
			o.lines = 1000
		}
		o.boot = true
	case "quiet":
		o.quiet = true
	case "no-tail":
		o.noTail = true
	case "utc":
		o.utc = true
	case "no-hostname":
		o.noHostname = true
	case "list-boots", "disk-usage":
		o.action = name
	case "vacuum-size":
		n, err := unit.ParseSize(value, 1024)
		if err != nil {
			return usageError("Failed to parse vacuum size: " + value)
		}
		o.vacuum.MaxBytes, o.action = n, "vacuum"
	case "vacuum-time":
		d, err := timespan.Parse(value)
		if err != nil {
			return usageError("Failed to parse vacuum time: " + value)
		}
		o.vacuumTime, o.action = d, "vacuum"
	}
	return nil
}

// vacuumJournal deletes the journal's oldest entries, through the
// daemon, or in its database when none runs, as journalctl --vacuum-size=
// and --vacuum-time= remove the oldest journal files.
func (o *journalOptions) vacuumJournal(ctx context.Context, c *cli, src *journalSource) int {
	if o.vacuumTime > 0 {
		o.vacuum.Before = uint64(max(now().UnixMicro()-int64(o.vacuumTime), 1))
	}
	direct, err := src.direct()
	if err != nil {
		return src.failed(c, "vacuum the journal", err)
	}
	var done api.Vacuumed
	if err = api.ErrNoDaemon; !direct {
		done, err = src.client.VacuumJournal(ctx, o.vacuum)
	}
	if _, statErr := os.Stat(src.path); errors.Is(err, api.ErrNoDaemon) && statErr == nil {
		// The daemon's alone while it runs; none does.
		var st *store.Store
		if err = src.unheld(); err != nil {
			return src.failed(c, "vacuum the journal", err)
		}
		if st, err = store.Open(ctx, src.path); err == nil {
			done, err = manager.VacuumJournal(ctx, st, filepath.Dir(src.path), o.vacuum, math.MaxInt64)
			st.Close()
		}
		if err != nil {
			err = errStore{err}
		}
	}
	if err != nil {
		return src.failed(c, "vacuum the journal", err)
	}
	if !o.quiet {
		// Logged, as journal_directory_vacuum() logs it: on standard error.
		fmt.Fprintf(c.stderr, "Vacuuming done, freed %s of archived journals from %s.\n", formatBytes(done.Freed), done.Dir)
	}
	return 0
}

// setLines reads -n's argument: all, N from the end, or +N from the
// start (systemd 255's form).
func (o *journalOptions) setLines(value string) error {
	o.oldest = false
	switch {
	case value == noArgument:
		o.lines = 10
		return nil
	case value == "all":
		o.lines = linesAll
		return nil
	}
	// As parse_lines, with safe_atoi's numbers: "010" is 8.
	digits, oldest := strings.CutPrefix(value, "+")
	n, err := unit.SafeAtoi(digits)
	if err != nil || n < 0 {
		return usageError("Failed to parse lines '" + value + "'")
	}
	o.lines, o.oldest = n, oldest
	return nil
}

// check checks the options together, and draws what they imply, as the
// end of journalctl's parse_argv.
func (o *journalOptions) check() error {
	if o.noTail {
		o.lines = linesAll
	}
	if o.follow && !o.sinceSet && o.lines == linesDefault {
		o.lines = 10
	}
	if o.follow && !o.boot {
		o.boot, o.bootID, o.bootOffset = true, "", 0
	}
	switch {
	case o.sinceSet && o.untilSet && o.since > o.until:
		return errors.New("--since= must be before --until=.")
	case o.follow && o.reverse:
		return errors.New("Please specify either --reverse= or --follow=, not both.")
	case o.lines >= 0 && o.oldest && (o.reverse || o.follow):
		return errors.New("--lines=+N is unsupported when --reverse or --follow is specified.")
	}
	if slices.Contains(o.units, "") || slices.Contains(o.userUnits, "") {
		// No name mangles an empty one into a unit's.
		return errors.New("Failed to add filter for units: Invalid argument")
	}
	if len(o.units) > 0 && o.user && !o.system {
		// --user with --unit= is --user-unit=, as journalctl takes it.
		o.userUnits, o.units = append(o.userUnits, o.units...), nil
	}
	if len(o.userUnits) > 0 && !o.system {
		// The user's units are the user's daemon's.
		o.user = true
	}
	if o.pattern != "" {
		re, err := compilePattern(o.pattern, o.caseSensitive)
		if err != nil {
			return err
		}
		o.pattern = re.String()
		// The last N matches are found from the end: journalctl then
		// shows them newest first.
		if o.lines >= 0 && !o.oldest && !o.follow {
			o.reverse = true
		}
	}
	return nil
}

// parsePriorities reads -p: a level, for it and the more important
// ones, or a range "FROM..TO", either way round.
func parsePriorities(s string) (uint8, error) {
	from, to, isRange := strings.Cut(s, "..")
	if !isRange {
		p, ok := unit.ParseLogLevel(s)
		if !ok {
			return 0, usageError("Unknown log level " + s)
		}
		return uint8(1<<(p+1) - 1), nil
	}
	a, ok1 := unit.ParseLogLevel(from)
	b, ok2 := unit.ParseLogLevel(to)
	if !ok1 || !ok2 {
		return 0, usageError("Failed to parse log level range " + s)
	}
	a, b = min(a, b), max(a, b)
	return uint8(1<<(b+1) - 1<<a), nil
}

// compilePattern compiles -g's pattern, case-insensitive unless it has
// capitals or --case-sensitive says otherwise, as journalctl's
// pattern_compile_and_log; its errors are PCRE2's words for them.
func compilePattern(pattern string, caseSensitive *bool) (*regexp.Regexp, error) {
	insensitive := !strings.ContainsFunc(pattern, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if caseSensitive != nil {
		insensitive = !*caseSensitive
	}
	if insensitive {
		pattern = "(?i)" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		why := err.Error()
		if se, ok := errors.AsType[*syntax.Error](err); ok {
			why = pcreMessages[se.Code]
			if why == "" {
				why = se.Code.String()
			}
		}
		return nil, fmt.Errorf("Bad pattern \"%s\": %s", strings.TrimPrefix(pattern, "(?i)"), why)
	}
	return re, nil
}

// pcreMessages are PCRE2's messages for the mistakes Go's regexp names.
var pcreMessages = map[syntax.ErrorCode]string{
	syntax.ErrMissingParen:          "missing closing parenthesis",
	syntax.ErrUnexpectedParen:       "unmatched closing parenthesis",
	syntax.ErrMissingBracket:        "missing terminating ] for character class",
	syntax.ErrMissingRepeatArgument: "quantifier does not follow a repeatable item",
	syntax.ErrTrailingBackslash:     "\\ at end of pattern",
	syntax.ErrInvalidCharRange:      "range out of order in character class",
	syntax.ErrInvalidRepeatSize:     "number too big in {} quantifier",
}

// query makes the query the options select, with the units named and
// those the patterns match among the journal's; false if patterns
// matched none and no unit was named, as journalctl's add_units refuses.
func (o *journalOptions) query(ctx context.Context, c *cli, src *journalSource) (api.JournalQuery, bool, error) {
	q := api.JournalQuery{Since: o.since, Until: o.until, Identifiers: o.identifiers, Priorities: o.priorities, Grep: o.pattern}
	if o.boot {
		boot, err := o.selectBoot(ctx, src)
		if err != nil {
			return q, false, err
		}
		q.Boot = boot
	}
	switch {
	case o.lines > 0 && o.oldest:
		q.First = o.lines
	case o.lines > 0:
		q.Last = o.lines
	}
	var patterns []string
	for _, name := range append(slices.Clip(o.units), o.userUnits...) {
		u, notice, _ := mangleUnitName(name, "", ".service", true)
		if notice != "" && !o.quiet {
			c.errorf("%s", notice)
		}
		if isGlob(u) {
			patterns = append(patterns, u)
		} else {
			q.Units = append(q.Units, u)
		}
	}
	if len(patterns) == 0 {
		return q, true, nil
	}
	units, err := src.JournalUnits(ctx)
	if err = tellPartial(c, err, nil); err != nil {
		return q, false, err
	}
	for _, u := range units {
		if slices.ContainsFunc(patterns, func(p string) bool { return fnmatch(p, u) }) && !slices.Contains(q.Units, u) {
			q.Units = append(q.Units, u)
		}
	}
	return q, len(q.Units) > 0, nil
}

// tellMissing names on standard error the nodes of a cluster that did
// not answer, and why, but those told already, if told keeps them.
func tellMissing(c *cli, j api.ClusterJournal, told map[string]bool) {
	for _, node := range j.Missing {
		if !told[node] {
			c.errorf("Node %s did not answer (%s); its lines are missing.", node, j.Why[node])
		}
		if told != nil {
			told[node] = true
		}
	}
}

// tellPartial says on standard error that an answer is in part, where
// err is an api.PartialError, which says why and what is shown, unless
// told keeps that it was told (under "", no node's name); it returns err
// otherwise.
func tellPartial(c *cli, err error, told map[string]bool) error {
	p, ok := errors.AsType[*api.PartialError](err)
	if !ok {
		return err
	}
	if !told[""] {
		c.errorf("Failed to read %s.", p)
	}
	if told != nil {
		told[""] = true
	}
	return nil
}

// followJournal prints what the query selects, and then what comes
// after, until interrupted, as journalctl -f: on a node of a cluster,
// of every live node, each followed from its last line shown.
func (o *journalOptions) followJournal(ctx context.Context, c *cli, src *journalSource, q api.JournalQuery) int {
	p := o.printer(c)
	shown := o.lines != 0
	if !shown {
		// -n 0: from the end, of which nothing is shown.
		q.Last = 1
	}
	told := map[string]bool{}
	q.Cursors = map[string]int64{}
	for {
		j, err := src.ClusterJournal(ctx, q)
		if err = tellPartial(c, err, told); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			return src.failed(c, "read the journal", err)
		}
		tellMissing(c, j, told)
		if shown {
			p.print(j.Entries)
		}
		maps.Copy(q.Cursors, j.Cursors)
		followFromEnd(q.Cursors, j.Missing)
		q.Last, q.First, shown = 0, 0, true
		// Asks for what came after the last entry shown, as often as
		// journalctl would wake for new entries.
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(followInterval):
		}
	}
}

// followFromEnd has the nodes missing that have no cursor followed from
// their end once they answer, as the others are: not from their first
// line.
func followFromEnd(cursors map[string]int64, missing []string) {
	for _, node := range missing {
		if _, ok := cursors[node]; !ok {
			cursors[node] = -1
		}
	}
}

// followInterval is how often -f asks for new entries.
const followInterval = 100 * time.Millisecond

// optionalArguments rewrites the optional arguments of -n and -b as
// getopt reads them for journalctl ("n::", "b::") into "--lines=…" and
// "--boot=…", which pflag reads so too: the rest of a cluster ("-n5",
// "-xen5"), or else the word after the option, when it is one the
// option takes ("5", "+5" or "all"; "-1" or a boot ID). The argument
// of another option is left as it is, whatever it looks like ("-u -n5").
func optionalArguments(fs *pflag.FlagSet, args []string) []string {
	optional := map[byte]struct {
		long string
		word func(string) bool
	}{'n': {"lines", linesWord}, 'b': {"boot", bootWord}}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if name, ok := strings.CutPrefix(a, "--"); ok {
			out = append(out, a)
			for _, opt := range optional {
				if name == opt.long && i+1 < len(args) && opt.word(args[i+1]) {
					out[len(out)-1] = a + "=" + args[i+1]
					i++
				}
			}
			if takesNext(fs, a) && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		// A cluster of short options: up to the first that takes an
		// argument, optional or required.
		j := 1
		for ; j < len(a); j++ {
			if _, ok := optional[a[j]]; ok {
				break
			}
			if f := fs.ShorthandLookup(a[j : j+1]); f != nil && f.NoOptDefVal == "" {
				break
			}
		}
		opt, isOptional := optional[a[min(j, len(a)-1)]]
		switch {
		case j == len(a):
			out = append(out, a)
		case !isOptional:
			out = append(out, a)
			if j == len(a)-1 && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
		default:
			if j > 1 {
				out = append(out, a[:j])
			}
			if rest := a[j+1:]; rest != "" {
				out = append(out, "--"+opt.long+"="+rest)
			} else if i+1 < len(args) && opt.word(args[i+1]) {
				out = append(out, "--"+opt.long+"="+args[i+1])
				i++
			} else {
				out = append(out, "--"+opt.long)
			}
		}
	}
	return out
}

// linesWord reports whether -n takes the word after it as its argument.
func linesWord(w string) bool {
	if w == "all" {
		return true
	}
	n, err := unit.SafeAtoi(strings.TrimPrefix(w, "+"))
	return err == nil && n >= 0 && !strings.HasPrefix(w, "-")
}

// bootWord reports whether -b takes the word after it as its argument.
func bootWord(w string) bool {
	_, _, _, ok := parseBootDescriptor(w)
	return ok
}

// parseBootDescriptor reads -b's argument as journalctl's
// parse_boot_descriptor: "all", a boot ID, an offset ("-1", "+2", "0"),
// or a boot ID and an offset from it.
func parseBootDescriptor(s string) (id string, offset int, all, ok bool) {
	if s == "all" {
		return "", 0, true, true
	}
	if len(s) >= 32 {
		if _, err := hex.DecodeString(s[:32]); err == nil {
			id, s = strings.ToLower(s[:32]), s[32:]
		}
		if s != "" && s[0] != '-' && s[0] != '+' {
			return "", 0, false, false
		}
		if s == "" {
			return id, 0, false, true
		}
	}
	n, err := strconv.Atoi(s)
	return id, n, false, err == nil
}

// selectBoot is the boot -b selects: the current one for none, else
// one of the journal's by its ID and an offset from it, or by an offset
// from the last (0 and below) or from the first (1 and above), as
// journalctl's get_boots counts them. With -D, none is the journal's
// last, as journalctl's add_boot takes it for a directory's journal,
// which may be another machine's or boot's.
func (o *journalOptions) selectBoot(ctx context.Context, src *journalSource) (string, error) {
	if o.bootID == "" && o.bootOffset == 0 && o.dir == "" {
		return clock.BootID(), nil
	}
	boots, err := src.JournalBoots(ctx)
	if err != nil {
		return "", err
	}
	i := -1
	switch {
	case o.bootID != "":
		if at := slices.IndexFunc(boots, func(b api.Boot) bool { return b.ID == o.bootID }); at >= 0 {
			i = at + o.bootOffset
		}
	case o.bootOffset > 0:
		i = o.bootOffset - 1
	default:
		i = len(boots) - 1 + o.bootOffset
	}
	if i < 0 || i >= len(boots) {
		which := fmt.Sprintf("%+d", o.bootOffset)
		if o.bootID != "" {
			which = o.bootID
		}
		return "", usageError(fmt.Sprintf("Data from the specified boot (%s) is not available: No such boot ID in journal", which))
	}
	return boots[i].ID, nil
}

// fnmatch is fnmatch(3) with FNM_NOESCAPE, as journalctl matches unit
// patterns: "*", "?" and bracket expressions ("[a-c]", "[!x]" or "[^x]");
// a backslash is itself.
func fnmatch(pattern, name string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(name); i >= 0; i-- {
				if fnmatch(pattern[1:], name[i:]) {
					return true
				}
			}
			return false
		case '?':
			if name == "" {
				return false
			}
			pattern, name = pattern[1:], name[1:]
		case '[':
			if end, ok := bracketEnd(pattern); ok {
				if name == "" || !bracketMatch(pattern[1:end], name[0]) {
					return false
				}
				pattern, name = pattern[end+1:], name[1:]
				continue
			}
			fallthrough // a "[" that opens nothing is itself
		default:
			if name == "" || name[0] != pattern[0] {
				return false
			}
			pattern, name = pattern[1:], name[1:]
		}
	}
	return name == ""
}

// bracketEnd is the index of the "]" that ends the bracket expression
// pattern begins with: a "]" first in it, after any "!" or "^", is a
// member.
func bracketEnd(pattern string) (int, bool) {
	i := 1
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		i++
	}
	if i < len(pattern) && pattern[i] == ']' {
		i++
	}
	if j := strings.IndexByte(pattern[i:], ']'); j >= 0 {
		return i + j, true
	}
	return 0, false
}

// bracketMatch tells whether b is in the set of a bracket expression's
// inside.
func bracketMatch(set string, b byte) bool {
	negate := len(set) > 0 && (set[0] == '!' || set[0] == '^')
	if negate {
		set = set[1:]
	}
	in := false
	for i := 0; i < len(set); i++ {
		if i+2 < len(set) && set[i+1] == '-' {
			in = in || set[i] <= b && b <= set[i+2]
			i += 2
			continue
		}
		in = in || set[i] == b
	}
	return in != negate
}

// A journalSource reads the journal through the daemon, or, when none
// listens, from the database it left, opened read-only for each
// request, so that a daemon started meanwhile finds it free. A state
// directory named with -D is read itself, unless a daemon holds its
// database: the daemon that listens is not that directory's but its
// own, as journalctl -D reads the directory, not journald.
type journalSource struct {
	client *api.Client
	path   string // the database
	opts   *daemonOptions
	dir    string // -D's directory, "" for none
}

func (o *journalOptions) source() *journalSource {
	return newSource(&o.daemonOptions, o.dir)
}

// newSource is the source of the daemon of the options, whose state
// directory is dir ("" for the default).
func newSource(d *daemonOptions, dir string) *journalSource {
	if dir == "" {
		scope := unit.SystemScope
		if d.user {
			scope = unit.UserScope
		}
		return &journalSource{client: d.client(), path: manager.StorePath(defaultStateDir(scope)), opts: d}
	}
	return &journalSource{client: d.client(), path: manager.StorePath(dir), opts: d, dir: dir}
}

// direct reports whether to read the database itself, asking no daemon:
// when -D names a directory whose database no daemon holds. A directory
// that is not there is an error, and a database that is not there none
// to read.
func (s *journalSource) direct() (bool, error) {
	if s.dir == "" {
		return false, nil
	}
	if _, err := os.Stat(s.dir); err != nil {
		return true, errStore{err}
	}
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return true, errNoJournal{errStore{err}}
	}
	held, err := store.Held(s.path)
	if err != nil {
		return true, errStore{err}
	}
	return !held, nil
}

// read runs f with the daemon's answers, or the database's.
func read[T any](ctx context.Context, s *journalSource, daemon func(*api.Client) (T, error), stored func(*store.Store) (T, error)) (T, error) {
	var v T
	direct, err := s.direct()
	if err != nil {
		return v, err
	}
	if !direct {
		v, err = daemon(s.client)
		if !errors.Is(err, api.ErrNoDaemon) {
			return v, err
		}
		if _, statErr := os.Stat(s.path); statErr != nil {
			return v, errNoJournal{err}
		}
		if err := s.unheld(); err != nil {
			return v, err
		}
	}
	st, err := store.OpenReadOnly(ctx, s.path)
	if err != nil {
		return v, errStore{err}
	}
	defer st.Close()
	v, err = stored(st)
	if err != nil {
		err = errStore{err}
	}
	return v, err
}

// unheld checks, when no daemon answers, that none holds the database
// either: one that listens elsewhere (another $XDG_RUNTIME_DIR, as in
// another login) would have the reader wait for its lock, and fail.
func (s *journalSource) unheld() error {
	held, err := store.Held(s.path)
	if err == nil && held {
		err = fmt.Errorf("a running daemon holds it, and none listens at %s", s.client.Socket)
	}
	if err != nil {
		return errStore{err}
	}
	return nil
}

// errNoJournal is no daemon and no database to read: journalctl finds
// no journal files, which it says and reads as none (see journalEmpty).
type errNoJournal struct{ error }

func (e errNoJournal) Unwrap() error { return e.error }

// errStore is a failure to read the database, not the daemon.
type errStore struct{ error }

func (e errStore) Unwrap() error { return e.error }

// ClusterJournal returns the entries the query selects: on a node of a
// cluster, those of every live node, merged by time, with the nodes that
// did not answer.
func (s *journalSource) ClusterJournal(ctx context.Context, q api.JournalQuery) (api.ClusterJournal, error) {
	return read(ctx, s, func(c *api.Client) (api.ClusterJournal, error) { return c.ClusterJournal(ctx, q) },
		func(st *store.Store) (api.ClusterJournal, error) { return manager.ReadNodeJournal(ctx, st, q, "") })
}

func (s *journalSource) JournalUnits(ctx context.Context) ([]string, error) {
	return read(ctx, s, func(c *api.Client) ([]string, error) { return c.JournalUnits(ctx) },
		func(st *store.Store) ([]string, error) { return st.JournalUnits(ctx) })
}

func (s *journalSource) JournalBoots(ctx context.Context) ([]api.Boot, error) {
	return read(ctx, s, func(c *api.Client) ([]api.Boot, error) { return c.JournalBoots(ctx) },
		func(st *store.Store) ([]api.Boot, error) { return manager.ReadJournalBoots(ctx, st) })
}

func (s *journalSource) Runs(ctx context.Context, unitName string, last int) ([]api.Run, error) {
	return read(ctx, s, func(c *api.Client) ([]api.Run, error) { return c.Runs(ctx, unitName, last) },
		func(st *store.Store) ([]api.Run, error) { return manager.ReadRuns(ctx, st, unitName, last) })
}

// failed reports a read that failed, of what, and returns the exit
// status.
func (s *journalSource) failed(c *cli, what string, err error) int {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		// A directory or database not there, or not to be read, as
		// journalctl says it of its directory.
		c.errorf("Failed to open %s: %s", pe.Path, errnoText(pe.Err))
		return 1
	}
	if _, ok := errors.AsType[errStore](err); ok {
		c.errorf("Failed to open %s: %v", s.path, strings.TrimPrefix(err.Error(), "store: "+s.path+": "))
		return 1
	}
	return s.opts.failed(c, s.client, what, err)
}

// diskUsage prints what the database's files take, as journalctl
// --disk-usage what the journal's files take.
func (o *journalOptions) diskUsage(c *cli, src *journalSource) int {
	if o.dir != "" {
		// As journalctl opens the directory first.
		if _, err := os.Stat(o.dir); err != nil {
			return src.failed(c, "read the journal", errStore{err})
		}
	}
	path := src.path
	var total int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if info, err := os.Stat(p); err == nil {
			total += info.Size()
		}
	}
	fmt.Fprintf(c.stdout, "Archived and active journals take up %s in the file system.\n", formatBytes(uint64(total)))
	return 0
}

// formatBytes is systemd's FORMAT_BYTES: powers of 1024, one digit
// after the point, and "B" for less than 1K.
func formatBytes(n uint64) string {
	suffixes := "EPTGMK"
	for i := range len(suffixes) {
		factor := uint64(1) << (10 * (6 - i))
		if n < factor {
			continue
		}
		var tenth uint64
		if i < len(suffixes)-1 {
			tenth = n / (factor >> 10) * 10 / 1024 % 10
		} else {
			tenth = n * 10 / factor % 10
		}
		return fmt.Sprintf("%d.%d%c", n/factor, tenth, suffixes[i])
	}
	return fmt.Sprintf("%dB", n)
}

// listBoots prints the boots the journal has entries of, oldest first,
// as journalctl --list-boots: the index (0 the last), the boot ID, and
// the first and last entries' times; -r the newest first.
func listBoots(c *cli, boots []api.Boot, o *journalOptions) {
	if len(boots) == 0 {
		return
	}
	var rows [][]string
	stamp := func(us uint64) string {
		return timespan.FormatTimestamp(time.UnixMicro(int64(us)).In(time.Local), timespan.Pretty)
	}
	for i, b := range boots {
		rows = append(rows, []string{strconv.Itoa(i - len(boots) + 1), b.ID, stamp(b.First), stamp(b.Last)})
	}
	if o.reverse {
		slices.Reverse(rows)
	}
	if !o.quiet {
		rows = append([][]string{{"IDX", "BOOT ID", "FIRST ENTRY", "LAST ENTRY"}}, rows...)
	}
	writeTable(c, rows, map[int]bool{0: true})
}
