package manager

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"sundial.dev/sundial/unit"
)

// A builtinUnit is a unit the daemon ships, as systemd ships its own in
// /usr/lib/systemd: its text, or the unit it is an alias of.
type builtinUnit struct {
	name, text, alias string
}

// builtinUnits are the targets the daemon and the units' dependencies
// name, by scope: timers.target, which the daemon starts, and those the
// default dependencies of timers and services and the WantedBy= of
// common units name. Their settings are systemd's (units/*.target,
// units/user/*.target), less the dependencies on units sundial does not
// have (sockets, paths, mounts, rescue and graphical targets).
var builtinUnits = map[unit.RuntimeScope][]builtinUnit{
	unit.SystemScope: {
		{name: "timers.target", text: "[Unit]\nDescription=Timer Units\nDocumentation=man:systemd.special(7)\nDefaultDependencies=no\nConflicts=shutdown.target\n"},
		{name: "sysinit.target", text: "[Unit]\nDescription=System Initialization\nDocumentation=man:systemd.special(7)\n"},
		{name: "basic.target", text: "[Unit]\nDescription=Basic System\nDocumentation=man:systemd.special(7)\nRequires=sysinit.target\nWants=timers.target\nAfter=sysinit.target\n"},
		{name: "multi-user.target", text: "[Unit]\nDescription=Multi-User System\nDocumentation=man:systemd.special(7)\nRequires=basic.target\nAfter=basic.target\nAllowIsolate=yes\n"},
		{name: "default.target", alias: "multi-user.target"},
		{name: "shutdown.target", text: "[Unit]\nDescription=System Shutdown\nDocumentation=man:systemd.special(7)\nDefaultDependencies=no\nRefuseManualStart=yes\n"},
	},
	unit.UserScope: {
		{name: "timers.target", text: "[Unit]\nDescription=Timers\nDocumentation=man:systemd.special(7)\nDefaultDependencies=no\nConflicts=shutdown.target\n"},
		{name: "basic.target", text: "[Unit]\nDescription=Basic System\nDocumentation=man:systemd.special(7)\nWants=timers.target\nAfter=timers.target\n"},
		{name: "default.target", text: "[Unit]\nDescription=Main User Target\nDocumentation=man:systemd.special(7)\nRequires=basic.target\nAfter=basic.target\nAllowIsolate=yes\n"},
		{name: "shutdown.target", text: "[Unit]\nDescription=Shutdown\nDocumentation=man:systemd.special(7)\nDefaultDependencies=no\nRefuseManualStart=yes\n"},
	},
}

// writeBuiltin makes dir hold the built-in units of the scope and
// nothing else, for the search path to end with: a unit of the same name
// in any other directory of the path overrides one. What is there as it
// should be is left alone, so that a daemon starting on a full disk
// writes nothing.
func writeBuiltin(dir string, scope unit.RuntimeScope) error {
	// Private as the rest of the state directory: nothing in it is for
	// other users, though systemd's own units are public.
	if fi, err := os.Lstat(dir); err == nil && (!fi.IsDir() || fi.Mode().Perm() != 0o700) {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	units := builtinUnits[scope]
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		// What an earlier version shipped goes.
		if !slices.ContainsFunc(units, func(u builtinUnit) bool { return u.name == e.Name() }) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for _, u := range units {
		p := filepath.Join(dir, u.name)
		if u.current(p) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if u.alias != "" {
			err = os.Symlink(u.alias, p)
		} else {
			err = writeFile(p, u.text)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// current reports whether the file at p is the unit as it should be.
func (u builtinUnit) current(p string) bool {
	if u.alias != "" {
		target, err := os.Readlink(p)
		return err == nil && target == u.alias
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		return false
	}
	text, err := os.ReadFile(p)
	return err == nil && string(text) == u.text
}
