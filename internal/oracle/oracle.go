// Package oracle runs the installed systemd-analyze for differential tests:
// the time language is checked against systemd's own implementation.
//
// It is imported by tests only. Tests using it skip where systemd-analyze is
// missing or under -short, unless SUNDIAL_REQUIRE_ORACLE is set (as CI does),
// which turns the skip into a failure.
//
// The installed systemd may be older than the 254 the project follows; the
// known differences are listed where they matter, next to the affected tests.
package oracle

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireEnv names the environment variable that makes a missing oracle an
// error rather than a reason to skip.
const RequireEnv = "SUNDIAL_REQUIRE_ORACLE"

var seedFlag = flag.String("oracle.seed", "1", `seed for generated differential inputs, or "random"`)

// Seed returns the seed for generated inputs: fixed unless the test binary
// was given -oracle.seed. The test log names a random seed so that a failure
// can be replayed.
func Seed(t testing.TB) uint64 {
	if *seedFlag == "random" {
		s := uint64(time.Now().UnixNano())
		t.Logf("oracle seed: %d", s)
		return s
	}
	s, err := strconv.ParseUint(*seedFlag, 10, 64)
	if err != nil {
		t.Fatalf("bad -oracle.seed %q", *seedFlag)
	}
	return s
}

// Path returns the path of systemd-analyze, or skips the test.
func Path(t testing.TB) string {
	t.Helper()
	return Tool(t, "systemd-analyze")
}

// Tool returns the path of a program a differential test needs, or skips
// the test where it is missing or under -short, unless RequireEnv is set.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	required := os.Getenv(RequireEnv) != ""
	switch {
	case err != nil && required:
		t.Fatalf("%s is required (%s is set): %v", name, RequireEnv, err)
	case err != nil:
		t.Skipf("%s not installed", name)
	case testing.Short() && !required:
		t.Skip("differential test skipped in -short mode")
	}
	return p
}

// Run runs systemd-analyze with args in the zone tz (a zone name, or "" for
// UTC) and returns its standard output and error, and whether it succeeded.
func Run(t testing.TB, tz string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	cmd := exec.Command(Path(t), args...)
	cmd.Env = append(os.Environ(), "TZ="+tzValue(tz), "LC_ALL=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=")
	return Output(t, cmd)
}

// Output runs cmd, a run of the oracle, and returns its standard output
// and error, and whether it succeeded; it fails t if cmd could not run.
func Output(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, ok bool) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("running %s: %v", cmd.Path, err)
	}
	return out.String(), errb.String(), err == nil
}

func tzValue(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return ":" + tz
}

// Errno classes of failures, as systemd-analyze names them.
const (
	EINVAL  = "Invalid argument"
	ERANGE  = "Numerical result out of range"
	ENOBUFS = "No buffer space available"
	EDEADLK = "Resource deadlock avoided"
)

// A Calendar is what systemd-analyze calendar said about one expression.
type Calendar struct {
	Err        string   // the errno text if it failed to parse, else ""
	NextErr    string   // the errno text if an elapse could not be computed
	Normalized string   // the normalized form
	Elapses    []string // the next elapses, local time, as printed
	ElapsesUTC []string // the same in UTC, where the zone is not UTC
	Never      bool     // "Next elapse: never"
}

// CalendarBatch asks systemd-analyze calendar about every spec at once, from
// base (seconds since the epoch), in zone tz. Specs must be shorter than
// about 1900 bytes: systemd cuts off longer error messages, errno and all.
func CalendarBatch(t testing.TB, tz string, base int64, iterations int, specs []string) []Calendar {
	t.Helper()
	return CalendarBatchAt(t, tz, time.Unix(base, 0), iterations, specs)
}

// CalendarBatchAt is like CalendarBatch, from a base given to the
// microsecond, which must not be before the epoch.
func CalendarBatchAt(t testing.TB, tz string, base time.Time, iterations int, specs []string) []Calendar {
	t.Helper()
	usec := base.UnixMicro()
	if usec < 0 {
		t.Fatalf("oracle: base %v before the epoch", base)
	}
	args := []string{"calendar", fmt.Sprintf("--iterations=%d", iterations), fmt.Sprintf("--base-time=@%d.%06d", usec/1e6, usec%1e6), "--"}
	out, errs, _ := Run(t, tz, append(args, specs...)...)
	failed := failures(errs, "Failed to parse calendar specification '", "': ")
	nextFailed := failures(errs, "Failed to determine next elapse for '", "': ")
	blocks := splitBlocks(out, len(specs))
	res := make([]Calendar, len(specs))
	for i, spec := range specs {
		if e, ok := failed[spec]; ok {
			res[i].Err = e
			if len(blocks[i]) != 0 {
				t.Fatalf("oracle: output for failed spec %q: %q", spec, blocks[i])
			}
			continue
		}
		if e, ok := nextFailed[spec]; ok && len(blocks[i]) == 0 {
			// The table is not printed when an elapse fails.
			res[i].NextErr = e
			continue
		}
		for _, line := range blocks[i] {
			key, value, _ := strings.Cut(strings.TrimLeft(line, " "), ": ")
			switch {
			case key == "Normalized form":
				res[i].Normalized = value
			case key == "Next elapse" && value == "never":
				res[i].Never = true
			case key == "Next elapse" || strings.HasPrefix(key, "Iter"):
				res[i].Elapses = append(res[i].Elapses, value)
			case key == "(in UTC)":
				res[i].ElapsesUTC = append(res[i].ElapsesUTC, value)
			}
		}
		if res[i].Normalized == "" {
			t.Fatalf("oracle: no normalized form and no error for %q (%d bytes) in %q", spec, len(spec), blocks[i])
		}
	}
	return res
}

// A Timestamp is what systemd-analyze timestamp said about one input.
type Timestamp struct {
	Err        string // the errno text if it failed, else ""
	Normalized string // the timestamp in local time, as printed
	UTC        string // the same in UTC, where the zone is not UTC
	Unix       string // "@SECONDS[.FRACTION]"
}

// TimestampBatch asks systemd-analyze timestamp about every input at once.
func TimestampBatch(t testing.TB, tz string, inputs []string) []Timestamp {
	t.Helper()
	out, errs, _ := Run(t, tz, append([]string{"timestamp", "--"}, inputs...)...)
	failed := failures(errs, "Failed to parse \"", "\": ")
	blocks := splitBlocks(out, len(inputs))
	res := make([]Timestamp, len(inputs))
	for i, in := range inputs {
		if e, ok := failed[in]; ok {
			res[i].Err = e
			continue
		}
		for _, line := range blocks[i] {
			key, value, _ := strings.Cut(strings.TrimLeft(line, " "), ": ")
			switch key {
			case "Normalized form":
				res[i].Normalized = value
			case "(in UTC)":
				res[i].UTC = value
			case "UNIX seconds":
				res[i].Unix = value
			}
		}
	}
	return res
}

// A Timespan is what systemd-analyze timespan said about one input.
type Timespan struct {
	Err   string // the errno text if it failed, else ""
	Usec  string // the value in microseconds
	Human string // the formatted span
}

// TimespanBatch asks systemd-analyze timespan about every input. It stops
// at the first error, so the inputs after an error are asked again.
func TimespanBatch(t testing.TB, inputs []string) []Timespan {
	t.Helper()
	res := make([]Timespan, 0, len(inputs))
	for len(res) < len(inputs) {
		rest := inputs[len(res):]
		out, errs, _ := Run(t, "", append([]string{"timespan", "--"}, rest...)...)
		blocks := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
		if out == "" {
			blocks = nil
		}
		for _, b := range blocks {
			var r Timespan
			for _, line := range strings.Split(b, "\n") {
				key, value, _ := strings.Cut(strings.TrimLeft(line, " "), ": ")
				switch key {
				case "μs", "us":
					r.Usec = value
				case "Human":
					r.Human = value
				}
			}
			res = append(res, r)
		}
		if len(res) < len(inputs) {
			failed := failures(errs, "Failed to parse time span '", "': ")
			e, ok := failed[inputs[len(res)]]
			if !ok {
				t.Fatalf("oracle: timespan output ended without an error at %q: %q", inputs[len(res)], errs)
			}
			res = append(res, Timespan{Err: e})
		}
	}
	return res
}

// failures maps each input named in an error line to its errno text.
func failures(stderr, prefix, sep string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, sep)
		if i < 0 {
			continue
		}
		m[rest[:i]] = rest[i+len(sep):]
	}
	return m
}

// splitBlocks splits the output of a verb that prints one table per input
// and an empty line between inputs, failed ones included.
func splitBlocks(out string, n int) [][]string {
	blocks := make([][]string, n)
	i := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			i++
			continue
		}
		if i < n {
			blocks[i] = append(blocks[i], line)
		}
	}
	return blocks
}

// Verify runs systemd-analyze with args (verify and its options and
// files) in dir, with the environment variables env added, and returns
// its standard output and the lines of its standard error.
func Verify(t testing.TB, dir string, env []string, args ...string) (stdout string, stderr []string) {
	t.Helper()
	cmd := exec.Command(Path(t), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "SYSTEMD_LOG_LOCATION=0"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("running systemd-analyze: %v", err)
	}
	return out.String(), strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
}
