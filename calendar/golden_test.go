package calendar_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/oracle"
	"sundial.dev/sundial/timespan"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/dst.golden from systemd-analyze")

// goldenSpecs are everyday schedules, run across the DST changes of zones
// with unusual ones.
var goldenSpecs = []string{
	"hourly", "daily", "weekly", "*:0/20", "*-*-* 00:30", "*-*-* 02:00,30",
	"Mon..Fri *-*-* 03:00", "Sun *-*-* 01:59:59", "*-*~01 23:30", "*-*-* 00/3:00",
}

var goldenZones = []string{
	"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
	"America/Sao_Paulo", "Europe/Dublin", "Pacific/Chatham", "America/St_Johns",
}

const goldenIterations = 30

// TestGolden checks elapses across the DST changes of 2024 (and 2018 for Sao
// Paulo, which has since given up DST) against testdata/dst.golden, which
// holds what systemd-analyze printed for them. go test -run Golden -update
// asks systemd-analyze again.
func TestGolden(t *testing.T) {
	const path = "testdata/dst.golden"
	if *updateGolden {
		writeGolden(t, path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var zone, spec string
	var loc *time.Location
	var spec2 *calendar.Spec
	var prev time.Time
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if head, ok := strings.CutPrefix(line, "# "); ok {
			// # ZONE BASE SPEC
			f := strings.SplitN(head, " ", 3)
			base, _ := strconv.ParseInt(f[1], 10, 64)
			zone, spec = f[0], f[2]
			loc = mustLoad(t, zone)
			if spec2, err = calendar.ParseInLocation(spec, loc); err != nil {
				t.Fatalf("Parse(%q) = %v", spec, err)
			}
			prev = time.Unix(base, 0).In(loc)
			continue
		}
		if want, ok := strings.CutPrefix(line, "fails: "); ok {
			if got := firstError(spec2, prev); got != want {
				t.Errorf("%q in %s after %v: first failure %q, want %q", spec, zone, prev, got, want)
			}
			n++
			continue
		}
		next, ok := spec2.Next(prev)
		got := "never"
		if ok {
			got = timespan.FormatTimestamp(next, timespan.Pretty) + " = " + timespan.FormatTimestamp(next, timespan.UTC)
			prev = next
		}
		if got != line {
			t.Errorf("%q in %s after %v: got %s, want %s", spec, zone, prev, got, line)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("empty golden file")
	}
}

// firstError returns how the first failing elapse fails, in systemd's words.
func firstError(s *calendar.Spec, from time.Time) string {
	for range goldenIterations {
		next, err := s.NextErr(from)
		switch {
		case errors.Is(err, calendar.ErrLoop):
			return oracle.EDEADLK
		case err != nil:
			return err.Error()
		}
		from = next
	}
	return "no failure"
}

func mustLoad(t *testing.T, zone string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func writeGolden(t *testing.T, path string) {
	var b strings.Builder
	for _, zone := range goldenZones {
		loc := mustLoad(t, zone)
		year := 2024
		if zone == "America/Sao_Paulo" {
			year = 2018
		}
		// Four hours before each DST change of the year.
		t0 := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
		for _, change := range changes(t0, time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)) {
			base := change.Add(-4 * time.Hour).Unix()
			res := oracle.CalendarBatch(t, zone, base, goldenIterations, goldenSpecs)
			for i, spec := range goldenSpecs {
				if res[i].Err != "" {
					t.Fatalf("systemd-analyze rejects %q: %s", spec, res[i].Err)
				}
				fmt.Fprintf(&b, "# %s %d %s\n", zone, base, spec)
				if res[i].NextErr != "" {
					// systemd prints no elapse when one of them fails.
					fmt.Fprintf(&b, "fails: %s\n", res[i].NextErr)
					continue
				}
				for j, e := range res[i].Elapses {
					fmt.Fprintf(&b, "%s = %s\n", e, res[i].ElapsesUTC[j])
				}
				if len(res[i].Elapses) < goldenIterations {
					b.WriteString("never\n")
				}
			}
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// changes returns the DST changes of a zone from from to to.
func changes(from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; ; {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			return out
		}
		out = append(out, end)
		t = end
	}
}
