package manager

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/store"
)

// errFull is SQLite's error for a full disk.
var errFull = errors.New("database or disk is full (13)")

// fullDisk fails the store's writes while full is set, as a full disk
// fails them.
type fullDisk struct {
	storeWrites
	full *atomic.Bool
}

func (d fullDisk) Trigger(ctx context.Context, prev store.TimerState, t store.Trigger) (store.TimerState, int64, error) {
	if d.full.Load() {
		return store.TimerState{}, 0, errFull
	}
	return d.storeWrites.Trigger(ctx, prev, t)
}

func (d fullDisk) StartRun(ctx context.Context, r store.Run) (int64, error) {
	if d.full.Load() {
		return 0, errFull
	}
	return d.storeWrites.StartRun(ctx, r)
}

func (d fullDisk) EndRun(ctx context.Context, id int64, ended, endedMonotonic uint64, result, exitCode string, exitStatus int) error {
	if d.full.Load() {
		return errFull
	}
	return d.storeWrites.EndRun(ctx, id, ended, endedMonotonic, result, exitCode, exitStatus)
}

func (d fullDisk) SetRunProcess(ctx context.Context, id int64, pid int, sub store.RunSub) error {
	if d.full.Load() {
		return errFull
	}
	return d.storeWrites.SetRunProcess(ctx, id, pid, sub)
}

func (d fullDisk) TimersActive(ctx context.Context, boot string, acts ...store.Activation) ([]store.TimerState, error) {
	if d.full.Load() {
		return nil, errFull
	}
	return d.storeWrites.TimersActive(ctx, boot, acts...)
}

func (d fullDisk) ForgetStart(ctx context.Context) error {
	if d.full.Load() {
		return errFull
	}
	return d.storeWrites.ForgetStart(ctx)
}

func (d fullDisk) Append(ctx context.Context, entries ...store.Entry) error {
	if d.full.Load() {
		return errFull
	}
	return d.storeWrites.Append(ctx, entries...)
}

func (d fullDisk) InterruptRuns(ctx context.Context, keep ...int64) (int64, error) {
	if d.full.Load() {
		return 0, errFull
	}
	return d.storeWrites.InterruptRuns(ctx, keep...)
}

// fillDisk runs a timer that fires every 50 ms, has fill fill the disk
// after its first run and free free it three runs later, and stops the
// daemon three runs after that. The timer must go on firing all along,
// and once there is room, every run that ran must be recorded, as it
// ended, with the stamp of the last trigger. It returns the daemon's
// store, its manager and its log, and how many runs ran.
func fillDisk(t *testing.T, state string, fill, free func(), configure func(*Manager)) (*store.Store, *Manager, *logBuffer, int) {
	t.Helper()
	dir, marks := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"again.timer":   "[Timer]\nOnActiveSec=10ms\nOnUnitInactiveSec=50ms\nAccuracySec=1us\n",
		"again.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >>" + marks + "/runs; echo ran'\n",
	})
	count := func() int {
		data, _ := os.ReadFile(filepath.Join(marks, "runs"))
		return strings.Count(string(data), "run")
	}
	var m *Manager
	log := &logBuffer{}
	var until int
	phase := 0
	s := runDaemon(t, dir, state, func(*api.Client) bool {
		n := count()
		switch {
		case phase == 0 && n >= 1:
			fill()
			phase, until = 1, n+3
		case phase == 1 && n >= until:
			free()
			phase, until = 2, n+3
		case phase == 2 && n >= until:
			return true
		}
		return false
	}, func(mm *Manager) {
		m = mm
		m.Logger = newLogger(log)
		configure(m)
	})
	if phase != 2 {
		t.Fatalf("the timer stopped firing while the disk was full: %d runs; the log:\n%s", count(), log)
	}
	executed := count()
	var runs []store.Run
	for r, err := range s.Runs(context.Background(), "again.service", 0) {
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	recorded := len(runs)
	// Each ended as it did, those begun while the disk was full too
	// (their end found their record); the last may have been stopped
	// with the daemon.
	for i, r := range runs {
		if r.Timer != "again.timer" || i < len(runs)-1 && (r.State != store.RunEnded || r.Result != "success") {
			t.Errorf("run %+v", r)
		}
	}
	// The daemon stops while the timer goes on firing: its last run may
	// have been stopped before its command wrote.
	if recorded != executed && recorded != executed+1 {
		t.Errorf("%d runs recorded, %d executed; the log:\n%s", recorded, executed, log)
	}
	if st, err := s.Timer(context.Background(), "again.timer"); err != nil || st.LastTrigger == 0 {
		t.Errorf("stamp of again.timer: %+v, %v", st, err)
	}
	return s, m, log, executed
}

// TestDiskFull fills the disk as fillDisk does, with every write to the
// store failing meanwhile: the journal's lines that could not be
// written are counted, and the log says once that they are dropped, and
// once that the writes are made again.
func TestDiskFull(t *testing.T) {
	var full atomic.Bool
	s, m, log, executed := fillDisk(t, t.TempDir(), func() { full.Store(true) }, func() { full.Store(false) }, func(m *Manager) {
		m.faults = func(w storeWrites) storeWrites { return fullDisk{w, &full} }
	})
	if m.droppedLines == 0 {
		t.Error("no journal line counted as dropped")
	}
	for _, msg := range []string{"Failed to write to the journal; dropping its lines", "Writing to the journal again;",
		"it and the writes after it are kept, and tried again", "Writing to the store again"} {
		if n := strings.Count(log.String(), msg); n != 1 {
			t.Errorf("%q logged %d times; the log:\n%s", msg, n, log)
		}
	}
	// What the service wrote before and after is there.
	ran := 0
	for e, err := range s.Query(context.Background(), store.Filter{Units: []string{"again.service"}}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Message == "ran" {
			ran++
		}
	}
	if ran < 3 || ran >= executed {
		t.Errorf("%d lines of %d runs in the journal, want those before and after the disk was full", ran, executed)
	}
}

// headTried is a full disk that counts the tries of the first writes
// the daemon makes, its timers' activations and the runs its last stop
// interrupted: every try of the pending writes begins with one of them,
// and stops there while the disk is full.
type headTried struct {
	fullDisk
	tries *atomic.Int32
}

func (d headTried) TimersActive(ctx context.Context, boot string, acts ...store.Activation) ([]store.TimerState, error) {
	d.tries.Add(1)
	return d.fullDisk.TimersActive(ctx, boot, acts...)
}

func (d headTried) InterruptRuns(ctx context.Context, keep ...int64) (int64, error) {
	d.tries.Add(1)
	return d.fullDisk.InterruptRuns(ctx, keep...)
}

// fullOnce is a timer that fires once, Persistent=, in dir, on a disk
// full until full is unset, whose daemon's tries of its first write
// are counted (see headTried).
type fullOnce struct {
	dir   string
	full  atomic.Bool
	tries atomic.Int32
}

func newFullOnce(t *testing.T) *fullOnce {
	f := &fullOnce{dir: t.TempDir()}
	writeUnits(t, f.dir, map[string]string{
		"once.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\nPersistent=yes\n",
		"once.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
	})
	f.full.Store(true)
	return f
}

func (f *fullOnce) faults(w storeWrites) storeWrites {
	return headTried{fullDisk{w, &f.full}, &f.tries}
}

// TestDiskFullRetry runs a timer once on a full disk, and makes room
// once its run's end was tried (the third try: at the start, with the
// trigger, with the end): with no write after, the writes held are made
// all the same, when tried again, while the daemon runs.
func TestDiskFullRetry(t *testing.T) {
	f := newFullOnce(t)
	log := &logBuffer{}
	retried := false
	// Freed once the writes were tried after the run ended, so that no
	// write of the daemon's but the retry itself makes them.
	triesAtEnd := int32(-1)
	s := runDaemon(t, f.dir, t.TempDir(), func(*api.Client) bool {
		if triesAtEnd < 0 && strings.Contains(log.String(), "once.service: Deactivated successfully.") {
			triesAtEnd = f.tries.Load()
		}
		if triesAtEnd >= 0 && f.tries.Load() > triesAtEnd {
			f.full.Store(false)
		}
		retried = strings.Contains(log.String(), "Writing to the store again")
		return retried
	}, func(m *Manager) {
		m.Logger = newLogger(log)
		m.faults = f.faults
	})
	if !retried {
		t.Fatalf("the writes held were not made while the daemon ran; the log:\n%s", log)
	}
	var runs []store.Run
	for r, err := range s.Runs(context.Background(), "once.service", 0) {
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if len(runs) != 1 || runs[0].State != store.RunEnded || runs[0].Result != "success" {
		t.Errorf("runs: %+v, want one ended with success", runs)
	}
	if st, err := s.Timer(context.Background(), "once.timer"); err != nil || st.LastTrigger == 0 {
		t.Errorf("stamp of once.timer: %+v, %v", st, err)
	}
}

// TestDiskFullClean cleans a timer whose trigger is held for a full
// disk, once the disk has room, before the trigger is tried again: the
// trigger is written first, and the stamp stays cleaned.
func TestDiskFullClean(t *testing.T) {
	f := newFullOnce(t)
	state := t.TempDir()
	m := &Manager{UnitPath: []string{f.dir}, StateDir: state, Env: []string{"PATH=/usr/bin:/bin"},
		Socket: filepath.Join(t.TempDir(), "control"), faults: f.faults}
	log, stop := startDaemon(t, m)
	// Tried at the start, with the trigger, with the end.
	await.Until(t, func() bool { return f.tries.Load() >= 3 }, "the run's end tried")
	f.full.Store(false)
	c := &api.Client{Socket: m.Socket}
	for _, req := range []api.JobRequest{{Verb: "stop", Units: []string{"once.timer"}}, {Verb: "clean", Units: []string{"once.timer"}, What: []string{"state"}}} {
		if res, err := c.Jobs(context.Background(), req); err != nil || len(res) != 1 || res[0].Error != "" {
			t.Fatalf("%s: %+v, %v", req.Verb, res, err)
		}
	}
	await.Until(t, func() bool { return strings.Contains(log.String(), "Writing to the store again") }, "the writes held made")
	stop()
	s, err := store.Open(context.Background(), filepath.Join(state, "sundial.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.Timer(context.Background(), "once.timer"); err != nil || st.LastTrigger != 0 {
		t.Errorf("stamp of once.timer: %+v, %v; want it cleaned", st, err)
	}
}

// failsOnce fails the first run's end with an error that trying again
// cannot mend.
type failsOnce struct {
	storeWrites
	err    error
	failed *atomic.Bool
}

func (d failsOnce) EndRun(ctx context.Context, id int64, ended, endedMonotonic uint64, result, exitCode string, exitStatus int) error {
	if d.failed.CompareAndSwap(false, true) {
		return d.err
	}
	return d.storeWrites.EndRun(ctx, id, ended, endedMonotonic, result, exitCode, exitStatus)
}

// TestWriteFailsForGood fails a write of the run history with an error
// of SQLite's that no retry mends: it is dropped, saying so, and does
// not hold back the writes after it.
func TestWriteFailsForGood(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, lasting := db.Exec(`INSERT INTO nowhere VALUES (1)`)
	if lasting == nil || store.Temporary(lasting) {
		t.Fatalf("an error that lasts: %v", lasting)
	}
	dir, state, marks := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"again.timer":   "[Timer]\nOnActiveSec=10ms\nOnUnitInactiveSec=50ms\nAccuracySec=1us\n",
		"again.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >>" + marks + "/runs'\n",
	})
	log := &logBuffer{}
	var failed atomic.Bool
	s := runDaemon(t, dir, state, func(*api.Client) bool {
		data, _ := os.ReadFile(filepath.Join(marks, "runs"))
		return strings.Count(string(data), "run") >= 4
	}, func(m *Manager) {
		m.Logger = newLogger(log)
		m.faults = func(w storeWrites) storeWrites { return failsOnce{w, lasting, &failed} }
	})
	if !strings.Contains(log.String(), "Failed to write the end of a run of again.service, for good; dropped.") {
		t.Errorf("the write that failed for good not said; the log:\n%s", log)
	}
	var runs []store.Run
	for r, err := range s.Runs(context.Background(), "again.service", 0) {
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	// The first's end is lost; the next ones' are there (the last may
	// have been stopped with the daemon).
	if len(runs) < 4 {
		t.Fatalf("%d runs recorded, want at least 4", len(runs))
	}
	for _, r := range runs[1 : len(runs)-1] {
		if r.State != store.RunEnded || r.Result != "success" {
			t.Errorf("run %+v", r)
		}
	}
}

// TestTooManyPending holds more writes than it keeps: the oldest are
// dropped, said once, and counted when the writes are made again.
func TestTooManyPending(t *testing.T) {
	log := &logBuffer{}
	m := &Manager{clk: clock.Real{}, log: newLogger(log)}
	var full atomic.Bool
	full.Store(true)
	write := func(context.Context) error {
		if full.Load() {
			return errFull
		}
		return nil
	}
	for range maxPendingRecords + 5 {
		m.record("a write", write)
	}
	if n := strings.Count(log.String(), "Too many writes to the store pending"); n != 1 {
		t.Errorf("said %d times that writes are dropped; want once", n)
	}
	full.Store(false)
	m.flushRecords()
	if want := "but for 5 dropped as too many."; !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, log)
	}
}

// fillUp fills the disk with a file at path.
func fillUp(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

// TestCorruptAtStart starts the daemon on a database damaged in the
// middle of its pages, and on an empty one: it says so, sets the file
// aside, and runs its timers on a fresh database, whose journal reads.
func TestCorruptAtStart(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"page", func(t *testing.T, path string) {
			s, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			var entries []store.Entry
			for i := range 5000 {
				entries = append(entries, store.Entry{Realtime: uint64(i + 1), Unit: "old.service", Message: "an old line of the journal"})
			}
			if err := s.Append(context.Background(), entries...); err != nil {
				t.Fatal(err)
			}
			s.Close()
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			// Over the start of the page in the middle of the file.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(bytes.Repeat([]byte("\xa5\x5a garbage "), 32), info.Size()/4096/2*4096); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, state, marks := t.TempDir(), t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{
				"once.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\nPersistent=yes\n",
				"once.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo once; touch " + marks + "/ran'\n",
			})
			path := filepath.Join(state, "sundial.db")
			tt.damage(t, path)
			damaged, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			log := &logBuffer{}
			s := runDaemon(t, dir, state, func(*api.Client) bool {
				_, err := os.Stat(filepath.Join(marks, "ran"))
				return err == nil
			}, func(m *Manager) { m.Logger = newLogger(log) })
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("set aside: %v", aside)
			}
			if kept, err := os.ReadFile(aside[0]); err != nil || !bytes.Equal(kept, damaged) {
				t.Errorf("%s is not the damaged database: %v", aside[0], err)
			}
			if want := "Database " + path + " is corrupt ("; !strings.Contains(log.String(), want) || !strings.Contains(log.String(), "renamed to "+aside[0]) {
				t.Errorf("the log does not say %q, renamed to %s:\n%s", want, aside[0], log)
			}
			var msgs []string
			for e, err := range s.Query(context.Background(), store.Filter{}) {
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, e.Message)
			}
			if !slices.Contains(msgs, "once") || slices.Contains(msgs, "an old line of the journal") {
				t.Errorf("the journal after the start:\n  %s", strings.Join(msgs, "\n  "))
			}
		})
	}
}
