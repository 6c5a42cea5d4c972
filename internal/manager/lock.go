package manager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir makes sure no other daemon works in dir: two daemons on one
// store or one runtime directory would each fire every timer, and the
// second would take the first's socket. It holds an exclusive lock on
// dir/lock (dir made with perm if need be), with the daemon's PID in
// it, until the file returned is closed; the kernel lets go of it when
// the daemon dies, however.
func lockDir(dir string, perm os.FileMode) (*os.File, error) {
	if err := os.MkdirAll(dir, perm); err != nil {
		return nil, err
	}
	// Another user's directory (in /tmp, say) would be theirs to meddle in.
	if info, err := os.Stat(dir); err != nil {
		return nil, err
	} else if st, ok := info.Sys().(*syscall.Stat_t); !info.IsDir() || ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%s is not a directory of the daemon's user", dir)
	}
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n]))); err == nil {
				return nil, fmt.Errorf("another sundial daemon (PID %d) is running on %s", pid, dir)
			}
			return nil, fmt.Errorf("another sundial daemon is running on %s", dir)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
