package manager

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
)

// TestMain runs the tests, then checks that no unit wrote to the state
// that the units which are not services share.
func TestMain(m *testing.M) {
	code := m.Run()
	if !reflect.DeepEqual(*noService, serviceState{}) {
		fmt.Fprintf(os.Stderr, "noService was written: %+v\n", *noService)
		code = 1
	}
	os.Exit(code)
}

// writeUnits writes unit files, and links the names ending in ".timer"
// into timers.target.wants, as enabling them does.
func writeUnits(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "timers.target.wants"), 0o755); err != nil {
		t.Fatal(err)
	}
	files["timers.target"] = "[Unit]\nDescription=Timers\n"
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".timer") {
			if err := os.Symlink("../"+name, filepath.Join(dir, "timers.target.wants", name)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRunsTimers starts the daemon on a timer that fires a second after
// its start and on one that is not enabled, waits for the run, and
// checks the run history and the journal.
func TestRunsTimers(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"hello.timer":   "[Unit]\nDescription=Say hello\n[Timer]\nOnActiveSec=1s\nAccuracySec=1us\nPrivateTmp=yes\n",
		"hello.service": "[Unit]\nDescription=Say hello\nConditionPathExists=/\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo hello from $TRIGGER_UNIT'\nExecStartPost=/bin/touch " + state + "/ran\nKeyringMode=private\n",
	})
	os.WriteFile(filepath.Join(dir, "other.timer"), []byte("[Timer]\nOnActiveSec=1s\n"), 0o644)
	s := runDaemon(t, dir, state, func(c *api.Client) bool {
		return slices.Contains(messages(c, "hello.service"), "Finished hello.service - Say hello.")
	})
	var runs []store.Run
	for r, err := range s.Runs(context.Background(), "", 0) {
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if len(runs) != 1 || runs[0].Unit != "hello.service" || runs[0].Timer != "hello.timer" || runs[0].Reason != "OnActiveSec" ||
		runs[0].State != store.RunEnded || runs[0].Result != "success" || runs[0].ExitCode != "exited" {
		t.Fatalf("runs: %+v", runs)
	}
	var msgs []string
	for e, err := range s.Query(context.Background(), store.Filter{Units: []string{"hello.service"}}) {
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, e.Message)
	}
	want := []string{
		dir + "/hello.service:8: KeyringMode= is not supported by sundial, ignoring.",
		"Starting hello.service - Say hello...",
		"hello from hello.timer",
		"hello.service: Deactivated successfully.",
		"Finished hello.service - Say hello.",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("journal of hello.service:\n  %s\nwant:\n  %s", strings.Join(msgs, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestBackToBack fires a timer again as its unit stops (OnUnitInactiveSec=
// short), many times: every run recorded is a run that started, and the
// timer goes on firing.
func TestBackToBack(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"again.timer":   "[Timer]\nOnActiveSec=10ms\nOnUnitInactiveSec=50ms\nAccuracySec=1us\n",
		"again.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo run >>" + state + "/runs'\n",
	})
	count := func() int {
		data, _ := os.ReadFile(filepath.Join(state, "runs"))
		return strings.Count(string(data), "run")
	}
	s := runDaemon(t, dir, state, func(*api.Client) bool { return count() >= 5 })
	executed := count()
	if executed < 5 {
		t.Fatalf("%d runs executed", executed)
	}
	recorded := 0
	for r, err := range s.Runs(context.Background(), "again.service", 0) {
		if err != nil {
			t.Fatal(err)
		}
		if r.State == store.RunEnded && r.Result != "success" {
			t.Errorf("run %+v", r)
		}
		recorded++
	}
	// The daemon stops while the timer goes on firing: its last run may
	// have been stopped before its command wrote.
	if recorded != executed && recorded != executed+1 {
		t.Errorf("%d runs recorded, %d executed", recorded, executed)
	}
}

// runDaemon runs the daemon on the units of dir until done, asking it
// through its control socket, says its work is done, then stops it and
// opens its store.
func runDaemon(t *testing.T, dir, state string, done func(*api.Client) bool, configure ...func(*Manager)) *store.Store {
	t.Helper()
	c, stop := serve(t, dir, state, t.TempDir(), configure...)
	await.Until(t, func() bool { return done(c) }, "the daemon's work")
	stop()
	s, err := store.Open(context.Background(), filepath.Join(state, "sundial.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// messages returns the messages of units in the journal of a running
// daemon.
func messages(c *api.Client, units ...string) []string {
	entries, _ := c.Journal(context.Background(), api.JournalQuery{Units: units})
	var msgs []string
	for _, e := range entries {
		msgs = append(msgs, e.Message)
	}
	return msgs
}

// TestEnvironmentFileMissing: a service whose environment file is
// missing fails with the result resources, in systemd's words, and its
// timer does not get stuck: it fires again.
func TestEnvironmentFileMissing(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"env.timer":   "[Timer]\nOnActiveSec=10ms\nOnUnitInactiveSec=50ms\nAccuracySec=1us\n",
		"env.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nEnvironmentFile=/nonexistent/env\nExecStart=/bin/true\n",
	})
	// Two failed runs: the timer went on firing after the first.
	s := runDaemon(t, dir, state, func(c *api.Client) bool {
		runs, _ := c.Runs(context.Background(), "env.service", 0)
		return len(slices.DeleteFunc(runs, func(r api.Run) bool { return r.Result != "resources" })) >= 2
	})
	var msgs []string
	for e := range s.Query(context.Background(), store.Filter{Units: []string{"env.service"}, Last: 4}) {
		msgs = append(msgs, e.Message)
	}
	want := []string{"env.service: Failed to load environment files: No such file or directory",
		"env.service: Failed to run 'start' task: No such file or directory", "env.service: Failed with result 'resources'.",
		"Failed to start env.service."}
	if !slices.Equal(msgs, want) {
		t.Errorf("journal:\n  %s\nwant:\n  %s", strings.Join(msgs, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestUser runs a service as User=nobody (as root only), and one whose
// user does not exist, which fails as systemd's does, with 217/USER.
func TestUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("User= needs root")
	}
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"who.timer":     "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"who.service":   "[Service]\nType=oneshot\nUser=nobody\nSupplementaryGroups=adm\nExecStart=/bin/sh -c 'echo $(id -un) $USER $HOME $(id -Gn)'\n",
		"ghost.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"ghost.service": "[Service]\nType=oneshot\nUser=no-such-user-here\nExecStart=/bin/true\n",
	})
	var who, ghost []string
	runDaemon(t, dir, state, func(c *api.Client) bool {
		who, ghost = messages(c, "who.service"), messages(c, "ghost.service")
		return slices.Contains(who, "Finished who.service.") && slices.Contains(ghost, "Failed to start ghost.service.")
	})
	home := "/nonexistent"
	if u, err := lookupUser("nobody"); err == nil {
		home = u.HomeDir
	}
	// Its primary group, whatever its name, then SupplementaryGroups=.
	if !slices.ContainsFunc(who, func(l string) bool {
		return strings.HasPrefix(l, "nobody nobody "+home+" ") && strings.HasSuffix(l, " adm")
	}) {
		t.Errorf("who.service:\n  %s", strings.Join(who, "\n  "))
	}
	want := []string{"ghost.service: Failed to determine user credentials: No such process",
		"ghost.service: Failed at step USER spawning /bin/true: No such process",
		"ghost.service: Main process exited, code=exited, status=217/USER",
		"ghost.service: Failed with result 'exit-code'."}
	if got := ghost; !slices.Equal(got[:min(len(got), 4)], want) {
		t.Errorf("ghost.service:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestExecDirectories: a service's directories are made below the
// manager's bases and told to it, and its RuntimeDirectory= goes when
// it ends.
func TestExecDirectories(t *testing.T) {
	dir, state, bases := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"dirs.timer":   "[Timer]\nOnActiveSec=10ms\nAccuracySec=1us\n",
		"dirs.service": "[Service]\nType=oneshot\nStateDirectory=s\nRuntimeDirectory=r\nExecStart=/bin/sh -c 'echo $STATE_DIRECTORY; test -d $RUNTIME_DIRECTORY && echo made'\n",
	})
	var msgs []string
	runDaemon(t, dir, state, func(c *api.Client) bool {
		msgs = messages(c, "dirs.service")
		return slices.Contains(msgs, "Finished dirs.service.")
	}, func(m *Manager) {
		m.Bases = service.ExecBases{bases + "/run", bases + "/lib", bases + "/cache", bases + "/log", bases + "/etc"}
	})
	if !slices.Contains(msgs, bases+"/lib/s") || !slices.Contains(msgs, "made") {
		t.Errorf("dirs.service:\n  %s", strings.Join(msgs, "\n  "))
	}
	if _, err := os.Stat(bases + "/run/r"); !os.IsNotExist(err) {
		t.Errorf("the runtime directory is left: %v", err)
	}
	if _, err := os.Stat(bases + "/lib/s"); err != nil {
		t.Errorf("the state directory: %v", err)
	}
}

// TestRetention starts the daemon on a journal longer than its limit:
// the journal is cut to it.
func TestRetention(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	s, err := store.Open(context.Background(), filepath.Join(state, "sundial.db"))
	if err != nil {
		t.Fatal(err)
	}
	var old []store.Entry
	for i := range 100 {
		old = append(old, store.Entry{Realtime: uint64(i + 1), Unit: "old.service", Message: "old"})
	}
	if err := s.Append(context.Background(), old...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = runDaemon(t, dir, state, func(c *api.Client) bool { return len(messages(c, "old.service")) <= 10 },
		func(m *Manager) { m.Retention = store.Retention{MaxEntries: 10} })
	n := 0
	for range s.Query(context.Background(), store.Filter{Units: []string{"old.service"}}) {
		n++
	}
	if n > 10 {
		t.Errorf("%d entries left, want at most 10", n)
	}
}

// TestOutputLines: what a service writes is logged as journald logs a
// stream: a line longer than LineMax= is cut, a NUL ends a line, an
// empty line is dropped, and a "<N>" prefix gives a line's priority,
// unless SyslogLevelPrefix=no; SyslogLevel= is the priority of the rest.
func TestOutputLines(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	script := filepath.Join(state, "out.sh")
	if err := os.WriteFile(script, []byte("head -c 50000 /dev/zero | tr '\\0' x\nprintf '\\n\\n<3>bad\\nnul\\0end\\n'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeUnits(t, dir, map[string]string{
		"out.service": "[Service]\nType=oneshot\nSyslogLevel=notice\nExecStart=/bin/sh " + script + "\n",
		"raw.service": "[Service]\nType=oneshot\nSyslogLevelPrefix=no\nExecStart=/bin/echo <3>kept\n",
	})
	c, stop := serve(t, dir, state, t.TempDir())
	defer stop()
	for _, name := range []string{"out.service", "raw.service"} {
		if res, err := c.Jobs(context.Background(), api.JobRequest{Verb: "start", Units: []string{name}}); err != nil || res[0].Result != jobDone {
			t.Fatalf("start %s: %+v, %v", name, res, err)
		}
	}
	type line struct {
		prio int
		msg  string
	}
	lines := func(name string) []line {
		entries, _ := c.Journal(context.Background(), api.JournalQuery{Units: []string{name}})
		var out []line
		for _, e := range entries {
			if e.PID != 0 && e.Identifier != "sundial" {
				out = append(out, line{e.Priority, e.Message})
			}
		}
		return out
	}
	want := []line{{5, strings.Repeat("x", 48*1024)}, {5, strings.Repeat("x", 50000-48*1024)}, {3, "bad"}, {5, "nul"}, {5, "end"}}
	var got []line
	await.Until(t, func() bool { got = lines("out.service"); return len(got) >= len(want) }, "out.service's output")
	short := func(ls []line) (out []string) {
		for _, l := range ls {
			out = append(out, fmt.Sprintf("%d %.40q (%d bytes)", l.prio, l.msg, len(l.msg)))
		}
		return out
	}
	if !slices.Equal(got, want) {
		t.Errorf("out.service's lines:\n  %s\nwant:\n  %s", strings.Join(short(got), "\n  "), strings.Join(short(want), "\n  "))
	}
	await.Until(t, func() bool { got = lines("raw.service"); return len(got) >= 1 }, "raw.service's output")
	if !slices.Equal(got, []line{{6, "<3>kept"}}) {
		t.Errorf("raw.service's lines: %s", short(got))
	}
}
