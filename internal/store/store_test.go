package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTrigger(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	st, err := s.Timer(ctx, "backup.timer")
	if err != nil || st != (TimerState{}) {
		t.Fatalf("new timer: %+v, %v", st, err)
	}
	newState, id, err := s.Trigger(ctx, st, Trigger{Timer: "backup.timer", Unit: "backup.service", Reason: "OnCalendar", Invocation: "abc", Realtime: 1000, Monotonic: 10})
	if err != nil || id == 0 {
		t.Fatalf("Trigger: %d, %v", id, err)
	}
	// A second trigger from the same state read is stale, and leaves no
	// run behind.
	if _, _, err := s.Trigger(ctx, st, Trigger{Timer: "backup.timer", Unit: "backup.service", Realtime: 2000}); !errors.Is(err, ErrStale) {
		t.Errorf("second Trigger from the old state: %v, want ErrStale", err)
	}
	st2, _ := s.Timer(ctx, "backup.timer")
	if st2.LastTrigger != 1000 || st2.LastTriggerMonotonic != 10 || st2.Version != 1 || st2 != newState {
		t.Errorf("state after trigger: %+v, returned %+v", st2, newState)
	}
	if _, _, err := s.Trigger(ctx, st2, Trigger{Timer: "backup.timer", Unit: "backup.service", Realtime: 3000}); err != nil {
		t.Errorf("Trigger from the new state: %v", err)
	}
	if err := s.EndRun(ctx, id, 1500, 15, "exit-code", "exited", 3); err != nil {
		t.Fatal(err)
	}
	// After a restart the state is there; the run still running when the
	// daemon stopped is interrupted.
	s.Close()
	s = open(t, path)
	if st3, _ := s.Timer(ctx, "backup.timer"); st3.LastTrigger != 3000 || st3.Version != 2 {
		t.Errorf("state after reopening: %+v", st3)
	}
	if n, err := s.InterruptRuns(ctx); n != 1 || err != nil {
		t.Errorf("InterruptRuns = %d, %v", n, err)
	}
	var runs []Run
	for r, err := range s.Runs(ctx, "backup.service", 0) {
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	want := []Run{
		{ID: 1, Unit: "backup.service", Timer: "backup.timer", Reason: "OnCalendar", Invocation: "abc", Started: 1000, Ended: 1500, State: RunEnded, Result: "exit-code", ExitCode: "exited", ExitStatus: 3,
			StartedMonotonic: 10, EndedMonotonic: 15},
		{ID: 2, Unit: "backup.service", Timer: "backup.timer", Started: 3000, State: RunInterrupted},
	}
	if fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("runs:\n %+v\nwant\n %+v", runs, want)
	}
	st3, _ := s.Timer(ctx, "backup.timer")
	if err := s.CleanTimer(ctx, "backup.timer"); err != nil {
		t.Fatal(err)
	}
	if st4, _ := s.Timer(ctx, "backup.timer"); st4.LastTrigger != 0 || st4.Version != st3.Version+1 {
		t.Errorf("state after clean: %+v", st4)
	}
	if _, _, err := s.Trigger(ctx, st3, Trigger{Timer: "backup.timer", Unit: "backup.service", Realtime: 4000}); !errors.Is(err, ErrStale) {
		t.Errorf("Trigger from a state read before clean: %v, want ErrStale", err)
	}
}

// TestBulk reads every timer's state and each unit's last run at once,
// as one by one.
func TestBulk(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	for i, name := range []string{"a", "b", "a", "c", "a"} {
		st, _ := s.Timer(ctx, name+".timer")
		if _, _, err := s.Trigger(ctx, st, Trigger{Timer: name + ".timer", Unit: name + ".service", Realtime: uint64(1000 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.StartRun(ctx, Run{Unit: "d.service", Reason: "manual", Started: 7}); err != nil {
		t.Fatal(err)
	}
	timers, err := s.Timers(ctx)
	if err != nil || len(timers) != 3 {
		t.Fatalf("Timers: %v, %v", timers, err)
	}
	last, err := s.LastRuns(ctx, "")
	if err != nil || len(last) != 4 {
		t.Fatalf("LastRuns: %v, %v", last, err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if one, _ := s.Timer(ctx, name+".timer"); timers[name+".timer"] != one {
			t.Errorf("%s.timer: %+v, one by one %+v", name, timers[name+".timer"], one)
		}
	}
	for _, unit := range []string{"a.service", "b.service", "c.service", "d.service"} {
		for r := range s.Runs(ctx, unit, 1) {
			if last[unit] != r {
				t.Errorf("%s: %+v, one by one %+v", unit, last[unit], r)
			}
		}
	}
	if last["a.service"].Started != 1004 {
		t.Errorf("a.service's last run: %+v", last["a.service"])
	}
}

func TestJournal(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var entries []Entry
	for i := range 300 {
		u := []string{"a.service", "b.service"}[i%2]
		entries = append(entries, Entry{Realtime: uint64(1000 + i), Monotonic: uint64(i), Boot: []string{"b1", "b2"}[i/150], Unit: u, PID: 42, Identifier: "sh", Priority: 6, Message: "line " + strconv.Itoa(i)})
	}
	if err := s.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	query := func(f Filter) []string {
		var out []string
		for e, err := range s.Query(ctx, f) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e.Message)
		}
		return out
	}
	if got := query(Filter{Units: []string{"a.service"}, Last: 2}); fmt.Sprint(got) != "[line 296 line 298]" {
		t.Errorf("last 2 of a: %q", got)
	}
	if got := query(Filter{Since: 1010, Until: 1012}); fmt.Sprint(got) != "[line 10 line 11 line 12]" {
		t.Errorf("since/until: %q", got)
	}
	if got := query(Filter{Boot: "b2", Units: []string{"b.service"}, Last: 1}); fmt.Sprint(got) != "[line 299]" {
		t.Errorf("boot: %q", got)
	}
	if got := query(Filter{After: 298}); fmt.Sprint(got) != "[line 298 line 299]" {
		t.Errorf("after a cursor: %q", got)
	}
	if boots, err := s.JournalBoots(ctx); err != nil || fmt.Sprint(boots) != "[{b1 1000 1149} {b2 1150 1299}]" {
		t.Errorf("JournalBoots() = %v, %v", boots, err)
	}
	if n, err := s.pruneJournal(ctx, 10); n != 290 || err != nil {
		t.Errorf("pruneJournal = %d, %v", n, err)
	}
	if got := query(Filter{}); len(got) != 10 || got[0] != "line 290" {
		t.Errorf("after pruning: %q", got)
	}
}

// TestAppendSizes appends batches of sizes around the statements' row
// counts, and checks that every entry is there, in order, whole.
func TestAppendSizes(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var want []Entry
	for _, size := range []int{1, 2, 3, 127, 128, 129, 255, 256, 1000} {
		batch := make([]Entry, size)
		for i := range batch {
			n := len(want) + i
			batch[i] = Entry{Realtime: uint64(1000 + n), Monotonic: uint64(n), Boot: "b", Unit: "u" + strconv.Itoa(n%3) + ".service",
				Invocation: "inv", PID: n, Identifier: "id", Priority: n % 8, Message: "line " + strconv.Itoa(n)}
		}
		if err := s.Append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		want = append(want, batch...)
	}
	n := 0
	for e, err := range s.Query(ctx, Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		w := want[n]
		w.Seq = int64(n + 1)
		if e != w {
			t.Fatalf("entry %d: %+v, want %+v", n, e, w)
		}
		n++
	}
	if n != len(want) {
		t.Errorf("%d entries, want %d", n, len(want))
	}
}

func TestRetain(t *testing.T) {
	type run struct {
		unit    string
		running bool
	}
	tests := []struct {
		name    string
		entries int // realtimes 1, 2, …
		runs    []run
		r       Retention
		want    Deleted
		// the realtimes of the entries kept and the IDs of the runs
		wantEntries, wantRuns string
	}{
		{name: "nothing bound", entries: 5, runs: []run{{unit: "a"}}, r: Retention{},
			wantEntries: "[1 2 3 4 5]", wantRuns: "[1]"},
		{name: "empty", r: Retention{MaxEntries: 1, Before: 10, MaxRuns: 1},
			wantEntries: "[]", wantRuns: "[]"},
		{name: "entries by count", entries: 5, r: Retention{MaxEntries: 2}, want: Deleted{Entries: 3},
			wantEntries: "[4 5]", wantRuns: "[]"},
		{name: "fewer entries than kept", entries: 5, r: Retention{MaxEntries: 5},
			wantEntries: "[1 2 3 4 5]", wantRuns: "[]"},
		{name: "entries by count, in batches", entries: 3*deleteBatch + 7, r: Retention{MaxEntries: 3}, want: Deleted{Entries: 3*deleteBatch + 4},
			wantEntries: fmt.Sprint([]int{3*deleteBatch + 5, 3*deleteBatch + 6, 3*deleteBatch + 7}), wantRuns: "[]"},
		{name: "entries by age", entries: 5, r: Retention{Before: 3}, want: Deleted{Entries: 2},
			wantEntries: "[3 4 5]", wantRuns: "[]"},
		{name: "entries by age, in batches", entries: 2*deleteBatch + 3, r: Retention{Before: 2*deleteBatch + 2}, want: Deleted{Entries: 2*deleteBatch + 1},
			wantEntries: fmt.Sprint([]int{2*deleteBatch + 2, 2*deleteBatch + 3}), wantRuns: "[]"},
		{name: "entries by age and count", entries: 5, r: Retention{MaxEntries: 3, Before: 4}, want: Deleted{Entries: 3},
			wantEntries: "[4 5]", wantRuns: "[]"},
		{name: "runs per unit", runs: []run{{unit: "a"}, {unit: "b"}, {unit: "a"}, {unit: "a"}, {unit: "b"}, {unit: "a"}, {unit: "c"}},
			r: Retention{MaxRuns: 2}, want: Deleted{Runs: 2}, wantEntries: "[]", wantRuns: "[2 4 5 6 7]"},
		{name: "running runs kept", runs: []run{{unit: "a", running: true}, {unit: "a"}, {unit: "a", running: true}, {unit: "a"}, {unit: "a"}},
			r: Retention{MaxRuns: 1}, want: Deleted{Runs: 2}, wantEntries: "[]", wantRuns: "[1 3 5]"},
		{name: "running among the newest", runs: []run{{unit: "a"}, {unit: "a"}, {unit: "a", running: true}},
			r: Retention{MaxRuns: 2}, want: Deleted{Runs: 1}, wantEntries: "[]", wantRuns: "[2 3]"},
		{name: "runs in batches", runs: func() []run {
			rs := make([]run, deleteBatch+10)
			for i := range rs {
				rs[i].unit = "a"
			}
			return rs
		}(), r: Retention{MaxRuns: 3}, want: Deleted{Runs: deleteBatch + 7}, wantEntries: "[]",
			wantRuns: fmt.Sprint([]int{deleteBatch + 8, deleteBatch + 9, deleteBatch + 10})},
		{name: "all at once", entries: 4, runs: []run{{unit: "a"}, {unit: "a"}}, r: Retention{MaxEntries: 3, Before: 3, MaxRuns: 1},
			want: Deleted{Entries: 2, Runs: 1}, wantEntries: "[3 4]", wantRuns: "[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, filepath.Join(t.TempDir(), "state.db"))
			var entries []Entry
			for i := range tt.entries {
				entries = append(entries, Entry{Realtime: uint64(i + 1), Unit: "x.service"})
			}
			if err := s.Append(ctx, entries...); err != nil {
				t.Fatal(err)
			}
			for i, r := range tt.runs {
				id, err := s.StartRun(ctx, Run{Unit: r.unit, Started: uint64(i)})
				if err != nil {
					t.Fatal(err)
				}
				if !r.running {
					if err := s.EndRun(ctx, id, uint64(i), uint64(i), "success", "exited", 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			d, err := s.Retain(ctx, tt.r)
			if err != nil || d != tt.want {
				t.Errorf("Retain = %+v, %v; want %+v", d, err, tt.want)
			}
			kept := []uint64{}
			for e, err := range s.Query(ctx, Filter{}) {
				if err != nil {
					t.Fatal(err)
				}
				kept = append(kept, e.Realtime)
			}
			if got := fmt.Sprint(kept); got != tt.wantEntries {
				t.Errorf("entries kept: %s, want %s", got, tt.wantEntries)
			}
			ids := []int64{}
			for r, err := range s.Runs(ctx, "", 0) {
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			if got := fmt.Sprint(ids); got != tt.wantRuns {
				t.Errorf("runs kept: %s, want %s", got, tt.wantRuns)
			}
		})
	}
}

// TestRetainCanceled checks that a canceled Retain stops, with the error.
func TestRetainCanceled(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	if err := s.Append(context.Background(), Entry{Realtime: 1}, Entry{Realtime: 2}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := s.Retain(ctx, Retention{Before: 10}); !errors.Is(err, context.Canceled) || d != (Deleted{}) {
		t.Errorf("Retain after cancel = %+v, %v; want context.Canceled", d, err)
	}
}

// crashBatch is the size of TestCrash's batches: several INSERT
// statements each, so that a kill can fall between two of a batch.
const crashBatch = 300

// TestCrash kills a process that appends to the journal as fast as it
// can, with SIGKILL, and checks that every batch it had reported
// committed is there, whole, when the database is opened again.
func TestCrash(t *testing.T) {
	if os.Getenv("STORE_CRASH_CHILD") != "" {
		return
	}
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=TestCrashChild")
	cmd.Env = append(os.Environ(), "STORE_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	committed := 0
	for sc.Scan() {
		if committed, err = strconv.Atoi(sc.Text()); err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		if committed >= 20 {
			cmd.Process.Kill()
			break
		}
	}
	cmd.Wait()
	s := open(t, path)
	n := 0
	for e, err := range s.Query(context.Background(), Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Message != "batch "+strconv.Itoa(n/crashBatch) {
			t.Fatalf("entry %d: %q", n, e.Message)
		}
		n++
	}
	if n%crashBatch != 0 || n/crashBatch < committed {
		t.Errorf("%d entries after the crash; %d batches of %d were committed", n, committed, crashBatch)
	}
}

// TestCrashChild is the process TestCrash kills.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("STORE_CRASH_CHILD")
	if path == "" {
		t.Skip("run by TestCrash")
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; ; b++ {
		batch := make([]Entry, crashBatch)
		for i := range batch {
			batch[i] = Entry{Realtime: uint64(b), Unit: "x.service", Message: "batch " + strconv.Itoa(b)}
		}
		if err := s.Append(context.Background(), batch...); err != nil {
			t.Fatal(err)
		}
		fmt.Println(b + 1)
	}
}

// BenchmarkAppend writes journal lines in batches, as a chatty service's
// output arrives (the daemon commits what came while the last commit
// ran, so batches grow with the load), and reports lines per second.
// The rate falls as the table grows: -benchtime 250x appends a million
// lines.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{256, 4096} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "state.db"))
			batch := make([]Entry, size)
			for i := range batch {
				batch[i] = Entry{Realtime: uint64(i), Boot: "0123456789abcdef0123456789abcdef", Unit: "chatty.service", Invocation: "fedcba9876543210fedcba9876543210", PID: 1234, Identifier: "chatty", Priority: 6, Message: "a line of output of some ordinary length, as services write them " + strconv.Itoa(i)}
			}
			lines := 0
			for b.Loop() {
				// Time goes on, as it does for a service's lines.
				for i := range batch {
					batch[i].Realtime = uint64(1_700_000_000_000_000 + lines + i)
					batch[i].Monotonic = uint64(lines + i)
				}
				if err := s.Append(context.Background(), batch...); err != nil {
					b.Fatal(err)
				}
				lines += len(batch)
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// TestMigrate opens a database of the first schema: what it held is
// kept, and the columns added since read as their defaults.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, schema+`INSERT INTO timers VALUES ('a.timer', 1000, 10, 3);
		INSERT INTO runs VALUES (1, 'a.service', 'a.timer', 'OnCalendar', 'abc', 1000, 0, 'running', '', '', 0);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := open(t, path)
	if st, err := s.Timer(ctx, "a.timer"); err != nil || st != (TimerState{LastTrigger: 1000, LastTriggerMonotonic: 10, Version: 3}) {
		t.Errorf("timer: %+v, %v", st, err)
	}
	runs, err := s.RunningRuns(ctx)
	if want := []Run{{ID: 1, Unit: "a.service", Timer: "a.timer", Reason: "OnCalendar", Invocation: "abc", Started: 1000, State: RunRunning}}; err != nil || !reflect.DeepEqual(runs, want) {
		t.Errorf("runs: %+v, %v", runs, err)
	}
	// Opened again, nothing is done twice.
	s.Close()
	open(t, path)
}

// TestNewerSchema refuses a database a newer version made, naming both
// versions, and leaves it as it was.
func TestNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path).Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	newer := len(migrations) + 1
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("a database of a newer schema opened")
	}
	want := fmt.Sprintf("store: %s: the database is of a newer version of sundial (schema %d; this version knows schemas up to %d): refusing to use it", path, newer, len(migrations))
	if err.Error() != want {
		t.Errorf("error: %v\nwant:   %s", err, want)
	}
	db, err = sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != newer {
		t.Errorf("user_version %d, %v; want %d", v, err, newer)
	}
}

// TestRestartState keeps what a daemon started again takes up: since when
// a timer is active, and within a boot its monotonic times; the main
// process of a run, and the runs it takes up, not interrupted.
func TestRestartState(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	states, err := s.TimersActive(ctx, "boot1", Activation{"a.timer", 1000, 10}, Activation{"b.timer", 1001, 11})
	if err != nil || len(states) != 2 || states[0] != (TimerState{Version: 1, Boot: "boot1", ActiveRealtime: 1000, ActiveMonotonic: 10}) ||
		states[1] != (TimerState{Version: 1, Boot: "boot1", ActiveRealtime: 1001, ActiveMonotonic: 11}) {
		t.Fatalf("TimersActive: %+v, %v", states, err)
	}
	st := states[0]
	st, id, err := s.Trigger(ctx, st, Trigger{Timer: "a.timer", Unit: "a.service", Realtime: 2000, Monotonic: 20, Boot: "boot1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Timer(ctx, "a.timer"); got != st || st.ActiveMonotonic != 10 || st.LastTriggerMonotonic != 20 {
		t.Errorf("after the trigger: %+v, returned %+v", got, st)
	}
	if err := s.SetRunProcess(ctx, id, 42, SubRunning); err != nil {
		t.Fatal(err)
	}
	other, _ := s.StartRun(ctx, Run{Unit: "b.service", Started: 3000, StartedMonotonic: 30, Boot: "boot1"})
	runs, err := s.RunningRuns(ctx)
	if err != nil || len(runs) != 2 || runs[0].MainPID != 42 || runs[0].Boot != "boot1" || runs[0].StartedMonotonic != 20 || runs[1].ID != other {
		t.Fatalf("running: %+v, %v", runs, err)
	}
	if n, err := s.InterruptRuns(ctx, id); n != 1 || err != nil {
		t.Errorf("InterruptRuns = %d, %v", n, err)
	}
	if runs, _ := s.RunningRuns(ctx); len(runs) != 1 || runs[0].ID != id {
		t.Errorf("running after: %+v", runs)
	}
	if err := s.EndRun(ctx, id, 4000, 40, "success", "", 0); err != nil {
		t.Fatal(err)
	}
	// The same boot keeps the trigger's monotonic time; another does not.
	if st, _ := s.TimersActive(ctx, "boot1", Activation{Timer: "a.timer"}); st[0].LastTriggerMonotonic != 20 || st[0].ActiveMonotonic != 0 {
		t.Errorf("stopped: %+v", st)
	}
	if st, _ := s.TimersActive(ctx, "boot2", Activation{"a.timer", 5000, 5}); st[0] != (TimerState{LastTrigger: 2000, Version: 4, Boot: "boot2", ActiveRealtime: 5000, ActiveMonotonic: 5}) {
		t.Errorf("in another boot: %+v", st)
	}
}

// TestQueryForms selects entries as journalctl's -n, -p, -g and -t do,
// alone and together: the last or first N of those the others select.
func TestQueryForms(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var entries []Entry
	for i := range 40 {
		entries = append(entries, Entry{Realtime: uint64(1000 + i), Boot: "b", Unit: "u.service", Identifier: []string{"sh", "sundial"}[i%2],
			Priority: i % 8, Message: fmt.Sprintf("line %d %s", i, []string{"alpha", "Beta"}[i/20])})
	}
	if err := s.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want string
	}{
		{"-n 3", Filter{Last: 3}, "37 38 39"},
		{"-n +3", Filter{First: 3}, "0 1 2"},
		{"-n 0 is all", Filter{}, "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39"},
		{"-p err", Filter{Priorities: 0b1111}, "0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 32 33 34 35"},
		{"-p warning..err", Filter{Priorities: 0b11000}, "3 4 11 12 19 20 27 28 35 36"},
		{"-p debug -n 2", Filter{Priorities: 0xff, Last: 2}, "38 39"},
		{"-p 7..7 -n +2", Filter{Priorities: 0x80, First: 2}, "7 15"},
		{"-g", Filter{Grep: regexp.MustCompile("(?i)BETA")}, "20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39"},
		{"-g -n 2", Filter{Grep: regexp.MustCompile("alpha"), Last: 2}, "18 19"},
		{"-g -n +2", Filter{Grep: regexp.MustCompile("Beta"), First: 2}, "20 21"},
		{"-g -p -n", Filter{Grep: regexp.MustCompile("alpha"), Priorities: 0b1, Last: 2}, "8 16"},
		{"-g no match", Filter{Grep: regexp.MustCompile("gamma"), Last: 5}, ""},
		{"-t", Filter{Identifiers: []string{"sundial"}, Last: 2}, "37 39"},
		{"-t -g", Filter{Identifiers: []string{"sh"}, Grep: regexp.MustCompile("line 1")}, "10 12 14 16 18"},
	} {
		var got []string
		for e, err := range s.Query(ctx, tc.f) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Fields(e.Message)[1])
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, strings.Join(got, " "), tc.want)
		}
	}
	units, err := s.JournalUnits(ctx)
	if err != nil || fmt.Sprint(units) != "[u.service]" {
		t.Errorf("JournalUnits() = %q, %v", units, err)
	}
}

// TestOpenReadOnly reads a database as a killed daemon left it, its last
// entries in the WAL, and leaves its files as they were; a database of a
// newer schema is refused.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	for i := range 50 {
		if err := s.Append(ctx, Entry{Realtime: uint64(i + 1), Unit: "a.service", Message: fmt.Sprint("line ", i), MessageID: "id", Fields: "UNIT=a.service\n"}); err != nil {
			t.Fatal(err)
		}
	}
	// As a kill leaves them: the database and its WAL, not checkpointed.
	dead := filepath.Join(t.TempDir(), "state.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dead+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files := func() map[string]string {
		m := map[string]string{}
		names, _ := os.ReadDir(filepath.Dir(dead))
		for _, n := range names {
			data, _ := os.ReadFile(filepath.Join(filepath.Dir(dead), n.Name()))
			m[n.Name()] = string(data)
		}
		return m
	}
	before := files()
	ro, err := OpenReadOnly(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	var got []Entry
	for e, err := range ro.Query(ctx, Filter{Last: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 2 || got[1].Message != "line 49" || got[1].MessageID != "id" || got[1].Fields != "UNIT=a.service\n" {
		t.Errorf("read %+v", got)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after := files(); !maps.Equal(before, after) {
		t.Errorf("the files changed: %d before, %d after", len(before), len(after))
	}

	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = OpenReadOnly(ctx, path)
	want := fmt.Sprintf("store: %s: the database is of a newer version of sundial (schema %d; this version knows schemas up to %d): refusing to use it", path, len(migrations)+1, len(migrations))
	if err == nil || err.Error() != want {
		t.Errorf("OpenReadOnly of a newer schema: %v", err)
	}
}

// TestVacuum deletes the journal's oldest entries, by time and then by
// size, and gives the space back.
func TestVacuum(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var entries []Entry
	for i := range 4000 {
		entries = append(entries, Entry{Realtime: uint64(1000 + i), Unit: "u.service", Message: strings.Repeat("x", 200) + strconv.Itoa(i)})
	}
	if err := s.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	count := func() (n int, first uint64) {
		for e, err := range s.Query(ctx, Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				first = e.Realtime
			}
			n++
		}
		return n, first
	}
	freed, err := s.Vacuum(ctx, 2000, 0, math.MaxInt64)
	if n, first := count(); err != nil || n != 3000 || first != 2000 || freed == 0 {
		t.Errorf("Vacuum(before 2000) = %d, %v: %d entries left, the first at %d", freed, err, n, first)
	}
	freed, err = s.Vacuum(ctx, 0, 200<<10, math.MaxInt64)
	var pages, pageSize uint64
	s.db.QueryRow(`PRAGMA page_count`).Scan(&pages)
	s.db.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	if n, first := count(); err != nil || freed == 0 || pages*pageSize > 200<<10 || n == 0 || first <= 2000 {
		t.Errorf("Vacuum(200K) = %d, %v: %d bytes, %d entries left, the first at %d", freed, err, pages*pageSize, n, first)
	}
	// The active entries, from JournalEnd on, are kept whatever the bounds.
	active, err := s.JournalEnd(ctx)
	if err != nil || active != 4001 {
		t.Fatalf("JournalEnd() = %d, %v; want 4001", active, err)
	}
	if err := s.Append(ctx, entries[:100]...); err != nil {
		t.Fatal(err)
	}
	for _, bound := range []struct{ before, maxBytes uint64 }{{0, 1 << 10}, {1 << 40, 0}} {
		_, err = s.Vacuum(ctx, bound.before, bound.maxBytes, active)
		if n, first := count(); err != nil || n != 100 || first != 1000 {
			t.Errorf("Vacuum(%+v) of active entries = %v: %d entries left, the first at %d; want the 100 active", bound, err, n, first)
		}
	}
}

// TestLastTested: the last run a start job began, by unit, passes over
// the restarts, and the results asked to be passed over.
func TestLastTested(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	for i, r := range []Run{
		{Unit: "a.service", Reason: "manual"}, {Unit: "a.service", Reason: "restart"},
		{Unit: "b.service", Reason: "OnCalendar"}, {Unit: "b.service", Reason: "manual", Result: "skipped (ConditionPathExists=/x)"},
		{Unit: "c.service", Reason: "restart"},
	} {
		r.Started = uint64(i + 1)
		id, err := s.StartRun(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EndRun(ctx, id, uint64(i+1), 0, r.Result, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	started := func(m map[string]Run) map[string]uint64 {
		out := map[string]uint64{}
		for u, r := range m {
			out[u] = r.Started
		}
		return out
	}
	if last, err := s.LastTested(ctx, ""); err != nil || !maps.Equal(started(last), map[string]uint64{"a.service": 1, "b.service": 4}) {
		t.Errorf("LastTested: %v, %v", last, err)
	}
	if last, err := s.LastTested(ctx, "b.service", "skipped (Condition*"); err != nil || !maps.Equal(started(last), map[string]uint64{"b.service": 3}) {
		t.Errorf("LastTested(b.service) passing over skips: %v, %v", last, err)
	}
}

// TestVacuumClockBehind: entries whose clock was behind (set after they
// were written) do not leave a gap in what is kept by age, so that the
// oldest go by count as many as asked, and no more.
func TestVacuumClockBehind(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	var entries []Entry
	for _, span := range [][2]int{{1000, 2000}, {100, 200}, {2000, 3000}} {
		for rt := span[0]; rt < span[1]; rt++ {
			entries = append(entries, Entry{Realtime: uint64(rt), Unit: "u.service", Message: strconv.Itoa(rt)})
		}
	}
	if err := s.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	d, err := s.Retain(ctx, Retention{Before: 1500})
	if err != nil || d.Entries != 500 {
		t.Fatalf("Retain(before 1500) = %+v, %v; want the 500 oldest deleted", d, err)
	}
	if _, err := s.pruneJournal(ctx, 1200); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for e, err := range s.Query(ctx, Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, e.Message)
	}
	if len(kept) != 1200 || kept[0] != "1900" || kept[len(kept)-1] != "2999" {
		t.Errorf("kept %d entries, %v … %v; want the newest 1200, 1900 to 2999", len(kept), kept[:min(1, len(kept))], kept[max(0, len(kept)-1):])
	}
}
