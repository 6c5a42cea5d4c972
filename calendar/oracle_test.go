package calendar_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/timespan"
)

// oracleZones are the local zones the differential test runs in: UTC, plain
// one-hour DST, a negative UTC offset, half-hour DST, a quarter-hour offset
// that began with a 15-minute gap, negative DST, and DST that began at
// midnight.
var oracleZones = []string{
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Asia/Kathmandu", "Europe/Dublin", "America/Sao_Paulo",
}

// oracleIterations is the number of elapses compared per expression.
const oracleIterations = 5

// maxReports bounds the mismatches reported in full per zone; the others
// are counted.
const maxReports = 25

// TestOracleCalendar compares generated expressions with systemd-analyze
// calendar: the verdict (accepted, or rejected with EINVAL, ERANGE or
// ENOBUFS), the normalized form, and five elapses, both as printed in the
// local zone and in UTC. Each zone runs as the local zone in its own
// subtest, from random bases and from bases next to the zone's real DST
// changes. One systemd-analyze process answers for all the expressions of a
// zone and base, except for expressions ending in one of the zone's
// abbreviations (see runBatch).
//
// A mismatch is reported with the command line that replays it.
func TestOracleCalendar(t *testing.T) {
	oracle.Path(t)
	seed := oracle.Seed(t)
	var cases, elapses atomic.Int64
	t.Run("zone", func(t *testing.T) {
		for i, name := range oracleZones {
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := newOracleRun(t, name, loc, rand.New(rand.NewPCG(seed, uint64(i))))
				for _, b := range r.batches() {
					r.runBatch(b.base, b.specs)
				}
				if r.mismatches > maxReports {
					t.Errorf("%d more mismatches", r.mismatches-maxReports)
				}
				t.Logf("%d cases (%d rejected, %d never, %d failing elapses), %d elapses, %d mismatches, %d differences of process state",
					r.cases, r.rejected, r.never, r.failed, r.elapses, r.mismatches, r.stateDiffs)
				cases.Add(r.cases)
				elapses.Add(r.elapses)
			})
		}
	})
	t.Logf("%d cases (expression, zone and base), %d elapses compared", cases.Load(), elapses.Load())
}

// An oracleRun is the differential test in one local zone.
type oracleRun struct {
	t    *testing.T
	zone string
	loc  *time.Location
	rng  *rand.Rand
	gen  *specGen

	cases, elapses int64
	mismatches     int
	stateDiffs     int // differences that a process per elapse removes

	// What systemd said, to show what the cases covered.
	rejected, never, failed int
}

func newOracleRun(t *testing.T, zone string, loc *time.Location, rng *rand.Rand) *oracleRun {
	return &oracleRun{
		t: t, zone: zone, loc: loc, rng: rng,
		gen: &specGen{rng: rng, abbrevs: zoneAbbreviations(loc)},
	}
}

type oracleBatch struct {
	base  time.Time
	specs []string
}

// dstSpecs meet daylight-saving changes in interesting ways: every hour,
// every few minutes or seconds, and daily at times that fall into the gaps
// and overlaps of the zones above.
var dstSpecs = []string{
	"minutely", "hourly", "daily", "weekly", "monthly",
	"*:0/15", "*:0/30", "*:0/5", "*:*:0/20", "*:*:*", "*:*:00/7", "*:30", "*:45", "*:*:59.5",
	"*-*-* 00:00", "*-*-* 00:10", "*-*-* 00:15", "*-*-* 00:30", "*-*-* 01:00", "*-*-* 01:30",
	"*-*-* 01:59:59", "*-*-* 02:00", "*-*-* 02:15", "*-*-* 02:30", "*-*-* 03:00", "*-*-* 03:30",
	"*-*-* 23:30", "*-*-* 23:59:59", "*-*-* 0..3:0/10", "*-*-* 01,02,03:00,30", "*-*-* 00/2:00",
	"*-*-* 00/3:00", "*-*-* 0/3:0/20", "Sun *-*-* 00:00",
	"Sun *-*-* 01:00", "Sun *-*-* 02:00", "Sat,Sun 00:00", "*-*~01 02:30", "*-*-01 00:00",
	"*-*-* *:59:59", "*-*-* *:00:00.5/0.25",
}

// batches returns the bases, each with the expressions to ask about.
func (r *oracleRun) batches() []oracleBatch {
	g := r.gen
	var bs []oracleBatch
	// Random instants from 1970 to 2150.
	lo, hi := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 16 {
		base := time.Unix(lo+r.rng.Int64N(hi-lo), 0)
		if r.rng.IntN(2) == 0 {
			base = base.Add(time.Duration(r.rng.IntN(1e6)) * time.Microsecond)
		}
		bs = append(bs, oracleBatch{base, g.many(250, g.expression)})
	}
	// The start of systemd's clock, where local time may still be in 1969;
	// the end of the search at 2199; the last instant systemd formats, and
	// the first it refuses to compute from.
	bs = append(bs,
		oracleBatch{time.Unix(0, 0), append(g.many(60, g.expression), g.many(40, g.endOfMonth)...)},
		oracleBatch{time.Unix(r.rng.Int64N(2*86400), 0), append(g.many(60, g.expression), g.many(40, g.endOfMonth)...)},
		oracleBatch{time.Date(2199, 12, 30, 0, 0, 0, 0, time.UTC).Add(r.duration(48 * time.Hour)), g.many(60, g.expression)},
		oracleBatch{timespan.MaxTimestamp, g.many(30, g.expression)},
		oracleBatch{timespan.MaxTimestamp.Add(time.Microsecond), g.many(30, g.expression)},
	)
	// Instants next to DST changes.
	for _, tr := range r.pickTransitions() {
		for _, base := range r.around(tr) {
			specs := slices.Clone(dstSpecs)
			specs = append(specs, g.many(80, g.clock)...)
			specs = append(specs, g.many(40, g.expression)...)
			bs = append(bs, oracleBatch{base, specs})
		}
	}
	return bs
}

// A transition is a change of the UTC offset, abbreviation or DST flag.
type transition struct {
	at            time.Time
	before, after int // UTC offsets in seconds
}

// zoneTransitions returns the changes of loc from 1970 to 2150.
func zoneTransitions(loc *time.Location) []transition {
	var trs []transition
	end := time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)
	t := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).In(loc)
	for t.Before(end) {
		_, next := t.ZoneBounds()
		if next.IsZero() {
			break
		}
		// ZoneBounds reports the end of a year of a zone's rule as a
		// bound, sometimes an empty one; step over those.
		if !next.After(t) {
			next = t.Add(time.Second)
		}
		prev := next.Add(-time.Second)
		n1, o1 := prev.Zone()
		n2, o2 := next.Zone()
		if n1 != n2 || o1 != o2 || prev.IsDST() != next.IsDST() {
			trs = append(trs, transition{next, o1, o2})
		}
		t = next
	}
	return trs
}

// pickTransitions returns the first two changes after 1970, the last two
// before 2025 (Sao Paulo's last DST began at midnight in 2018), those of
// the years 2023 and 2024, and a random choice of the others.
func (r *oracleRun) pickTransitions() []transition {
	all := zoneTransitions(r.loc)
	past, _ := slices.BinarySearchFunc(all, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), func(tr transition, t time.Time) int {
		return tr.at.Compare(t)
	})
	var picked []transition
	for i, tr := range all {
		if y := tr.at.Year(); i < 2 || i == past-1 || i == past-2 || y == 2023 || y == 2024 {
			picked = append(picked, tr)
		}
	}
	for range min(8, len(all)) {
		tr := all[r.rng.IntN(len(all))]
		if !slices.Contains(picked, tr) {
			picked = append(picked, tr)
		}
	}
	return picked
}

// around returns bases next to a change: just before it, a little before
// it, a day before it, after it, and, where clocks go back, within the
// repeated time.
func (r *oracleRun) around(tr transition) []time.Time {
	bases := []time.Time{
		tr.at.Add(-time.Microsecond),
		tr.at.Add(-r.duration(3 * time.Hour)),
		tr.at.Add(-27*time.Hour + r.duration(6*time.Hour)),
		tr.at.Add(r.duration(2 * time.Hour)),
	}
	if tr.after < tr.before {
		bases = append(bases, tr.at.Add(r.duration(time.Duration(tr.before-tr.after)*time.Second)))
	}
	return bases
}

// duration returns a random duration below d, in whole seconds or, one
// time in four, in microseconds.
func (r *oracleRun) duration(d time.Duration) time.Duration {
	v := time.Duration(r.rng.Int64N(int64(d)))
	if r.rng.IntN(4) == 0 {
		return v.Truncate(time.Microsecond)
	}
	return v.Truncate(time.Second)
}

// runBatch asks systemd-analyze about specs from base and compares.
//
// The C library keeps the local abbreviations it knows (tzname) as global
// state, and changes them to those of whatever time it last converted: in
// one process, an expression ending in "IST" in Dublin or "+0530" in
// Kathmandu reads differently once earlier expressions have elapsed in
// another era. Expressions ending in any abbreviation the zone has used
// therefore get a process of their own, where tzname is what a freshly
// started systemd sees.
func (r *oracleRun) runBatch(base time.Time, specs []string) {
	var shared, alone []string
	for _, spec := range specs {
		if r.gen.namesAbbreviation(spec) {
			alone = append(alone, spec)
		} else {
			shared = append(shared, spec)
		}
	}
	for i, want := range oracle.CalendarBatchAt(r.t, r.zone, base, oracleIterations, shared) {
		r.compare(shared[i], base, want)
	}
	for _, spec := range alone {
		r.compare(spec, base, oracle.CalendarBatchAt(r.t, r.zone, base, oracleIterations, []string{spec})[0])
	}
}

func (r *oracleRun) compare(spec string, base time.Time, want oracle.Calendar) {
	r.t.Helper()
	r.cases++
	switch {
	case want.Err != "":
		r.rejected++
	case want.NextErr != "":
		r.failed++
	case want.Never:
		r.never++
	}
	msg, e := r.diff(spec, base, want)
	if msg == "" {
		return
	}
	if e != nil && r.freshAgrees(spec, base, e) {
		// glibc's mktime starts from the UTC offset of its previous call,
		// which in one process is the previous elapse or expression. Where
		// two offsets share a DST flag (London's end of British Standard
		// Time in 1971), that picks the side of an overlap. A process per
		// elapse, like a fresh Resolver per Next, starts from offset 0.
		r.stateDiffs++
		if r.stateDiffs <= maxReports {
			r.t.Logf("%s\nsystemd agrees when each elapse is computed by a new process", msg)
		}
		return
	}
	r.mismatches++
	if r.mismatches <= maxReports {
		r.t.Errorf("%s\nreplay: TZ=:%s systemd-analyze calendar --iterations=%d --base-time=@%s -- %s",
			msg, r.zone, oracleIterations, unixString(base), strconv.Quote(spec))
	}
}

// freshAgrees reports whether systemd, asked afresh for each of our
// elapses from the one before, agrees with e.
func (r *oracleRun) freshAgrees(spec string, base time.Time, e *ourElapses) bool {
	for k := 0; k <= len(e.times) && k < oracleIterations; k++ {
		from := base
		if k > 0 {
			from = e.times[k-1]
		}
		want := oracle.CalendarBatchAt(r.t, r.zone, from, 1, []string{spec})[0]
		switch {
		case want.Err != "" || want.NextErr != "":
			return false
		case k == len(e.times):
			// We found no more elapses.
			return e.err == nil && want.Never
		case len(want.Elapses) != 1 || want.Elapses[0] != e.local[k]:
			return false
		case len(want.ElapsesUTC) == 1 && want.ElapsesUTC[0] != e.utc[k]:
			return false
		}
	}
	return true
}

// unixString formats t as systemd's "@SECONDS[.FRACTION]".
func unixString(t time.Time) string {
	if us := t.UnixMicro() % 1e6; us != 0 {
		return fmt.Sprintf("%d.%06d", t.Unix(), us)
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// ourElapses are the elapses we compute, up to oracleIterations.
type ourElapses struct {
	times      []time.Time
	local, utc []string // as systemd-analyze prints them
	never      bool     // no first elapse
	err        error    // an error other than ErrNever
}

func elapses(s *calendar.Spec, base time.Time) *ourElapses {
	var e ourElapses
	next := base
	for i := range oracleIterations {
		n, err := s.NextErr(next)
		if errors.Is(err, calendar.ErrNever) {
			e.never = i == 0
			break
		}
		if err != nil {
			e.err = err
			break
		}
		e.times = append(e.times, n)
		e.local = append(e.local, timespan.FormatTimestamp(n, timespan.Pretty))
		e.utc = append(e.utc, timespan.FormatTimestamp(n, timespan.UTC))
		next = n
	}
	return &e
}

// diff describes how our reading of spec differs from systemd's, or
// returns "". Where only the elapses differ, it returns ours too.
func (r *oracleRun) diff(spec string, base time.Time, want oracle.Calendar) (string, *ourElapses) {
	s, err := calendar.ParseInLocation(spec, r.loc)
	if err != nil {
		var pe *calendar.ParseError
		if !errors.As(err, &pe) {
			return fmt.Sprintf("Parse(%q) error is a %T, want *calendar.ParseError", spec, err), nil
		}
	}
	if got := errnoClass(err); got != want.Err {
		return fmt.Sprintf("Parse(%q) = %v\n    ours: %s\n systemd: %s", spec, err, orOK(got), orOK(want.Err)), nil
	}
	if err != nil {
		return "", nil
	}
	if want.NextErr == "" {
		if got := s.String(); got != want.Normalized {
			return fmt.Sprintf("Parse(%q).String()\n    ours: %s\n systemd: %s", spec, got, want.Normalized), nil
		}
		// systemd reads its normalized form back to itself.
		if s2, err := calendar.ParseInLocation(want.Normalized, r.loc); err != nil || s2.String() != want.Normalized {
			return fmt.Sprintf("Parse(%q) = %v, %v: the normalized form of %q does not read back", want.Normalized, s2, err, spec), nil
		}
	}

	e := elapses(s, base.In(r.loc))
	where := fmt.Sprintf("%q in %s from @%s (%s)", spec, r.zone, unixString(base), timespan.FormatTimestamp(base.In(r.loc), timespan.Pretty))
	if want.NextErr != "" {
		// systemd printed nothing but the error.
		if got := nextErrno(e.err); got != want.NextErr {
			return fmt.Sprintf("%s: elapses\n    ours: %s (%v)\n systemd: %s", where, strings.Join(e.local, "; "), e.err, want.NextErr), nil
		}
		return "", nil
	}
	if e.err != nil {
		return fmt.Sprintf("%s: elapses\n    ours: %s, then %v\n systemd: %s", where, strings.Join(e.local, "; "), e.err, showElapses(want.Elapses, want.Never)), nil
	}
	r.elapses += int64(len(e.local))
	if e.never != want.Never || !slices.Equal(e.local, want.Elapses) {
		return fmt.Sprintf("%s: elapses\n    ours: %s\n systemd: %s", where, showElapses(e.local, e.never), showElapses(want.Elapses, want.Never)), e
	}
	if r.zone != "UTC" && len(want.ElapsesUTC) != len(want.Elapses) {
		r.t.Fatalf("oracle: %s: %d elapses and %d in UTC", where, len(want.Elapses), len(want.ElapsesUTC))
	}
	if len(want.ElapsesUTC) > 0 && !slices.Equal(e.utc, want.ElapsesUTC) {
		return fmt.Sprintf("%s: elapses in UTC\n    ours: %s\n systemd: %s", where, strings.Join(e.utc, "; "), strings.Join(want.ElapsesUTC, "; ")), e
	}
	return "", nil
}

func showElapses(e []string, never bool) string {
	if never {
		return "never"
	}
	if len(e) == 0 {
		return "(none)"
	}
	return strings.Join(e, "; ")
}

func orOK(errno string) string {
	if errno == "" {
		return "accepted"
	}
	return errno
}

// errnoClass returns the errno systemd reports for a parse error like err.
func errnoClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, calendar.ErrRange):
		return oracle.ERANGE
	case errors.Is(err, calendar.ErrTooLong):
		return oracle.ENOBUFS
	}
	return oracle.EINVAL
}

// nextErrno returns the errno systemd reports for an elapse that fails
// with err.
func nextErrno(err error) string {
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, calendar.ErrLoop):
		return oracle.EDEADLK
	case errors.Is(err, calendar.ErrLate):
		return oracle.EINVAL
	}
	return err.Error()
}

// zoneAbbreviations returns the abbreviations loc has used since 1900,
// starting with the pair the C library starts with (see [timespan.Rule]).
func zoneAbbreviations(loc *time.Location) []string {
	rule := timespan.Rule(loc)
	names := []string{rule.Std}
	if rule.DST != rule.Std {
		names = append(names, rule.DST)
	}
	t := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).In(loc)
	end := time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)
	for t.Before(end) {
		if name, _ := t.Zone(); !slices.Contains(names, name) {
			names = append(names, name)
		}
		_, next := t.ZoneBounds()
		if next.IsZero() {
			break
		}
		if !next.After(t) {
			next = t.Add(time.Second)
		}
		t = next
	}
	return names
}

// A specGen generates calendar expressions from the whole grammar, and
// mistakes.
type specGen struct {
	rng     *rand.Rand
	abbrevs []string // the local zone's abbreviations, the current ones first
}

func (g *specGen) n(k int) int             { return g.rng.IntN(k) }
func (g *specGen) chance(p float64) bool   { return g.rng.Float64() < p }
func (g *specGen) pick(s ...string) string { return s[g.n(len(s))] }
func (g *specGen) between(lo, hi int) int  { return lo + g.n(hi-lo+1) }
func (g *specGen) many(k int, f func() string) []string {
	s := make([]string, k)
	for i := range s {
		s[i] = f()
	}
	return s
}

// namesAbbreviation reports whether spec ends in a space and one of the
// zone's abbreviations, in any case, but not in " UTC", which systemd
// checks first.
func (g *specGen) namesAbbreviation(spec string) bool {
	if hasSuffixFold(spec, " UTC") {
		return false
	}
	for _, name := range g.abbrevs {
		if hasSuffixFold(spec, " "+name) {
			return true
		}
	}
	return false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// maxSpecLen bounds the generated expressions: systemd cuts its error
// messages off at 2 KiB, and with them the errno.
const maxSpecLen = 1900

// expression returns an expression of any kind, one in five of them
// mutated.
func (g *specGen) expression() string {
	for {
		if s := g.anyExpression(); len(s) <= maxSpecLen {
			return s
		}
	}
}

func (g *specGen) anyExpression() string {
	var s string
	switch x := g.n(100); {
	case x < 6:
		s = g.shorthand()
	case x < 11:
		s = g.epoch()
	case x < 13:
		s = g.longList()
	case x < 15:
		s = g.pick(oddities...)
	case x < 19:
		s = g.endOfMonth()
	case x < 28:
		s = g.clock()
	default:
		s = g.body()
	}
	s += g.zone()
	for g.chance(0.2) {
		s = g.mutate(s)
	}
	return s
}

// recase returns s as it is, in lower or upper case, or in mixed case.
func (g *specGen) recase(s string) string {
	switch g.n(6) {
	case 0:
		return strings.ToLower(s)
	case 1:
		return strings.ToUpper(s)
	case 2:
		b := []byte(s)
		for i := range b {
			if g.n(2) == 0 {
				b[i] = strings.ToUpper(string(b[i]))[0]
			} else {
				b[i] = strings.ToLower(string(b[i]))[0]
			}
		}
		return string(b)
	}
	return s
}

var shorthandNames = []string{
	"minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "anually",
	"quarterly", "semiannually", "semi-annually", "biannually", "bi-annually",
}

func (g *specGen) shorthand() string {
	s := g.recase(g.pick(shorthandNames...))
	switch g.n(16) {
	case 0:
		s += " " + g.timeOfDay()
	case 1:
		s = " " + s
	case 2:
		s += " "
	case 3:
		s = s[:len(s)-1]
	case 4:
		s = g.weekdays() + " " + s
	}
	return s
}

// oddities are short texts at the edges of the grammar.
var oddities = []string{
	"", " ", "  ", "\t", "*", "**", "-", "~", ":", "::", "..", ",", "@", "UTC", "utc", " UTC", "CET", "GMT",
	"IST", "+0545", "-03", "Mon", "mon,", "Mon,,", "now", "today", "tomorrow", "+1h", "1", "7", "1,2,3",
	"*-*", "*~*", "*:*", "*:*:*", "*-*-*", "*-*-*-*", "*:*:*:*", "1-1", "1~1", "1:1", "1:1:1",
	"*-*-* *:*:*.000001", "0:0:0.0000005", "0:0:0/0.0000005", "2199-12-31 23:59:59.999999",
	"1970-01-01 00:00:00", "Sun..Sat", "Mon..Sun *-*-*", "Sat..Sun", "@1 @2", "12:00 UTC ",
}

// epoch returns "@SECONDS" forms, with odd spacing, signs and sizes.
func (g *specGen) epoch() string {
	var v string
	switch x := g.n(10); {
	case x < 5:
		v = strconv.FormatInt(g.rng.Int64N(7258118400), 10) // up to 2199
	case x < 7:
		v = strconv.FormatInt(g.rng.Int64N(1<<45), 10)
	default:
		v = g.pick("0", "00", "5", "1493187147", "7258118399", "7258118400", "253402300799",
			"67767976233316800", "67768036191676799", "67768036191676800", "88588582097858858",
			"9223372036854775807", "9223372036854775808", "18446744073709551615",
			"18446744073709551616", "99999999999999999999", "1234.5", "", "0x10", "1e3", "12:00")
	}
	s := "@" + g.pick("", "", "", "", "", " ", "  ", "+", "-", "\t", " +", " -", "\v", "+-") + v
	switch g.n(12) {
	case 0:
		s += " 12:00"
	case 1:
		s += " "
	case 2:
		s = g.weekdays() + " " + s
	}
	return s
}

var dayNames = [7][2]string{
	{"Monday", "Mon"}, {"Tuesday", "Tue"}, {"Wednesday", "Wed"}, {"Thursday", "Thu"},
	{"Friday", "Fri"}, {"Saturday", "Sat"}, {"Sunday", "Sun"},
}

func (g *specGen) day(d int) string {
	return g.recase(dayNames[d][g.n(2)])
}

// weekdays returns a list of days and ranges, in both range syntaxes.
func (g *specGen) weekdays() string {
	if g.chance(0.04) {
		return g.pick("Mo", "Mond", "Tues", "Thurs", "Monday..", "Mon..Wed..Fri", "Mon-Wed-Fri",
			"Sun..Mon", "Fri..Mon", "mon.. tue", "Mon ,Tue", "Mon,,Tue", ",Mon", "Mon, Tue",
			"Mon..", "Mon-", "Mon.Tue", "Mon...Tue", "Sun-Sat", "Mon..Sun", "Wed-Wed,Wed")
	}
	k := 1
	for k < 9 && g.chance(0.35) {
		k++
	}
	items := make([]string, k)
	for i := range items {
		a := g.n(7)
		switch g.n(5) {
		case 0, 1:
			items[i] = g.day(a)
		default:
			b := a + g.n(7-a)
			if g.chance(0.15) {
				b = g.n(7) // possibly backwards
			}
			items[i] = g.day(a) + g.pick("..", "..", "-") + g.day(b)
		}
	}
	s := strings.Join(items, ",")
	if g.chance(0.1) {
		s += ","
	}
	return s
}

// A field is the range of a chain, and the width systemd pads it to. In
// an end-of-month field (eom) a repetition counts towards the start of the
// month.
type field struct {
	lo, hi, width int
	eom           bool
}

var (
	yearField   = field{lo: 1970, hi: 2199, width: 4}
	monthField  = field{lo: 1, hi: 12, width: 2}
	dayField    = field{lo: 1, hi: 31, width: 2}
	eomField    = field{lo: 1, hi: 28, width: 2, eom: true}
	hourField   = field{lo: 0, hi: 23, width: 2}
	minuteField = field{lo: 0, hi: 59, width: 2}
)

// pad returns v in decimal, as it is, padded to the field's width, or with
// extra leading zeros.
func (g *specGen) pad(v, width int) string {
	s := strconv.Itoa(v)
	switch g.n(8) {
	case 0, 1, 2:
		for len(s) < width {
			s = "0" + s
		}
	case 3:
		s = "00" + s
	}
	return s
}

// value returns a number for the field, now and then out of its range or
// too large for any.
func (g *specGen) value(f field) string {
	switch x := g.n(200); {
	case x < 3:
		return g.pad(max(0, f.lo-1), f.width)
	case x < 6:
		return g.pad(f.hi+g.between(1, 100), f.width)
	case x < 7:
		return g.pick("2147483647", "2147483648", "4294967296", "18446744073709551615", "18446744073709551616")
	}
	return g.pad(g.between(f.lo, f.hi), f.width)
}

func (g *specGen) year() string {
	switch x := g.n(100); {
	case x < 45:
		return strconv.Itoa(g.between(2020, 2060))
	case x < 60:
		return strconv.Itoa(g.between(1970, 2199))
	case x < 84:
		return g.pad(g.n(100), 2)
	case x < 88:
		return g.pick("100", "999", "1969", "2200", "0000", "0069", "0070", "10000", "2147483648")
	}
	return strconv.Itoa(g.between(2190, 2199))
}

// number returns the value of a field's number, with two-digit years as
// systemd reads them, or false if it is too large to matter.
func number(f field, s string) (int, bool) {
	v, err := strconv.Atoi(s)
	if err != nil || v > 1<<20 {
		return 0, false
	}
	if f == yearField && len(s) <= 2 {
		if v < 70 {
			v += 2000
		} else {
			v += 1900
		}
	}
	return v, true
}

// repeat returns a repetition for a component starting at start, mostly
// one that stays within the field.
func (g *specGen) repeat(f field, start int, stop bool) string {
	switch x := g.n(100); {
	case x < 3:
		return g.pick("0", "00")
	case x < 6:
		return strconv.Itoa(f.hi - f.lo + g.between(0, 2))
	case x < 7:
		return g.pick("2147483647", "2147483648", "4294967296")
	}
	room := (f.hi - f.lo) / 2
	switch {
	case stop:
	case f.eom:
		room = start - f.lo
	default:
		room = f.hi - start
	}
	return strconv.Itoa(g.between(1, max(1, room)))
}

// component returns "A", "A..B", "A/R" or "A..B/R", with A before B most
// of the time.
func (g *specGen) component(f field, value func() string) string {
	a := value()
	start, ok := number(f, a)
	if !ok {
		start = f.lo
	}
	s := a
	stop := g.chance(0.25)
	if stop {
		b := value()
		if end, ok := number(f, b); ok && end < start && g.chance(0.85) {
			a, b = b, a
			start = end
		}
		s = a + ".." + b
	}
	if g.chance(0.25) {
		s += "/" + g.repeat(f, start, stop)
	}
	return s
}

// chain returns "*" (with probability star) or a list of components.
func (g *specGen) chain(f field, star float64, value func() string) string {
	if g.chance(star) {
		if g.chance(0.02) {
			return "*/" + g.repeat(f, f.lo, false)
		}
		return "*"
	}
	k := 1
	for k < 8 && g.chance(0.25) {
		k++
	}
	items := make([]string, k)
	for i := range items {
		items[i] = g.component(f, value)
	}
	if g.chance(0.02) {
		items[g.n(k)] = "*"
	}
	return strings.Join(items, ",")
}

func (g *specGen) fieldChain(f field, star float64) string {
	return g.chain(f, star, func() string { return g.value(f) })
}

// date returns "MONTH-DAY" or "YEAR-MONTH-DAY", with "~" for the last
// separator one time in four.
func (g *specGen) date() string {
	var md string
	if g.chance(0.25) {
		md = g.fieldChain(monthField, 0.5) + "~" + g.fieldChain(eomField, 0.2)
	} else {
		md = g.fieldChain(monthField, 0.5) + "-" + g.fieldChain(dayField, 0.4)
	}
	if g.chance(0.5) {
		return g.chain(yearField, 0.4, g.year) + "-" + md
	}
	return md
}

// endOfMonth returns a date counted from the end of the month, mostly
// with a time.
func (g *specGen) endOfMonth() string {
	s := g.fieldChain(monthField, 0.6) + "~" + g.fieldChain(eomField, 0.05)
	if g.chance(0.3) {
		s = g.chain(yearField, 0.5, g.year) + "-" + s
	}
	if g.chance(0.8) {
		s += " " + g.timeOfDay()
	}
	return s
}

// seconds returns a value of the seconds chain, with up to ten digits of
// fraction, including those that round across a whole second, and its
// value.
func (g *specGen) seconds() (string, float64) {
	var s string
	if g.chance(0.03) {
		s = g.pick("60", "61", "99", "2300", "4294", "4295", "18446744073709551615")
	} else {
		s = g.pad(g.n(60), 2)
	}
	if g.chance(0.35) {
		s += "." + g.fraction()
	}
	v, _ := strconv.ParseFloat(strings.TrimSuffix(s, "."), 64)
	return s, v
}

func (g *specGen) fraction() string {
	if g.chance(0.2) {
		return g.pick("9999995", "9999994", "0000005", "0000004", "4999995", "5", "25", "000001",
			"0000000001", "999999999", "4200005", "0", "")
	}
	b := make([]byte, 1+g.n(7))
	if g.chance(0.1) {
		b = make([]byte, 8+g.n(3))
	}
	for i := range b {
		b[i] = byte('0' + g.n(10))
	}
	return string(b)
}

// secondsRepeat returns a repetition of seconds, mostly one that stays
// below 60 from start.
func (g *specGen) secondsRepeat(start float64) string {
	if g.chance(0.2) {
		return g.pick("0.0000001", "0.0000004", "0.0000005", "0.000001", "0.5", "1.77", "0", "0.0", "2.25", "60", "59.999999", "30")
	}
	s := strconv.Itoa(g.n(max(1, 60-int(start))))
	if g.chance(0.4) {
		s += "." + g.fraction()
	}
	return s
}

func (g *specGen) secondsChain() string {
	if g.chance(0.3) {
		if g.chance(0.05) {
			return g.pick("*/15", "*.5", "*,5", "5,*")
		}
		return "*"
	}
	k := 1
	for k < 5 && g.chance(0.25) {
		k++
	}
	items := make([]string, k)
	for i := range items {
		s, start := g.seconds()
		if g.chance(0.25) {
			t, stop := g.seconds()
			if stop < start && g.chance(0.85) {
				s, t, start = t, s, stop
			}
			s += ".." + t
		}
		if g.chance(0.3) {
			s += "/" + g.secondsRepeat(start)
		}
		items[i] = s
	}
	return strings.Join(items, ",")
}

// timeOfDay returns "HOUR:MINUTE" or "HOUR:MINUTE:SECOND".
func (g *specGen) timeOfDay() string {
	s := g.fieldChain(hourField, 0.35) + ":" + g.fieldChain(minuteField, 0.3)
	if g.chance(0.55) {
		s += ":" + g.secondsChain()
	}
	return s
}

// body returns "[WEEKDAYS] [DATE] [TIME]".
func (g *specGen) body() string {
	w, d, tm := g.chance(0.35), g.chance(0.6), g.chance(0.75)
	if !w && !d && !tm {
		tm = true
	}
	var parts []string
	if w {
		parts = append(parts, g.weekdays())
	}
	if d {
		parts = append(parts, g.date())
	}
	if tm {
		parts = append(parts, g.timeOfDay())
	}
	sep := " "
	if g.chance(0.05) {
		sep = "  "
	}
	s := strings.Join(parts, sep)
	if !tm && g.chance(0.1) {
		s += g.pick(" ", "   ")
	}
	return s
}

// clock returns expressions that fire often, or at the hours where clocks
// change.
func (g *specGen) clock() string {
	var s string
	if g.chance(0.15) {
		s = g.weekdays() + " "
	}
	if g.chance(0.3) {
		s += g.pick("*-*-*", "*-*-01", "*-*~01", "*-*-* ", "*-03,10-*", "*-*-1/2", "*-*~03..01", "*-*~07/1") + " "
	}
	s += g.pick("*", "*", "0", "1", "2", "3", "00", "01", "02", "03", "23", "0..3", "1,2,3", "0/2", "1/1", "2..4", "00/6", "22..23", "00/3", "0/4") +
		":" + g.pick("*", "*", "00", "0/15", "0/30", "0/5", "30", "15", "45", "10", "0..59/20", "59", "0,30", "0/1")
	if g.chance(0.5) {
		s += ":" + g.pick("00", "*", "0/20", "59", "30", "0/7", "59.5", "00/0.5", "0..59/15", "59.999999", "0.25/0.5")
	}
	return s
}

// longList returns an expression with one list of about 241 components,
// systemd's limit, possibly with a bad component somewhere.
func (g *specGen) longList() string {
	n := []int{239, 240, 241, 242, 243, 260}[g.n(6)]
	var item func(i int) string
	var wrap func(list string) string
	switch g.n(7) {
	case 0:
		item = func(i int) string { return strconv.Itoa(1970 + i%230) }
		wrap = func(l string) string { return l + "-*-*" }
	case 1:
		item = func(i int) string { return strconv.Itoa(1 + i%12) }
		wrap = func(l string) string { return "*-" + l + "-01" }
	case 2:
		item = func(i int) string { return strconv.Itoa(1 + i%31) }
		wrap = func(l string) string { return "*-*-" + l }
	case 3:
		item = func(i int) string { return strconv.Itoa(i % 24) }
		wrap = func(l string) string { return l + ":00" }
	case 4:
		item = func(i int) string { return fmt.Sprintf("%d..%d", i%50, i%50+1+i%9) }
		wrap = func(l string) string { return "*:" + l }
	case 5:
		item = func(i int) string { return fmt.Sprintf("%d.%d", i%60, i%10) }
		wrap = func(l string) string { return "*:*:" + l }
	default:
		item = func(i int) string { return dayNames[i%7][1] }
		wrap = func(l string) string { return l + " 12:00" }
	}
	same := g.chance(0.3)
	bad := -1
	if g.chance(0.2) {
		bad = g.n(n)
	}
	items := make([]string, n)
	for i := range items {
		switch {
		case i == bad:
			items[i] = g.pick("x", "99", "", "*", "1..")
		case same:
			items[i] = item(0)
		default:
			items[i] = item(i)
		}
	}
	return wrap(strings.Join(items, ","))
}

// zoneNames are zone suffixes, valid and not: files that are no zones,
// names in the wrong case, paths, and zones with unusual rules.
//
// The right/ zones, which count leap seconds, are left out: the C library
// applies their leap-second table and we do not (a known difference).
var zoneNames = []string{
	"Europe/Berlin", "Asia/Tokyo", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
	"Europe/Dublin", "America/Sao_Paulo", "Pacific/Auckland", "Pacific/Chatham", "America/St_Johns",
	"Africa/Casablanca", "Antarctica/Troll", "Asia/Kolkata", "Europe/Kyiv", "Etc/GMT+5", "Etc/GMT-14",
	"Etc/UTC", "America/Argentina/Buenos_Aires", "CET", "EST", "EST5EDT", "GMT", "GMT+0", "UCT",
	"Zulu", "Factory", "Eire", "posixrules", "posix/Europe/Berlin", "US/Pacific",
	"Europe/berlin", "Foo/Bar", "Local", "localtime", "Europe/Berlin/", "/Europe/Berlin",
	"Europe//Berlin", "zone.tab", "tzdata.zi", "+0100", "Europe/Berlin.", "../zoneinfo/UTC", "Etc",
	"America", "leapseconds", "Etc/Unknown",
}

// zone returns a zone suffix or nothing.
func (g *specGen) zone() string {
	switch x := g.n(100); {
	case x < 7:
		return " " + g.recase("UTC")
	case x < 10:
		// The current abbreviations more often than the historical ones.
		i := g.n(len(g.abbrevs))
		if g.chance(0.6) {
			i = g.n(min(2, len(g.abbrevs)))
		}
		return " " + g.recase(g.abbrevs[i])
	case x < 14:
		return " " + g.pick(zoneNames...)
	}
	return ""
}

// mutationBytes are inserted and substituted by mutate. Newlines are left
// out, because systemd-analyze's output could not be split.
var mutationBytes = []string{
	" ", " ", "-", "~", ":", ".", "..", ",", "/", "*", "@", "0", "1", "5", "9", "a", "Z", "M",
	"\t", "\v", "+", "é", "\u212a", "\xff",
}

// mutate makes one change: inserts, deletes, replaces, swaps or
// duplicates characters, doubles or adds spaces, swaps a space for a tab,
// puts a sign before a number, makes a number out of range, or cuts s off.
func (g *specGen) mutate(s string) string {
	if s == "" {
		return g.pick(mutationBytes...)
	}
	i := g.n(len(s) + 1)
	positions := func(f func(c byte) bool) []int {
		var p []int
		for j := 0; j < len(s); j++ {
			if f(s[j]) {
				p = append(p, j)
			}
		}
		return p
	}
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	switch g.n(12) {
	case 0:
		return s[:i] + g.pick(mutationBytes...) + s[i:]
	case 1:
		if i < len(s) {
			return s[:i] + s[i+1:]
		}
		return s[:i-1]
	case 2:
		if i < len(s) {
			return s[:i] + g.pick(mutationBytes...) + s[i+1:]
		}
		return s + g.pick(mutationBytes...)
	case 3:
		if p := positions(func(c byte) bool { return c == ' ' }); len(p) > 0 {
			j := p[g.n(len(p))]
			return s[:j] + " " + s[j:]
		}
		return s[:i] + " " + s[i:]
	case 4:
		return s + g.pick(" ", "  ", "\t")
	case 5:
		return g.pick(" ", "\t") + s
	case 6:
		if p := positions(func(c byte) bool { return c == ' ' }); len(p) > 0 {
			j := p[g.n(len(p))]
			return s[:j] + g.pick("\t", "\v") + s[j+1:]
		}
		return s
	case 7:
		if p := positions(isDigit); len(p) > 0 {
			j := p[g.n(len(p))]
			return s[:j] + g.pick("+", "-") + s[j:]
		}
		return s
	case 8:
		if p := positions(isDigit); len(p) > 0 {
			j := p[g.n(len(p))]
			for j > 0 && isDigit(s[j-1]) {
				j--
			}
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			return s[:j] + g.pick("60", "24", "32", "13", "0", "00", "1969", "2200", "100", "999",
				"2147483648", "4294967296", "18446744073709551616") + s[k:]
		}
		return s
	case 9:
		if i+1 < len(s) {
			return s[:i] + s[i+1:i+2] + s[i:i+1] + s[i+2:]
		}
		return s
	case 10:
		return s[:i]
	default:
		j := g.n(len(s) + 1)
		k := j + g.n(len(s)-j+1)
		return s[:i] + s[j:k] + s[i:]
	}
}
