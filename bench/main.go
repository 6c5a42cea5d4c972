// Command bench compares sundial's calendar verb with systemd-analyze's in
// one run: the same expressions, 5000 elapses each, both as commands, each
// run several times, interleaved; then the cost of one elapse inside
// sundial, with its allocations; and last [calendar.Spec.Next] against
// robfig/cron's Schedule.Next on expressions both can state, with the
// worst ratio of the two against the goal of five times faster.
//
// Each command is timed whole, start-up included, and again with
// --iterations=0; the difference is the cost of the elapses alone, which is
// shown per elapse. The outputs of the two programs are compared too (less
// the "From now" lines, which follow the clock), so that both are known to
// do the same work.
//
// Run it from within the module:
//
//	go run ./bench
//	go run ./bench -runs=11 -iterations=20000
//	go run ./bench -systemd=false -cron-runs=9
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
)

// specs are the expressions measured: one in a zone of its own, for which
// systemd forks a process per elapse; one with "~", counting from the end
// of the month; weekdays with a range of hours; and the simplest repetitions.
var specs = []string{
	"Mon..Fri *-*-* 03:00 Europe/Berlin",
	"*-*~07/2 12:00",
	"Mon..Fri *-*-* 09..17:00/30",
	"hourly",
	"*:*:0/7",
	"Sat,Sun *-*-1..7 04:30",
}

const (
	base = "@1700000000"
	zone = "Europe/Berlin"
)

func main() {
	iterations := flag.Int("iterations", 5000, "elapses per expression")
	runs := flag.Int("runs", 7, "runs of each command; the median counts")
	withSystemd := flag.Bool("systemd", true, "compare with systemd-analyze and show Spec.Next alone (about a minute)")
	cronRuns := flag.Int("cron-runs", 5, "runs of each benchmark against robfig/cron; the median counts")
	benchtime := flag.Duration("benchtime", 200*time.Millisecond, "time of one run of a benchmark against robfig/cron")
	testing.Init()
	flag.Parse()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fail(err)
	}
	if *withSystemd {
		compareSystemd(*runs, *iterations)
	}
	compareCron(*cronRuns)
}

// compareSystemd compares the calendar verbs of sundial and of
// systemd-analyze, and then shows one Spec.Next alone.
func compareSystemd(runs, iterations int) {

	dir, err := os.MkdirTemp("", "sundial-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	ours := filepath.Join(dir, "sundial")
	if out, err := exec.Command("go", "build", "-o", ours, "sundial.dev/sundial/cmd/sundial").CombinedOutput(); err != nil {
		fail(fmt.Errorf("building sundial: %v\n%s", err, out))
	}
	theirs, err := exec.LookPath("systemd-analyze")
	if err != nil {
		fmt.Printf("systemd-analyze is not installed: only sundial is measured.\n\n")
		theirs = ""
	}

	fmt.Printf("calendar --iterations=%d --base-time=%s, TZ=%s, median of %d runs\n\n", iterations, base, zone, runs)
	row := func(cells ...any) {
		line := fmt.Sprintf("%-36s %15s %10s %7s  %15s %10s %7s", cells...)
		fmt.Println(strings.TrimRight(line, " "))
	}
	fmt.Printf("%-36s %-34s  %s\n", "", "whole run:", "per elapse, less start-up:")
	row("expression", "systemd-analyze", "sundial", "ratio", "systemd-analyze", "sundial", "ratio")
	var sumT, sumO, sumTNet, sumONet time.Duration
	for _, spec := range specs {
		m := measure(runs, ours, theirs, spec, iterations)
		oNet, tNet := m.ours-m.ours0, m.theirs-m.theirs0
		per := func(d time.Duration) string {
			if d <= 0 {
				return "(noise)"
			}
			return fmt.Sprintf("%.2fµs", float64(d)/float64(time.Microsecond)/float64(iterations))
		}
		if theirs == "" {
			row(spec, "-", ms(m.ours), "", "-", per(oNet), "")
			continue
		}
		row(spec, ms(m.theirs), ms(m.ours), ratio(m.theirs, m.ours), per(tNet), per(oNet), ratio(tNet, oNet))
		if m.differ != "" {
			fmt.Printf("  warning: the outputs differ: %s\n", m.differ)
		}
		sumT, sumO = sumT+m.theirs, sumO+m.ours
		sumTNet, sumONet = sumTNet+max(tNet, 0), sumONet+max(oNet, 0)
	}
	if theirs != "" {
		row("all", ms(sumT), ms(sumO), ratio(sumT, sumO), "", "", ratio(sumTNet, sumONet))
		fmt.Printf("\nratio: systemd-analyze's time / sundial's. Per elapse: the time of the run less that of\n" +
			"a run with --iterations=0 (process start-up, parsing), divided by the number of elapses.\n")
	}

	fmt.Printf("\nOne Spec.Next inside sundial (a Go benchmark), from an instant in a zone:\n")
	fmt.Printf("%-36s %-14s %8s %10s\n", "expression", "zone", "ns/op", "allocs/op")
	loc, err := time.LoadLocation(zone)
	if err != nil {
		fail(err)
	}
	from := time.Unix(1700000000, 0)
	for _, spec := range specs {
		s, err := calendar.Parse(spec)
		if err != nil {
			fail(err)
		}
		for _, loc := range []*time.Location{time.UTC, loc} {
			at := from.In(loc)
			r := testing.Benchmark(func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.Next(at)
				}
			})
			fmt.Printf("%-36s %-14s %8d %10d\n", spec, loc, r.NsPerOp(), r.AllocsPerOp())
		}
	}
}

// A measurement holds the median wall times of one expression.
type measurement struct {
	ours, ours0, theirs, theirs0 time.Duration // 0: --iterations=0
	differ                       string        // how the outputs differ, if they do
}

// measure runs both programs on spec, interleaved so that both see the
// same state of the machine. theirs may be "".
func measure(runs int, ours, theirs, spec string, iterations int) measurement {
	var o, o0, t, t0 []time.Duration
	var outOurs, outTheirs []byte
	for range runs {
		d, out := timeRun(ours, spec, iterations)
		o, outOurs = append(o, d), out
		d, _ = timeRun(ours, spec, 0)
		o0 = append(o0, d)
		if theirs != "" {
			d, out = timeRun(theirs, spec, iterations)
			t, outTheirs = append(t, d), out
			d, _ = timeRun(theirs, spec, 0)
			t0 = append(t0, d)
		}
	}
	m := measurement{ours: median(o), ours0: median(o0)}
	if theirs != "" {
		m.theirs, m.theirs0 = median(t), median(t0)
		m.differ = compare(outTheirs, outOurs)
	}
	return m
}

// timeRun runs a calendar command once and returns its wall time and its
// output.
func timeRun(prog, spec string, iterations int) (time.Duration, []byte) {
	cmd := exec.Command(prog, "calendar", fmt.Sprintf("--iterations=%d", iterations), "--base-time="+base, spec)
	cmd.Env = append(os.Environ(), "TZ="+zone, "LC_ALL=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		fail(fmt.Errorf("%s calendar %q: %v\n%s", prog, spec, err, out.Bytes()))
	}
	return d, out.Bytes()
}

// fromNow matches the lines that follow the clock, and iterPrefix systemd
// 252's shorter "Iter. #" key (254 has "Iteration #", as sundial).
var (
	fromNow    = regexp.MustCompile(`(?m)^ *From now: .*\n`)
	iterPrefix = regexp.MustCompile(`(?m)^ *Iter\. #`)
)

// compare returns "" if the two outputs agree but for the clock, or else
// the first line where they differ.
func compare(theirs, ours []byte) string {
	norm := func(b []byte) []string {
		b = fromNow.ReplaceAll(b, nil)
		b = iterPrefix.ReplaceAll(b, []byte("Iteration #"))
		lines := strings.Split(string(b), "\n")
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		return lines
	}
	t, o := norm(theirs), norm(ours)
	for i := range min(len(t), len(o)) {
		if t[i] != o[i] {
			return fmt.Sprintf("line %d: systemd-analyze %q, sundial %q", i+1, t[i], o[i])
		}
	}
	if len(t) != len(o) {
		return fmt.Sprintf("systemd-analyze printed %d lines, sundial %d", len(t), len(o))
	}
	return ""
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func ratio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", float64(a)/float64(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
