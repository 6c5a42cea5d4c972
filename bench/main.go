// Command bench compares sundial's calendar with systemd-analyze's in one
// run: the same expressions, 5000 elapses each, both as commands; then the
// cost of one elapse inside sundial, with its allocations.
//
// Run it from the repository root:
//
//	go run ./bench
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
)

var specs = []string{
	"Mon..Fri *-*-* 03:00 Europe/Berlin",
	"*-*~07/2 12:00",
	"Mon..Fri *-*-* 09..17:00/30",
	"hourly",
	"*:*:0/7",
	"Sat,Sun *-*-1..7 04:30",
}

const base = "@1700000000"

func main() {
	iterations := flag.Int("iterations", 5000, "elapses per expression")
	runs := flag.Int("runs", 7, "runs of each command; the median counts")
	flag.Parse()

	dir, err := os.MkdirTemp("", "sundial-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	ours := filepath.Join(dir, "sundial")
	if out, err := exec.Command("go", "build", "-o", ours, "./cmd/sundial").CombinedOutput(); err != nil {
		fail(fmt.Errorf("building sundial: %v\n%s", err, out))
	}
	theirs, err := exec.LookPath("systemd-analyze")
	if err != nil {
		fmt.Println("systemd-analyze is not installed: only sundial is measured.")
	}

	fmt.Printf("calendar --iterations=%d --base-time=%s, TZ=Europe/Berlin, median of %d runs\n\n", *iterations, base, *runs)
	fmt.Printf("%-36s %14s %14s %8s %14s %8s\n", "expression", "systemd-analyze", "sundial", "ratio", "per elapse", "ratio")
	var sumTheirs, sumOurs, sumTheirsNet, sumOursNet time.Duration
	for _, spec := range specs {
		o := median(*runs, ours, spec, *iterations)
		o0 := median(*runs, ours, spec, 0)
		if theirs == "" {
			fmt.Printf("%-36s %14s %14v\n", spec, "-", o)
			continue
		}
		t := median(*runs, theirs, spec, *iterations)
		t0 := median(*runs, theirs, spec, 0)
		// Without the cost of starting the process: the elapses alone.
		tNet, oNet := max(t-t0, 0), max(o-o0, time.Microsecond)
		fmt.Printf("%-36s %14v %14v %7.1fx %14v %7.0fx\n", spec, t, o, ratio(t, o),
			oNet/time.Duration(*iterations), ratio(tNet, oNet))
		sumTheirs, sumOurs = sumTheirs+t, sumOurs+o
		sumTheirsNet, sumOursNet = sumTheirsNet+tNet, sumOursNet+oNet
	}
	if theirs != "" {
		fmt.Printf("%-36s %14v %14v %7.1fx %14s %7.0fx\n", "all", sumTheirs, sumOurs, ratio(sumTheirs, sumOurs), "", ratio(sumTheirsNet, sumOursNet))
		fmt.Println("\nratio: systemd-analyze time / sundial time; per elapse: without process start-up")
	}

	fmt.Printf("\nOne Spec.Next inside sundial (Go benchmark):\n")
	fmt.Printf("%-36s %12s %12s\n", "expression", "ns/op", "allocs/op")
	from := time.Unix(1700000000, 0).In(mustLoad("Europe/Berlin"))
	for _, spec := range specs {
		s, err := calendar.Parse(spec)
		if err != nil {
			fail(err)
		}
		for _, loc := range []*time.Location{time.UTC, from.Location()} {
			if loc == time.UTC && spec == specs[0] {
				continue // has its own zone
			}
			at := from.In(loc)
			r := testing.Benchmark(func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.Next(at)
				}
			})
			fmt.Printf("%-36s %12d %12d\n", spec+" ("+loc.String()+")", r.NsPerOp(), r.AllocsPerOp())
		}
	}
}

// median runs a calendar command several times and returns the median wall
// time.
func median(runs int, prog, spec string, iterations int) time.Duration {
	var times []time.Duration
	for range runs {
		cmd := exec.Command(prog, "calendar", fmt.Sprintf("--iterations=%d", iterations), "--base-time="+base, spec)
		cmd.Env = append(os.Environ(), "TZ=Europe/Berlin", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			fail(fmt.Errorf("%s calendar %q: %v\n%s", prog, spec, err, out))
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2]
}

func ratio(a, b time.Duration) float64 {
	return float64(a) / float64(b)
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		fail(err)
	}
	return loc
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
