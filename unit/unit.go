package unit

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sundial.dev/sundial/calendar"
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

	trigger      string // the unit a timer, path or socket triggers, if named
	parsed       bool   // the unit file was read to its end
	socketAccept bool   // a socket's Accept=
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
func (l *Loader) Load(name string) (*Unit, error) { return l.load(name, false) }

// load is Load; with ignoreDeps, the units the unit names are left
// unchecked, as systemd-analyze verify --recursive-errors=no does.
func (l *Loader) load(name string, ignoreDeps bool) (*Unit, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if n.Template {
		return nil, fmt.Errorf("unit: %s is a template; name an instance", name)
	}
	l.setup()
	file, names := l.fragment(name, n)
	id, unitNames := name, names
	c := l.getCtx()
	defer l.putCtx(c)
	var fragment []byte
	if file.dst == "" {
		// Devices and slices need no file (systemd's device_load and
		// slice_load); the others are not found.
		if n.Type != Device && n.Type != Slice {
			return &Unit{Name: name, Names: names, Type: n.Type, Instance: n.Instance, LoadState: NotFound, LoadError: errNotFound}, nil
		}
	} else {
		// As systemd merges the names, the unit is known by its file's name.
		if i := instanceName(path.Base(file.dst), n.Instance); i != name && slices.Contains(names, i) {
			id = i
			unitNames = append([]string{i}, slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == i })...)
		}
		var masked bool
		fragment, masked, err = l.readUnitFile(&c.buf, file.dst, file.regular)
		switch {
		case err != nil:
			return &Unit{Name: id, Names: unitNames, Type: n.Type, Instance: n.Instance, FragmentPath: file.dst, LoadState: LoadError, LoadError: err}, nil
		case masked:
			return &Unit{Name: id, Names: unitNames, Type: n.Type, Instance: n.Instance, FragmentPath: file.dst, LoadState: Masked}, nil
		}
	}
	u := newUnit(n, id, unitNames, file.dst)
	var bases [][]string
	if len(l.dropInDirs) > 0 {
		bases = make([][]string, len(names))
		for i, name := range names {
			if nn, err := ParseName(name); err == nil {
				bases[i] = l.dropInBases(nn, nil)
			} else if _, ok := l.dropInDirs[name]; ok {
				bases[i] = []string{name}
			}
		}
		u.DropInPaths = l.dropIns(bases, n.Type)
	}
	c.start(l, u, ignoreDeps)
	l.parse(c, u, file.dst, fragment, bases)
	if len(u.Assignments) < cap(u.Assignments) {
		// The unit is kept long: no room to spare.
		u.Assignments = append(make([]Assignment, 0, len(u.Assignments)), u.Assignments...)
	}
	return u, nil
}

// parse reads the unit's fragment, its dependency directories and its
// drop-ins, as far as it can, and checks the settings read.
func (l *Loader) parse(c *loadCtx, u *Unit, file string, fragment []byte, bases [][]string) {
	p := &c.parser
	// Room for the fragment's assignments, those of drop-ins added on.
	n := c.syntax.split(fragment, file)
	u.Assignments = make([]Assignment, 0, n)
	if file != "" {
		switch err := c.syntax.run(p); {
		case err == nil:
		case errors.Is(err, eNOEXEC):
			u.unitLog(Notice, "Unit configuration has fatal error, unit will not be started.")
			u.LoadState, u.LoadError = BadSetting, err
			return
		default:
			u.LoadState, u.LoadError = LoadError, err
			return
		}
	}
	if len(l.dropInDirs) > 0 {
		l.dependencyDirs(p, bases)
	}
	for _, f := range u.DropInPaths {
		// systemd stops reading a drop-in at a fatal mistake but loads
		// the unit all the same.
		if data, _, err := l.readUnitFile(&c.buf, f, false); err == nil {
			c.syntax.parse(data, f, p)
		}
	}
	u.parsed = true
	u.verify()
}

// A loadCtx is what a Load works with, kept for the next one.
type loadCtx struct {
	parser unitParser
	spec   unitSpecifiers
	syntax syntaxParser
	buf    []byte // the file being read
}

func (l *Loader) getCtx() *loadCtx {
	if c, ok := l.ctxs.Get().(*loadCtx); ok {
		return c
	}
	c := new(loadCtx)
	c.parser.x = &c.spec
	c.parser.calendars = map[string]*calendar.Spec{}
	c.spec.scope, c.spec.host, c.spec.fsys, c.spec.argMax = l.Scope, l.host, l.fsys, l.argMax
	c.parser.scope, c.parser.argMaxV = l.Scope, l.argMax
	return c
}

// start readies c for reading u's files. Fields are set one by one, not
// as whole structs, which would cost more while the collector runs.
func (c *loadCtx) start(l *Loader, u *Unit, ignoreDeps bool) {
	c.parser.u, c.spec.u = u, u
	c.parser.ignoreDeps = ignoreDeps
}

// putCtx keeps c for another Load, holding on to none of the unit's.
func (l *Loader) putCtx(c *loadCtx) {
	c.parser.u, c.spec.u = nil, nil
	clear(c.parser.argv[:cap(c.parser.argv)])
	c.syntax.release()
	if cap(c.buf) > maxKeptBuffer {
		c.buf = nil
	}
	if cap(c.syntax.joined) > maxKeptBuffer || cap(c.syntax.lines) > maxKeptBuffer/64 {
		c.syntax.joined, c.syntax.lines = nil, nil
	}
	l.ctxs.Put(c)
}

// maxKeptBuffer bounds the buffers a Loader keeps between loads.
const maxKeptBuffer = 64 << 10

// dependencyDirs adds the dependencies of the unit's .wants, .requires
// and .upholds directories, as systemd's process_deps: each entry must be
// a link named as a unit; one masked (linked to /dev/null) is passed over.
func (l *Loader) dependencyDirs(p *unitParser, bases [][]string) {
	u := p.u
	for _, d := range []struct{ suffix, kind string }{{dotWants, "Wants"}, {dotRequires, "Requires"}, {dotUpholds, "Upholds"}} {
		for _, f := range l.dropInEntries(bases, u.Type, d.suffix) {
			entry := path.Base(f.path)
			if m, err := l.masked(f.path); err == nil && m {
				continue
			}
			switch {
			case f.mode&fs.ModeSymlink == 0:
				u.unitLog(Warning, fmt.Sprintf("%s dependency dropin %s is not a symlink, ignoring.", d.kind, f.path))
				continue
			case !ValidName(entry, AnyName):
				u.unitLog(Warning, fmt.Sprintf("%s dependency dropin %s is not a valid unit name, ignoring.", d.kind, f.path))
				continue
			}
			p.addDep(d.kind, entry)
		}
	}
}

// A unitParser receives the syntax of a unit's files.
type unitParser struct {
	settingCtx
	sec sectionID // the section being read, if one of the unit type's
}

func (p *unitParser) diagnose(d Diagnostic) {
	p.u.Diagnostics = append(p.u.Diagnostics, d)
}

func (p *unitParser) section(name string, pos Pos) bool {
	if strings.HasPrefix(name, "X-") {
		return true // kept, not interpreted
	}
	for _, s := range p.u.Type.sections() {
		if s == name {
			p.sec = sectionOf(name)
			return true
		}
	}
	p.diagnose(Diagnostic{pos, Warning, fmt.Sprintf("Unknown section '%s'. Ignoring.", name)})
	return false
}

func (p *unitParser) assignment(a Assignment, k *settingKey) error {
	if strings.HasPrefix(a.Section, "X-") || strings.HasPrefix(a.Key, "X-") {
		// Extensions: kept for those who read them, ignored by systemd.
		p.u.addAssignment(&a)
		return nil
	}
	var s settingSlot
	if k != nil {
		s = k.in[p.sec]
	}
	if !s.known {
		p.diagnose(Diagnostic{a.Pos, Warning, fmt.Sprintf("Unknown key '%s' in section [%s], ignoring.", a.Key, a.Section)})
		return nil
	}
	kept := p.u.addAssignment(&a)
	if s.set != nil {
		return s.set(&p.settingCtx, kept)
	}
	return nil
}

// addAssignment appends a to the unit's assignments field by field, as
// a copy of the whole costs a bulk write barrier while the collector
// runs, and returns the one kept.
func (u *Unit) addAssignment(a *Assignment) *Assignment {
	if len(u.Assignments) == cap(u.Assignments) {
		u.Assignments = slices.Grow(u.Assignments, 1)
	}
	u.Assignments = u.Assignments[:len(u.Assignments)+1]
	e := &u.Assignments[len(u.Assignments)-1]
	e.Section, e.Key, e.Value = a.Section, a.Key, a.Value
	e.Pos, e.ValCol = a.Pos, a.ValCol
	return e
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
