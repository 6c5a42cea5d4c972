package service

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"sundial.dev/sundial/internal/await"
)

// subreaperEnv runs TestSubreaper's body in a process of its own: being
// a subreaper changes how every other test's orphans end.
const subreaperEnv = "SUNDIAL_TEST_SUBREAPER"

// TestSubreaper makes a process of the tests a subreaper with a reaper:
// the main process of a Type=forking service, an orphan then, is its
// child, and how it ended is known; an orphan no one waits for is reaped.
func TestSubreaper(t *testing.T) {
	if os.Getenv(subreaperEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSubreaper$", "-test.count=1")
		cmd.Env = append(os.Environ(), subreaperEnv+"=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	if err := BecomeSubreaper(); err != nil {
		t.Skipf("no subreaper: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Reap(ctx)

	dir := forkingDir(t)
	pidFile, after := filepath.Join(dir, "pid"), filepath.Join(dir, "after")
	tr := &trace{}
	r := Begin(tr.spec(loadService(t, "Type=forking\nPIDFile="+pidFile+"\nExecStart="+dir+"/daemon '' "+pidFile+" "+after+" 3")))
	tr.waitFor(t, Running)
	os.WriteFile(after, nil, 0o644)
	out := r.Wait()
	if out.Result != ExitCode || out.Main != (Exit{CodeExited, 3}) {
		t.Errorf("forking: result %s, main %v; logs %q", out.Result, out.Main, tr.logs)
	}

	// A daemon forked twice: its parent is still there when its PID is
	// read, and leaves it to the subreaper before it exits 4.
	pidFile, after = filepath.Join(dir, "pid2"), filepath.Join(dir, "after2")
	tr = &trace{}
	r = Begin(tr.spec(loadService(t, "Type=forking\nPIDFile="+pidFile+"\nExecStart=/bin/sh -c '( ( until [ -e "+after+" ]; do sleep 0.01; done; exit 4 ) & echo $$! >"+pidFile+"; sleep 0.3 ) &'")))
	tr.waitFor(t, Running)
	daemonPID := readPID(t, pidFile)
	await.Until(t, func() bool { ppid, ok := parentPID(daemonPID); return ok && ppid == os.Getpid() }, "daemon %d's parent to leave it to us", daemonPID)
	os.WriteFile(after, nil, 0o644)
	out = r.Wait()
	if out.Result != ExitCode || out.Main != (Exit{CodeExited, 4}) {
		t.Errorf("forked twice: result %s, main %v; logs %q", out.Result, out.Main, tr.logs)
	}

	// The orphan writes its PID, which the service waits for: the end
	// of the activation stops what is left of it, and a PID not written
	// by then never is.
	orphan := filepath.Join(dir, "orphan")
	out = Begin(tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/sh -c '(sh -c \"echo \\$$$$ >"+orphan+"; sleep 0.1\" &); until [ -s "+orphan+" ]; do sleep 0.01; done'"))).Wait()
	if out.Result != Success {
		t.Fatalf("oneshot: %s", out.Result)
	}
	data, _ := os.ReadFile(orphan)
	pid, _ := strconv.Atoi(string(data[:len(data)-1]))
	await.Until(t, func() bool { _, err := os.Stat("/proc/" + strconv.Itoa(pid)); return os.IsNotExist(err) }, "orphan %d to be reaped", pid)
}
