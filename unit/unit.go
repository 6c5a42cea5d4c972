package unit

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

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

	// Stamp tells the files as they were read: a hash of their paths
	// and modification times, which a later Load gives again unless
	// one of them changed, came or went. It answers for systemd's
	// NeedDaemonReload.
	Stamp uint64

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
	mountWhere   string // a mount's Where=, if set
	mountWhat    string // a mount's What=, if set

	// exec keeps the execution and kill settings of a unit of another
	// type than service, for the checks of its type.
	exec *ServiceSection
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
	u, _, err := l.load(name, false, false)
	return u, err
}

// LoadSnapshot is Load, and returns the unit's snapshot too.
func (l *Loader) LoadSnapshot(name string) (*Unit, *Snapshot, error) {
	return l.load(name, false, true)
}

// Inspect is LoadSnapshot, but for a unit looked at once: it hands the
// unit to f instead of returning it, and the unit's memory then serves
// the next unit Inspect loads. f keeps nothing of the unit but what it
// copies; strings and the calendar specifications of timers may be kept.
// For many units kept as snapshots, it saves allocating each.
func (l *Loader) Inspect(name string, f func(*Unit)) (*Snapshot, error) {
	var snap *Snapshot
	_, _, err := l.loadWith(name, false, func(c *loadCtx, t *unitText, n Name, id string) *Unit {
		u := l.parseInto(c, t, n, id)
		f(u)
		snap = t.snapshot(l.loadEnv)
		return nil
	})
	return snap, err
}

// load is Load; with ignoreDeps, the units the unit names are left
// unchecked, as systemd-analyze verify --recursive-errors=no does; with
// snap, it takes the unit's snapshot too.
func (l *Loader) load(name string, ignoreDeps, snap bool) (*Unit, *Snapshot, error) {
	return l.loadWith(name, snap, func(c *loadCtx, t *unitText, n Name, id string) *Unit {
		return l.parse(c, t, n, id, ignoreDeps, nil)
	})
}

// loadWith reads the unit called name and has parse make it, then takes
// its snapshot if asked.
func (l *Loader) loadWith(name string, snap bool, parse func(*loadCtx, *unitText, Name, string) *Unit) (*Unit, *Snapshot, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, nil, err
	}
	if n.Template {
		return nil, nil, fmt.Errorf("unit: %s is a template; name an instance", name)
	}
	l.setup()
	file, names := l.fragment(name, n)
	id := name
	c := l.getCtx()
	defer l.putCtx(c)
	// The context's, not one more allocation each load.
	t := &c.text
	*t = unitText{name: name, names: names, stamp: stampOffset}
	if file.dst == "" {
		// Devices and slices need no file (systemd's device_load and
		// slice_load); the others are not found.
		if n.Type != Device && n.Type != Slice {
			t.state, t.err = NotFound, errNotFound
		}
	} else {
		// As systemd merges the names, the unit is known by its file's name.
		if i := instanceName(path.Base(file.dst), n.Instance); i != name && slices.Contains(names, i) {
			id = i
			t.names = append([]string{i}, slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == i })...)
		}
		t.fragmentPath = file.dst
		var masked bool
		var mtime int64
		t.fragment, mtime, masked, err = l.readUnitFile(&c.buf, file.dst, file.regular)
		t.stamp = stampFile(t.stamp, file.dst, mtime)
		switch {
		case err != nil:
			t.state, t.err = LoadError, err
		case masked:
			t.state = Masked
		}
	}
	if t.state == Loaded && len(l.dropInDirs) > 0 {
		l.readDirs(c, t, names, n.Type)
	}
	u := parse(c, t, n, id)
	if !snap {
		return u, nil, nil
	}
	return u, t.snapshot(l.loadEnv), nil
}

// parseInto parses t into c's spare unit, which then stays c's.
func (l *Loader) parseInto(c *loadCtx, t *unitText, n Name, id string) *Unit {
	u := &c.spare
	u.Timer, u.Service = &c.spareTimer, &c.spareService
	return l.parse(c, t, n, id, false, u)
}

// readDirs reads what the directories of the unit called by names hold
// for it: the dependencies of its .wants, .requires and .upholds
// directories and its drop-ins, the drop-ins' text onto c.buf.
func (l *Loader) readDirs(c *loadCtx, t *unitText, names []string, typ Type) {
	bases := make([][]string, len(names))
	for i, name := range names {
		if nn, err := ParseName(name); err == nil {
			bases[i] = l.dropInBases(nn, nil)
		} else if _, ok := l.dropInDirs[name]; ok {
			bases[i] = []string{name}
		}
	}
	t.dropInPaths = l.dropIns(bases, typ)
	t.deps = l.dependencyDirs(c.deps[:0], bases, typ)
	c.deps = t.deps
	t.dropIns = c.dropIns[:0]
	for _, f := range t.dropInPaths {
		data, mtime, _, err := l.readUnitFile(&c.buf, f, false)
		if err != nil {
			data = nil
		}
		t.stamp = stampFile(t.stamp, f, mtime)
		t.dropIns = append(t.dropIns, data)
	}
	c.dropIns = t.dropIns
}

// A unitText is what a unit is parsed from: its names, how reading its
// fragment went, the fragment's text, the dependencies its directories
// hold, and the text of each drop-in (nil for one that could not be
// read).
type unitText struct {
	name         string // the name loaded by
	names        []string
	state        LoadState // NotFound, LoadError or Masked: nothing to parse
	err          error
	fragmentPath string
	fragment     []byte
	dropInPaths  []string
	dropIns      [][]byte
	deps         []dirDep
	stamp        uint64
}

// stampFile adds a file's path and modification time (0 if unknown) to
// a stamp: FNV-1a over them.
func stampFile(h uint64, path string, mtime int64) uint64 {
	for i := range len(path) {
		h = (h ^ uint64(path[i])) * stampPrime
	}
	for i := range 8 {
		h = (h ^ uint64(byte(mtime>>(8*i)))) * stampPrime
	}
	return h
}

const stampOffset, stampPrime = 14695981039346656037, 1099511628211

// A dirDep is an entry of a dependency directory: a dependency to add,
// of kind ("Wants"), on the unit text names; or, with no kind, a warning
// about an entry passed over, text.
type dirDep struct {
	kind string
	text string
}

// parse makes the unit t is the text of, loaded by its id: it parses the
// fragment, adds the dependencies of the directories, parses the drop-ins,
// as far as it can, and checks the settings read. It makes it in reuse's
// memory, if not nil.
func (e *loadEnv) parse(c *loadCtx, t *unitText, n Name, id string, ignoreDeps bool, reuse *Unit) *Unit {
	if t.state != Loaded {
		return &Unit{Name: id, Names: t.names, Type: n.Type, Instance: n.Instance, FragmentPath: t.fragmentPath, Stamp: t.stamp, LoadState: t.state, LoadError: t.err}
	}
	u := reuse
	if u == nil {
		u = newUnit(n, id, t.names, t.fragmentPath)
	} else {
		u.reset(n, id, t.names, t.fragmentPath)
	}
	u.Stamp = t.stamp
	u.DropInPaths = t.dropInPaths
	c.start(u, ignoreDeps)
	p := &c.parser
	// Room for the fragment's assignments, those of drop-ins added on.
	u.Assignments = slices.Grow(u.Assignments, c.syntax.split(t.fragment, t.fragmentPath))
	if t.fragmentPath != "" {
		switch err := c.syntax.run(p); {
		case err == nil:
		case errors.Is(err, eNOEXEC):
			u.unitLog(Notice, "Unit configuration has fatal error, unit will not be started.")
			u.LoadState, u.LoadError = BadSetting, err
			return u
		default:
			u.LoadState, u.LoadError = LoadError, err
			return u
		}
	}
	for _, d := range t.deps {
		if d.kind == "" {
			u.unitLog(Warning, d.text)
		} else {
			p.addDep(d.kind, d.text)
		}
	}
	for i, f := range t.dropInPaths {
		// systemd stops reading a drop-in at a fatal mistake but loads
		// the unit all the same.
		if t.dropIns[i] != nil {
			c.syntax.parse(t.dropIns[i], f, p)
		}
	}
	u.parsed = true
	u.verify()
	if reuse == nil && len(u.Assignments) < cap(u.Assignments) {
		// The unit is kept long: no room to spare.
		u.Assignments = append(make([]Assignment, 0, len(u.Assignments)), u.Assignments...)
	}
	return u
}

// A Snapshot is a unit as Load read it, in little memory: its names, the
// text its files had, what its directories held. Unit parses it again
// into the unit that Load returned, reading no file: a manager can keep a
// unit it does not use so, its settings those read until it reloads.
type Snapshot struct {
	env           *loadEnv
	name          string // the name loaded by, the unit's only one unless rest has names
	state         LoadState
	fragmentPath  string
	fragment      string
	stamp         uint64
	*snapshotRest // nil when there is none of it, as mostly
}

// snapshotRest is the part of a snapshot few units have.
type snapshotRest struct {
	names       []string // the unit's, if not just name
	err         error
	dropInPaths []string
	dropIns     []string // their text
	unreadable  []int    // the drop-ins that could not be read
	deps        []dirDep
}

// snapshot copies t, which holds what is parsed from buffers used again.
func (t *unitText) snapshot(e *loadEnv) *Snapshot {
	s := &Snapshot{env: e, name: t.name, state: t.state, fragmentPath: t.fragmentPath, fragment: string(t.fragment), stamp: t.stamp}
	onlyName := len(t.names) == 1 && t.names[0] == t.name
	if onlyName && t.err == nil && len(t.dropInPaths) == 0 && len(t.deps) == 0 {
		return s
	}
	r := &snapshotRest{err: t.err, dropInPaths: t.dropInPaths, dropIns: make([]string, len(t.dropIns))}
	if !onlyName {
		r.names = t.names
	}
	if len(t.deps) > 0 {
		r.deps = slices.Clone(t.deps) // not of an empty one, which would hold its memory
	}
	for i, d := range t.dropIns {
		if d == nil {
			r.unreadable = append(r.unreadable, i)
		}
		r.dropIns[i] = string(d)
	}
	s.snapshotRest = r
	return s
}

// Name returns the name of the unit, as its Unit's Name.
func (s *Snapshot) Name() string {
	if s.snapshotRest != nil && s.names != nil {
		return s.names[0]
	}
	return s.name
}

// FragmentPath returns the unit's file, as its Unit's FragmentPath.
func (s *Snapshot) FragmentPath() string { return s.fragmentPath }

// Unit parses the snapshot again, into a unit of its own, equal to the
// one Load returned. What its specifiers stand for is looked up again.
func (s *Snapshot) Unit() *Unit {
	t := unitText{name: s.name, names: []string{s.name}, state: s.state, fragmentPath: s.fragmentPath, stamp: s.stamp}
	if s.snapshotRest != nil && s.names != nil {
		t.names = slices.Clone(s.names) // the unit's own
	}
	n, _ := ParseName(t.name)
	c := s.env.getCtx()
	defer s.env.putCtx(c)
	// The parser reads bytes, which the buffer holds one after another.
	buf := append(c.buf[:0], s.fragment...)
	if r := s.snapshotRest; r != nil {
		t.err, t.dropInPaths, t.deps = r.err, slices.Clone(r.dropInPaths), r.deps
		t.dropIns = c.dropIns[:0]
		for i, text := range r.dropIns {
			if slices.Contains(r.unreadable, i) {
				t.dropIns = append(t.dropIns, nil)
				continue
			}
			start := len(buf)
			buf = append(buf, text...)
			t.dropIns = append(t.dropIns, buf[start:len(buf):len(buf)])
		}
		c.dropIns = t.dropIns
	}
	c.buf, t.fragment = buf, buf[:len(s.fragment)]
	return s.env.parse(c, &t, n, t.names[0], false, nil)
}

// A loadCtx is what a Load works with, kept for the next one.
type loadCtx struct {
	parser  unitParser
	spec    unitSpecifiers
	syntax  syntaxParser
	buf     []byte // the files being read, one after another
	dropIns [][]byte
	deps    []dirDep
	text    unitText
	// The memory of the units Inspect parses: a unit, and the sections of
	// the two types a unit may have many of.
	spare        Unit
	spareTimer   TimerSection
	spareService ServiceSection
}

func (e *loadEnv) getCtx() *loadCtx {
	if c, ok := e.ctxs.Get().(*loadCtx); ok {
		return c
	}
	c := new(loadCtx)
	c.parser.x = &c.spec
	c.parser.calendars = map[string]*calendar.Spec{}
	c.spec.scope, c.spec.host, c.spec.fsys, c.spec.argMax = e.scope, e.host, e.fsys, e.argMax
	c.parser.scope, c.parser.argMaxV = e.scope, e.argMax
	return c
}

// start readies c for reading u's files. Fields are set one by one, not
// as whole structs, which would cost more while the collector runs.
func (c *loadCtx) start(u *Unit, ignoreDeps bool) {
	c.parser.u, c.spec.u = u, u
	c.parser.ignoreDeps = ignoreDeps
}

// putCtx keeps c for another Load, holding on to none of the unit's.
func (e *loadEnv) putCtx(c *loadCtx) {
	c.parser.u, c.spec.u = nil, nil
	c.text = unitText{}
	clear(c.parser.argv[:cap(c.parser.argv)])
	c.syntax.release()
	c.buf = c.buf[:0]
	// What lies past their lengths was cleared before.
	clear(c.dropIns)
	clear(c.deps)
	c.dropIns, c.deps = c.dropIns[:0], c.deps[:0]
	if cap(c.buf) > maxKeptBuffer {
		c.buf = nil
	}
	if cap(c.deps) > maxKeptBuffer/64 {
		c.deps = nil
	}
	if cap(c.syntax.joined) > maxKeptBuffer || cap(c.syntax.lines) > maxKeptBuffer/64 {
		c.syntax.joined, c.syntax.lines = nil, nil
	}
	e.ctxs.Put(c)
}

// maxKeptBuffer bounds the buffers a Loader keeps between loads.
const maxKeptBuffer = 64 << 10

// dependencyDirKinds are the dependency directories, by suffix.
var dependencyDirKinds = [...]struct{ suffix, kind string }{{dotWants, "Wants"}, {dotRequires, "Requires"}, {dotUpholds, "Upholds"}}

// dependencyDirs appends to deps the dependencies of the unit's .wants,
// .requires and .upholds directories, as systemd's process_deps: each
// entry must be a link named as a unit; one masked (linked to /dev/null)
// is passed over.
func (l *Loader) dependencyDirs(deps []dirDep, bases [][]string, typ Type) []dirDep {
	for _, d := range dependencyDirKinds {
		files := l.dropInEntries(bases, typ, d.suffix)
		masked := l.masks(files)
		for i, f := range files {
			entry := f.name
			if masked[i] {
				continue
			}
			switch {
			case f.mode&fs.ModeSymlink == 0:
				deps = append(deps, dirDep{text: fmt.Sprintf("%s dependency dropin %s is not a symlink, ignoring.", d.kind, f.path)})
			case !ValidName(entry, AnyName):
				deps = append(deps, dirDep{text: fmt.Sprintf("%s dependency dropin %s is not a valid unit name, ignoring.", d.kind, f.path)})
			default:
				// The name alone, not the path it is cut from.
				deps = append(deps, dirDep{kind: d.kind, text: strings.Clone(entry)})
			}
		}
	}
	return deps
}

// masks reports which of files are masks. A target that many timers
// want has as many files: they are looked at on every core.
func (l *Loader) masks(files []dropInFile) []bool {
	if len(files) == 0 {
		return nil
	}
	masked := make([]bool, len(files))
	const chunk = 1024
	if len(files) <= chunk {
		l.checkMasks(files, masked)
		return masked
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for from := range next {
				to := min(from+chunk, len(files))
				l.checkMasks(files[from:to], masked[from:to])
			}
		})
	}
	for from := 0; from < len(files); from += chunk {
		next <- from
	}
	close(next)
	wg.Wait()
	return masked
}

// checkMasks sets masked[i] when files[i] is a mask.
func (l *Loader) checkMasks(files []dropInFile, masked []bool) {
	for i, f := range files {
		m, err := l.masked(f.path)
		masked[i] = err == nil && m
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
	if _, ok := typedSetter(key); ok {
		return true
	}
	switch knownSettings[key].parser {
	case "unit_deps", "obsolete_unit_deps", "unit_condition_path", "unit_condition_string":
		return true
	case "rlimit": // Limit…= of a service, kept in Limits
		return strings.HasPrefix(key, "Service.")
	}
	return false
}
