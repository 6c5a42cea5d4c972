package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// RunsSince returns the runs of the units (none for all) that were
// running or ended at since (realtime µs) or later, the last n of them
// (0 for all), oldest first: what a timeline from since shows.
func (s *Store) RunsSince(ctx context.Context, units []string, since uint64, n int) ([]Run, error) {
	limit := -1
	if n > 0 {
		limit = n
	}
	where, args := "", []any{}
	if len(units) > 0 {
		// Through the index of each unit's runs: a page of a few units
		// reads theirs, not the whole history.
		where = `unit IN (` + strings.TrimSuffix(strings.Repeat("?,", len(units)), ",") + `) AND `
		for _, u := range units {
			args = append(args, u)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM (SELECT `+runColumns+`
		FROM runs WHERE `+where+`(ended = 0 OR ended >= ?) ORDER BY id DESC LIMIT ?) ORDER BY id`, append(args, since, limit)...)
	return collect(rows, err, scanRun)
}

// RunByID returns the run of an ID; sql.ErrNoRows if there is none.
func (s *Store) RunByID(ctx context.Context, id int64) (Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	runs, err := collect(rows, err, scanRun)
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("store: run %d: %w", id, sql.ErrNoRows)
	}
	return runs[0], nil
}

// LastByResult returns, for each unit, its last run ended with each
// result, by unit and result: one query, for the daemon that starts to
// know each unit's last success and last failure.
func (s *Store) LastByResult(ctx context.Context) (map[string]map[string]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+`
		FROM runs WHERE id IN (SELECT MAX(id) FROM runs WHERE state = ? GROUP BY unit, result)`, RunEnded)
	runs, err := collect(rows, err, scanRun)
	if err != nil {
		return nil, err
	}
	m := map[string]map[string]Run{}
	for _, r := range runs {
		if m[r.Unit] == nil {
			m[r.Unit] = map[string]Run{}
		}
		m[r.Unit][r.Result] = r
	}
	return m, nil
}
