package api

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"sundial.dev/sundial/internal/await"
)

// clientEnv makes the test binary a client of the socket it names,
// which prints what the daemon answered.
const clientEnv = "SUNDIAL_API_TEST_CLIENT"

// serverEnv makes the test binary a daemon listening on the socket it
// names.
const serverEnv = "SUNDIAL_API_TEST_SERVER"

func TestMain(m *testing.M) {
	if socket := os.Getenv(serverEnv); socket != "" {
		l, err := Listen(socket)
		if err != nil {
			os.Stdout.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Chmod(socket, 0o666)
		Serve(context.Background(), l, fakeBackend{[]Timer{{Unit: "planted.timer"}}})
		os.Exit(0)
	}
	if socket := os.Getenv(clientEnv); socket != "" {
		timers, err := (&Client{Socket: socket}).Timers(context.Background())
		if err != nil {
			os.Stdout.WriteString("refused: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("answered: " + timers[0].Unit + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOtherUserRefused: a client of another user is refused, even with
// the socket open to it, by its credentials; root is answered.
func TestOtherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a client as another user")
	}
	// Where the other user can reach both the socket and this binary.
	dir, err := os.MkdirTemp("", "sundial-peer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "client")
	copyFile(t, bin)
	sock := filepath.Join(dir, "run", "control")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(sock), 0o755)
	os.Chmod(sock, 0o666)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Serve(ctx, l, fakeBackend{[]Timer{{Unit: "a.timer"}}}) }()
	defer func() {
		cancel()
		<-done
	}()
	client := func(cred *syscall.Credential) string {
		cmd := exec.Command(bin)
		cmd.Env = []string{clientEnv + "=" + sock}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	if got := client(&syscall.Credential{Uid: 65534, Gid: 65534}); !strings.HasPrefix(got, "refused: ") {
		t.Errorf("another user: %q, want refused", got)
	}
	if got := client(nil); got != "answered: a.timer" {
		t.Errorf("root: %q", got)
	}
}

// TestOtherUsersSocket: a socket another user made where the daemon's
// goes is refused by the client, by its credentials.
func TestOtherUsersSocket(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a daemon as another user")
	}
	dir, err := os.MkdirTemp("", "sundial-peer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777)
	bin := filepath.Join(dir, "server")
	copyFile(t, bin)
	sock := filepath.Join(dir, "run", "control")
	cmd := exec.Command(bin)
	cmd.Env = []string{serverEnv + "=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	await.Until(t, func() bool { _, err := os.Stat(sock); return err == nil }, "the other user's daemon listening")
	timers, err := (&Client{Socket: sock}).Timers(context.Background())
	if want := "is not the daemon's socket (it was made by UID 65534), refusing"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Timers: %v, %v; want %q", timers, err, want)
	}
}

// copyFile copies the test binary to path, executable by all.
func copyFile(t *testing.T, path string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConnectionReused: a client asks many times over one connection,
// not one each, which would leave the daemon with as many open files.
func TestConnectionReused(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Serve(ctx, l, fakeBackend{[]Timer{{Unit: "a.timer"}}}) }()
	defer func() {
		cancel()
		<-done
	}()
	fds := func() int {
		entries, _ := os.ReadDir("/proc/self/fd")
		return len(entries)
	}
	c := &Client{Socket: sock}
	c.Timers(ctx)
	before := fds()
	for range 50 {
		if _, err := c.Timers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if after := fds(); after > before+2 {
		t.Errorf("%d open files after 50 calls, %d before", after, before)
	}
}
