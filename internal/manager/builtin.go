package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

// builtinMarker is the file that tells the directory of the built-in
// units as the daemon's: it removes and rewrites what is there only
// where it finds it, for a state directory may be one the user keeps
// other files in (--state-dir=.).
const builtinMarker = ".sundial-builtin-units"

// builtinMarkerText says what the directory is to whoever looks in it.
const builtinMarkerText = "The units sundial ships, written again at each start of its daemon.\nFiles of the same names in the unit path override them.\n"

// errForeign is the error of a directory of the built-in units that
// holds what the daemon did not write: refused, and left as it is.
var errForeign = errors.New("not written by sundial, refusing to change the directory")

// writeBuiltin makes dir hold the built-in units of the scope, for the
// search path to end with: a unit of the same name in any other
// directory of the path overrides one. It changes only a directory it
// made (with builtinMarker), or an empty one, and only the names it
// writes: anything else there is refused with errForeign. What is there
// as it should be is left alone, so that a daemon starting on a full
// disk writes nothing.
func writeBuiltin(dir string, scope unit.RuntimeScope) error {
	// Private as the rest of the state directory: nothing in it is for
	// other users, though systemd's own units are public.
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if fi, err := os.Lstat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: %w", dir, errForeign)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	marked := slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == builtinMarker && e.Type().IsRegular() })
	var foreign, stale []string
	for _, e := range entries {
		switch name := e.Name(); {
		case name == builtinMarker:
		case strings.HasPrefix(name, writeFileTemp):
			// A write cut short.
			stale = append(stale, name)
		case marked && builtinName(name):
			// What this or an earlier version wrote.
			if !slices.ContainsFunc(builtinUnits[scope], func(u builtinUnit) bool { return u.name == name }) {
				stale = append(stale, name)
			}
		default:
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%s holds %s: %w", dir, strings.Join(foreign, ", "), errForeign)
	}
	if !marked {
		if err := writeFile(filepath.Join(dir, builtinMarker), builtinMarkerText); err != nil {
			return err
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	for _, name := range stale {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, u := range builtinUnits[scope] {
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

// builtinName reports whether a built-in unit of some scope has the name.
func builtinName(name string) bool {
	for _, units := range builtinUnits {
		if slices.ContainsFunc(units, func(u builtinUnit) bool { return u.name == name }) {
			return true
		}
	}
	return false
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
