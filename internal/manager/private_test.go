package manager

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/store"
)

// A logBuffer collects a daemon's log, written from its goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger is a daemon's logger, writing to b.
func newLogger(b *logBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// startDaemon runs m until the function returned stops it, with its log
// in the buffer returned, and waits until it listens on its socket.
func startDaemon(t *testing.T, m *Manager) (*logBuffer, func()) {
	t.Helper()
	log := &logBuffer{}
	m.Logger = newLogger(log)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- m.Run(ctx) }()
	listening := func() bool { _, err := os.Stat(m.Socket); return err == nil }
	deadline := time.After(30 * time.Second)
	for !listening() {
		select {
		case err := <-ended:
			cancel()
			t.Fatalf("the daemon ended: %v\n%s", err, log)
		case <-deadline:
			cancel()
			select {
			case err := <-ended:
				t.Fatalf("the daemon did not listen within 30 s; stopped: %v\n%s", err, log)
			case <-time.After(30 * time.Second):
				t.Fatalf("the daemon did not listen within 30 s, nor stop\n%s", log)
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
	return log, func() {
		cancel()
		if err := <-ended; err != nil {
			t.Error(err)
		}
	}
}

// setUmask sets the process's umask, and returns what sets it back.
func setUmask(mask int) func() {
	old := syscall.Umask(mask)
	return func() { syscall.Umask(old) }
}

// openToOthers lists what under the directories other users may read,
// write or enter, with its mode.
func openToOthers(t *testing.T, dirs ...string) []string {
	t.Helper()
	var open []string
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			info, err := d.Info()
			if err != nil {
				t.Error(err)
				return nil
			}
			// A symbolic link's mode means nothing: what it names is checked.
			if info.Mode()&fs.ModeSymlink == 0 && info.Mode().Perm()&0o077 != 0 {
				open = append(open, path+" "+info.Mode().String())
			}
			return nil
		})
	}
	return open
}

// TestPrivate runs a service from a timer and a transient one, and looks
// at everything the daemon made while they run: the state and runtime
// directories, the database with its -wal, the lock files, the
// socket, the transient unit's file: none is open to other users,
// although the umask would let them read.
func TestPrivate(t *testing.T) {
	defer setUmask(0o022)()
	dir, marks := t.TempDir(), t.TempDir()
	state, run := filepath.Join(t.TempDir(), "state"), filepath.Join(t.TempDir(), "run")
	writeUnits(t, dir, map[string]string{
		"secret.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"secret.service": "[Service]\nExecStart=/bin/sh -c 'echo secret; touch " + marks + "/secret; exec sleep 60'\n",
	})
	transient := filepath.Join(run, "transient")
	m := &Manager{UnitPath: []string{transient, dir}, StateDir: state, Env: []string{"PATH=/usr/bin:/bin"},
		Socket: filepath.Join(run, "control"), TransientDir: transient}
	_, stop := startDaemon(t, m)
	defer stop()
	c := &api.Client{Socket: m.Socket}
	res, err := c.Transient(context.Background(), api.TransientRequest{Units: []api.TransientUnit{{Name: "hush.service", Settings: []api.Setting{
		execStart("/bin/sh", "-c", "echo hush; touch "+marks+"/hush; exec sleep 60")}}}})
	if err != nil || res.Result != "done" {
		t.Fatalf("Transient: %+v, %v", res, err)
	}
	for _, name := range []string{"secret", "hush"} {
		await.Until(t, func() bool { _, err := os.Stat(filepath.Join(marks, name)); return err == nil }, "%s", name+" running")
	}
	for _, p := range []string{state + "/sundial.db", state + "/sundial.db-wal", state + "/lock",
		run + "/lock", run + "/control", run + "/transient/hush.service"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not made: %v", err)
		}
	}
	if open := openToOthers(t, state, run); len(open) > 0 {
		t.Errorf("open to other users:\n  %s", strings.Join(open, "\n  "))
	}
}

// TestPrivateTightened starts the daemon on directories and files that
// an older version made open to others: they are made private, and the
// log names each.
func TestPrivateTightened(t *testing.T) {
	defer setUmask(0o022)()
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	transient := filepath.Join(run, "transient")
	// The database made, with a line in it; its -wal and -shm made
	// below, as an older version left them.
	s, err := store.Open(context.Background(), filepath.Join(state, "sundial.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), store.Entry{Unit: "old.service", Message: "secret"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	loose := []string{state, run, transient, filepath.Join(state, "lock"), filepath.Join(run, "lock"),
		filepath.Join(state, "sundial.db"), filepath.Join(state, "sundial.db-wal"), filepath.Join(state, "sundial.db-shm")}
	for _, p := range loose {
		mode := fs.FileMode(0o644)
		if p == state || p == run || p == transient {
			mode = 0o755
			os.Mkdir(p, mode)
		} else if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, mode); err == nil {
			f.Close()
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	m := &Manager{UnitPath: []string{transient, dir}, StateDir: state, Env: []string{"PATH=/usr/bin:/bin"},
		Socket: filepath.Join(run, "control"), TransientDir: transient}
	log, stop := startDaemon(t, m)
	if open := openToOthers(t, state, run); len(open) > 0 {
		t.Errorf("open to other users:\n  %s", strings.Join(open, "\n  "))
	}
	stop()
	for _, p := range loose {
		if !strings.Contains(log.String(), p+" was open to other users") {
			t.Errorf("%s made private without a word; the log:\n%s", p, log)
		}
	}
}

// TestPrivatePlanted starts the daemon where another user could have
// put things in its way: a symbolic link as its state or runtime
// directory, a directory others may write to, with a link named as the
// lock in it, a link or a FIFO named as its files. It refuses to start,
// saying why, and neither changes nor blocks on what was put there.
func TestPrivatePlanted(t *testing.T) {
	tests := []struct {
		name string
		// plant makes state and run, putting in them what it puts, and
		// returns a file or directory outside them that must be left as
		// it is.
		plant func(t *testing.T, state, run string) string
		want  string
	}{
		{"state dir a link", func(t *testing.T, state, run string) string {
			target := t.TempDir()
			os.Chmod(target, 0o755)
			symlink(t, target, state)
			return target
		}, "/state is a symbolic link, refusing"},
		{"runtime dir a link", func(t *testing.T, state, run string) string {
			target := t.TempDir()
			os.Chmod(target, 0o755)
			symlink(t, target, run)
			return target
		}, "/run is a symbolic link, refusing"},
		{"state dir writable by others", func(t *testing.T, state, run string) string {
			target := precious(t)
			os.Mkdir(state, 0o777)
			os.Chmod(state, 0o777)
			symlink(t, target, filepath.Join(state, "lock"))
			return target
		}, "/state has mode 0777, which lets other users put files in it, refusing"},
		{"lock a link", func(t *testing.T, state, run string) string {
			target := precious(t)
			os.Mkdir(run, 0o700)
			symlink(t, target, filepath.Join(run, "lock"))
			return target
		}, "/run/lock is a symbolic link, refusing"},
		{"database a link", func(t *testing.T, state, run string) string {
			target := precious(t)
			os.Mkdir(state, 0o700)
			symlink(t, target, filepath.Join(state, "sundial.db"))
			return target
		}, "/state/sundial.db is a symbolic link, refusing"},
		{"database a FIFO", func(t *testing.T, state, run string) string {
			os.Mkdir(state, 0o700)
			if err := syscall.Mkfifo(filepath.Join(state, "sundial.db"), 0o644); err != nil {
				t.Fatal(err)
			}
			return state
		}, "/state/sundial.db is not a regular file (p---------), refusing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, base := t.TempDir(), t.TempDir()
			writeUnits(t, dir, map[string]string{})
			state, run := filepath.Join(base, "state"), filepath.Join(base, "run")
			kept := tt.plant(t, state, run)
			before := fileState(t, kept)
			m := &Manager{UnitPath: []string{dir}, StateDir: state, Socket: filepath.Join(run, "control")}
			ctx, cancel := context.WithCancel(context.Background())
			ended := make(chan error, 1)
			go func() { ended <- m.Run(ctx) }()
			var err error
			select {
			case err = <-ended:
			case <-time.After(30 * time.Second):
				cancel()
				select {
				case err = <-ended:
					err = fmt.Errorf("not refused within 30 s; stopped: %v", err)
				case <-time.After(30 * time.Second):
					t.Fatal("the daemon neither refused to start nor stopped within 30 s")
				}
			}
			cancel()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want %q", err, tt.want)
			}
			if after := fileState(t, kept); after != before {
				t.Errorf("%s changed: %s, was %s", kept, after, before)
			}
		})
	}
}

// precious makes a file outside the daemon's directories, for a link
// to it to be planted in them.
func precious(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// symlink makes a symbolic link, or fails the test.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// fileState tells a file's mode and, for a regular file, what it holds.
func fileState(t *testing.T, path string) string {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Mode().IsRegular() {
		return info.Mode().String()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().String() + " " + string(data)
}
