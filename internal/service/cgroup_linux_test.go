package service

import (
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

// testCGroupRoot makes a control group for the test's services under
// the cgroup v2 mount, wherever that is mounted; it skips the test where
// the manager could have none.
func testCGroupRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 || cgroupMount() == "" {
		t.Skip("needs root and a cgroup v2 hierarchy")
	}
	dir := filepath.Join(cgroupMount(), "sundial-test-"+newInvocation()[:12])
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a control group: %v", err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
		os.Remove(dir)
	})
	return dir
}

// TestCGroupHoldsEscapes starts a service whose child leaves its process
// group and session and clears its environment, then the main process
// exits: the control group still holds the child, and the stop that
// follows kills it, as systemd's, and removes the group once empty;
// KillMode=process leaves it, and the group with it.
func TestCGroupHoldsEscapes(t *testing.T) {
	root := testCGroupRoot(t)
	for _, c := range []struct {
		mode    string
		stopped bool
	}{{"control-group", true}, {"mixed", true}, {"process", false}} {
		cg := filepath.Join(root, c.mode+".service")
		out, pid := runWithStray(t, "KillMode="+c.mode, "env -i setsid /bin/sh", func(s *Spec) { s.CGroup = cg })
		if alive := pidAlive(pid); alive == c.stopped {
			t.Errorf("KillMode=%s: the process that left its group and cleared its environment alive: %v", c.mode, alive)
		}
		syscall.Kill(pid, syscall.SIGKILL)
		if out.Result != Success {
			t.Errorf("KillMode=%s: result %s, want success", c.mode, out.Result)
		}
		if _, err := os.Stat(cg); (err == nil) == c.stopped {
			t.Errorf("KillMode=%s: the control group is there: %v", c.mode, err == nil)
		}
	}
}

func TestCGroupEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"foo.service", "foo.service"},
		{"_foo.service", "__foo.service"},
		{".foo", "_.foo"},
		{"tasks", "_tasks"},
		{"cpu.service", "_cpu.service"},
		{"memory.max", "_memory.max"},
		{"cgroup.procs", "_cgroup.procs"},
		{"cpufoo.service", "cpufoo.service"},
	} {
		if got := CGroupEscape(c.in); got != c.want {
			t.Errorf("CGroupEscape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// shortTimersStill is the real clock, but that the timers of less than
// a second never fire: a wait that polls never ends.
type shortTimersStill struct{ clock.Real }

func (c shortTimersStill) After(d time.Duration) (<-chan time.Time, func() bool) {
	if d < time.Second {
		return nil, func() bool { return true }
	}
	return c.Real.After(d)
}

// release writes a line to the FIFO, for its reader to go on: opened to
// read too, so that the open does not wait for a reader, and kept open
// until the test ends, so that the line waits for one that opens it
// later.
func release(t *testing.T, fifo string) {
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	f.WriteString("go\n")
}

// awaitEnd waits for the activation to end, failing t if it does not
// within await's deadline.
func awaitEnd(t *testing.T, r *Run) Outcome {
	t.Helper()
	done := make(chan Outcome, 1)
	go func() { done <- r.Wait() }()
	var out Outcome
	await.Until(t, func() bool {
		select {
		case out = <-done:
			return true
		default:
			return false
		}
	}, "the activation to end")
	return out
}

// TestCGroupEmptied: the stop of a service in a control group returns
// once the last process there exits, which the group (or, for one that
// left the service's process groups, a pidfd) tells, without polling:
// here the main process is reaped at SIGTERM, while a process that
// ignores it goes on until the test lets it go.
func TestCGroupEmptied(t *testing.T) {
	root := testCGroupRoot(t)
	for _, tc := range []struct{ name, run string }{
		{"of the main process's group", "sh"},
		{"that left it", "setsid sh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo, script := filepath.Join(dir, "fifo"), filepath.Join(dir, "service")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(script, []byte("#!/bin/sh\n"+tc.run+" -c 'trap \"\" TERM; echo ready; read x <"+fifo+"' &\nexec sleep 1000\n"), 0o755)
			tr := &trace{}
			spec := tr.spec(loadService(t, "ExecStart="+script))
			spec.CGroup, spec.Clock = filepath.Join(root, "emptied.service"), shortTimersStill{}
			var main atomic.Int64
			spec.MainPID = func(pid int) { main.Store(int64(pid)) }
			r := Begin(spec)
			tr.waitForLines(t, 1)
			r.Stop()
			await.Until(t, func() bool {
				_, err := os.Stat("/proc/" + strconv.Itoa(int(main.Load())))
				return main.Load() > 0 && err != nil
			}, "the main process reaped")
			release(t, fifo)
			out := awaitEnd(t, r)
			if out.Result != Success {
				t.Errorf("result %s; logs %q", out.Result, tr.logs)
			}
			if _, err := os.Stat(spec.CGroup); err == nil {
				t.Errorf("the control group is left")
			}
		})
	}
}

// TestCGroupEmptiedForking: a forking service whose main process is not
// known runs until its control group empties, which the group tells.
func TestCGroupEmptiedForking(t *testing.T) {
	root := testCGroupRoot(t)
	dir := t.TempDir()
	fifo, script := filepath.Join(dir, "fifo"), filepath.Join(dir, "service")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(script, []byte("#!/bin/sh\nsh -c 'read x <"+fifo+"' &\n"), 0o755)
	tr := &trace{}
	spec := tr.spec(loadService(t, "Type=forking\nGuessMainPID=no\nExecStart="+script))
	spec.CGroup, spec.Clock = filepath.Join(root, "forking.service"), shortTimersStill{}
	r := Begin(spec)
	tr.waitFor(t, Running)
	release(t, fifo)
	out := awaitEnd(t, r)
	if out.Result != Success {
		t.Errorf("result %s; logs %q", out.Result, tr.logs)
	}
}

// TestReadMountinfo: each line's mount point, flags, root and type, its
// optional fields and escapes read, as cgroupMount finds the cgroup v2
// hierarchy of a hybrid system among the v1 controllers' and a bind of
// a group below it.
func TestReadMountinfo(t *testing.T) {
	const text = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
34 25 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
35 34 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
36 34 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
90 30 0:30 /sundial /srv/my\040groups rw,relatime - cgroup2 cgroup2 rw
`
	mps, err := readMountinfo(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountPoint{
		{"/sys", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_RELATIME, "/", "sysfs"},
		{"/sys/fs/cgroup", syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, "/", "tmpfs"},
		{"/sys/fs/cgroup/unified", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_RELATIME, "/", "cgroup2"},
		{"/sys/fs/cgroup/memory", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_RELATIME, "/", "cgroup"},
		{"/srv/my groups", syscall.MS_RELATIME, "/sundial", "cgroup2"},
	}
	if !slices.Equal(mps, want) {
		t.Errorf("readMountinfo:\n got %+v\nwant %+v", mps, want)
	}
}
