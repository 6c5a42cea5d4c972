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
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, openRefused(path, err)
	}
	if err := private(f, path, log); err != nil {
		f.Close()
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

// makePrivate makes a directory of the daemon's, if need be, and makes
// sure it is only the daemon's user's: what the daemon keeps there (the
// journal of what services wrote, their units' files, the control
// socket) is not for other users to read, as journald's files are not.
// As systemd's mkdir_safe_internal, it refuses a symbolic link (another
// user's, in /tmp, would lead the daemon to a directory of their
// choosing), a directory of another user, and one that others may
// write to: what they put there (a symbolic link named as a file of the
// daemon's, say) would be the daemon's to trust.
func makePrivate(dir string, log *slog.Logger) error {
	// Its parents hold nothing of the daemon's: made as systemd makes
	// them (mkdir_parents, 0755).
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	// Checked and changed through the directory opened, never by its
	// name, which could be made to lead elsewhere meanwhile.
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return openRefused(dir, err)
	}
	defer f.Close()
	return private(f, dir, log)
}

// openRefused is the error of opening a file or directory of the
// daemon's that is a symbolic link (O_NOFOLLOW's ELOOP, FreeBSD's
// EMLINK, Linux's ENOTDIR with O_DIRECTORY), or not a directory.
func openRefused(path string, err error) error {
	if !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.EMLINK) && !errors.Is(err, syscall.ENOTDIR) {
		return err
	}
	if info, lerr := os.Lstat(path); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link, refusing", path)
	}
	return fmt.Errorf("%s: %w, refusing", path, err)
}

// tighten takes from a file of the daemon's, if it is there, the
// permissions other users have, as private does.
func tighten(path string, log *slog.Logger) error {
	// Not blocking on a FIFO put there: it is refused.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return openRefused(path, err)
	}
	defer f.Close()
	return private(f, path, log)
}

// private makes sure an open file or directory of the daemon's is the
// daemon's user's, and is a directory or a regular file; it takes from
// it the permissions other users have, saying so (it was made by an
// older version, or by hand), but refuses a directory others may write
// to, as mkdir_safe_internal does.
func private(f *os.File, path string, log *slog.Logger) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by UID %d, not by the daemon's user (UID %d), refusing", path, st.Uid, os.Geteuid())
	}
	mode := info.Mode().Perm()
	switch {
	case !info.IsDir() && !info.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s), refusing", path, info.Mode().Type())
	case info.IsDir() && mode&0o022 != 0:
		return fmt.Errorf("%s has mode %04o, which lets other users put files in it, refusing: make it private (chmod go-w), after checking what is in it", path, mode)
	case mode&0o077 == 0:
		return nil
	}
	if err := f.Chmod(mode &^ 0o077); err != nil {
		return fmt.Errorf("%s is open to other users (mode %04o), and cannot be made private: %w", path, mode, err)
	}
	log.Warn(fmt.Sprintf("%s was open to other users (mode %04o); made private (mode %04o).", path, mode, mode&^0o077))
	return nil
}
