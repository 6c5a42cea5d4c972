package unit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
)

// A Loader loads units from the directories of a search path, as systemd's
// manager does: the first directory holding a unit file of the name wins,
// symbolic links within the search path are aliases, links elsewhere are
// linked unit files, links to /dev/null and empty files are masks, an
// instance without a file of its own uses its template's, and drop-ins
// come from NAME.d/*.conf in every directory.
//
// Set its fields before the first Load, and do not change them after:
// the first Load reads the search path's directories once for all. From
// then on Load may be called from several goroutines at once. A Loader
// must not be copied once used.
type Loader struct {
	// FS is where units are read from, with paths relative to its root
	// ("etc/systemd/system/foo.timer"). Nil means the real file system.
	FS fs.FS

	// Path is the search path, absolute directories, highest priority
	// first; see [SearchPath].
	Path []string

	// Scope is the manager the units are for: it decides the directories
	// specifiers such as %t and %S stand for.
	Scope RuntimeScope

	Host *Host // the machine specifiers describe; nil: this one

	once sync.Once // sets the fields below, read only after

	*loadEnv

	ids        map[string]target     // unit name → alias target name, or the file's path
	aliases    map[string][]string   // a file's path → the aliases that lead to it
	dropInDirs map[string][]dirEntry // the drop-in directories by the name they are of ("foo.service" for "foo.service.wants")
}

// A loadEnv is what parsing a unit's text needs of its Loader. The
// snapshots of a Loader share it, and outlive the Loader's directory scan.
type loadEnv struct {
	scope  RuntimeScope
	fsys   fs.FS // FS, or the root directory
	native bool  // fsys is the real file system, read directly
	host   *Host // Host, or this machine
	argMax int   // host's ARG_MAX

	ctxs sync.Pool // of *loadCtx, for a Load at a time
}

// A target is what a unit name stands for in the search path.
type target struct {
	dst     string // the name aliased, or the absolute path of the file
	regular bool   // the file is a regular file, not a link
}

// maxAliasHops bounds the chain of aliases followed, as systemd does.
const maxAliasHops = 64

// setup reads the search path and settles the defaults, once.
func (l *Loader) setup() {
	l.once.Do(func() {
		l.loadEnv = &loadEnv{scope: l.Scope, fsys: l.FS, host: l.Host}
		if l.fsys == nil {
			l.fsys, l.native = os.DirFS("/"), true
		}
		if l.host == nil {
			l.host = &Host{}
		}
		l.argMax = l.host.argMax()
		l.buildNameMap()
	})
}

// rel turns an absolute path into a name within the FS.
func rel(p string) string {
	// Most paths are clean already; Clean only those it could change.
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "/.") || strings.HasSuffix(p, "/") {
		p = path.Clean(p)
	}
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// buildNameMap scans the search path once, as systemd's
// unit_file_build_name_map, and notes the aliases of each file.
func (l *Loader) buildNameMap() {
	listings := make([][]fs.DirEntry, len(l.Path))
	n := 0
	for i, dir := range l.Path {
		listings[i] = readDir(l.fsys, rel(dir))
		n += len(listings[i])
	}
	l.ids = make(map[string]target, n)
	l.dropInDirs = map[string][]dirEntry{}
	for i, dir := range l.Path {
		prefix := strings.TrimSuffix(dir, "/") + "/"
		clean := path.Clean(dir) == dir
		for _, e := range listings[i] {
			name := e.Name()
			if base, suffix, ok := cutDropInSuffix(name); ok && (e.IsDir() || e.Type()&fs.ModeSymlink != 0) {
				// A possible drop-in directory, saving dropIns a look
				// at every name it might have.
				l.dropInDirs[base] = append(l.dropInDirs[base], dirEntry{suffix, i, e.IsDir()})
				continue
			}
			if !ValidName(name, AnyName) {
				continue
			}
			if _, ok := l.ids[name]; ok {
				continue
			}
			switch {
			case e.Type().IsRegular():
				file := prefix + name
				if !clean {
					file = path.Join(dir, name)
				}
				l.ids[name] = target{file, true}
			case e.Type()&fs.ModeSymlink != 0:
				if dst, ok := l.resolveSymlink(dir, name); ok {
					l.ids[name] = target{dst: dst}
				}
			}
		}
	}
	// A file is known by the name it has in its directory, and by the
	// aliases whose chains end at it.
	l.aliases = map[string][]string{}
	for k, t := range l.ids {
		if !strings.HasPrefix(t.dst, "/") {
			if f, ok := l.lookup(k); ok {
				l.aliases[f.dst] = append(l.aliases[f.dst], k)
			}
		}
	}
}

// readDir returns the entries of a directory, in no order, or none if it
// cannot be read whole.
func readDir(fsys fs.FS, name string) []fs.DirEntry {
	f, err := fsys.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var entries []fs.DirEntry
	if d, ok := f.(fs.ReadDirFile); ok {
		entries, err = d.ReadDir(-1)
	} else {
		entries, err = fs.ReadDir(fsys, name)
	}
	if err != nil {
		return nil
	}
	return entries
}

// resolveSymlink returns what a symbolic link in the search path stands
// for: a link into the search path is an alias and gives the name it
// points to; any other link is a linked unit file (or a mask), and gives
// the link's own path.
func (l *Loader) resolveSymlink(dir, name string) (string, bool) {
	target, err := fs.ReadLink(l.fsys, rel(path.Join(dir, name)))
	if err != nil {
		return "", false
	}
	if !path.IsAbs(target) {
		target = path.Join(dir, target)
	}
	target = path.Clean(target)
	for _, d := range l.Path {
		if strings.HasPrefix(target, d+"/") {
			alias := path.Base(target)
			if !validAlias(name, alias) {
				return "", false
			}
			return alias, true
		}
	}
	return path.Join(dir, name), true
}

// validAlias reports whether a link named name may be an alias of target,
// as systemd's unit_validate_alias_symlink_or_warn: of a type that may
// have aliases, to another name of the same type and kind, or from an
// instance to a template, and to the same instance.
func validAlias(name, target string) bool {
	a, err1 := ParseName(name)
	b, err2 := ParseName(target)
	if err1 != nil || err2 != nil || name == target || a.Type != b.Type {
		return false
	}
	switch a.Type {
	case Service, Socket, Target, Timer, Path:
	case Device:
		if a.Instance != "" || a.Template {
			return false // no templates
		}
	default:
		return false // no aliases
	}
	kind := func(n Name) NameKind {
		switch {
		case n.Template:
			return Template
		case n.Instance != "":
			return Instance
		}
		return Plain
	}
	ka, kb := kind(a), kind(b)
	if ka != kb && !(ka == Instance && kb == Template) {
		return false
	}
	return kb != Instance || a.Instance == b.Instance
}

// lookup follows a name's aliases to its file.
func (l *Loader) lookup(name string) (target, bool) {
	for range maxAliasHops {
		t, ok := l.ids[name]
		if !ok {
			return target{}, false
		}
		if strings.HasPrefix(t.dst, "/") {
			return t, true
		}
		name = t.dst
	}
	return target{}, false
}

// fragment finds the file of a unit and all the names it goes by, as
// systemd's unit_file_find_fragment.
func (l *Loader) fragment(name string, n Name) (file target, names []string) {
	file, ok := l.lookup(name)
	if !ok && n.Instance != "" {
		tpl, _ := TemplateName(name)
		file, ok = l.lookup(tpl)
	}
	names = []string{name}
	if !ok {
		return target{}, names
	}
	// Every name that leads to the same file is an alias; for an instance,
	// the aliases of its template with the same instance.
	add := func(k string) {
		if k == name {
			return
		}
		kn, _ := ParseName(k)
		switch {
		case kn.Template && n.Instance != "":
			kn.Template, kn.Instance = false, n.Instance
			names = append(names, kn.String())
		case kn.Template == n.Template && (kn.Instance == "") == (n.Instance == ""):
			names = append(names, k)
		}
	}
	add(path.Base(file.dst))
	for _, k := range l.aliases[file.dst] {
		add(k)
	}
	if len(names) == 1 {
		return file, names
	}
	slices.Sort(names[1:])
	return file, slices.Clip(slices.Compact(names))
}

// resolve follows symbolic links at p to the file they lead to, with
// absolute targets taken within the FS. A link to /dev/null ends there.
func (l *Loader) resolve(p string) (string, fs.FileInfo, error) {
	fsys := l.fsys
	for range maxAliasHops {
		if p == "/dev/null" {
			return p, nil, nil
		}
		info, err := fs.Lstat(fsys, rel(p))
		if err != nil {
			return "", nil, err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return p, info, nil
		}
		target, err := fs.ReadLink(fsys, rel(p))
		if err != nil {
			return "", nil, err
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean(target)
	}
	return "", nil, errors.New("too many levels of symbolic links")
}

// masked reports whether the file is a mask: a link to /dev/null or an
// empty file.
func (l *Loader) masked(file string) (bool, error) {
	if l.native {
		return nativeMasked(file)
	}
	p, info, err := l.resolve(file)
	if err != nil {
		return false, err
	}
	return isMask(p, info), nil
}

func isMask(p string, info fs.FileInfo) bool {
	return p == "/dev/null" || info.Mode()&fs.ModeCharDevice != 0 || (info.Mode().IsRegular() && info.Size() == 0)
}

// readUnitFile reads a unit file into buf, unless it is a mask, and
// returns its modification time too (of the file a link leads to);
// regular says the file is known to be a regular file, no link to
// follow.
func (l *Loader) readUnitFile(buf *[]byte, file string, regular bool) (data []byte, mtime int64, masked bool, err error) {
	if regular {
		data, mtime, err = l.read(buf, file)
		return data, mtime, err == nil && len(data) == 0, err
	}
	p, info, err := l.resolve(file)
	if err != nil || isMask(p, info) {
		if info != nil {
			mtime = info.ModTime().UnixNano()
		}
		return nil, mtime, err == nil, err
	}
	data, mtime, err = l.read(buf, p)
	return data, mtime, false, err
}

// read reads a file whole onto the end of buf, which grows as needed,
// and returns its data and modification time. The data is good until buf
// is emptied: parsing copies what it keeps.
func (l *Loader) read(buf *[]byte, file string) ([]byte, int64, error) {
	if !l.native {
		if data, mtime, err := readAll(buf, l.fsys, rel(file)); err == nil {
			return data, mtime, nil
		}
		// On a failure, fs.ReadFile's own error, word for word.
		data, err := fs.ReadFile(l.fsys, rel(file))
		return data, 0, err
	}
	return nativeRead(buf, file)
}

// readAll reads a file of fsys whole onto the end of buf, and returns its
// data and modification time.
func readAll(buf *[]byte, fsys fs.FS, name string) ([]byte, int64, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return readFrom(buf, f)
}

// readFrom reads an open file whole onto the end of buf, and returns its
// data and modification time.
func readFrom(buf *[]byte, f fs.File) ([]byte, int64, error) {
	var mtime int64
	if info, err := f.Stat(); err == nil {
		mtime = info.ModTime().UnixNano()
	}
	start := len(*buf)
	b := *buf
	for {
		if len(b) == cap(b) {
			b = append(b, make([]byte, max(4096, cap(b)))...)[:len(b)]
		}
		m, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			*buf = b
			return b[start:], mtime, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

// The suffixes of drop-in directories: settings, and the dependencies
// systemd's process_deps reads.
const (
	dotD        = ".d"
	dotWants    = ".wants"
	dotRequires = ".requires"
	dotUpholds  = ".upholds"
)

// cutDropInSuffix splits the name of a drop-in directory.
func cutDropInSuffix(name string) (base, suffix string, ok bool) {
	for _, s := range []string{dotD, dotWants, dotRequires, dotUpholds} {
		if b, found := strings.CutSuffix(name, s); found {
			return b, s, true
		}
	}
	return "", "", false
}

// dropInBases appends to list the names of the units whose drop-in
// directories the unit n takes, in systemd's order: its own, its
// template's, and those of the prefixes cut at dashes; but only those of
// them with drop-in directories, which are few.
func (l *Loader) dropInBases(n Name, list []string) []string {
	var b [MaxNameLength]byte
	key := append(b[:0], n.Prefix...)
	if n.Instance != "" || n.Template {
		key = append(append(key, '@'), n.Instance...)
	}
	key = append(append(key, '.'), typeNames[n.Type]...)
	if _, ok := l.dropInDirs[string(key)]; ok {
		list = append(list, string(key))
	}
	if n.Instance != "" {
		list = l.dropInBases(Name{Prefix: n.Prefix, Template: true, Type: n.Type}, list)
	}
	// "foo-bar-baz.service" also takes the drop-ins of "foo-bar-.service"
	// and then "foo-.service".
	prefix := n.Prefix
	chopped := false
	for {
		dash := strings.LastIndexByte(prefix, '-')
		if dash <= 0 {
			return list
		}
		if dash+1 < len(prefix) || chopped {
			prefix = prefix[:dash+1]
			break
		}
		prefix, chopped = prefix[:dash], true
	}
	n.Prefix = prefix
	return l.dropInBases(n, list)
}

// A dirEntry is a drop-in directory found in the directory scan.
type dirEntry struct {
	suffix string
	path   int  // the index of its directory in Path
	isDir  bool // a directory, not a link that may be one
}

// dropIns returns the drop-in files of a unit, in the order systemd
// applies them, as unit_file_find_dropin_paths; bases are the
// dropInBases of each of its names.
func (l *Loader) dropIns(bases [][]string, t Type) []string {
	var files []string
	for _, f := range l.dropInEntries(bases, t, dotD) {
		if m, err := l.masked(f.path); strings.HasSuffix(f.path, ".conf") && err == nil && !m {
			files = append(files, f.path)
		}
	}
	return slices.Clip(files)
}

// A dropInFile is an entry of a drop-in directory: its path and name, and its
// type as the directory listing gives it.
type dropInFile struct {
	path, name string // the name is the path's last element
	mode       fs.FileMode
}

// dropInEntries returns the entries of the drop-in directories with the
// suffix of a unit, each name once, from the first directory that has
// it, in the order of their names.
func (l *Loader) dropInEntries(bases [][]string, t Type, suffix string) []dropInFile {
	fsys := l.fsys
	var dirs []string
	// In systemd's order: for each name (the type last), by search path
	// directory, the bases in turn.
	type found struct {
		group int // the index of the name in bases, len(bases) for the type
		base  string
		entry dirEntry
	}
	var cands []found
	add := func(group int, base string) {
		for _, e := range l.dropInDirs[base] {
			if e.suffix == suffix {
				cands = append(cands, found{group, base, e})
			}
		}
	}
	for n, list := range bases {
		for _, b := range list {
			add(n, b)
		}
	}
	add(len(bases), t.String())
	for group := range len(bases) + 1 {
		for i := range l.Path {
			for _, c := range cands {
				if c.group != group || c.entry.path != i {
					continue
				}
				dir := path.Join(l.Path[i], c.base+suffix)
				if !c.entry.isDir {
					if info, err := fs.Stat(fsys, rel(dir)); err != nil || !info.IsDir() {
						continue
					}
				}
				dirs = append(dirs, dir)
			}
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	// Each file name counts once, from the first directory that has it.
	var files []dropInFile
	var seen map[string]bool // of more than one directory
	if len(dirs) > 1 {
		seen = map[string]bool{}
	}
	for _, dir := range dirs {
		for _, e := range readDir(fsys, rel(dir)) {
			if e.IsDir() || seen != nil && seen[e.Name()] {
				continue
			}
			if seen != nil {
				seen[e.Name()] = true
			}
			p := dir + "/" + e.Name()
			files = append(files, dropInFile{p, p[len(dir)+1:], e.Type()})
		}
	}
	slices.SortFunc(files, func(a, b dropInFile) int { return strings.Compare(a.name, b.name) })
	return files
}

var errNotFound = fmt.Errorf("unit not found")
