package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPrivate makes a database with the usual umask, and writes to it:
// the database, its -wal and its -shm are only its user's.
func TestPrivate(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path)
	if err := s.Append(context.Background(), Entry{Unit: "a.service", Message: "secret"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", p, mode)
		}
	}
}
