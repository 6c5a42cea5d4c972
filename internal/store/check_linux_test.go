package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCreateFull makes a database on a full disk (a small tmpfs, as
// root only): it fails, leaving no file of the database's name behind,
// and once there is room, it is made, not found corrupt.
func TestCreateFull(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Error(err)
		}
	})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 1<<20), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v", err)
	}
	path := filepath.Join(dir, "state.db")
	if s, err := Open(context.Background(), path); err == nil {
		s.Close()
		t.Fatal("made on a full disk")
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("left behind: %v", err)
	}
	os.Remove(filler)
	s := open(t, path)
	if err := s.Append(context.Background(), Entry{Unit: "a.service", Message: "made"}); err != nil {
		t.Error(err)
	}
	if names, _ := filepath.Glob(path + "*"); len(names) != 2 || names[0] != path || names[1] != path+"-wal" {
		t.Errorf("files: %v, want the database and its -wal", names)
	}
}
