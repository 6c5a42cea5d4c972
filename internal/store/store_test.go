package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	if err := s.EndRun(ctx, id, 1500, "exit-code", "exited", 3); err != nil {
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
		{ID: 1, Unit: "backup.service", Timer: "backup.timer", Reason: "OnCalendar", Invocation: "abc", Started: 1000, Ended: 1500, State: RunEnded, Result: "exit-code", ExitCode: "exited", ExitStatus: 3},
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
	if n, err := s.Prune(ctx, 10); n != 290 || err != nil {
		t.Errorf("Prune = %d, %v", n, err)
	}
	if got := query(Filter{}); len(got) != 10 || got[0] != "line 290" {
		t.Errorf("after pruning: %q", got)
	}
}

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
		if e.Message != "batch "+strconv.Itoa(n/50) {
			t.Fatalf("entry %d: %q", n, e.Message)
		}
		n++
	}
	if n%50 != 0 || n/50 < committed {
		t.Errorf("%d entries after the crash; %d batches of 50 were committed", n, committed)
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
		batch := make([]Entry, 50)
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
