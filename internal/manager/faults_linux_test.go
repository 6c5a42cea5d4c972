package manager

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"sundial.dev/sundial/internal/store"
)

// TestDiskFullTmpfs is TestDiskFull on a real full disk: the state
// directory on a small tmpfs (as root only), filled by a file.
func TestDiskFullTmpfs(t *testing.T) {
	state := mountTmpfs(t)
	filler := filepath.Join(state, "filler")
	// Failing, the daemon runs on and stops, and the tmpfs is unmounted.
	fill := func() {
		if err := fillUp(filler); err != nil {
			t.Error(err)
		}
	}
	_, _, log, _ := fillDisk(t, state, fill, func() { os.Remove(filler) }, func(*Manager) {})
	if !strings.Contains(log.String(), "database or disk is full") {
		t.Errorf("no write failed for the full disk; the log:\n%s", log)
	}
}

// TestDiskFullAtStart starts the daemon on a full disk (a small tmpfs,
// as root only), its database left there by a daemon that stopped, or
// by one that crashed with a run running: it starts, fires its timer
// all along, and once there is room, records what it could not, the
// interrupted run among them.
func TestDiskFullAtStart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "stopped", true: "crashed"}[crash], func(t *testing.T) {
			state := mountTmpfs(t)
			path := filepath.Join(state, "sundial.db")
			ctx := context.Background()
			if !crash {
				s, err := store.Open(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Append(ctx, store.Entry{Unit: "old.service", Message: "old"}); err != nil {
					t.Fatal(err)
				}
				s.Close()
			} else {
				// What a crash leaves: the files of a database still open.
				elsewhere := filepath.Join(t.TempDir(), "sundial.db")
				s, err := store.Open(ctx, elsewhere)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if _, err := s.StartRun(ctx, store.Run{Unit: "old.service", Reason: "manual"}); err != nil {
					t.Fatal(err)
				}
				for _, suffix := range []string{"", "-wal"} {
					data, err := os.ReadFile(elsewhere + suffix)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path+suffix, data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			filler := filepath.Join(state, "filler")
			if err := fillUp(filler); err != nil {
				t.Fatal(err)
			}
			s, _, log, _ := fillDisk(t, state, func() {}, func() { os.Remove(filler) }, func(*Manager) {})
			if !strings.Contains(log.String(), "database or disk is full") {
				t.Errorf("no write failed for the full disk; the log:\n%s", log)
			}
			if crash {
				var states []store.RunState
				for r, err := range s.Runs(ctx, "old.service", 0) {
					if err != nil {
						t.Fatal(err)
					}
					states = append(states, r.State)
				}
				if !slices.Equal(states, []store.RunState{store.RunInterrupted}) {
					t.Errorf("old.service's runs: %v, want one interrupted", states)
				}
			}
		})
	}
}

// mountTmpfs mounts a small tmpfs on a directory of the test's, as root
// only (skipping the test otherwise), and returns it.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16m,mode=0700"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Error(err)
		}
	})
	return dir
}
