package manager

import (
	"context"
	"os"
	"path/filepath"
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
// they are not as they should be, and what is not one of them goes; a
// second start writes nothing.
func TestBuiltinRewritten(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "units")
	if err := writeBuiltin(dir, unit.UserScope); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, "basic.target")
	before, err := os.Stat(kept)
	if err != nil {
		t.Fatal(err)
	}
	changed, stale := filepath.Join(dir, "timers.target"), filepath.Join(dir, "old.target")
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
		t.Error("old.target left")
	}
}
