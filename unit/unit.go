package unit

import (
	"fmt"
	"strings"
)

// A LoadState tells how loading a unit went, as systemctl shows it.
type LoadState int

const (
	Loaded     LoadState = iota // loaded
	NotFound                    // not-found: there is no unit file
	BadSetting                  // bad-setting: a setting makes the unit unusable
	LoadError                   // error: the unit file could not be read
	Masked                      // masked
)

var loadStateNames = [...]string{"loaded", "not-found", "bad-setting", "error", "masked"}

func (s LoadState) String() string {
	if s < 0 || int(s) >= len(loadStateNames) {
		return fmt.Sprintf("LoadState(%d)", int(s))
	}
	return loadStateNames[s]
}

// A Unit is a unit as loaded from its files.
type Unit struct {
	Name     string   // the name it was loaded by, e.g. "foo@bar.timer"
	Names    []string // all its names: Name first, then its aliases
	Type     Type
	Instance string // the instance of an instantiated template

	FragmentPath string   // the unit file, "" if none
	DropInPaths  []string // the drop-ins, in the order they apply

	LoadState LoadState
	LoadError error // why the state is not Loaded or Masked

	// Assignments are the settings read from the files, in order, less
	// those systemd ignores (unknown sections and keys, X- extensions).
	Assignments []Assignment

	// Diagnostics are systemd's messages about the files, in order.
	Diagnostics []Diagnostic
}

// sections returns the sections a unit of type t may have.
func (t Type) sections() []string {
	switch t {
	case Target:
		return []string{"Unit", "Install"}
	}
	own := typeNames[t]
	return []string{"Unit", strings.ToUpper(own[:1]) + own[1:], "Install"}
}

// Load loads the unit called name. A unit that cannot be found, is masked
// or has bad settings is still returned, with its LoadState saying so; the
// error is for names that are not unit names.
func (l *Loader) Load(name string) (*Unit, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if n.Template {
		return nil, fmt.Errorf("unit: %s is a template; name an instance", name)
	}
	u := &Unit{Name: name, Type: n.Type, Instance: n.Instance}
	file, names := l.fragment(name)
	u.Names = names
	if file == "" {
		u.LoadState, u.LoadError = NotFound, errNotFound
		return u, nil
	}
	u.FragmentPath = file
	if m, err := l.masked(file); err != nil || m {
		if err != nil {
			u.LoadState, u.LoadError = LoadError, err
		} else {
			u.LoadState = Masked
		}
		return u, nil
	}
	u.DropInPaths = l.dropIns(names, n.Type)
	for _, f := range append([]string{file}, u.DropInPaths...) {
		data, err := l.readFile(f)
		if err == nil {
			err = parseSyntax(data, f, (*unitParser)(u))
		}
		if err != nil {
			u.LoadState, u.LoadError = LoadError, err
			return u, nil
		}
	}
	return u, nil
}

// A unitParser receives the syntax of a unit's files.
type unitParser Unit

func (u *unitParser) diagnose(d Diagnostic) {
	u.Diagnostics = append(u.Diagnostics, d)
}

func (u *unitParser) section(name string, pos Pos) bool {
	for _, s := range u.Type.sections() {
		if s == name {
			return true
		}
	}
	if !strings.HasPrefix(name, "X-") {
		u.diagnose(Diagnostic{pos, Warning, fmt.Sprintf("Unknown section '%s'. Ignoring.", name)})
	}
	return false
}

func (u *unitParser) assignment(a *Assignment) {
	if _, ok := knownSettings[a.Section+"."+a.Key]; !ok {
		if !strings.HasPrefix(a.Key, "X-") {
			u.diagnose(Diagnostic{a.Pos, Warning, fmt.Sprintf("Unknown key '%s' in section [%s], ignoring.", a.Key, a.Section)})
		}
		return
	}
	u.Assignments = append(u.Assignments, *a)
}
