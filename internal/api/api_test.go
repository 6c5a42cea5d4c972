package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

type fakeBackend struct{ timers []Timer }

func (f fakeBackend) Timers(context.Context) ([]Timer, error) { return f.timers, nil }
func (f fakeBackend) Runs(_ context.Context, unit string, last int) ([]Run, error) {
	return []Run{{ID: int64(last), Unit: unit}}, nil
}
func (f fakeBackend) Journal(_ context.Context, q JournalQuery) ([]Entry, error) {
	return []Entry{{Unit: q.Units[0], Message: "hello"}}, nil
}
func (f fakeBackend) JournalUnits(context.Context) ([]string, error) {
	return []string{"a.service"}, nil
}
func (f fakeBackend) JournalBoots(context.Context) ([]Boot, error) { return nil, nil }
func (f fakeBackend) VacuumJournal(_ context.Context, v Vacuum) (Vacuumed, error) {
	return Vacuumed{Freed: v.MaxBytes, Dir: "/state"}, nil
}

func (f fakeBackend) Units(_ context.Context, names []string, properties bool) ([]Unit, error) {
	u := Unit{Name: names[0], Active: "active"}
	if properties {
		u.Properties = []Property{{Name: "Id", Value: names[0]}}
	}
	return []Unit{u}, nil
}
func (f fakeBackend) Jobs(_ context.Context, req JobRequest) ([]JobResult, error) {
	return []JobResult{{Unit: req.Units[0], Result: req.Verb}}, nil
}
func (f fakeBackend) Reload(context.Context) error { return errors.New("no reload") }
func (f fakeBackend) UnitFiles(_ context.Context, name string) ([][2]string, error) {
	return [][2]string{{"/" + name, "[Unit]\n"}}, nil
}
func (f fakeBackend) ManagerProperties(context.Context) ([]Property, error) {
	return []Property{{Name: "SystemState", Value: "running"}}, nil
}
func (f fakeBackend) SetEnvironment(context.Context, []string, []string) (string, error) {
	return "", nil
}
func (f fakeBackend) ConfigDirs(context.Context) (ConfigDirs, error) {
	return ConfigDirs{Config: "/etc/systemd/system"}, nil
}
func (f fakeBackend) UnitFileList(context.Context) ([]UnitFile, error) {
	return []UnitFile{{Path: "/a.timer", State: "enabled"}}, nil
}

func (f fakeBackend) Transient(_ context.Context, req TransientRequest) (JobResult, error) {
	return JobResult{Unit: req.Units[0].Name, Result: req.Units[0].Settings[0].Value}, nil
}
func (f fakeBackend) WaitInactive(_ context.Context, name string) (Unit, error) {
	return Unit{Name: name, Active: "inactive"}, nil
}

func TestRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "control")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sock, filepath.Dir(sock)} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, open to others", p, perm)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	want := []Timer{{Unit: "a.timer", Activates: "a.service", State: "waiting", Next: 42}}
	go func() { done <- Serve(ctx, l, fakeBackend{want}) }()
	c := &Client{Socket: sock}
	got, err := c.Timers(context.Background())
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Errorf("Timers() = %+v, %v", got, err)
	}
	entries, err := c.Journal(context.Background(), JournalQuery{Units: []string{"a.service"}})
	if err != nil || len(entries) != 1 || entries[0].Unit != "a.service" {
		t.Errorf("Journal() = %+v, %v", entries, err)
	}
	if runs, err := c.Runs(context.Background(), "a.service", 3); err != nil || len(runs) != 1 || runs[0] != (Run{ID: 3, Unit: "a.service"}) {
		t.Errorf("Runs() = %+v, %v", runs, err)
	}
	if units, err := c.Units(context.Background(), []string{"a.timer", "b.timer"}, true); err != nil || len(units) != 1 || units[0].Name != "a.timer" || len(units[0].Properties) != 1 {
		t.Errorf("Units() = %+v, %v", units, err)
	}
	if res, err := c.Jobs(context.Background(), JobRequest{Verb: "start", Units: []string{"a.timer"}}); err != nil || len(res) != 1 || res[0].Result != "start" {
		t.Errorf("Jobs() = %+v, %v", res, err)
	}
	if err := c.Reload(context.Background()); err == nil || err.Error() != "api: no reload" {
		t.Errorf("Reload() = %v, want the daemon's error", err)
	}
	if files, err := c.UnitFiles(context.Background(), "a.timer"); err != nil || len(files) != 1 || files[0][0] != "/a.timer" {
		t.Errorf("UnitFiles() = %+v, %v", files, err)
	}
	if res, err := c.Transient(context.Background(), TransientRequest{Units: []TransientUnit{{Name: "r.service", Settings: []Setting{{Section: "Service", Key: "Type", Value: "exec"}}}}}); err != nil || res.Result != "exec" {
		t.Errorf("Transient() = %+v, %v", res, err)
	}
	if u, err := c.WaitInactive(context.Background(), "r.service"); err != nil || u.Name != "r.service" || u.Active != "inactive" {
		t.Errorf("WaitInactive() = %+v, %v", u, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := c.Timers(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("with no daemon: %v, want ErrNoDaemon", err)
	}
}

// TestWriteArray checks that a slice written an element at a time reads
// as Encode writes it.
func TestWriteArray(t *testing.T) {
	for _, v := range []any{[]Timer{}, []Timer{{Unit: "a.timer", Next: 1}, {Unit: "b<&>.timer", State: "waiting"}}, []string{"x"}} {
		var want, got bytes.Buffer
		json.NewEncoder(&want).Encode(v)
		rec := httptest.NewRecorder()
		reply(rec, v, nil)
		got.Write(rec.Body.Bytes())
		if got.String() != want.String() {
			t.Errorf("reply(%v) wrote %q, want %q", v, got.String(), want.String())
		}
	}
}

// TestSocketPath: the system's daemon under /run, a user's under
// $XDG_RUNTIME_DIR, or, without one (or with a relative one, which the
// XDG rules ignore), in a directory of the user's own in the temporary
// directory.
func TestSocketPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := SocketPath(false); got != "/run/sundial/control" {
		t.Errorf("system: %s", got)
	}
	if got := SocketPath(true); got != "/run/user/1000/sundial/control" {
		t.Errorf("user: %s", got)
	}
	want := filepath.Join(os.TempDir(), fmt.Sprintf("sundial-%d", os.Getuid()), "control")
	for _, dir := range []string{"", "relative"} {
		t.Setenv("XDG_RUNTIME_DIR", dir)
		if got := SocketPath(true); got != want {
			t.Errorf("user, XDG_RUNTIME_DIR=%q: %s, want %s", dir, got, want)
		}
	}
}

// TestListen: the socket is its owner's alone, and replaces a stale one.
func TestListen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial", "control")
	for range 2 { // the second finds the first's socket left behind
		l, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
			if info, err := os.Stat(p); err != nil || info.Mode().Perm() != mode {
				t.Errorf("%s: %v, %v; want %v", p, info.Mode(), err, mode)
			}
		}
		if _, err := os.Stat(path + ".new"); !os.IsNotExist(err) {
			t.Errorf("the name it was made under is left: %v", err)
		}
		l.Close()
	}
}

// TestListenSymlink: a symbolic link put where the socket's directory
// goes is refused, and its target is left as it was.
func TestListenSymlink(t *testing.T) {
	target := t.TempDir()
	if err := os.Chmod(target, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sundial", "control")
	if err := os.Symlink(target, filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(path); err == nil {
		l.Close()
		t.Error("Listen followed the symbolic link")
	}
	if info, err := os.Stat(target); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v, %v; want it left 0755", target, info.Mode(), err)
	}
}

// TestEntryJSON: a message is read as it was written, bytes that are
// not UTF-8 too.
func TestEntryJSON(t *testing.T) {
	for _, msg := range []string{"plain", "\xff\xfe latin-1", "", "caf\xc3\xa9", "a\x00b"} {
		want := Entry{Cursor: 3, Unit: "a.service", Message: msg, Fields: "K=v\n"}
		b, err := json.Marshal([]Entry{want})
		if err != nil {
			t.Fatal(err)
		}
		var got []Entry
		if err := json.Unmarshal(b, &got); err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("%q: read back as %+v, %v from %s", msg, got, err, b)
		}
	}
}
