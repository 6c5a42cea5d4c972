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
	"io"
	"io/fs"
	"iter"
	"math"
	"math/bits"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// A Store is an open database. Its methods may be called from several
// goroutines.
type Store struct {
	db *sql.DB
	// write orders the writers, so that Trigger's durability setting is
	// its own.
	write sync.Mutex
	// insert[k] appends 1<<k journal entries; prepared once, on the one
	// connection.
	insert [insertShift + 1]*sql.Stmt
	// made are the -shm and -wal files OpenReadOnly found missing,
	// removed at Close: the WAL only if empty.
	made []string
}

// insertRows is the most journal entries one INSERT statement carries.
// A statement costs mostly per call (database/sql, the driver, SQLite's
// VM), so that statements of 128 rows append twice as many lines a
// second as statements of one; more rows gain nothing.
const (
	insertShift = 7
	insertRows  = 1 << insertShift
)

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
CREATE TABLE IF NOT EXISTS startup ( -- the daemon's first start in a boot
	boot TEXT PRIMARY KEY,
	realtime INTEGER NOT NULL,       -- µs
	mono INTEGER NOT NULL,
	boottime INTEGER NOT NULL
);
`

// migrations bring the tables of an earlier version to the schema, in
// order; PRAGMA user_version counts those done.
var migrations = []string{
	// The boot that monotonic times belong to, since when a timer is
	// active, and a run's main process and monotonic times: what is taken
	// up again after the daemon's restart within the same boot.
	`ALTER TABLE timers ADD COLUMN boot TEXT NOT NULL DEFAULT '';
	ALTER TABLE timers ADD COLUMN active_realtime INTEGER NOT NULL DEFAULT 0; -- 0 when inactive
	ALTER TABLE timers ADD COLUMN active_mono INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE runs ADD COLUMN boot TEXT NOT NULL DEFAULT '';
	ALTER TABLE runs ADD COLUMN main_pid INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE runs ADD COLUMN started_mono INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE runs ADD COLUMN ended_mono INTEGER NOT NULL DEFAULT 0;`,
	// Where a run that runs is: its main process gone, or being stopped.
	`ALTER TABLE runs ADD COLUMN sub TEXT NOT NULL DEFAULT '';`,
	// A journal entry's MESSAGE_ID, for journalctl -x's catalog, and
	// the other fields systemd gives a message (JOB_RESULT=, …).
	`ALTER TABLE journal ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE journal ADD COLUMN fields TEXT NOT NULL DEFAULT '';`,
}

// migrate does the migrations not done yet, in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&done); err != nil {
		return err
	}
	if err := checkVersion(done); err != nil {
		return err
	}
	if done == len(migrations) {
		return nil
	}
	for _, m := range migrations[done:] {
		if _, err := tx.ExecContext(ctx, m); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// checkVersion refuses a database of a newer schema than this version
// knows: its tables may hold what this version would misread or lose.
func checkVersion(v int) error {
	if v > len(migrations) {
		return fmt.Errorf("the database is of a newer version of sundial (schema %d; this version knows schemas up to %d): refusing to use it", v, len(migrations))
	}
	return nil
}

// Open opens the database at path, creating it if need be, only its
// user's. It fails with a *CorruptError for a database that is damaged.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := prepareFile(ctx, path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// One connection: one writer, and no reader sees half a batch.
	db.SetMaxOpenConns(1)
	if err := quickCheck(ctx, db, path); err != nil {
		var corrupt *CorruptError
		if !errors.As(err, &corrupt) {
			db.Close()
		}
		// A damaged database is left open, not closed: closing would
		// write its WAL into it (a checkpoint) and remove the WAL, and
		// what is set aside would not be as it was found. No read-only
		// connection does without a -shm, which a full disk would not
		// let SQLite make. The process's end lets go of it.
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	s := &Store{db: db}
	for k := range s.insert {
		q := `INSERT INTO journal (` + entryColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", 1<<k), ", ")
		if s.insert[k], err = db.PrepareContext(ctx, q); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
	}
	return s, nil
}

// dsn is the driver's name of the database at path, with its settings.
//
// The journal is synced as the WAL fills, which survives the daemon's
// crash (the kernel has the data) but may lose the last lines to a
// power failure, as journald's periodic sync may; a trigger is synced
// when committed (see Trigger).
//
// The locking mode is exclusive, set before the WAL is first used:
// SQLite then keeps the WAL's index in the process's memory, not in a
// -shm file, which it could not make on a full disk, and the daemon
// would not start. The daemon is the database's one user (its clients
// ask through its socket); the lock is held until Close. (The driver
// runs the _pragma list before _journal_mode.)
func dsn(path string) string {
	return "file:" + path + "?_pragma=locking_mode(EXCLUSIVE)&_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000"
}

// Close closes the database.
func (s *Store) Close() error {
	for _, stmt := range s.insert {
		if stmt != nil {
			stmt.Close()
		}
	}
	// Removed while the connection holds its lock on the database,
	// with which a daemon starting meanwhile cannot have opened the WAL
	// yet (in its exclusive locking mode it opens it once it has the
	// database's exclusive lock).
	for _, p := range s.made {
		if info, err := os.Lstat(p); err == nil && (strings.HasSuffix(p, "-shm") || info.Size() == 0) {
			os.Remove(p)
		}
	}
	return s.db.Close()
}

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
	// Boot is the boot the monotonic times were taken in.
	Boot string
	// ActiveRealtime and ActiveMonotonic are when the timer last became
	// active, in µs; 0 while it is not.
	ActiveRealtime, ActiveMonotonic uint64
}

// timerColumns are a TimerState's, in the order scanTimer reads them.
const timerColumns = `last_trigger, last_trigger_mono, version, boot, active_realtime, active_mono`

func scanTimer(row interface{ Scan(...any) error }, st *TimerState) error {
	return row.Scan(&st.LastTrigger, &st.LastTriggerMonotonic, &st.Version, &st.Boot, &st.ActiveRealtime, &st.ActiveMonotonic)
}

// Timer returns the stored state of a timer; a timer never triggered has
// the zero state.
func (s *Store) Timer(ctx context.Context, name string) (TimerState, error) {
	var st TimerState
	err := scanTimer(s.db.QueryRowContext(ctx, `SELECT `+timerColumns+` FROM timers WHERE name = ?`, name), &st)
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
	// Realtime and Monotonic are when it fired, in µs, in Boot.
	Realtime, Monotonic uint64
	Boot                string
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
		res, err = tx.ExecContext(ctx, `INSERT INTO timers (name, last_trigger, last_trigger_mono, version, boot) VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (name) DO NOTHING`, t.Timer, t.Realtime, t.Monotonic, t.Boot)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE timers SET last_trigger = ?, last_trigger_mono = ?, boot = ?, version = version + 1
			WHERE name = ? AND version = ?`, t.Realtime, t.Monotonic, t.Boot, t.Timer, prev.Version)
	}
	if err != nil {
		return TimerState{}, 0, fmt.Errorf("store: timer %s: %w", t.Timer, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return TimerState{}, 0, ErrStale
	}
	var id int64
	if !t.NoRun {
		id, err = insertRun(ctx, tx, Run{Unit: t.Unit, Timer: t.Timer, Reason: t.Reason, Invocation: t.Invocation,
			Started: t.Realtime, StartedMonotonic: t.Monotonic, Boot: t.Boot})
		if err != nil {
			return TimerState{}, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return TimerState{}, 0, fmt.Errorf("store: %w", err)
	}
	st := prev
	st.LastTrigger, st.LastTriggerMonotonic, st.Boot, st.Version = t.Realtime, t.Monotonic, t.Boot, prev.Version+1
	return st, id, nil
}

// An Activation is since when a timer is active, realtime and monotonic
// µs; 0, 0 when it is not.
type Activation struct {
	Timer               string
	Realtime, Monotonic uint64
}

// TimersActive records the timers' activations, in the boot named, in
// one transaction, and returns their new states, in their order. A last
// trigger's monotonic time, if from another boot, goes: it means nothing
// in this one.
func (s *Store) TimersActive(ctx context.Context, boot string, acts ...Activation) ([]TimerState, error) {
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO timers (name, last_trigger, last_trigger_mono, version, boot, active_realtime, active_mono)
		VALUES (?, 0, 0, 1, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET last_trigger_mono = CASE WHEN boot = excluded.boot THEN last_trigger_mono ELSE 0 END,
			boot = excluded.boot, active_realtime = excluded.active_realtime, active_mono = excluded.active_mono, version = version + 1
		RETURNING `+timerColumns)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer stmt.Close()
	states := make([]TimerState, len(acts))
	for i, a := range acts {
		if err := scanTimer(stmt.QueryRowContext(ctx, a.Timer, boot, a.Realtime, a.Monotonic), &states[i]); err != nil {
			return nil, fmt.Errorf("store: timer %s: %w", a.Timer, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return states, nil
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
	// Boot is the boot the run began in; StartedMonotonic and
	// EndedMonotonic are Started and Ended on its monotonic clock (0 for
	// not known).
	Boot                             string
	StartedMonotonic, EndedMonotonic uint64
	// MainPID is its main process's, once known, while it runs; Sub,
	// where the run is then.
	MainPID int
	Sub     RunSub
}

// A RunSub is where a run that runs is, for the daemon started again to
// take it up there.
type RunSub string

const (
	SubRunning  RunSub = ""         // its main process, if any, runs
	SubExited   RunSub = "exited"   // its main process ended; it stays active (RemainAfterExit=)
	SubStopping RunSub = "stopping" // its stop has begun
)

// runColumns are a Run's, in the order scanRun reads them.
const runColumns = `id, unit, timer, reason, invocation, started, ended, state, result, exit_code, exit_status, boot, started_mono, ended_mono, main_pid, sub`

func scanRun(rows *sql.Rows) (Run, error) {
	var r Run
	err := rows.Scan(&r.ID, &r.Unit, &r.Timer, &r.Reason, &r.Invocation, &r.Started, &r.Ended, &r.State, &r.Result, &r.ExitCode, &r.ExitStatus,
		&r.Boot, &r.StartedMonotonic, &r.EndedMonotonic, &r.MainPID, &r.Sub)
	return r, err
}

func insertRun(ctx context.Context, tx *sql.Tx, r Run) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (unit, timer, reason, invocation, started, ended, state, result, exit_code, exit_status, boot, started_mono)
		VALUES (?, ?, ?, ?, ?, 0, ?, '', '', 0, ?, ?)`, r.Unit, r.Timer, r.Reason, r.Invocation, r.Started, RunRunning, r.Boot, r.StartedMonotonic)
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

// EndRun records how a run ended, at realtime and monotonic µs.
func (s *Store) EndRun(ctx context.Context, id int64, ended, endedMonotonic uint64, result, exitCode string, exitStatus int) error {
	s.write.Lock()
	defer s.write.Unlock()
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET ended = ?, ended_mono = ?, state = ?, result = ?, exit_code = ?, exit_status = ?, main_pid = 0 WHERE id = ?`,
		ended, endedMonotonic, RunEnded, result, exitCode, exitStatus, id)
	if err != nil {
		return fmt.Errorf("store: run %d: %w", id, err)
	}
	return nil
}

// SetRunProcess records the main process of a run that runs, and where
// the run is.
func (s *Store) SetRunProcess(ctx context.Context, id int64, pid int, sub RunSub) error {
	s.write.Lock()
	defer s.write.Unlock()
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET main_pid = ?, sub = ? WHERE id = ? AND state = ?`, pid, sub, id, RunRunning); err != nil {
		return fmt.Errorf("store: run %d: %w", id, err)
	}
	return nil
}

// RunningRuns returns the runs still running, oldest first: when the
// daemon starts, those that were when it stopped.
func (s *Store) RunningRuns(ctx context.Context) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE state = ? ORDER BY id`, RunRunning)
	return collect(rows, err, scanRun)
}

// InterruptRuns marks the runs still running, but those of the IDs kept,
// as interrupted, as the daemon does when it starts: they were running
// when it stopped, and it did not take them up again.
func (s *Store) InterruptRuns(ctx context.Context, keep ...int64) (int64, error) {
	s.write.Lock()
	defer s.write.Unlock()
	q, args := `UPDATE runs SET state = ?, main_pid = 0 WHERE state = ?`, []any{RunInterrupted, RunRunning}
	if len(keep) > 0 {
		q += ` AND id NOT IN (` + strings.TrimSuffix(strings.Repeat("?,", len(keep)), ",") + `)`
		for _, id := range keep {
			args = append(args, id)
		}
	}
	res, err := s.db.ExecContext(ctx, q, args...)
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
		rows, err := s.db.QueryContext(ctx, `SELECT * FROM (SELECT `+runColumns+`
			FROM runs WHERE ? = '' OR unit = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, unit, unit, limit)
		runs, err := collect(rows, err, scanRun)
		yieldAll(runs, err, yield)
	}
}

// LastRuns returns each unit's last run (of unit alone, or of all for
// ""), by unit, passing over runs whose result matches one of the GLOB
// patterns except: one query for all, as the daemon wants them when it
// starts.
func (s *Store) LastRuns(ctx context.Context, unit string, except ...string) (map[string]Run, error) {
	return s.lastRuns(ctx, `(? = '' OR unit = ?)`, unit, except)
}

// LastTested is LastRuns over the runs a start job began: not the
// restarts that Restart= makes, which test no conditions (unit_start
// tests them only for a unit that is not activating already).
func (s *Store) LastTested(ctx context.Context, unit string, except ...string) (map[string]Run, error) {
	return s.lastRuns(ctx, `(? = '' OR unit = ?) AND reason != 'restart'`, unit, except)
}

// lastRuns returns each unit's last run of those that match where,
// which takes unit twice, passing over runs whose result matches one of
// the GLOB patterns except.
func (s *Store) lastRuns(ctx context.Context, where, unit string, except []string) (map[string]Run, error) {
	args := []any{unit, unit}
	for _, p := range except {
		where += ` AND result NOT GLOB ?`
		args = append(args, p)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+`
		FROM runs WHERE id IN (SELECT MAX(id) FROM runs WHERE `+where+` GROUP BY unit)`, args...)
	runs, err := collect(rows, err, scanRun)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Run, len(runs))
	for _, r := range runs {
		m[r.Unit] = r
	}
	return m, nil
}

// Timers returns the state of every timer stored, by name.
func (s *Store) Timers(ctx context.Context) (map[string]TimerState, error) {
	type named struct {
		name string
		st   TimerState
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, `+timerColumns+` FROM timers`)
	all, err := collect(rows, err, func(rows *sql.Rows) (named, error) {
		var n named
		err := rows.Scan(&n.name, &n.st.LastTrigger, &n.st.LastTriggerMonotonic, &n.st.Version, &n.st.Boot, &n.st.ActiveRealtime, &n.st.ActiveMonotonic)
		return n, err
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]TimerState, len(all))
	for _, n := range all {
		m[n.name] = n.st
	}
	return m, nil
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
	MessageID  string // MESSAGE_ID, 32 hex digits; "" for none
	// Fields are the other fields of the entry, as systemd gives them
	// to its messages ("JOB_RESULT=done"), one a line.
	Fields string
}

// entryColumns are an Entry's, but its sequence number, in the order
// Append writes them and scanEntry reads them.
const entryColumns = `realtime, monotonic, boot, unit, invocation, pid, identifier, priority, message, message_id, fields`

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	err := rows.Scan(&e.Seq, &e.Realtime, &e.Monotonic, &e.Boot, &e.Unit, &e.Invocation, &e.PID, &e.Identifier, &e.Priority, &e.Message, &e.MessageID, &e.Fields)
	return e, err
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
	var stmts [len(s.insert)]*sql.Stmt
	args := make([]any, 0, 11*min(len(entries), insertRows))
	// Whole statements of insertRows, then the rest in powers of two, so
	// that a few prepared statements serve every batch size.
	for len(entries) > 0 {
		k := bits.Len(uint(min(len(entries), insertRows))) - 1
		if stmts[k] == nil {
			stmts[k] = tx.StmtContext(ctx, s.insert[k])
		}
		args = args[:0]
		for _, e := range entries[:1<<k] {
			args = append(args, e.Realtime, e.Monotonic, e.Boot, e.Unit, e.Invocation, e.PID, e.Identifier, e.Priority, e.Message, e.MessageID, e.Fields)
		}
		if _, err := stmts[k].ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: journal: %w", err)
		}
		entries = entries[1<<k:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// A Filter selects journal entries.
type Filter struct {
	Units []string // any of them; none for all
	// Identifiers are SYSLOG_IDENTIFIER=s: any of them; none for all.
	Identifiers []string
	// Priorities has bit p set for each priority p selected; 0 for all.
	Priorities uint8
	// Grep is what the message must match; nil for any.
	Grep         *regexp.Regexp
	Since, Until uint64 // realtime µs, inclusive; 0 for no bound
	Boot         string // "" for every boot
	After        int64  // entries after this cursor
	// Last is how many of the last entries selected are returned, and
	// First how many of the first, the other 0; both 0 for all.
	Last, First int
}

// Query returns the journal entries the filter selects, oldest first.
// Those the message pattern selects are found reading the journal from
// its end for Last, from its start otherwise, until there are enough.
func (s *Store) Query(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		var where []string
		var args []any
		in := func(column string, values []string) {
			where = append(where, column+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(values)), ",")+")")
			for _, v := range values {
				args = append(args, v)
			}
		}
		if len(f.Units) > 0 {
			in("unit", f.Units)
		}
		if len(f.Identifiers) > 0 {
			in("identifier", f.Identifiers)
		}
		if f.Priorities != 0 {
			var ps []string
			for p := range 8 {
				if f.Priorities&(1<<p) != 0 {
					ps = append(ps, strconv.Itoa(p))
				}
			}
			where = append(where, "priority IN ("+strings.Join(ps, ",")+")")
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
		q := `SELECT seq, ` + entryColumns + ` FROM journal`
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		if f.Last > 0 {
			q += ` ORDER BY seq DESC`
		} else {
			q += ` ORDER BY seq`
		}
		limit := max(f.Last, f.First)
		if limit > 0 && f.Grep == nil {
			q, args = q+` LIMIT ?`, append(args, limit)
		}
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(Entry{}, fmt.Errorf("store: %w", err))
			return
		}
		entries, err := collectWhile(rows, scanEntry, func(e Entry, n int) (keep, more bool) {
			keep = f.Grep == nil || f.Grep.MatchString(e.Message)
			if keep {
				n++
			}
			return keep, limit == 0 || n < limit
		})
		if f.Last > 0 {
			slices.Reverse(entries)
		}
		yieldAll(entries, err, yield)
	}
}

// A Boot is a boot the journal has entries of: its ID, and the realtime
// of its first and last entries, µs.
type Boot struct {
	ID          string
	First, Last uint64
}

// JournalBoots returns the boots the journal has entries of, in the
// order of their first entries, as journalctl --list-boots lists them.
func (s *Store) JournalBoots(ctx context.Context) ([]Boot, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT boot, MIN(realtime), MAX(realtime) FROM journal GROUP BY boot ORDER BY MIN(seq)`)
	return collect(rows, err, func(rows *sql.Rows) (Boot, error) {
		var b Boot
		err := rows.Scan(&b.ID, &b.First, &b.Last)
		return b, err
	})
}

// JournalUnits returns the units the journal has entries of, sorted, as
// journalctl finds those a unit pattern matches.
func (s *Store) JournalUnits(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT unit FROM journal WHERE unit != '' ORDER BY unit`)
	return collect(rows, err, func(rows *sql.Rows) (string, error) {
		var u string
		err := rows.Scan(&u)
		return u, err
	})
}

// JournalEnd is the sequence number the journal's next entry gets.
func (s *Store) JournalEnd(ctx context.Context) (int64, error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'journal'`).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: %w", err)
	}
	return last.Int64 + 1, nil
}

// A Retention bounds what the store keeps, as journald's SystemMaxUse=
// and MaxRetentionSec= bound the journal. A zero field is no bound.
type Retention struct {
	// MaxEntries is how many of the journal's newest entries are kept.
	MaxEntries int
	// Before is a realtime in µs (now less MaxRetentionSec=): journal
	// entries from before it go.
	Before uint64
	// MaxRuns is how many of each unit's newest runs are kept; an older
	// run still running is kept too.
	MaxRuns int
}

// Deleted counts what Retain deleted.
type Deleted struct {
	Entries, Runs int64
}

// deleteBatch is the most rows one statement of Retain deletes, so that
// a writer waits for it about as long as for a batch of the journal's.
// Old runs are spread over the table, a page each, so that deleting more
// of them at once makes the wait longer, and the whole no faster.
const deleteBatch = 1024

// Retain deletes what r does not keep. It works in batches, each its own
// transaction, so that appends go on meanwhile; an error or ctx's end
// leaves what was deleted until then deleted, and counted.
func (s *Store) Retain(ctx context.Context, r Retention) (Deleted, error) {
	var d Deleted
	var err error
	if r.MaxEntries > 0 {
		if d.Entries, err = s.pruneJournal(ctx, r.MaxEntries); err != nil {
			return d, err
		}
	}
	if r.Before > 0 {
		n, err := s.deleteOlder(ctx, r.Before, math.MaxInt64)
		d.Entries += n
		if err != nil {
			return d, err
		}
	}
	if r.MaxRuns > 0 {
		d.Runs, err = s.pruneRuns(ctx, r.MaxRuns)
	}
	return d, err
}

// deleteOlder deletes the journal's entries from before a realtime, up
// to the first that is not: what is kept stays a run of sequence numbers
// without a gap, which pruneJournal counts on. An entry whose clock was
// behind (stepped back, or not yet set after a boot) goes with those
// around it, as journald vacuums whole files. The first entry kept is
// found from the oldest along the table, not the time's index: it reads
// as many rows as are deleted.
//
// The entries from sequence number keep on stay, whatever their time.
func (s *Store) deleteOlder(ctx context.Context, before uint64, keep int64) (int64, error) {
	var first sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM journal NOT INDEXED WHERE realtime >= ? ORDER BY seq LIMIT 1`, before).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.db.QueryRowContext(ctx, `SELECT MAX(seq) + 1 FROM journal`).Scan(&first)
	}
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	if !first.Valid {
		return 0, nil
	}
	return s.deleteBatches(ctx, deleteBefore, min(first.Int64, keep))
}

// deleteBefore deletes the journal's entries before a sequence number, a
// batch at a time.
const deleteBefore = `DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq < ? ORDER BY seq LIMIT ?)`

// pruneJournal deletes the entries appended before the last keep. The
// sequence numbers count the entries appended, without a gap (a batch
// is appended whole or not at all, and AUTOINCREMENT's counter with it),
// so that those go up to the highest less keep, and nothing is counted.
func (s *Store) pruneJournal(ctx context.Context, keep int) (int64, error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(seq) FROM journal`).Scan(&last); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	if !last.Valid || last.Int64 <= int64(keep) {
		return 0, nil
	}
	return s.deleteBatches(ctx, `DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq <= ? LIMIT ?)`, last.Int64-int64(keep))
}

// pruneRuns deletes each unit's runs older than its last keep, but those
// still running. It goes from unit to unit along the index runs_unit,
// and finds there each unit's newest run to delete, so that it reads the
// table only for the runs it deletes.
func (s *Store) pruneRuns(ctx context.Context, keep int) (int64, error) {
	var deleted int64
	unit := ""
	for {
		err := s.db.QueryRowContext(ctx, `SELECT unit FROM runs WHERE unit > ? ORDER BY unit LIMIT 1`, unit).Scan(&unit)
		if errors.Is(err, sql.ErrNoRows) {
			return deleted, nil
		}
		if err != nil {
			return deleted, fmt.Errorf("store: %w", err)
		}
		var last int64
		err = s.db.QueryRowContext(ctx, `SELECT id FROM runs WHERE unit = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, unit, keep).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("store: %w", err)
		}
		n, err := s.deleteBatches(ctx, `DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE unit = ? AND id <= ? AND state != ? LIMIT ?)`, unit, last, RunRunning)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
}

// deleteBatches runs a deletion whose last argument is the most rows it
// deletes, with deleteBatch, until it deletes fewer, and returns how
// many it deleted.
func (s *Store) deleteBatches(ctx context.Context, query string, args ...any) (int64, error) {
	args = append(args, deleteBatch)
	var deleted int64
	for {
		s.write.Lock()
		res, err := s.db.ExecContext(ctx, query, args...)
		s.write.Unlock()
		if err != nil {
			return deleted, fmt.Errorf("store: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return deleted, fmt.Errorf("store: %w", err)
		}
		deleted += n
		if n < deleteBatch {
			return deleted, nil
		}
	}
}

// collect reads the rows of a query whole, so that no caller holds the
// one connection while it goes through them.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return collectWhile(rows, scan, func(T, int) (keep, more bool) { return true, true })
}

// collectWhile reads rows as collect does, keeping those keep says to,
// while it says there are more to read; n is how many it kept before.
func collectWhile[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error), keep func(v T, n int) (keep, more bool)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		k, more := keep(v, len(out))
		if k {
			out = append(out, v)
		}
		if !more {
			break
		}
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

// A Start is when the daemon started: realtime, monotonic and boottime
// µs.
type Start struct{ Realtime, Monotonic, Boottime uint64 }

// FirstStart returns when the daemon first started in the boot named,
// since when it was only ever killed, never stopped (see ForgetStart);
// now, recorded as that, if it did not. A start in another boot goes.
func (s *Store) FirstStart(ctx context.Context, boot string, now Start) (Start, error) {
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Start{}, fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM startup WHERE boot != ?`, boot); err != nil {
		return Start{}, fmt.Errorf("store: start: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO startup (boot, realtime, mono, boottime) VALUES (?, ?, ?, ?) ON CONFLICT (boot) DO NOTHING`,
		boot, now.Realtime, now.Monotonic, now.Boottime); err != nil {
		return Start{}, fmt.Errorf("store: start: %w", err)
	}
	var st Start
	if err := tx.QueryRowContext(ctx, `SELECT realtime, mono, boottime FROM startup WHERE boot = ?`, boot).Scan(&st.Realtime, &st.Monotonic, &st.Boottime); err != nil {
		return Start{}, fmt.Errorf("store: start: %w", err)
	}
	return st, tx.Commit()
}

// ForgetStart forgets the daemon's first start, at its stop: the next
// start is a first one.
func (s *Store) ForgetStart(ctx context.Context) error {
	s.write.Lock()
	defer s.write.Unlock()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM startup`); err != nil {
		return fmt.Errorf("store: start: %w", err)
	}
	return nil
}

// OpenReadOnly opens the database at path to read it while no daemon
// has it, as journalctl reads the journal's files without journald: it
// changes nothing, neither the file nor its WAL (no schema made or
// migrated, no check, no checkpoint), and takes what the WAL holds of a
// daemon that was killed. A database of another schema than this
// version's is refused.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// A reader of a database in WAL mode shares the WAL's index in a
	// -shm file, and makes it if there is none, and an empty WAL; they
	// are removed again at Close, so that the directory is left as it
	// was found. (An index in memory, as the daemon keeps it, takes an
	// exclusive lock, which a file opened read-only cannot have.)
	var made []string
	for _, p := range []string{path + "-shm", path + "-wal"} {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			made = append(made, p)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(1)
	var v int
	err = db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	if err == nil {
		err = checkVersion(v)
	}
	if err == nil && v < len(migrations) {
		err = fmt.Errorf("the database is of an earlier version of sundial (schema %d): the daemon brings it up to date when it starts", v)
	}
	st := &Store{db: db, made: made}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return st, nil
}

// Held reports whether a process holds the database at path, as the
// daemon holds its own: in SQLite's exclusive locking mode, a write lock
// on the bytes of the database file that its readers lock to share it
// (SHARED_FIRST and SHARED_SIZE in SQLite's os_unix.c). The lock is
// asked about (F_GETLK), not taken.
func Held(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	const sharedFirst, sharedSize = 0x40000000 + 2, 510
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: io.SeekStart, Start: sharedFirst, Len: sharedSize}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, fmt.Errorf("store: %s: %w", path, err)
	}
	return lk.Type != syscall.F_UNLCK, nil
}

// Vacuum deletes the journal's entries from before a realtime in µs (0
// for none), and then its oldest ones until the database takes at most
// maxBytes (0 for no bound), as journalctl --vacuum-time= and
// --vacuum-size= remove the journal's oldest files; the space is given
// back to the file system (SQLite's VACUUM). The entries from sequence
// number active on are kept whatever the bounds, as
// journal_directory_vacuum() removes archived files only, never the
// one journald writes. It returns the bytes freed.
func (s *Store) Vacuum(ctx context.Context, before, maxBytes uint64, active int64) (uint64, error) {
	size := func() (uint64, error) {
		var pages, pageSize uint64
		if err := s.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		if err := s.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		return pages * pageSize, nil
	}
	vacuum := func() error {
		s.write.Lock()
		defer s.write.Unlock()
		if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	}
	start, err := size()
	if err != nil {
		return 0, err
	}
	if before > 0 {
		if _, err := s.deleteOlder(ctx, before, active); err != nil {
			return 0, err
		}
	}
	if err := vacuum(); err != nil {
		return 0, err
	}
	// The journal's share of the file is not known: each round deletes
	// as many of the oldest entries as the excess would hold were the
	// file all journal, which is never too many, until it fits or only
	// the active entries are left.
	for maxBytes > 0 {
		now, err := size()
		if err != nil {
			return 0, err
		}
		var oldest sql.NullInt64
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT MIN(seq), COUNT(*) FROM journal WHERE seq < ?`, active).Scan(&oldest, &n); err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		if now <= maxBytes || n == 0 {
			break
		}
		excess := max(1, int64(float64(n)*float64(now-maxBytes)/float64(now)))
		if _, err := s.deleteBatches(ctx, deleteBefore, min(oldest.Int64+excess, active)); err != nil {
			return 0, err
		}
		if err := vacuum(); err != nil {
			return 0, err
		}
	}
	end, err := size()
	if err != nil || end > start {
		return 0, err
	}
	return start - end, nil
}
