package manager

import (
	"os"
	"path/filepath"

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

// writeBuiltin writes the built-in units of the scope into dir, afresh
// at each start of the daemon (what an earlier version shipped goes),
// for the search path to end with: a unit of the same name in any other
// directory of the path overrides one.
func writeBuiltin(dir string, scope unit.RuntimeScope) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	// Private as the rest of the state directory: nothing in it is for
	// other users, though systemd's own units are public.
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	for _, u := range builtinUnits[scope] {
		p := filepath.Join(dir, u.name)
		var err error
		if u.alias != "" {
			err = os.Symlink(u.alias, p)
		} else {
			err = os.WriteFile(p, []byte(u.text), 0o600)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
