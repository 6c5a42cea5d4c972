package service

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"sundial.dev/sundial/internal/await"
)

// TestDynamicUser runs two services with DynamicUser= at once: each
// runs as a user of the range of its own, with its $STATE_DIRECTORY
// below private/ and writable, the sandbox DynamicUser= implies around
// it; the users are released when the services end.
func TestDynamicUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	// Outside /tmp and /var/tmp, which the services have their own of.
	dir, err := os.MkdirTemp("/run", "sundial-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(fifo, 0o666)
	bases, locks := testBases(dir), filepath.Join(dir, "dynamic-uid")
	start := func(name, cmd string) (*Run, *trace) {
		s := loadService(t, "Type=oneshot\nDynamicUser=yes\nUser="+name+"\nStateDirectory="+name+"\n"+
			"ExecStart=/bin/sh -c 'id -u; echo $STATE_DIRECTORY; readlink $STATE_DIRECTORY; touch $STATE_DIRECTORY/f && echo written; "+
			"touch "+dir+"/x 2>/dev/null || echo read-only; grep NoNewPrivs /proc/self/status; "+cmd+"'")
		tr := &trace{}
		spec := tr.spec(s, DirectoryEnv(s, bases)...)
		spec.Bases, spec.DynamicUsers = bases, locks
		return Begin(spec), tr
	}
	lines := func(tr *trace) []string {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return slices.Clone(tr.lines)
	}
	// The first waits, holding its user, until the second has run.
	a, atr := start("first", "cat "+fifo+" >/dev/null")
	await.Until(t, func() bool { return len(lines(atr)) == 6 }, "the first service's lines")
	b, btr := start("second", "true")
	if out := b.Wait(); out.Result != Success {
		t.Fatalf("second: %s; logs %q", out.Result, btr.logs)
	}
	if err := os.WriteFile(fifo, []byte("go\n"), 0); err != nil {
		t.Fatal(err)
	}
	if out := a.Wait(); out.Result != Success {
		t.Fatalf("first: %s; logs %q", out.Result, atr.logs)
	}
	uids := map[string]int{}
	for name, tr := range map[string]*trace{"first": atr, "second": btr} {
		got := lines(tr)
		if len(got) < 6 {
			t.Fatalf("%s: lines %q", name, got)
		}
		uid, err := strconv.Atoi(strings.TrimSpace(got[0]))
		if err != nil || uid < dynamicUIDMin || uid > dynamicUIDMax {
			t.Errorf("%s: uid %q, want one of %d-%d", name, got[0], dynamicUIDMin, dynamicUIDMax)
		}
		uids[name] = uid
		checkList(t, name, got[1:], []string{filepath.Join(dir, "lib", name), "private/" + name, "written", "read-only", "NoNewPrivs:\t1"})
		st, err := os.Stat(filepath.Join(dir, "lib", "private", name, "f"))
		if err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s: the file written: %v", name, err)
		}
	}
	if uids["first"] == uids["second"] {
		t.Errorf("both ran as %d", uids["first"])
	}
	if st, err := os.Stat(filepath.Join(dir, "lib", "private")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("private: %v %v", st.Mode(), err)
	}
	if held, _ := os.ReadDir(locks); len(held) != 0 {
		t.Errorf("users still held: %v", held)
	}
}

// TestDynamicUserShared: services of one name share its user while
// they run, as systemd's do; another name gets another.
func TestDynamicUserShared(t *testing.T) {
	dir := t.TempDir()
	a, err := acquireDynamicUser(dir, "one")
	if err != nil {
		t.Fatal(err)
	}
	b, err := acquireDynamicUser(dir, "one")
	if err != nil {
		t.Fatal(err)
	}
	c, err := acquireDynamicUser(dir, "two")
	if err != nil {
		t.Fatal(err)
	}
	if a.UID != b.UID || a.UID == c.UID {
		t.Errorf("uids %d %d %d", a.UID, b.UID, c.UID)
	}
	a.release()
	if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(int(b.UID)))); err != nil {
		t.Errorf("released while held: %v", err)
	}
	b.release()
	c.release()
	if held, _ := os.ReadDir(dir); len(held) != 0 {
		t.Errorf("still held: %v", held)
	}
}
