package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"sundial.dev/sundial/calendar"
)

// cronPairs are expressions that robfig/cron (v3, the scheduler most Go
// programs use) can state too, each with its crontab twin: every few
// minutes, weekdays with a range of hours stepped by minutes, weekdays at
// one time, a day of the month, and the leap day. Each is measured in UTC
// and again in a zone with daylight-saving time.
var cronPairs = []cronPair{
	{"*:0/5", "*/5 * * * *"},
	{"Mon..Fri 8..18:00/15", "*/15 8-18 * * 1-5"},
	{"Mon..Fri 03:00", "0 3 * * 1-5"},
	{"*-*-15 04:00", "0 4 15 * *"},
	{"*-02-29 12:00", "0 12 29 2 *"},
}

// cronZone is the zone of the second half of the comparison.
const cronZone = "Europe/Berlin"

// cronGoal is how many times faster than robfig/cron Spec.Next is to be.
const cronGoal = 5

type cronPair struct{ sundial, cron string }

// inZone returns the pair in zone: sundial's expression with the zone
// name after it, robfig/cron's with its CRON_TZ= prefix.
func (p cronPair) inZone(zone string) cronPair {
	if zone == "" {
		return p
	}
	return cronPair{p.sundial + " " + zone, "CRON_TZ=" + zone + " " + p.cron}
}

// allCronPairs returns the pairs in UTC, then in cronZone.
func allCronPairs() []cronPair {
	var all []cronPair
	for _, zone := range []string{"", cronZone} {
		for _, p := range cronPairs {
			all = append(all, p.inZone(zone))
		}
	}
	return all
}

// A nextFunc answers "when next, after t?", and false for never.
type nextFunc func(t time.Time) (time.Time, bool)

// parse returns both schedules of the pair as nextFuncs.
func (p cronPair) parse() (ours, theirs nextFunc, err error) {
	s, err := calendar.Parse(p.sundial)
	if err != nil {
		return nil, nil, err
	}
	c, err := cron.ParseStandard(p.cron)
	if err != nil {
		return nil, nil, err
	}
	return s.Next, func(t time.Time) (time.Time, bool) {
		n := c.Next(t)
		return n, !n.IsZero()
	}, nil
}

// The timelines measured: each starts at a base of its own, spread over
// 2020 to 2035, and goes from elapse to elapse, as a scheduler asks, back
// to its base once it passes the end. (Past 2037, where zone files give
// way to their rule, the time package computes every offset from the
// rule: both take longer there.)
const (
	timelines = 64
	cronFrom  = 1577836800 // 2020-01-01 UTC
	cronUntil = 2051222400 // 2035-01-01 UTC
)

func timelineBases() []time.Time {
	rng := rand.New(rand.NewPCG(1, 2))
	bases := make([]time.Time, timelines)
	for i := range bases {
		bases[i] = time.Unix(cronFrom+rng.Int64N(cronUntil-cronFrom), 0).UTC()
	}
	return bases
}

// benchNext measures next along the timelines.
func benchNext(next nextFunc, bases []time.Time) testing.BenchmarkResult {
	until := time.Unix(cronUntil, 0)
	return testing.Benchmark(func(b *testing.B) {
		at := slices.Clone(bases)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % len(at)
			n, ok := next(at[k])
			if !ok || n.After(until) {
				n = bases[k]
			}
			at[k] = n
			i++
		}
	})
}

// A cronResult is the median of several runs of both.
type cronResult struct {
	pair                   cronPair
	ours, theirs           float64 // ns/op
	oursAlloc, theirsAlloc int64   // allocs/op
}

func (r cronResult) ratio() float64 { return r.theirs / r.ours }

// compareCron measures each pair runs times, the two interleaved so that
// both see the same state of the machine, and prints the medians, the
// ratios, and the worst ratio last.
func compareCron(runs int) {
	fmt.Printf("\nSpec.Next against robfig/cron's Schedule.Next, from elapse to elapse along %d timelines\n"+
		"from 2020 to 2035, median of %d runs:\n\n", timelines, runs)
	row := func(cells ...any) {
		fmt.Println(strings.TrimRight(fmt.Sprintf("%-36s %-42s %9s %6s %9s %6s %7s", cells...), " "))
	}
	row("sundial", "robfig/cron", "ns/op", "allocs", "ns/op", "allocs", "ratio")
	bases := timelineBases()
	var worst cronResult
	for _, p := range allCronPairs() {
		ours, theirs, err := p.parse()
		if err != nil {
			fail(err)
		}
		var o, t []float64
		r := cronResult{pair: p}
		for range runs {
			ro := benchNext(ours, bases)
			rt := benchNext(theirs, bases)
			o = append(o, float64(ro.T.Nanoseconds())/float64(ro.N))
			t = append(t, float64(rt.T.Nanoseconds())/float64(rt.N))
			r.oursAlloc, r.theirsAlloc = max(r.oursAlloc, ro.AllocsPerOp()), max(r.theirsAlloc, rt.AllocsPerOp())
		}
		r.ours, r.theirs = medianFloat(o), medianFloat(t)
		row(p.sundial, p.cron, fmt.Sprintf("%.0f", r.ours), fmt.Sprint(r.oursAlloc), fmt.Sprintf("%.0f", r.theirs), fmt.Sprint(r.theirsAlloc), fmt.Sprintf("%.1fx", r.ratio()))
		if worst.ours == 0 || r.ratio() < worst.ratio() {
			worst = r
		}
	}
	verdict := "met"
	if worst.ratio() < cronGoal {
		verdict = "not met"
	}
	fmt.Printf("\nratio: robfig/cron's time / sundial's; allocs: the most of any run.\n")
	fmt.Printf("worst ratio: %.1fx (%s), goal %dx: %s\n", worst.ratio(), worst.pair.sundial, cronGoal, verdict)
}

func medianFloat(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
