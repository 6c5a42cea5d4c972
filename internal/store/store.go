// Package store keeps the daemon's durable state in an embedded SQLite
// database (WAL, one writer): the timers' last triggers (Persistent=), the
// run history, and the journal of every unit's output and of the
// manager's messages about it.
//
// A trigger is one transaction, synced to disk when committed: the
// timer's stamp moves from the value
// read to the new one only if nobody moved it meanwhile, and the run
// record is made with it, so that a trigger that is recorded has its run,
// and one that is not did not happen.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// A Store is an open database. Its methods may be called from several
// goroutines.
type Store struct {
	db *sql.DB
	// write orders the writers, so that Trigger's durability setting is
	// its own.
	write sync.Mutex
}

// ErrStale is returned by Trigger when the timer's stamp is no longer the
// one read: someone else triggered it.
var ErrStale = errors.New("store: timer state changed since it was read")

const schema = `
CREATE TABLE IF NOT EXISTS timers (
	name TEXT PRIMARY KEY,
	last_trigger INTEGER NOT NULL,   -- realtime µs; 0 for never
	last_trigger_mono INTEGER NOT NULL,
	version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
	id INTEGER PRIMARY KEY,
	unit TEXT NOT NULL,
	timer TEXT NOT NULL,             -- "" when started otherwise
	reason TEXT NOT NULL,            -- "OnCalendar", "manual", …
	invocation TEXT NOT NULL,
	started INTEGER NOT NULL,        -- realtime µs
	ended INTEGER NOT NULL,          -- 0 while running
	state TEXT NOT NULL,             -- running, ended, interrupted
	result TEXT NOT NULL,
	exit_code TEXT NOT NULL,         -- exited, killed, dumped, or ""
	exit_status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_unit ON runs (unit, id);
CREATE TABLE IF NOT EXISTS journal (
	seq INTEGER PRIMARY KEY AUTOINCREMENT, -- never used again: a cursor
	realtime INTEGER NOT NULL,
	monotonic INTEGER NOT NULL,
	boot TEXT NOT NULL,
	unit TEXT NOT NULL,
	invocation TEXT NOT NULL,
	pid INTEGER NOT NULL,
	identifier TEXT NOT NULL,
	priority INTEGER NOT NULL,
	message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_unit ON journal (unit, seq);
CREATE INDEX IF NOT EXISTS journal_time ON journal (realtime);
`

// Open opens the database at path, creating it if need be.
func Open(ctx context.Context, path string) (*Store, error) {
	// The journal is synced as the WAL fills, which survives the daemon's
	// crash (the kernel has the data) but may lose the last lines to a
	// power failure, as journald's periodic sync may; a trigger is synced
	// when committed (see Trigger).
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// One connection: one writer, and no reader sees half a batch.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// A TimerState is a timer's stored state.
type TimerState struct {
	// LastTrigger is the realtime of its last trigger, in µs since the
	// epoch; 0 for none (or none kept: the timer is not Persistent=).
	LastTrigger uint64
	// LastTriggerMonotonic is the monotonic time of it, in µs; it means
	// something only within the boot it was taken in.
	LastTriggerMonotonic uint64
	// Version counts the changes, for Trigger's comparison.
	Version int64
}

// Timer returns the stored state of a timer; a timer never triggered has
// the zero state.
func (s *Store) Timer(ctx context.Context, name string) (TimerState, error) {
	var st TimerState
	err := s.db.QueryRowContext(ctx, `SELECT last_trigger, last_trigger_mono, version FROM timers WHERE name = ?`, name).
		Scan(&st.LastTrigger, &st.LastTriggerMonotonic, &st.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return TimerState{}, nil
	}
	if err != nil {
		return TimerState{}, fmt.Errorf("store: timer %s: %w", name, err)
	}
	return st, nil
}

// A Trigger is a timer's firing to record, with the run it starts.
type Trigger struct {
	Timer      string
	Unit       string
	Reason     string
	Invocation string
	// Realtime and Monotonic are when it fired, in µs.
	Realtime, Monotonic uint64
	// NoRun is set when the firing started nothing: its unit was
	// running already.
	NoRun bool
}

// Trigger records a firing: the timer's stamp moves from prev to the
// trigger's time, and, unless NoRun, a run of its unit begins, in one
// transaction. It returns the new state and the run's ID (0 for none),
// and fails with ErrStale if the stamp is no longer prev.
func (s *Store) Trigger(ctx context.Context, prev TimerState, t Trigger) (TimerState, int64, error) {
	s.write.Lock()
	defer s.write.Unlock()
	// Synced when committed, so that a recorded trigger survives even a
	// power failure; the connection goes back to NORMAL after.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return TimerState{}, 0, fmt.Errorf("store: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return TimerState{}, 0, fmt.Errorf("store: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return TimerState{}, 0, fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	var res sql.Result
	if prev.Version == 0 {
		res, err = tx.ExecContext(ctx, `INSERT INTO timers (name, last_trigger, last_trigger_mono, version) VALUES (?, ?, ?, 1)
			ON CONFLICT (name) DO NOTHING`, t.Timer, t.Realtime, t.Monotonic)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE timers SET last_trigger = ?, last_trigger_mono = ?, version = version + 1
			WHERE name = ? AND version = ?`, t.Realtime, t.Monotonic, t.Timer, prev.Version)
	}
	if err != nil {
		return TimerState{}, 0, fmt.Errorf("store: timer %s: %w", t.Timer, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return TimerState{}, 0, ErrStale
	}
	var id int64
	if !t.NoRun {
		id, err = insertRun(ctx, tx, Run{Unit: t.Unit, Timer: t.Timer, Reason: t.Reason, Invocation: t.Invocation, Started: t.Realtime})
		if err != nil {
			return TimerState{}, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return TimerState{}, 0, fmt.Errorf("store: %w", err)
	}
	return TimerState{LastTrigger: t.Realtime, LastTriggerMonotonic: t.Monotonic, Version: prev.Version + 1}, id, nil
}

// CleanTimer forgets a timer's stamp, as systemctl clean --what=state;
// its version goes on, so that a state read before is stale.
func (s *Store) CleanTimer(ctx context.Context, name string) error {
	s.write.Lock()
	defer s.write.Unlock()
	if _, err := s.db.ExecContext(ctx, `UPDATE timers SET last_trigger = 0, last_trigger_mono = 0, version = version + 1 WHERE name = ?`, name); err != nil {
		return fmt.Errorf("store: timer %s: %w", name, err)
	}
	return nil
}

// A RunState is where a run is.
type RunState string

const (
	RunRunning     RunState = "running"
	RunEnded       RunState = "ended"
	RunInterrupted RunState = "interrupted" // the daemon stopped while it ran
)

// A Run is one activation of a unit, as the run history keeps it.
type Run struct {
	ID         int64
	Unit       string
	Timer      string // the timer that started it, or ""
	Reason     string // OnCalendar, OnBootSec, …, or manual
	Invocation string
	Started    uint64 // realtime µs
	Ended      uint64 // realtime µs; 0 while running
	State      RunState
	Result     string // systemd's: success, exit-code, …
	ExitCode   string // exited, killed, dumped; "" if no main process ended
	ExitStatus int
}

func insertRun(ctx context.Context, tx *sql.Tx, r Run) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (unit, timer, reason, invocation, started, ended, state, result, exit_code, exit_status)
		VALUES (?, ?, ?, ?, ?, 0, ?, '', '', 0)`, r.Unit, r.Timer, r.Reason, r.Invocation, r.Started, RunRunning)
	if err != nil {
		return 0, fmt.Errorf("store: run of %s: %w", r.Unit, err)
	}
	return res.LastInsertId()
}

// StartRun records a run that no timer started (systemctl start).
func (s *Store) StartRun(ctx context.Context, r Run) (int64, error) {
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	id, err := insertRun(ctx, tx, r)
	if err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// EndRun records how a run ended.
func (s *Store) EndRun(ctx context.Context, id int64, ended uint64, result, exitCode string, exitStatus int) error {
	s.write.Lock()
	defer s.write.Unlock()
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET ended = ?, state = ?, result = ?, exit_code = ?, exit_status = ? WHERE id = ?`,
		ended, RunEnded, result, exitCode, exitStatus, id)
	if err != nil {
		return fmt.Errorf("store: run %d: %w", id, err)
	}
	return nil
}

// InterruptRuns marks the runs still running as interrupted, as the
// daemon does when it starts: they were running when it stopped.
func (s *Store) InterruptRuns(ctx context.Context) (int64, error) {
	s.write.Lock()
	defer s.write.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET state = ? WHERE state = ?`, RunInterrupted, RunRunning)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return res.RowsAffected()
}

// Runs returns the runs of a unit ("" for all), the last n (0 for all),
// oldest first.
func (s *Store) Runs(ctx context.Context, unit string, n int) iter.Seq2[Run, error] {
	return func(yield func(Run, error) bool) {
		limit := -1
		if n > 0 {
			limit = n
		}
		rows, err := s.db.QueryContext(ctx, `SELECT * FROM (SELECT id, unit, timer, reason, invocation, started, ended, state, result, exit_code, exit_status
			FROM runs WHERE ? = '' OR unit = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, unit, unit, limit)
		runs, err := collect(rows, err, func(rows *sql.Rows) (Run, error) {
			var r Run
			err := rows.Scan(&r.ID, &r.Unit, &r.Timer, &r.Reason, &r.Invocation, &r.Started, &r.Ended, &r.State, &r.Result, &r.ExitCode, &r.ExitStatus)
			return r, err
		})
		yieldAll(runs, err, yield)
	}
}

// An Entry is one journal entry: a line a unit's process wrote, or a
// message of the manager about a unit.
type Entry struct {
	Seq        int64  // its cursor, set when appended
	Realtime   uint64 // µs since the epoch
	Monotonic  uint64 // µs since boot
	Boot       string // the boot ID
	Unit       string
	Invocation string
	PID        int
	Identifier string // SYSLOG_IDENTIFIER: the process's name, or "systemd"
	Priority   int    // syslog's: 0 emerg … 7 debug
	Message    string
}

// Append adds entries to the journal, in one transaction.
func (s *Store) Append(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO journal (realtime, monotonic, boot, unit, invocation, pid, identifier, priority, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	defer stmt.Close()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, e.Realtime, e.Monotonic, e.Boot, e.Unit, e.Invocation, e.PID, e.Identifier, e.Priority, e.Message); err != nil {
			return fmt.Errorf("store: journal: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// A Filter selects journal entries.
type Filter struct {
	Units        []string // any of them; none for all
	Since, Until uint64   // realtime µs, inclusive; 0 for no bound
	Boot         string   // "" for every boot
	After        int64    // entries after this cursor
	Last         int      // only the last so many (0 for all)
}

// Query returns the journal entries the filter selects, oldest first.
func (s *Store) Query(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		var where []string
		var args []any
		if len(f.Units) > 0 {
			where = append(where, "unit IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Units)), ",")+")")
			for _, u := range f.Units {
				args = append(args, u)
			}
		}
		if f.Since > 0 {
			where, args = append(where, "realtime >= ?"), append(args, f.Since)
		}
		if f.Until > 0 {
			where, args = append(where, "realtime <= ?"), append(args, f.Until)
		}
		if f.Boot != "" {
			where, args = append(where, "boot = ?"), append(args, f.Boot)
		}
		if f.After > 0 {
			where, args = append(where, "seq > ?"), append(args, f.After)
		}
		q := `SELECT seq, realtime, monotonic, boot, unit, invocation, pid, identifier, priority, message FROM journal`
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		if f.Last > 0 {
			q = `SELECT * FROM (` + q + ` ORDER BY seq DESC LIMIT ?) ORDER BY seq`
			args = append(args, f.Last)
		} else {
			q += ` ORDER BY seq`
		}
		rows, err := s.db.QueryContext(ctx, q, args...)
		entries, err := collect(rows, err, func(rows *sql.Rows) (Entry, error) {
			var e Entry
			err := rows.Scan(&e.Seq, &e.Realtime, &e.Monotonic, &e.Boot, &e.Unit, &e.Invocation, &e.PID, &e.Identifier, &e.Priority, &e.Message)
			return e, err
		})
		yieldAll(entries, err, yield)
	}
}

// Prune keeps the journal to its last keep entries, as a size limit
// (SystemMaxUse=) does, and returns how many it deleted.
func (s *Store) Prune(ctx context.Context, keep int) (int64, error) {
	s.write.Lock()
	defer s.write.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?`, keep)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return res.RowsAffected()
}

// collect reads the rows of a query whole, so that no caller holds the
// one connection while it goes through them.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

func yieldAll[T any](vs []T, err error, yield func(T, error) bool) {
	if err != nil {
		var zero T
		yield(zero, err)
		return
	}
	for _, v := range vs {
		if !yield(v, nil) {
			return
		}
	}
}
