package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// insertRuns adds runs of n units, one every step µs from start, each
// lasting 30 s, one in ten failed, in one transaction.
func insertRuns(t testing.TB, s *Store, runs, units int, start, step uint64) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		result := "success"
		if i%10 == 0 {
			result = "exit-code"
		}
		at := start + uint64(i)*step
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (unit, timer, reason, invocation, started, ended, state, result, exit_code, exit_status)
			VALUES (?, '', 'OnCalendar', '', ?, ?, ?, ?, 'exited', 0)`, fmt.Sprintf("job-%05d.service", i%units), at, at+30_000_000, RunEnded, result); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestHistory checks the runs since a time, a run by its ID, and the
// last run of each unit by result.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "state.db"))
	// Ten runs of two units, a minute apart; then one that runs.
	insertRuns(t, s, 10, 2, 60_000_000, 60_000_000)
	id, err := s.StartRun(ctx, Run{Unit: "job-00000.service", Started: 700_000_000})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		units []string
		since uint64
		n     int
		want  []int64
	}{
		{nil, 0, 0, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{nil, 0, 3, []int64{9, 10, 11}},
		// Ended at since or later, or running.
		{nil, 570_000_000, 0, []int64{9, 10, 11}},
		{[]string{"job-00001.service"}, 0, 0, []int64{2, 4, 6, 8, 10}},
		{[]string{"job-00001.service"}, 400_000_000, 2, []int64{8, 10}},
		{[]string{"job-00001.service", "job-00000.service"}, 500_000_000, 0, []int64{8, 9, 10, 11}},
		{[]string{"job-00009.service"}, 0, 0, nil},
	}
	for _, tt := range tests {
		runs, err := s.RunsSince(ctx, tt.units, tt.since, tt.n)
		var got []int64
		for _, r := range runs {
			got = append(got, r.ID)
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("RunsSince(%q, %d, %d) = %v, %v, want %v", tt.units, tt.since, tt.n, got, err, tt.want)
		}
	}
	if r, err := s.RunByID(ctx, id); err != nil || r.State != RunRunning || r.Unit != "job-00000.service" {
		t.Errorf("RunByID(%d) = %+v, %v", id, r, err)
	}
	if _, err := s.RunByID(ctx, 99); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("RunByID(99): %v, want ErrNoRows", err)
	}
	last, err := s.LastByResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Unit 0 failed runs 1 and 11 (IDs), the running one not counted.
	want := map[string]map[string]int64{
		"job-00000.service": {"success": 9, "exit-code": 1},
		"job-00001.service": {"success": 10, "exit-code": 0},
	}
	for unit, byResult := range want {
		for result, id := range byResult {
			r, ok := last[unit][result]
			if id == 0 && ok || id != 0 && r.ID != id {
				t.Errorf("LastByResult()[%s][%s] = %d, want %d", unit, result, r.ID, id)
			}
		}
	}
}

// BenchmarkRunsSince reads the last day of the runs of 60 units in a
// history of 100,000 runs of 10,000 units over a week, as the page's
// timeline does.
func BenchmarkRunsSince(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "state.db"))
	const week = 7 * 24 * 3600 * 1_000_000
	start := uint64(1_700_000_000_000_000)
	insertRuns(b, s, 100_000, 10_000, start, week/100_000)
	var units []string
	for i := range 60 {
		units = append(units, fmt.Sprintf("job-%05d.service", i*7))
	}
	n := 0
	for b.Loop() {
		runs, err := s.RunsSince(context.Background(), units, start+week-week/7, 20000)
		if err != nil {
			b.Fatal(err)
		}
		n = len(runs)
	}
	b.ReportMetric(float64(n), "runs")
}
