package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/manager"
)

// TestListTimers runs a daemon on two timers and lists them as systemctl
// list-timers does, with the clock the columns are relative to pinned.
func TestListTimers(t *testing.T) {
	startDaemon(t, map[string]string{
		"new-year.timer":   "[Timer]\nOnCalendar=2099-01-01 00:00:00 UTC\n",
		"later.timer":      "[Timer]\nOnCalendar=2099-06-01 12:00:00 UTC\nUnit=new-year.service\n",
		"new-year.service": "[Service]\nExecStart=/bin/true\n",
	})
	defer func(f func() time.Time) { testOnlyNow = f }(testOnlyNow)
	testOnlyNow = func() time.Time { return time.Date(2098, 12, 31, 21, 0, 0, 0, time.UTC) }
	loc := time.Local
	time.Local = time.UTC
	defer func() { time.Local = loc }()

	var stdout, stderr bytes.Buffer
	if code := run([]string{"systemctl", "--user", "list-timers"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := `NEXT                                    LEFT LAST PASSED UNIT           ACTIVATES
Thu 2099-01-01 00:00:00 UTC          3h 0min -         - new-year.timer new-year.service
Mon 2099-06-01 12:00:00 UTC 4 months 29 days -         - later.timer    new-year.service

2 timers listed.
Pass --all to see loaded but inactive timers, too.
`
	if got := stdout.String(); got != want {
		// The relative columns are timespan's, checked against
		// systemd-analyze; the layout is 254's (right-aligned LEFT and
		// PASSED).
		t.Errorf("list-timers:\n%s\nwant:\n%s", got, want)
	}
}

// TestJournalctl runs a daemon whose timer fires at once and shows the
// service's journal as journalctl does.
func TestJournalctl(t *testing.T) {
	startDaemon(t, map[string]string{
		"x.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"x.service": "[Unit]\nDescription=Greeter\n[Service]\nType=oneshot\nExecStart=/bin/echo hello\nSyslogIdentifier=greeter\n",
	})
	c := &api.Client{Socket: api.SocketPath(true)}
	await.Until(t, func() bool {
		e, err := c.Journal(context.Background(), api.JournalQuery{Units: []string{"x.service"}})
		return err == nil && slices.ContainsFunc(e, func(e api.Entry) bool { return e.Message == "Finished x.service - Greeter." })
	}, "the end of x.service's run")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"journalctl", "--user", "-u", "x.service", "-o", "cat"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := "Starting x.service - Greeter...\nhello\nx.service: Deactivated successfully.\nFinished x.service - Greeter.\n"
	if got := stdout.String(); got != want {
		t.Errorf("journalctl -o cat:\n%s\nwant:\n%s", got, want)
	}
	stdout.Reset()
	run([]string{"journalctl", "--user", "-u", "x.service", "-n", "1"}, &stdout, &stderr)
	if got := stdout.String(); !strings.HasSuffix(got, " sundial["+strconv.Itoa(os.Getpid())+"]: Finished x.service - Greeter.\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("journalctl -n 1: %q", got)
	}
	stdout.Reset()
	if code := run([]string{"sundial", "history", "--user", "x.service"}, &stdout, &stderr); code != 0 {
		t.Fatalf("history: exit %d: %s", code, stderr.String())
	}
	if got := stdout.String(); !strings.Contains(got, " x.service x.timer (OnActiveSec) ") || !strings.Contains(got, " success code=exited, status=0/SUCCESS\n") || !strings.HasSuffix(got, "\n1 runs listed.\n") {
		t.Errorf("history:\n%s", got)
	}
	stdout.Reset()
	run([]string{"journalctl", "--user", "-u", "none.service"}, &stdout, &stderr)
	if got := stdout.String(); got != "-- No entries --\n" {
		t.Errorf("no entries: %q", got)
	}
}

// startDaemon runs a user's daemon on the units, with every timer among
// them enabled, until the test ends; it returns once the daemon listens.
func startDaemon(t *testing.T, units map[string]string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	os.MkdirAll(filepath.Join(dir, "timers.target.wants"), 0o755)
	units["timers.target"] = "[Unit]\n"
	for name, text := range units {
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
		if strings.HasSuffix(name, ".timer") {
			os.Symlink("../"+name, filepath.Join(dir, "timers.target.wants", name))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &manager.Manager{UnitPath: []string{dir}, StateDir: t.TempDir(), Socket: api.SocketPath(true), Env: []string{"PATH=/usr/bin:/bin"}}
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	// The socket appears when the daemon is up.
	await.Until(t, func() bool { _, err := os.Stat(api.SocketPath(true)); return err == nil }, "the daemon's socket")
}
