package timespan_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/timespan"
)

// TestResolverLibc compares Resolver with the C library's mktime, built
// from testdata/mktime.c, on fields around the transitions of every zone
// tzdata lists, in one long sequence: mktime remembers the offset it used
// last, across zones too, and so does a Resolver.
func TestResolverLibc(t *testing.T) {
	cc := oracle.Tool(t, "cc")
	bin := filepath.Join(t.TempDir(), "mktime")
	if out, err := exec.Command(cc, "-O2", "-o", bin, "testdata/mktime.c").CombinedOutput(); err != nil {
		t.Fatalf("building testdata/mktime.c: %v\n%s", err, out)
	}
	zones := tzdataZones(t)
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 7))

	type call struct {
		loc *time.Location
		c   timespan.Civil
	}
	var calls []call
	var in bytes.Buffer
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&in, zone)
		transitions := transitionsOf(loc)
		for range 300 {
			var base int64
			if len(transitions) > 0 && rng.IntN(4) != 0 {
				base = transitions[rng.IntN(len(transitions))] + rng.Int64N(4*3600) - 2*3600
			} else {
				base = rng.Int64N(4102444800) // to 2100
			}
			c := timespan.CivilTime(base, loc)
			c.IsDST = rng.IntN(3) - 1
			if rng.IntN(5) == 0 {
				c.Second += rng.IntN(130) - 5
			}
			if rng.IntN(5) == 0 {
				c.Minute += rng.IntN(130) - 5
			}
			if rng.IntN(8) == 0 {
				c.Day += rng.IntN(40) - 5
			}
			calls = append(calls, call{loc, c})
			fmt.Fprintf(&in, "%d %d %d %d %d %d %d\n", c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, c.IsDST)
		}
	}
	cmd := exec.Command(bin)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(calls) {
		t.Fatalf("%d results for %d calls", len(lines), len(calls))
	}
	var r timespan.Resolver
	bad := 0
	for i, call := range calls {
		c := call.c
		sec, ok := r.Resolve(&c, call.loc)
		got := "fail"
		if ok {
			got = fmt.Sprintf("%d %04d-%02d-%02d %02d:%02d:%02d %d %s %d", sec, c.Year, c.Month, c.Day, c.Hour, c.Minute, c.Second, c.IsDST, c.Zone, c.Weekday)
		}
		if got != lines[i] {
			bad++
			if bad <= 10 {
				t.Errorf("%s: Resolve(%+v) = %s, mktime gives %s", call.loc, call.c, got, lines[i])
			}
		}
	}
	t.Logf("%d calls in %d zones", len(calls), len(zones))
}

// tzdataZones lists the zones tzdata defines.
func tzdataZones(t *testing.T) []string {
	f, err := os.Open(filepath.Join(timespan.ZoneDir, "tzdata.zi"))
	if err != nil {
		t.Skipf("no tzdata.zi: %v", err)
	}
	defer f.Close()
	var zones []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "Z" {
			zones = append(zones, f[1])
		}
	}
	return zones
}

// transitionsOf returns the transitions of loc between 1970 and 2040.
func transitionsOf(loc *time.Location) []int64 {
	var tr []int64
	t := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC).In(loc)
	for {
		start, _ := t.ZoneBounds()
		if start.IsZero() || start.Year() < 1970 {
			return tr
		}
		tr = append(tr, start.Unix())
		t = start.Add(-time.Second)
	}
}
