package manager

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestPrivateRefused starts the daemon on a state directory open to
// others that cannot be made private (on a read-only tmpfs, as root
// only): it refuses to start, and says why.
func TestPrivateRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	if err := syscall.Mount("tmpfs", state, "tmpfs", syscall.MS_RDONLY, "size=1m,mode=0755"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	defer syscall.Unmount(state, 0)
	m := &Manager{UnitPath: []string{dir}, StateDir: state}
	err := m.Run(context.Background())
	if want := state + " is open to other users (mode 0755), and cannot be made private: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Run: %v, want %q", err, want)
	}
}
