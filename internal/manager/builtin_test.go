package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sundial.dev/sundial/unit"
)

// TestBuiltinTargets: a unit directory without timers.target runs the
// timers linked into timers.target.wants/, with the built-in target,
// which a file of the same name in the path overrides; the built-in
// units load without a note, as systemd's own.
func TestBuiltinTargets(t *testing.T) {
	for _, tt := range []struct {
		name, file, want string
	}{
		{"built-in", "", "Timer Units"},
		{"overridden", "[Unit]\nDescription=Mine\n", "Mine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
			os.Mkdir(filepath.Join(dir, "timers.target.wants"), 0o755)
			os.WriteFile(filepath.Join(dir, "x.timer"), []byte("[Timer]\nOnActiveSec=1h\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "x.service"), []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
			os.Symlink("../x.timer", filepath.Join(dir, "timers.target.wants", "x.timer"))
			if tt.file != "" {
				os.WriteFile(filepath.Join(dir, "timers.target"), []byte(tt.file), 0o644)
			}
			c, stop := serve(t, dir, state, run)
			defer stop()
			units, err := c.Units(context.Background(), []string{"timers.target", "x.timer"}, false)
			if err != nil || len(units) != 2 {
				t.Fatalf("Units: %+v, %v", units, err)
			}
			if u := units[0]; u.Description != tt.want || u.Load != "loaded" || u.Active != "active" {
				t.Errorf("timers.target: %+v", u)
			}
			if u := units[1]; u.Active != "active" || u.Sub != "waiting" {
				t.Errorf("x.timer: %+v", u)
			}
		})
	}
}

// TestBuiltinUnits: every built-in unit loads, without a note, and an
// alias is one.
func TestBuiltinUnits(t *testing.T) {
	for scope, units := range builtinUnits {
		dir := filepath.Join(t.TempDir(), "units")
		if err := writeBuiltin(dir, scope); err != nil {
			t.Fatal(err)
		}
		l := &unit.Loader{Path: []string{dir}, Scope: scope}
		for _, b := range units {
			u, err := l.Load(b.name)
			if err != nil {
				t.Fatal(err)
			}
			if u.LoadState != unit.Loaded || len(notes(u)) != 0 {
				t.Errorf("%v %s: %s, notes %v", scope, b.name, u.LoadState, notes(u))
			}
			if b.alias != "" && u.Name != b.alias {
				t.Errorf("%v %s: loads as %s, want %s", scope, b.name, u.Name, b.alias)
			}
		}
	}
}

// TestBuiltinRewritten: the built-in units are written again only where
// they are not as they should be, and a built-in unit of another scope
// goes; a second start writes nothing.
func TestBuiltinRewritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "builtin-units")
	if err := writeBuiltin(dir, unit.UserScope); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, "basic.target")
	before, err := os.Stat(kept)
	if err != nil {
		t.Fatal(err)
	}
	changed, stale := filepath.Join(dir, "timers.target"), filepath.Join(dir, "sysinit.target")
	os.WriteFile(changed, []byte("[Unit]\nDescription=Changed\n"), 0o600)
	os.WriteFile(stale, nil, 0o600)
	os.Remove(filepath.Join(dir, "default.target"))
	os.Symlink("basic.target", filepath.Join(dir, "default.target"))
	if err := writeBuiltin(dir, unit.UserScope); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(kept); err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("basic.target written again: %v", err)
	}
	for _, u := range builtinUnits[unit.UserScope] {
		if !u.current(filepath.Join(dir, u.name)) {
			t.Errorf("%s not as shipped", u.name)
		}
	}
	if _, err := os.Lstat(stale); err == nil {
		t.Error("sysinit.target left")
	}
}

// TestBuiltinForeign: a directory of the built-in units that holds what
// the daemon did not write, or that it did not make, is refused and left
// as it is, each file there kept.
func TestBuiltinForeign(t *testing.T) {
	for _, tt := range []struct {
		name   string
		marked bool
		files  []string
	}{
		{"another file", true, []string{"x.timer"}},
		{"not made by the daemon", false, []string{"timers.target", "README"}},
		{"a target of the name, not made by the daemon", false, []string{"timers.target"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "builtin-units")
			os.Mkdir(dir, 0o755)
			if tt.marked {
				os.WriteFile(filepath.Join(dir, builtinMarker), []byte(builtinMarkerText), 0o600)
			}
			for _, f := range tt.files {
				os.WriteFile(filepath.Join(dir, f), []byte("mine\n"), 0o644)
			}
			err := writeBuiltin(dir, unit.UserScope)
			if !errors.Is(err, errForeign) || !strings.Contains(err.Error(), tt.files[0]) {
				t.Errorf("writeBuiltin: %v, want the foreign file named and refused", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tt.files)+btoi(tt.marked) {
				t.Errorf("the directory holds %d entries, want %d", len(entries), len(tt.files)+btoi(tt.marked))
			}
			for _, f := range tt.files {
				if text, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(text) != "mine\n" {
					t.Errorf("%s: %q, %v", f, text, err)
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBuiltinStateDirShared: a daemon whose state directory is the one
// its units are in (--unit-path=units --state-dir=.) leaves every file
// there as it is.
func TestBuiltinStateDirShared(t *testing.T) {
	state, run := t.TempDir(), t.TempDir()
	dir := filepath.Join(state, "units")
	files := map[string]string{
		"x.timer":   "[Timer]\nOnActiveSec=1h\n",
		"x.service": "[Service]\nExecStart=/bin/true\n",
		"README":    "my notes\n",
	}
	os.Mkdir(dir, 0o700)
	for name, text := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
	c, stop := serve(t, dir, state, run)
	units, err := c.Units(context.Background(), []string{"timers.target"}, false)
	if err != nil || len(units) != 1 || units[0].Load != "loaded" {
		t.Errorf("timers.target: %+v, %v", units, err)
	}
	stop()
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(files) {
		t.Errorf("%s holds %d entries, want %d", dir, len(entries), len(files))
	}
	for name, want := range files {
		if text, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(text) != want {
			t.Errorf("%s: %q, %v", name, text, err)
		}
	}
}
