package manager

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
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
		if r.State != store.RunEnded || r.Unit == "trig.service" && r.Result != "skipped" || r.Unit == "assert.service" && r.Result != "assert" {
			t.Errorf("run %+v", r)
		}
	}
}
