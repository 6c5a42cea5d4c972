package unit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// A Loader loads units from the directories of a search path, as systemd's
// manager does: the first directory holding a unit file of the name wins,
// symbolic links within the search path are aliases, links elsewhere are
// linked unit files, links to /dev/null and empty files are masks, an
// instance without a file of its own uses its template's, and drop-ins
// come from NAME.d/*.conf in every directory.
//
// Set FS and Path before the first Load, and do not change them after: the
// Loader reads each directory once.
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

	// ignoreDeps leaves the units a unit names unchecked, as
	// systemd-analyze verify --recursive-errors=no does.
	ignoreDeps bool

	ids map[string]string // unit name → alias target name, or the file's path
}

// maxAliasHops bounds the chain of aliases followed, as systemd does.
const maxAliasHops = 64

func (l *Loader) fsys() fs.FS {
	if l.FS == nil {
		l.FS = os.DirFS("/")
	}
	return l.FS
}

// rel turns an absolute path into a name within the FS.
func rel(p string) string {
	p = strings.TrimPrefix(path.Clean(p), "/")
	if p == "" {
		return "."
	}
	return p
}

// buildNameMap scans the search path once, as systemd's
// unit_file_build_name_map.
func (l *Loader) buildNameMap() {
	if l.ids != nil {
		return
	}
	l.ids = map[string]string{}
	fsys := l.fsys()
	for _, dir := range l.Path {
		entries, err := fs.ReadDir(fsys, rel(dir))
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if !ValidName(name, AnyName) {
				continue
			}
			if _, ok := l.ids[name]; ok {
				continue
			}
			file := path.Join(dir, name)
			switch {
			case e.Type().IsRegular():
				l.ids[name] = file
			case e.Type()&fs.ModeSymlink != 0:
				if dst, ok := l.resolveSymlink(dir, name); ok {
					l.ids[name] = dst
				}
			}
		}
	}
}

// resolveSymlink returns what a symbolic link in the search path stands
// for: a link into the search path is an alias and gives the name it
// points to; any other link is a linked unit file (or a mask), and gives
// the link's own path.
func (l *Loader) resolveSymlink(dir, name string) (string, bool) {
	target, err := fs.ReadLink(l.fsys(), rel(path.Join(dir, name)))
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

// lookup follows a name's aliases to the path of its file.
func (l *Loader) lookup(name string) (string, bool) {
	l.buildNameMap()
	for range maxAliasHops {
		dst, ok := l.ids[name]
		if !ok {
			return "", false
		}
		if strings.HasPrefix(dst, "/") {
			return dst, true
		}
		name = dst
	}
	return "", false
}

// fragment finds the file of a unit and all the names it goes by, as
// systemd's unit_file_find_fragment.
func (l *Loader) fragment(name string) (file string, names []string) {
	n, _ := ParseName(name)
	file, ok := l.lookup(name)
	if !ok && n.Instance != "" {
		tpl, _ := TemplateName(name)
		file, ok = l.lookup(tpl)
	}
	names = []string{name}
	if !ok {
		return "", names
	}
	// Every name that leads to the same file is an alias; for an instance,
	// the aliases of its template with the same instance.
	for k := range l.ids {
		f, ok := l.lookup(k)
		if !ok || f != file || k == name {
			continue
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
	slices.Sort(names[1:])
	return file, slices.Compact(names)
}

// resolve follows symbolic links at p to the file they lead to, with
// absolute targets taken within the FS. A link to /dev/null ends there.
func (l *Loader) resolve(p string) (string, fs.FileInfo, error) {
	fsys := l.fsys()
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
	p, info, err := l.resolve(file)
	if err != nil {
		return false, err
	}
	return p == "/dev/null" || info.Mode()&fs.ModeCharDevice != 0 || (info.Mode().IsRegular() && info.Size() == 0), nil
}

// dropIns returns the drop-in files of a unit known by names, in the order
// systemd applies them, as unit_file_find_dropin_paths.
func (l *Loader) dropIns(names []string, t Type) []string {
	fsys := l.fsys()
	var dirs []string
	add := func(dir string) {
		if info, err := fs.Stat(fsys, rel(dir)); err == nil && info.IsDir() {
			dirs = append(dirs, dir)
		}
	}
	var find func(p, name string)
	find = func(p, name string) {
		add(path.Join(p, name+".d"))
		n, err := ParseName(name)
		if err != nil {
			return
		}
		if n.Instance != "" {
			tpl, _ := TemplateName(name)
			find(p, tpl)
		}
		// "foo-bar-baz.service" also takes the drop-ins of "foo-bar-.service"
		// and then "foo-.service".
		prefix := n.Prefix
		chopped := false
		for {
			dash := strings.LastIndexByte(prefix, '-')
			if dash <= 0 {
				return
			}
			if dash+1 < len(prefix) || chopped {
				prefix = prefix[:dash+1]
				break
			}
			prefix, chopped = prefix[:dash], true
		}
		n.Prefix = prefix
		find(p, n.String())
	}
	for _, name := range names {
		for _, p := range l.Path {
			find(p, name)
		}
	}
	for _, p := range l.Path {
		add(path.Join(p, t.String()+".d"))
	}
	// Each file name counts once, from the first directory that has it.
	byName := map[string]string{}
	for _, dir := range dirs {
		entries, err := fs.ReadDir(fsys, rel(dir))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".conf") || e.IsDir() {
				continue
			}
			if _, ok := byName[e.Name()]; !ok {
				byName[e.Name()] = path.Join(dir, e.Name())
			}
		}
	}
	var files []string
	for _, f := range byName {
		if m, err := l.masked(f); err == nil && !m {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(path.Base(a), path.Base(b)) })
	return files
}

func (l *Loader) readFile(file string) ([]byte, error) {
	p, _, err := l.resolve(file)
	if err != nil {
		return nil, err
	}
	return fs.ReadFile(l.fsys(), rel(p))
}

var errNotFound = fmt.Errorf("unit not found")
