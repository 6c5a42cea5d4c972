package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrivate makes a database with the usual umask, and writes to it:
// the database and its -wal are only its user's, and there is no -shm
// (the WAL's index is in memory).
func TestPrivate(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	if err := s.Append(context.Background(), Entry{Unit: "a.service", Message: "secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-shm"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s-shm: %v, want none", path, err)
	}
	for _, p := range []string{path, path + "-wal"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", p, mode)
		}
	}
}

// fill makes a database at path with a journal of many entries, closed
// (its -wal checkpointed and gone), and returns the number of a page in
// the middle of the journal table's leaves, and the page size.
func fill(t *testing.T, path string) (page, size int64) {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var entries []Entry
	for i := range 5000 {
		entries = append(entries, Entry{Realtime: uint64(i + 1), Unit: "fill.service", Message: fmt.Sprintf("line %d of the journal, to fill its pages", i)})
	}
	if err := s.Append(context.Background(), entries...); err != nil {
		t.Fatal(err)
	}
	var pages []int64
	rows, err := s.db.Query(`SELECT pageno FROM dbstat WHERE name = 'journal' AND pagetype = 'leaf' ORDER BY pageno`)
	pages, err = collect(rows, err, func(rows *sql.Rows) (int64, error) {
		var n int64
		err := rows.Scan(&n)
		return n, err
	})
	if err != nil || len(pages) < 10 {
		t.Fatalf("the journal's leaves: %v, %v", pages, err)
	}
	if err := s.db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	return pages[len(pages)/2], size
}

// TestCorrupt opens databases that are damaged: each is refused with a
// CorruptError that says what is wrong, is set aside as it was, and a
// fresh database is made in its place.
func TestCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		reason string
	}{
		{"empty", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "the file is empty"},
		{"not SQLite", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("[Timer]\nOnCalendar=daily\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "the file is not an SQLite database"},
		{"short", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("SQLite"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "the file is not an SQLite database"},
		{"page", func(t *testing.T, path string) {
			// Random bytes over the start of one of the journal's pages,
			// in the middle of the file: its header and its cells'
			// pointers.
			page, size := fill(t, path)
			garbage := make([]byte, 256)
			r := rand.New(rand.NewPCG(14, 14))
			for i := range garbage {
				garbage[i] = byte(r.Uint32())
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(garbage, (page-1)*size); err != nil {
				t.Fatal(err)
			}
		}, "database disk image is malformed"},
		{"page, with a WAL", func(t *testing.T, path string) {
			// What a crash leaves: a database still open, its -wal
			// holding what was written last.
			live := filepath.Join(t.TempDir(), "live.db")
			page, size := fill(t, live)
			s := open(t, live)
			if err := s.Append(context.Background(), Entry{Unit: "last.service", Message: "in the WAL"}); err != nil {
				t.Fatal(err)
			}
			for _, suffix := range []string{"", "-wal"} {
				data, err := os.ReadFile(live + suffix)
				if err != nil {
					t.Fatal(err)
				}
				if suffix == "" {
					copy(data[(page-1)*size:], "\xa5\x5a not a page of SQLite's")
				}
				if err := os.WriteFile(path+suffix, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, "database disk image is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			tt.damage(t, path)
			damaged := map[string][]byte{}
			for _, suffix := range []string{"", "-wal"} {
				if data, err := os.ReadFile(path + suffix); err == nil {
					damaged[suffix] = data
				}
			}
			_, err := Open(context.Background(), path)
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) || corrupt.Path != path || !strings.Contains(corrupt.Reason, tt.reason) {
				t.Fatalf("Open: %v, want it corrupt: %s", err, tt.reason)
			}
			at := time.Date(2026, 12, 6, 3, 4, 5, 0, time.UTC)
			aside, err := SetAside(path, at)
			if want := path + ".corrupt-20261206T030405Z"; aside != want || err != nil {
				t.Fatalf("SetAside: %q, %v; want %q", aside, err, want)
			}
			for suffix, data := range damaged {
				if kept, err := os.ReadFile(aside + suffix); err != nil || !bytes.Equal(kept, data) {
					t.Errorf("%s is not the damaged file: %v", aside+suffix, err)
				}
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left: %v", p, err)
				}
			}
			s := open(t, path)
			if err := s.Append(context.Background(), Entry{Unit: "new.service", Message: "new"}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, err := range s.Query(context.Background(), Filter{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 1 {
				t.Errorf("%d entries in the new journal, want 1", n)
			}
		})
	}
}

// TestSetAside sets a database aside with its -wal and -shm, twice in
// one second: each keeps its own name.
func TestSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	at := time.Date(2026, 12, 6, 3, 4, 5, 0, time.UTC)
	for i, want := range []string{path + ".corrupt-20261206T030405Z", path + ".corrupt-20261206T030405Z.1"} {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.WriteFile(path+suffix, []byte(fmt.Sprint(i, suffix)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		aside, err := SetAside(path, at)
		if aside != want || err != nil {
			t.Fatalf("SetAside: %q, %v; want %q", aside, err, want)
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if data, err := os.ReadFile(aside + suffix); err != nil || string(data) != fmt.Sprint(i, suffix) {
				t.Errorf("%s: %q, %v", aside+suffix, data, err)
			}
		}
	}
}

// TestPruneAside sets aside five damaged databases, a second apart:
// pruned, the newest three are left, with their -wal and -shm.
func TestPruneAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	var aside []string
	for i := range 5 {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.WriteFile(path+suffix, []byte("damaged"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		name, err := SetAside(path, time.Date(2026, 12, 6, 3, 4, 5+i, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		aside = append(aside, name)
	}
	removed, err := PruneAside(path)
	if err != nil || !slices.Equal(removed, aside[:2]) {
		t.Errorf("PruneAside: %v, %v; want %v", removed, err, aside[:2])
	}
	left, _ := filepath.Glob(path + ".corrupt-*")
	var want []string
	for _, name := range aside[2:] {
		want = append(want, name, name+"-shm", name+"-wal")
	}
	if !slices.Equal(left, want) {
		t.Errorf("left: %v, want %v", left, want)
	}
}

// TestOpenStaleWAL opens a database that is not there, with a -wal of
// another one in its place (as a set aside that failed halfway leaves
// it): the database is new, and nothing of the other's is in it.
func TestOpenStaleWAL(t *testing.T) {
	live := filepath.Join(t.TempDir(), "live.db")
	other := open(t, live)
	if err := other.Append(context.Background(), Entry{Unit: "old.service", Message: "of another database"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	data, err := os.ReadFile(live + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-wal", data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	for e, err := range s.Query(context.Background(), Filter{}) {
		t.Errorf("in the new journal: %+v, %v", e, err)
	}
}

// TestOpenNew: a database that is not there is simply new.
func TestOpenNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	s := open(t, path)
	if _, err := s.Timers(context.Background()); err != nil {
		t.Fatal(err)
	}
}
