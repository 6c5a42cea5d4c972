package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sundial.dev/sundial/internal/await"
)

// TestSnapshot runs a timer whose service succeeds and one whose
// service fails, and checks what the snapshot counts of them; before
// the daemon runs and after it stops, there is no snapshot.
func TestSnapshot(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"ok.timer":    "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"ok.service":  "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"bad.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\nPersistent=yes\n",
		"bad.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 3'\n",
	})
	var m *Manager
	_, stop := serve(t, dir, state, t.TempDir(), func(mm *Manager) {
		m = mm
		if _, err := m.Snapshot(context.Background()); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Snapshot before Run: %v, want ErrNotRunning", err)
		}
	})
	ctx := context.Background()
	result := func(name string) int { return slices.Index(RunResults, name) }
	var s Snapshot
	await.Until(t, func() bool {
		var err error
		if s, err = m.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		ok, bad := serviceIn(s, "ok.service"), serviceIn(s, "bad.service")
		return ok != nil && bad != nil && ok.Runs[result("success")] == 1 && bad.Runs[result("exit-code")] == 1 &&
			s.JournalWritten > 0
	}, "a run of each service counted")
	for _, name := range []string{"ok.timer", "bad.timer"} {
		i := slices.IndexFunc(s.Timers, func(t TimerStatus) bool { return t.Name == name })
		if i < 0 {
			t.Fatalf("no %s in %+v", name, s.Timers)
		}
		tm := s.Timers[i]
		if !tm.Enabled || tm.LastTrigger.IsZero() || tm.Schedule[0] != "OnActiveSec=10ms" || tm.Persistent != (name == "bad.timer") {
			t.Errorf("%s: %+v", name, tm)
		}
	}
	bad := serviceIn(s, "bad.service")
	if bad.LastFailure.IsZero() || !bad.LastSuccess.IsZero() || bad.LastExitCode != "exited" || bad.LastExitStatus != 3 ||
		bad.Active != "failed" || bad.Duration.Count != 1 || bad.LastStart.After(bad.LastEnd) {
		t.Errorf("bad.service: %+v", bad)
	}
	ok := serviceIn(s, "ok.service")
	if ok.LastSuccess.IsZero() || !ok.LastFailure.IsZero() || ok.Duration.Count != 1 || ok.Running {
		t.Errorf("ok.service: %+v", ok)
	}
	if s.Lateness.Count != 2 || !s.StoreWritable || s.JournalDropped != 0 {
		t.Errorf("lateness %+v, store writable %v, journal dropped %d", s.Lateness, s.StoreWritable, s.JournalDropped)
	}
	stop()
	if _, err := m.Snapshot(ctx); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Snapshot after Run: %v, want ErrNotRunning", err)
	}

	// Started again, with timers that do not fire soon, the daemon knows the
	// last run, success and failure from the history.
	for _, name := range []string{"ok.timer", "bad.timer"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("[Timer]\nOnCalendar=*-01-01\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, stop = serve(t, dir, state, t.TempDir(), func(mm *Manager) { m = mm })
	defer stop()
	s, err := m.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b := serviceIn(s, "bad.service"); b == nil || !b.LastFailure.Equal(bad.LastFailure) || !b.LastEnd.Equal(bad.LastEnd) ||
		b.LastExitStatus != 3 || !b.LastSuccess.IsZero() || b.Runs[result("exit-code")] != 0 {
		t.Errorf("bad.service started again: %+v", b)
	}
	if o := serviceIn(s, "ok.service"); o == nil || !o.LastSuccess.Equal(ok.LastSuccess) || !o.LastFailure.IsZero() {
		t.Errorf("ok.service started again: %+v", o)
	}
	runs, err := m.History(ctx, []string{"bad.service"}, 0, 0)
	if err != nil || len(runs) != 1 || runs[0].Result != "exit-code" {
		t.Errorf("History: %+v, %v", runs, err)
	}

	// The next elapse skipped, the timer waits for the one after.
	i := slices.IndexFunc(s.Timers, func(t TimerStatus) bool { return t.Name == "ok.timer" })
	before := s.Timers[i].Next
	if err := m.Act(ctx, "skip", "ok.timer"); err != nil {
		t.Fatal(err)
	}
	if s, err = m.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if after := s.Timers[i].Next; before.IsZero() || !after.Equal(before.AddDate(1, 0, 0)) {
		t.Errorf("next elapse %v, after a skip %v", before, after)
	}
	if err := m.Act(ctx, "skip", "ok.service"); err == nil || err.Error() != "Unit ok.service is not a timer in memory." {
		t.Errorf("skip of a service: %v", err)
	}
}

func serviceIn(s Snapshot, name string) *ServiceStatus {
	i := slices.IndexFunc(s.Services, func(sv ServiceStatus) bool { return sv.Name == name })
	if i < 0 {
		return nil
	}
	return &s.Services[i]
}

// BenchmarkSnapshot takes the snapshot of a daemon of 10,000 timers and
// their services, as each scrape of the metrics does.
func BenchmarkSnapshot(b *testing.B) {
	dir, state, run := b.TempDir(), b.TempDir(), b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "timers.target.wants"), 0o755); err != nil {
		b.Fatal(err)
	}
	files := map[string]string{"timers.target": "[Unit]\nDescription=Timers\n"}
	for i := range 10_000 {
		name := fmt.Sprintf("job-%05d", i)
		files[name+".timer"] = fmt.Sprintf("[Timer]\nOnCalendar=*-*-* %02d:%02d:00\n", i%24, i%60)
		files[name+".service"] = "[Service]\nType=oneshot\nExecStart=/bin/true\n"
		if err := os.Symlink("../"+name+".timer", filepath.Join(dir, "timers.target.wants", name+".timer")); err != nil {
			b.Fatal(err)
		}
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	m := &Manager{UnitPath: []string{dir}, StateDir: state, Socket: filepath.Join(run, "control")}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error)
	go func() { ended <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ended; err != nil {
			b.Error(err)
		}
	}()
	select {
	case <-m.Started():
	case err := <-ended:
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := m.Snapshot(ctx)
		if err != nil || len(s.Timers) != 10_000 {
			b.Fatalf("%d timers, %v", len(s.Timers), err)
		}
	}
}
