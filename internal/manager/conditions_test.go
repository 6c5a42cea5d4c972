package manager

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/store"
)

// TestConditionGate: a timer's service whose condition is unmet is
// skipped, and the timer goes on firing; once the path appears, the
// service runs. The run history has the skipped runs, with the condition.
func TestConditionGate(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	gate := filepath.Join(state, "gate")
	writeUnits(t, dir, map[string]string{
		"gated.timer": "[Timer]\nOnActiveSec=10ms\nOnUnitInactiveSec=50ms\nAccuracySec=1us\n",
		"gated.service": "[Unit]\nDescription=Gated\nStartLimitIntervalSec=0\nConditionPathExists=" + gate +
			"\nConditionPathExists=|/nonexistent\nConditionPathExists=|/\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >>" + state + "/runs'\n",
	})
	skipped := "gated.service - Gated was skipped because of an unmet condition check (ConditionPathExists=" + gate + ")."
	log := &logTap{}
	ran := func(*api.Client) bool {
		if log.count(skipped) >= 3 {
			os.WriteFile(gate, nil, 0o644)
		}
		data, _ := os.ReadFile(filepath.Join(state, "runs"))
		return strings.Count(string(data), "run") >= 2
	}
	s := runDaemon(t, dir, state, ran, func(m *Manager) { m.Logger = slog.New(log) })
	skips, runs := 0, 0
	for r, err := range s.Runs(context.Background(), "gated.service", 0) {
		if err != nil {
			t.Fatal(err)
		}
		switch r.Result {
		case "skipped (ConditionPathExists=" + gate + ")":
			skips++
		case "success", "":
			runs++
		default:
			t.Errorf("run %+v", r)
		}
	}
	if skips < 3 || runs < 2 {
		t.Errorf("%d runs skipped, %d ran; want at least 3 and 2", skips, runs)
	}
}

// TestConditionTriggers: when only triggering conditions fail, the
// journal says so; an assert that fails fails the start job.
func TestConditionTriggers(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"trig.timer":     "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"trig.service":   "[Unit]\nConditionPathExists=|/nonexistent-a\nConditionPathExists=|/nonexistent-b\nAssertPathExists=!/nonexistent\n[Service]\nExecStart=/bin/true\n",
		"assert.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"assert.service": "[Unit]\nAssertPathExists=!/\n[Service]\nExecStart=/bin/true\n",
	})
	log := &logTap{}
	const trig = "trig.service was skipped because all trigger condition checks failed."
	const asserted = "Assertion failed for assert.service."
	// Conditions= and Asserts= as property_get_conditions gives them: the
	// last read first, each with the state of its last test; the asserts
	// were not tested.
	want := map[string]string{
		"Conditions": "ConditionPathExists\tyes\tno\t/nonexistent-b\t-1\nConditionPathExists\tyes\tno\t/nonexistent-a\t-1",
		"Asserts":    "AssertPathExists\tno\tyes\t/nonexistent\t0",
	}
	got := map[string]string{}
	s := runDaemon(t, dir, state, func(c *api.Client) bool {
		if log.count(trig) == 0 || log.count(asserted) == 0 {
			return false
		}
		units, err := c.Units(context.Background(), []string{"trig.service"}, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range units[0].Properties {
			if p.Kind == "unprintable" {
				got[p.Name] = p.Value
			}
		}
		return true
	}, func(m *Manager) { m.Logger = slog.New(log) })
	if !maps.Equal(got, want) {
		t.Errorf("properties %q, want %q", got, want)
	}
	if log.count(trig) != 1 || log.count(asserted) != 1 || log.count("assert.service: Starting requested but asserts failed.") != 1 {
		t.Errorf("messages: %q", log.msgs)
	}
	for r, err := range s.Runs(context.Background(), "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.State != store.RunEnded || r.Unit == "trig.service" && r.Result != "skipped" || r.Unit == "assert.service" && r.Result != "assert (AssertPathExists=!/)" {
			t.Errorf("run %+v", r)
		}
	}
}

// TestExecConditionSkip: an ExecCondition= that exits 1–254 skips the
// service as service_sigchld_event does: inactive, Result=exec-condition,
// ConditionResult=no, the start job skipped with no message, OnSuccess=
// started and not OnFailure=, the run history keeping the skip; its
// timer goes on firing.
func TestExecConditionSkip(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"check.timer": "[Timer]\nOnActiveSec=10ms\nOnUnitInactiveSec=30ms\nAccuracySec=1us\n",
		"check.service": "[Unit]\nDescription=Checked\nStartLimitIntervalSec=0\nOnSuccess=after.service\nOnFailure=failed.service\n" +
			"[Service]\nType=oneshot\nExecCondition=/bin/sh -c 'exit 1'\nExecStart=/bin/sh -c 'echo run >>" + state + "/runs'\n",
		"after.service":   "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"failed.service":  "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"by-hand.service": "[Service]\nType=oneshot\nExecCondition=/bin/false\nExecStart=/bin/true\n",
	})
	log := &logTap{}
	const skipped = "check.service: Skipped due to 'exec-condition'."
	props := map[string]string{}
	var job api.JobResult
	timerStopped := false
	s := runDaemon(t, dir, state, func(c *api.Client) bool {
		ctx := context.Background()
		if !timerStopped {
			if log.count(skipped) < 2 {
				return false
			}
			// Fired again after a skip; stopped now, so that the
			// service is looked at between runs, not in one.
			if _, err := c.Jobs(ctx, api.JobRequest{Verb: "stop", Units: []string{"check.timer"}}); err != nil {
				t.Fatal(err)
			}
			timerStopped = true
		}
		if units, err := c.Units(ctx, []string{"check.service"}, false); err != nil || len(units) != 1 || units[0].Active != "inactive" {
			return false
		}
		res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{"by-hand.service"}})
		if err != nil || len(res) != 1 {
			t.Fatalf("start: %+v, %v", res, err)
		}
		job = res[0]
		units, err := c.Units(ctx, []string{"check.service"}, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range units[0].Properties {
			props[p.Name] = p.Value
		}
		props["ActiveState"] = units[0].Active
		return true
	}, func(m *Manager) { m.Logger = slog.New(log) })
	if job.Result != jobSkipped {
		t.Errorf("start job %+v, want skipped", job)
	}
	for name, want := range map[string]string{"ActiveState": "inactive", "Result": "exec-condition", "ConditionResult": "no", "AssertResult": "yes"} {
		if props[name] != want {
			t.Errorf("%s=%s, want %s", name, props[name], want)
		}
	}
	if props["ConditionTimestamp"] == "0" {
		t.Error("ConditionTimestamp not set")
	}
	if _, err := os.Stat(filepath.Join(state, "runs")); err == nil {
		t.Error("ExecStart= ran")
	}
	for _, msg := range []string{"Finished check.service - Checked.", "Failed to start check.service - Checked."} {
		if log.count(msg) != 0 {
			t.Errorf("%q logged", msg)
		}
	}
	units := map[string]int{}
	for r, err := range s.Runs(context.Background(), "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		units[r.Unit]++
		if r.Unit == "check.service" && r.Result != "skipped (exec-condition)" {
			t.Errorf("run %+v", r)
		}
	}
	if units["check.service"] < 2 || units["after.service"] < 1 || units["failed.service"] != 0 {
		t.Errorf("runs by unit: %v", units)
	}
}

// TestExecConditionSkipRestored: a daemon started again shows a service
// an ExecCondition= skipped as it was, inactive with its result, though
// the run history keeps the run as skipped.
func TestExecConditionSkipRestored(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"by-hand.service": "[Service]\nType=oneshot\nExecCondition=/bin/false\nExecStart=/bin/true\n",
	})
	func() {
		c, stop := serve(t, dir, state, t.TempDir())
		defer stop()
		res, err := c.Jobs(context.Background(), api.JobRequest{Verb: "start", Units: []string{"by-hand.service"}})
		if err != nil || len(res) != 1 || res[0].Result != jobSkipped {
			t.Fatalf("start: %+v, %v", res, err)
		}
	}()
	c, stop := serve(t, dir, state, t.TempDir())
	defer stop()
	if u := unitOf(t, c, "by-hand.service"); u.Active != "inactive" || u.Result != "exec-condition" {
		t.Errorf("restored: %s, result %s; want inactive, exec-condition", u.Active, u.Result)
	}
}

func unitOf(t *testing.T, c *api.Client, name string) api.Unit {
	t.Helper()
	units, err := c.Units(context.Background(), []string{name}, false)
	if err != nil || len(units) != 1 {
		t.Fatalf("Units %s: %+v, %v", name, units, err)
	}
	return units[0]
}

// TestUnstartedRestored: a daemon started again shows a service as its
// last start that began left it: a start a condition skipped or an assert
// failed kept the state and result the service had (unit_start returns
// before the service begins), and one an ExecCondition= skipped is
// inactive with result exec-condition. Each service is loaded both at
// start, by a timer of timers.target, and later, when asked for.
func TestUnstartedRestored(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	type start struct {
		gate bool   // whether the path the service tests exists
		job  string // the start job's result
	}
	cases := []struct {
		name, unit string
		starts     []start
		active     string
		result     string
	}{
		{"skipped", "[Unit]\nConditionPathExists=%s\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
			[]start{{false, jobDone}}, "inactive", "success"},
		{"triggers", "[Unit]\nConditionPathExists=|%s\nConditionPathExists=|/nonexistent\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
			[]start{{false, jobDone}}, "inactive", "success"},
		{"ran-skipped", "[Unit]\nConditionPathExists=%s\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
			[]start{{true, jobDone}, {false, jobDone}}, "inactive", "success"},
		{"failed-skipped", "[Unit]\nConditionPathExists=%s\n[Service]\nType=oneshot\nExecStart=/bin/false\n",
			[]start{{true, jobFailed}, {false, jobDone}}, "failed", "exit-code"},
		{"assert", "[Unit]\nAssertPathExists=%s\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
			[]start{{false, jobAssert}}, "inactive", "success"},
		{"failed-assert", "[Unit]\nAssertPathExists=%s\n[Service]\nType=oneshot\nExecStart=/bin/false\n",
			[]start{{true, jobFailed}, {false, jobAssert}}, "failed", "exit-code"},
		{"exec-condition", "[Service]\nType=oneshot\nExecCondition=/bin/test -e %s\nExecStart=/bin/false\n",
			[]start{{true, jobFailed}, {false, jobSkipped}}, "inactive", "exec-condition"},
	}
	files := map[string]string{}
	for _, c := range cases {
		for _, name := range []string{c.name, c.name + "-timed"} {
			files[name+".service"] = fmt.Sprintf(c.unit, filepath.Join(state, name))
		}
		files[c.name+"-timed.timer"] = "[Timer]\nOnCalendar=2099-01-01\n"
	}
	writeUnits(t, dir, files)
	ctx := context.Background()
	func() {
		c, stop := serve(t, dir, state, t.TempDir())
		defer stop()
		for _, tc := range cases {
			for _, name := range []string{tc.name, tc.name + "-timed"} {
				gate := filepath.Join(state, name)
				for i, s := range tc.starts {
					if s.gate {
						if err := os.WriteFile(gate, nil, 0o644); err != nil {
							t.Fatal(err)
						}
					} else if err := os.Remove(gate); err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					res, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{name + ".service"}})
					if err != nil || len(res) != 1 || res[0].Result != s.job {
						t.Fatalf("%s, start %d: %+v, %v; want %s", name, i, res, err, s.job)
					}
				}
			}
		}
	}()
	c, stop := serve(t, dir, state, t.TempDir())
	defer stop()
	for _, tc := range cases {
		for _, name := range []string{tc.name, tc.name + "-timed"} {
			if u := unitOf(t, c, name+".service"); u.Active != tc.active || u.Result != tc.result {
				t.Errorf("%s restored: %s, result %s; want %s, %s", name, u.Active, u.Result, tc.active, tc.result)
			}
		}
	}
}

// TestTestsRestored: a daemon started again shows the last tests of a
// service's conditions and asserts as they were before: when, their
// results, and the one that failed; an assert's last test may be older
// than a condition's that skipped the service since.
func TestTestsRestored(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	cases := []struct {
		name, unit string
		gates      []bool // whether the path tested exists, at each start
	}{
		{"skipped", "[Unit]\nConditionPathExists=%s\nAssertPathExists=/\n[Service]\nType=oneshot\nExecStart=/bin/true\n", []bool{false}},
		{"ran", "[Unit]\nConditionPathExists=%s\nAssertPathExists=/\n[Service]\nType=oneshot\nExecStart=/bin/true\n", []bool{true}},
		{"ran-skipped", "[Unit]\nConditionPathExists=%s\nAssertPathExists=/\n[Service]\nType=oneshot\nExecStart=/bin/true\n", []bool{true, false}},
		{"triggers", "[Unit]\nConditionPathExists=|%s\nConditionPathExists=|/nonexistent\n[Service]\nType=oneshot\nExecStart=/bin/true\n", []bool{false}},
		{"assert", "[Unit]\nAssertPathExists=%s\n[Service]\nType=oneshot\nExecStart=/bin/true\n", []bool{false}},
		{"exec-condition", "[Service]\nType=oneshot\nExecCondition=/bin/test -e %s\nExecStart=/bin/true\n", []bool{false}},
	}
	files := map[string]string{}
	for _, c := range cases {
		files[c.name+".service"] = fmt.Sprintf(c.unit, filepath.Join(state, c.name))
	}
	writeUnits(t, dir, files)
	ctx := context.Background()
	before := map[string]api.Unit{}
	func() {
		c, stop := serve(t, dir, state, t.TempDir())
		defer stop()
		for _, tc := range cases {
			gate := filepath.Join(state, tc.name)
			for _, g := range tc.gates {
				if g {
					if err := os.WriteFile(gate, nil, 0o644); err != nil {
						t.Fatal(err)
					}
				} else if err := os.Remove(gate); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if _, err := c.Jobs(ctx, api.JobRequest{Verb: "start", Units: []string{tc.name + ".service"}}); err != nil {
					t.Fatal(err)
				}
			}
			before[tc.name] = unitOf(t, c, tc.name+".service")
		}
	}()
	c, stop := serve(t, dir, state, t.TempDir())
	defer stop()
	tests := func(u api.Unit) string {
		return fmt.Sprintf("condition %v at %d %q, assert %v at %d %q", u.ConditionResult, u.ConditionTimestamp, u.ConditionUnmet,
			u.AssertResult, u.AssertTimestamp, u.AssertUnmet)
	}
	for _, tc := range cases {
		want := before[tc.name]
		if tc.name == "triggers" {
			// The history keeps no triggering condition.
			want.ConditionUnmet = nil
		}
		got := unitOf(t, c, tc.name+".service")
		if got.ConditionResult != want.ConditionResult || !slices.Equal(got.ConditionUnmet, want.ConditionUnmet) ||
			got.AssertResult != want.AssertResult || got.AssertUnmet != want.AssertUnmet ||
			got.ConditionTimestamp != want.ConditionTimestamp || got.AssertTimestamp != want.AssertTimestamp {
			t.Errorf("%s restored: %s\nwant: %s", tc.name, tests(got), tests(want))
		}
	}
	if u := before["ran-skipped"]; u.ConditionResult || !u.AssertResult || u.AssertTimestamp >= u.ConditionTimestamp {
		t.Errorf("ran-skipped before: %s", tests(u))
	}
}
