package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A CorruptError is Open's error for a database that is damaged: one
// that is empty, is not SQLite's, or fails SQLite's quick_check. The
// daemon sets it aside (see SetAside) and starts a fresh one, as
// journald does with a journal file it cannot use.
type CorruptError struct {
	Path   string
	Reason string // what is wrong, in SQLite's words where it said
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("store: %s is corrupt: %s", e.Path, e.Reason)
}

// Temporary tells a write's failure that may pass (the disk full, an
// I/O error, the database busy or read-only for a while) from one that
// trying the write again cannot mend (the database corrupt, a
// constraint broken). An error not SQLite's is taken for one that may
// pass.
func Temporary(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return true
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT:
		return true
	}
	return false
}

// sqliteMagic begins every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// prepareFile makes a missing database (see create). A file that is
// there but empty, or not SQLite's, is corrupt: the daemon never leaves
// one so.
func prepareFile(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return create(ctx, path)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && err == io.EOF:
		return &CorruptError{Path: path, Reason: "the file is empty"}
	case errors.Is(err, io.ErrUnexpectedEOF) || err == nil && !bytes.Equal(head, []byte(sqliteMagic)):
		return &CorruptError{Path: path, Reason: "the file is not an SQLite database"}
	case err != nil:
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// create makes a new database at path, with its schema: made as
// PATH.new, written through (the WAL checkpointed, which syncs it) and
// renamed into place, so that a database the daemon made is never
// found empty or half made (the disk full, or a crash, while SQLite
// writes its first page), and called corrupt at the next start. The
// file is made first, only its user's: SQLite makes it, and its -wal
// after it, with the mode of the database, which it would make 0644.
func create(ctx context.Context, path string) error {
	tmp := path + ".new"
	// Those of a start that failed, if any; and a -wal or -shm of no
	// database (one set aside without them, say), which SQLite would
	// take for the new one's.
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
	}
	err := build(ctx, tmp)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: %s: %w", path, err)
	}
	return nil
}

// build makes a database at path with the schema, all of it in the
// file, synced.
func build(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return err
	}
	var busy, frames, done int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil {
		return err
	}
	if busy != 0 || frames != 0 {
		return fmt.Errorf("the WAL of %s cannot be written into it (%d frames left)", path, frames)
	}
	return db.Close()
}

// syncDir syncs a directory, so that a file renamed in it stays so.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// quickCheck runs SQLite's PRAGMA quick_check, which reads every page
// of the database and checks its structure (not the indexes against
// their tables): a damaged page found now is not one that a query
// fails on later ("database disk image is malformed").
func quickCheck(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	lines, err := collect(rows, err, func(rows *sql.Rows) (string, error) {
		var s string
		err := rows.Scan(&s)
		return s, err
	})
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_CORRUPT || se.Code()&0xff == sqlite3.SQLITE_NOTADB) {
			return &CorruptError{Path: path, Reason: se.Error()}
		}
		return fmt.Errorf("store: %s: %w", path, err)
	}
	if len(lines) != 1 || lines[0] != "ok" {
		// quick_check names up to a hundred problems, the first after a
		// line naming the database ("*** in database main ***"); the
		// first few say enough.
		var problems []string
		for _, l := range lines {
			for l := range strings.Lines(l) {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "*** in database ") {
					problems = append(problems, l)
				}
			}
		}
		return &CorruptError{Path: path, Reason: strings.Join(problems[:min(len(problems), 3)], "; ")}
	}
	return nil
}

// SetAside renames a corrupt database, with its -wal and -shm, to
// "PATH.corrupt-TIME" (journald's "*.journal~"), where it is kept for
// whoever wants to look at it, and returns that name. The next Open
// of path starts a fresh database.
func SetAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	aside := base
	// Never over an earlier one, set aside within the same second.
	for i := 1; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.%d", base, i)
	}
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		// An empty one holds nothing (Open's check makes the -wal if
		// there was none): removed.
		move := func(from, to string) error { return os.Rename(from, to) }
		if info, err := os.Lstat(path + suffix); err == nil && info.Size() == 0 {
			move = func(from, _ string) error { return os.Remove(from) }
		}
		if err := move(path+suffix, aside+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return aside, fmt.Errorf("store: %w", err)
		}
	}
	return aside, nil
}

// keepAside is how many damaged databases are kept, the newest: each
// may be as large as the journal was.
const keepAside = 3

// PruneAside removes the databases set aside next to path (see
// SetAside), with their -wal and -shm, but for the newest keepAside, as
// journald's vacuum removes its damaged files, and returns the names of
// those removed.
func PruneAside(path string) ([]string, error) {
	names, err := filepath.Glob(path + ".corrupt-*")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var sets []string
	for _, name := range names {
		if !strings.HasSuffix(name, "-wal") && !strings.HasSuffix(name, "-shm") {
			sets = append(sets, name)
		}
	}
	// The names sort as the times they were set aside at.
	slices.Sort(sets)
	var removed []string
	for _, name := range sets[:max(0, len(sets)-keepAside)] {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(name + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("store: %w", err)
			}
		}
		removed = append(removed, name)
	}
	return removed, nil
}
