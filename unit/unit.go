package unit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
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
	// those of unknown sections and keys; extensions (X- sections and
	// keys) are kept, though systemd ignores them.
	Assignments []Assignment

	// The typed sections, with the values of the assignments systemd
	// accepts. Timer and Service are set for units of that type.
	Unit    UnitSection
	Timer   *TimerSection
	Service *ServiceSection
	Install InstallSection

	// Diagnostics are systemd's messages about the files, in order.
	Diagnostics []Diagnostic

	parsed  bool   // the unit file was read to its end
	trigger string // the unit a timer, path or socket triggers, if named

	socketAccept bool // a socket's Accept=
}

// sections returns the sections a unit of type t may have.
func (t Type) sections() []string { return typeSections[t] }

var typeSections = func() (s [len(typeNames)][]string) {
	for t, own := range typeNames {
		if Type(t) == Target {
			s[t] = []string{"Unit", "Install"}
		} else {
			s[t] = []string{"Unit", strings.ToUpper(own[:1]) + own[1:], "Install"}
		}
	}
	return s
}()

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
	var fragment []byte
	if file == "" {
		// Devices and slices need no file (systemd's device_load and
		// slice_load); the others are not found.
		if n.Type != Device && n.Type != Slice {
			u.LoadState, u.LoadError = NotFound, errNotFound
			return u, nil
		}
	} else {
		u.FragmentPath = file
		// As systemd merges the names, the unit is known by its file's name.
		if id := instanceName(path.Base(file), n.Instance); id != name && slices.Contains(names, id) {
			u.Name = id
			u.Names = append([]string{id}, slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == id })...)
		}
		var masked bool
		fragment, masked, err = l.readUnitFile(file)
		switch {
		case err != nil:
			u.LoadState, u.LoadError = LoadError, err
			return u, nil
		case masked:
			u.LoadState = Masked
			return u, nil
		}
	}
	bases := make([][]string, len(names))
	for i, name := range names {
		bases[i] = dropInBases(name, nil)
	}
	u.DropInPaths = l.dropIns(bases, n.Type)
	u.newSections()
	u.Assignments = make([]Assignment, 0, bytes.Count(fragment, []byte("=")))
	p := &unitParser{settingCtx{u: u, x: l.specifiers(u), scope: l.Scope, ignoreDeps: l.ignoreDeps, host: l.host()}}
	files := u.DropInPaths
	if file != "" {
		files = append([]string{file}, files...)
	} else {
		l.dependencyDirs(p, bases)
	}
	for i, f := range files {
		if i == 1 && file != "" {
			l.dependencyDirs(p, bases)
		}
		data, err := fragment, error(nil)
		if i > 0 || file == "" {
			data, _, err = l.readUnitFile(f)
		}
		if err == nil {
			err = parseSyntax(data, f, p)
		}
		switch {
		case err == nil, i > 0 || file == "":
			// systemd stops reading a drop-in at a fatal mistake but
			// loads the unit all the same.
			continue
		case errors.Is(err, eNOEXEC):
			u.unitLog(Notice, "Unit configuration has fatal error, unit will not be started.")
			u.LoadState, u.LoadError = BadSetting, err
		default:
			u.LoadState, u.LoadError = LoadError, err
		}
		return u, nil
	}
	if file != "" && len(files) == 1 {
		l.dependencyDirs(p, bases)
	}
	u.parsed = true
	u.verify()
	return u, nil
}

// dependencyDirs adds the dependencies of the unit's .wants, .requires
// and .upholds directories, as systemd's process_deps: each entry must be
// a link named as a unit; one masked (linked to /dev/null) is passed over.
func (l *Loader) dependencyDirs(p *unitParser, bases [][]string) {
	u := p.u
	for _, d := range []struct{ suffix, kind string }{{dotWants, "Wants"}, {dotRequires, "Requires"}, {dotUpholds, "Upholds"}} {
		for _, f := range l.dropInEntries(bases, u.Type, d.suffix) {
			entry := path.Base(f)
			if m, err := l.masked(f); err == nil && m {
				continue
			}
			info, err := fs.Lstat(l.fsys(), rel(f))
			switch {
			case err != nil:
				u.unitLog(Warning, fmt.Sprintf("%s dropin %s unreadable, ignoring: %s", d.kind, f, strerror(fsErrno(err))))
				continue
			case info.Mode()&fs.ModeSymlink == 0:
				u.unitLog(Warning, fmt.Sprintf("%s dependency dropin %s is not a symlink, ignoring.", d.kind, f))
				continue
			case !ValidName(entry, AnyName):
				u.unitLog(Warning, fmt.Sprintf("%s dependency dropin %s is not a valid unit name, ignoring.", d.kind, f))
				continue
			}
			p.addDep(d.kind, entry)
		}
	}
}

// A unitParser receives the syntax of a unit's files.
type unitParser struct{ settingCtx }

func (p *unitParser) diagnose(d Diagnostic) {
	p.u.Diagnostics = append(p.u.Diagnostics, d)
}

func (p *unitParser) section(name string, pos Pos) bool {
	if strings.HasPrefix(name, "X-") {
		return true // kept, not interpreted
	}
	for _, s := range p.u.Type.sections() {
		if s == name {
			return true
		}
	}
	p.diagnose(Diagnostic{pos, Warning, fmt.Sprintf("Unknown section '%s'. Ignoring.", name)})
	return false
}

func (p *unitParser) assignment(a *Assignment) error {
	if strings.HasPrefix(a.Section, "X-") || strings.HasPrefix(a.Key, "X-") {
		// Extensions: kept for those who read them, ignored by systemd.
		p.u.Assignments = append(p.u.Assignments, *a)
		return nil
	}
	set, ok := setters()[a.Section+"."+a.Key]
	if !ok {
		p.diagnose(Diagnostic{a.Pos, Warning, fmt.Sprintf("Unknown key '%s' in section [%s], ignoring.", a.Key, a.Section)})
		return nil
	}
	p.u.Assignments = append(p.u.Assignments, *a)
	if set != nil {
		return set(&p.settingCtx, a)
	}
	return nil
}

// instanceName returns the name of the instance of a template name, or
// the name itself.
func instanceName(name, instance string) string {
	if instance == "" || !ValidName(name, Template) {
		return name
	}
	at := strings.IndexByte(name, '@')
	return name[:at+1] + instance + name[at+1:]
}

// Unsupported returns the assignments of settings that are read and
// checked as systemd does, but that the typed sections do not keep, so
// that a manager running the unit from them does not act on them
// (sandboxing, resource control, and the like). A manager should say so,
// once for each, rather than drop them silently. Extensions (X-) are not
// among them.
func (u *Unit) Unsupported() []Assignment {
	var out []Assignment
	for _, a := range u.Assignments {
		if strings.HasPrefix(a.Section, "X-") || strings.HasPrefix(a.Key, "X-") {
			continue
		}
		if !kept(a.Section + "." + a.Key) {
			out = append(out, a)
		}
	}
	return out
}

// kept reports whether the typed sections keep the setting: those with
// a field of their own, the dependencies (Deps) and the conditions.
func kept(key string) bool {
	if _, ok := typedSetters[key]; ok {
		return true
	}
	switch knownSettings[key].parser {
	case "unit_deps", "obsolete_unit_deps", "unit_condition_path", "unit_condition_string":
		return true
	}
	return false
}
