package service

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/clock"
)

// daemon is a script that forks a daemon and exits, as Type=forking
// services do: daemon BEFORE PIDFILE AFTER STATUS. The daemon waits for
// the file BEFORE, writes its PID to PIDFILE, waits for the file AFTER,
// then exits with STATUS; an empty argument skips its step, and without
// STATUS it sleeps.
const daemon = `#!/bin/sh
(
	until [ -z "$1" ] || [ -e "$1" ]; do sleep 0.01; done
	if [ -n "$2" ]; then
		sh -c 'echo $PPID' >"$2.tmp"
		mv "$2.tmp" "$2"
	fi
	until [ -z "$3" ] || [ -e "$3" ]; do sleep 0.01; done
	[ -z "$4" ] || exit "$4"
	exec sleep 30
) &
`

// forkingDir writes the daemon script and returns the directory.
func forkingDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "daemon"), []byte(daemon), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitForFile waits until the file is there.
func waitForFile(t *testing.T, path string) {
	t.Helper()
	await.Until(t, func() bool { _, err := os.Stat(path); return err == nil }, "the file %s", path)
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestForking(t *testing.T) {
	for _, tc := range []struct {
		name string
		// text is the [Service] section, after the substitution of DIR.
		text     string
		mainFrom string // the file with the PID the main process is to have; "" for none
		logs     []string
	}{
		{
			name: "PIDFile", text: "PIDFile=DIR/pid\nExecStart=DIR/daemon '' DIR/pid '' ''",
			mainFrom: "pid", logs: []string{"Main PID loaded: %d", "Supervising process %d which is not our child. We'll most likely not notice when it exits."},
		},
		{
			name: "guessed", text: "ExecStart=DIR/daemon '' DIR/not-a-pid-file '' ''",
			mainFrom: "not-a-pid-file", logs: []string{"Main PID guessed: %d", "Supervising process %d which is not our child. We'll most likely not notice when it exits."},
		},
		{
			// Running while a process is left, with no main process.
			name: "not guessed", text: "GuessMainPID=no\nExecStart=DIR/daemon '' '' '' ''",
		},
		{
			// The file comes from ExecStartPost=; it is read after it.
			name: "PIDFile from ExecStartPost", text: "PIDFile=DIR/pid\nExecStart=DIR/daemon '' DIR/not-a-pid-file '' ''\n" +
				"ExecStartPost=/bin/sh -c 'until [ -e DIR/not-a-pid-file ]; do sleep 0.01; done; cp DIR/not-a-pid-file DIR/pid'",
			mainFrom: "pid", logs: []string{"Can't open PID file DIR/pid (yet?) after start: No such file or directory", "Main PID loaded: %d"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := forkingDir(t)
			text := strings.ReplaceAll("Type=forking\n"+tc.text, "DIR", dir)
			tr := &trace{}
			r := Begin(tr.spec(loadService(t, text)))
			tr.waitFor(t, Running)
			if tc.mainFrom != "" {
				waitForFile(t, filepath.Join(dir, tc.mainFrom))
			}
			r.Stop()
			out := r.Wait()
			if out.Result != Success {
				t.Errorf("result %s; logs %q", out.Result, tr.logs)
			}
			want := 0
			if tc.mainFrom != "" {
				want = readPID(t, filepath.Join(dir, tc.mainFrom))
			}
			if out.MainPID != want || out.Main != (Exit{}) {
				t.Errorf("main %d %v, want %d, how it ended not known", out.MainPID, out.Main, want)
			}
			for _, l := range tc.logs {
				if l = strings.ReplaceAll(l, "DIR", dir); strings.Contains(l, "%d") {
					l = fmt.Sprintf(l, want)
				}
				if !slices.Contains(tr.logs, l) {
					t.Errorf("no log %q in %q", l, tr.logs)
				}
			}
			if len(out.Records) == 0 || out.Records[0].Setting != "ExecStart" || out.Records[0].Exit != (Exit{CodeExited, 0}) {
				t.Errorf("records %+v", out.Records)
			}
			await.Until(t, func() bool { return pidGone(want) }, "main process %d to end", want)
		})
	}
}

// pidGone reports whether the process is gone, or is a zombie (it is not
// a child of ours, and init reaps it in its time).
func pidGone(pid int) bool {
	if pid == 0 {
		return true
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(data), ") Z ")
}

func TestForkingEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		result Result
		logs   []string
		states []string
	}{
		{
			name: "first process fails", text: "ExecStart=/bin/sh -c 'exit 2'",
			result: ExitCode, logs: []string{"Control process exited, code=exited, status=2/INVALIDARGUMENT", "Failed with result 'exit-code'."},
			states: []string{"start", "failed"},
		},
		{
			// Nothing left to write the file.
			name: "no PID file", text: "PIDFile=DIR/pid\nExecStart=/bin/true",
			result: Protocol, logs: []string{"Can't open PID file DIR/pid (yet?) after start: No such file or directory", "Failed with result 'protocol'."},
			states: []string{"start", "failed"},
		},
		{
			name: "PID file of no process", text: "PIDFile=DIR/pid\nExecStart=/bin/sh -c 'echo 999999999 >DIR/pid'",
			result: Protocol, logs: []string{"New main PID 999999999 does not exist or is a zombie.", "Failed with result 'protocol'."},
			states: []string{"start", "failed"},
		},
		{
			name: "PID file of no PID", text: "PIDFile=DIR/pid\nExecStart=/bin/sh -c 'echo x >DIR/pid'",
			result: Protocol, logs: []string{"Failed to parse PID from file DIR/pid: Invalid argument", "Failed with result 'protocol'."},
			states: []string{"start", "failed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tr := &trace{}
			out := Begin(tr.spec(loadService(t, strings.ReplaceAll("Type=forking\n"+tc.text, "DIR", dir)))).Wait()
			if out.Result != tc.result {
				t.Errorf("result %s, want %s", out.Result, tc.result)
			}
			checkList(t, "logs", tr.logs, strings.Split(strings.ReplaceAll(strings.Join(tc.logs, "\n"), "DIR", dir), "\n"))
			checkList(t, "states", states(tr.states), tc.states)
		})
	}
}

func TestForkingLate(t *testing.T) {
	// The daemon writes its PID file only after the first process has
	// exited: the start waits for it. Then the daemon exits on its own,
	// and how is not known; it counts as success, and ExecStop= runs.
	dir := forkingDir(t)
	before, pidFile, after := filepath.Join(dir, "before"), filepath.Join(dir, "pid"), filepath.Join(dir, "after")
	s := loadService(t, "Type=forking\nPIDFile="+pidFile+"\nExecStart="+dir+"/daemon "+before+" "+pidFile+" "+after+" 3\nExecStop=/bin/echo stop")
	tr := &trace{}
	r := Begin(tr.spec(s))
	tr.waitForLog(t, "Can't open PID file "+pidFile+" (yet?) after start: No such file or directory")
	os.WriteFile(before, nil, 0o644)
	tr.waitFor(t, Running)
	os.WriteFile(after, nil, 0o644)
	out := r.Wait()
	if out.Result != Success || out.MainPID != readPID(t, pidFile) || out.Main != (Exit{}) {
		t.Errorf("outcome %+v; logs %q", out, tr.logs)
	}
	checkList(t, "lines", tr.lines, []string{"stop"})
	checkList(t, "states", states(tr.states), []string{"start", "running", "stop", "dead"})
}

// pollCounter is the real clock, counting the waits of pollInterval: the
// polls for what cannot be waited on, such as a PID file.
type pollCounter struct {
	clock.Real
	n atomic.Int64
}

func (c *pollCounter) After(d time.Duration) (<-chan time.Time, func() bool) {
	if d == pollInterval {
		c.n.Add(1)
	}
	return c.Real.After(d)
}

func TestForkingNeverWrites(t *testing.T) {
	// The daemon goes without writing its PID file.
	dir := forkingDir(t)
	before, pidFile := filepath.Join(dir, "before"), filepath.Join(dir, "pid")
	s := loadService(t, "Type=forking\nPIDFile="+pidFile+"\nExecStart="+dir+"/daemon "+before+" '' '' 0")
	tr := &trace{}
	clk := &pollCounter{}
	spec := tr.spec(s)
	spec.Clock = clk
	r := Begin(spec)
	tr.waitForLog(t, "Can't open PID file")
	// Gone while the PID file is waited for, not before the wait begins
	// (which fails the start without the message, as systemd does when
	// nothing is left at that point): once a poll began after the message.
	polls := clk.n.Load()
	await.Until(t, func() bool { return clk.n.Load() > polls }, "a poll for the PID file")
	os.WriteFile(before, nil, 0o644)
	out := r.Wait()
	if out.Result != Protocol {
		t.Errorf("result %s", out.Result)
	}
	checkList(t, "logs", tr.logs, []string{"Can't open PID file " + pidFile + " (yet?) after start: No such file or directory",
		"Daemon never wrote its PID file. Failing.", "Failed with result 'protocol'."})
}

func TestSetup(t *testing.T) {
	// UMask=, Nice= and Limit…= hold in the processes from the start.
	for _, tc := range []struct {
		name  string
		text  string
		lines []string
	}{
		{"umask", "UMask=0077\nExecStart=/bin/sh -c umask\nExecStartPost=/bin/sh -c umask", []string{"0077", "0077"}},
		{"nice", "Nice=7\nExecStart=/bin/sh -c 'ps -o nice= -p $$$$'", []string{"7"}},
		{"limits", "LimitNOFILE=123:456\nLimitCORE=0\nExecStart=/bin/sh -c 'ulimit -Sn; ulimit -Hn; ulimit -c'", []string{"123", "456", "0"}},
		{"a command not executable", "Nice=1\nExecStart=DIR/garbage", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "garbage"), []byte{0x7f, 'E', 'L', 'F', 0}, 0o755)
			tr := &trace{}
			out := Begin(tr.spec(loadService(t, strings.ReplaceAll("Type=oneshot\n"+tc.text, "DIR", dir)))).Wait()
			if tc.lines == nil {
				if out.Main != (Exit{CodeExited, statusExec}) || !slices.Contains(tr.logs, "Failed at step EXEC spawning "+dir+"/garbage: Exec format error") {
					t.Errorf("outcome %+v, logs %q", out, tr.logs)
				}
				return
			}
			if out.Result != Success {
				t.Errorf("result %s; logs %q", out.Result, tr.logs)
			}
			for i := range tr.lines {
				tr.lines[i] = strings.TrimSpace(tr.lines[i])
			}
			checkList(t, "lines", tr.lines, tc.lines)
		})
	}
}

func TestSetupUser(t *testing.T) {
	// The helper changes the user after the limits, then enters the
	// working directory as that user.
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	private := filepath.Join(dir, "private")
	os.Mkdir(private, 0o700)
	os.Chmod(dir, 0o755)
	tr := &trace{}
	spec := tr.spec(loadService(t, "Type=oneshot\nLimitNOFILE=64\nExecStart=/bin/sh -c 'id -u; ulimit -n'"))
	spec.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	if out := Begin(spec).Wait(); out.Result != Success {
		t.Errorf("result %s; logs %q", out.Result, tr.logs)
	}
	checkList(t, "lines", tr.lines, []string{"65534", "64"})

	tr = &trace{}
	spec = tr.spec(loadService(t, "Type=oneshot\nLimitNOFILE=64\nExecStart=/bin/pwd"))
	spec.Credential, spec.Dir = &syscall.Credential{Uid: 65534, Gid: 65534}, private
	out := Begin(spec).Wait()
	if out.Main != (Exit{CodeExited, statusChdir}) {
		t.Errorf("main exit %v, want 200/CHDIR", out.Main)
	}
	checkList(t, "logs", tr.logs, []string{"Changing to the requested working directory failed: Permission denied",
		"Failed at step CHDIR spawning /bin/pwd: Permission denied", "Main process exited, code=exited, status=200/CHDIR", "Failed with result 'exit-code'."})
}
