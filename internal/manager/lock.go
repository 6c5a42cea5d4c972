package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir makes sure no other daemon works in dir: two daemons on one
// store or one runtime directory would each fire every timer, and the
// second would take the first's socket. It holds an exclusive lock on
// dir/lock (dir made private, see makePrivate), with the daemon's PID in
// it, until the file returned is closed; the kernel lets go of it when
// the daemon dies, however.
func lockDir(dir string, log *slog.Logger) (*os.File, error) {
	if err := makePrivate(dir, log); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
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
	if err := tighten(path, log); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// makePrivate makes a directory of the daemon's, if need be, and makes
// sure it is only the daemon's user's: what the daemon keeps there (the
// journal of what services wrote, their units' files, the control
// socket) is not for other users to read, as journald's files are not.
func makePrivate(dir string, log *slog.Logger) error {
	// Its parents hold nothing of the daemon's: made as systemd makes
	// them (mkdir_parents, 0755).
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Another user's directory (in /tmp, say) would be theirs to meddle in.
	if info, err := os.Stat(dir); err != nil {
		return err
	} else if st, ok := info.Sys().(*syscall.Stat_t); !info.IsDir() || ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is not a directory of the daemon's user", dir)
	}
	return tighten(dir, log)
}

// tighten takes from a file or directory of the daemon's, if it is
// there, the permissions other users have, saying so: it was made by
// an older version, or by hand.
func tighten(path string, log *slog.Logger) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	mode := info.Mode().Perm()
	if mode&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, mode&^0o077); err != nil {
		return fmt.Errorf("%s is open to other users (mode %04o), and cannot be made private: %w", path, mode, err)
	}
	log.Warn(fmt.Sprintf("%s was open to other users (mode %04o); made private (mode %04o).", path, mode, mode&^0o077))
	return nil
}
