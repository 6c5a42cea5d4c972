package manager

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

func (b backend) UnitFileList(ctx context.Context) ([]api.UnitFile, error) {
	var files []api.UnitFile
	err := b.ask(ctx, func() { files = b.m.unitFileList() })
	return files, err
}

func (b backend) ConfigDirs(ctx context.Context) (api.ConfigDirs, error) {
	var dirs api.ConfigDirs
	err := b.ask(ctx, func() { dirs = api.ConfigDirs{Config: b.m.configDir(false), Runtime: b.m.configDir(true)} })
	return dirs, err
}

// unitFileList is every unit file of the search path with its state,
// the first of each name, as unit_file_get_list in shared/install.c
// finds them: in the directories themselves, not in their .wants/ and
// .d/ directories.
func (m *Manager) unitFileList() []api.UnitFile {
	var files []api.UnitFile
	seen := map[string]bool{}
	for _, dir := range m.UnitPath {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, d := range entries {
			name := d.Name()
			if d.IsDir() || seen[name] {
				continue
			}
			if _, err := unit.ParseName(name); err != nil {
				continue
			}
			seen[name] = true
			p := filepath.Join(dir, name)
			files = append(files, api.UnitFile{Path: p, State: m.unitFileState(dir, name, p)})
		}
	}
	return files
}

// unitFileState is the state of the unit file p, as
// unit_file_lookup_state gives it: masked for a link to /dev/null or an
// empty file, alias for a link to another name in the search path,
// linked for a link to a file outside it, or the state of its
// [Install] section and the links to it.
func (m *Manager) unitFileState(dir, name, p string) string {
	runtime := strings.HasPrefix(dir, "/run/") || m.RuntimeDir != "" && dir == m.RuntimeDir
	info, err := os.Stat(p)
	if err != nil {
		return "bad"
	}
	target, linkErr := os.Readlink(p)
	if target == "/dev/null" || info.Mode().IsRegular() && info.Size() == 0 {
		if runtime {
			return "masked-runtime"
		}
		return "masked"
	}
	if linkErr == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		if filepath.Base(target) != name && m.inSearchPath(target) {
			return "alias"
		}
		if !m.inSearchPath(target) {
			if runtime {
				return "linked-runtime"
			}
			return "linked"
		}
	}
	if n, _ := unit.ParseName(name); n.Template {
		return m.templateState(name)
	}
	u, err := m.unitLoader().Load(name)
	if err != nil || u.LoadState == unit.NotFound {
		return "bad"
	}
	return m.fileState(u)
}

// templateState is the state of a template's file: enabled when a
// link to one of its instances is in a .wants/ directory, else as its
// [Install] section says, read as the instance "i", as systemd-analyze
// verify reads a template.
func (m *Manager) templateState(name string) string {
	prefix, suffix, _ := strings.Cut(name, "@")
	u, err := m.unitLoader().Load(prefix + "@i" + suffix)
	if err != nil || u.LoadState == unit.NotFound {
		return "bad"
	}
	for _, l := range m.linksMatching(func(n string) bool {
		return strings.HasPrefix(n, prefix+"@") && strings.HasSuffix(n, suffix)
	}) {
		if target, err := os.Readlink(l); err == nil && filepath.Base(target) == name {
			return "enabled"
		}
	}
	if !installable(u) {
		return "static"
	}
	return "disabled"
}

// aliasedByLink reports whether a link of another name in a directory of
// the search path leads to the unit's file, as find_symlinks_in_scope
// finds the names a unit file is known under.
func (m *Manager) aliasedByLink(u *unit.Unit) bool {
	if u.FragmentPath == "" {
		return false
	}
	for _, dir := range m.UnitPath {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, d := range entries {
			if d.Type()&os.ModeSymlink == 0 || d.Name() == u.Name {
				continue
			}
			target, err := os.Readlink(filepath.Join(dir, d.Name()))
			if err == nil && target != "/dev/null" && filepath.Base(target) == filepath.Base(u.FragmentPath) {
				return true
			}
		}
	}
	return false
}

// linkedFile reports whether p is a unit file outside the search path,
// or a link in it to one.
func (m *Manager) linkedFile(p string) bool {
	if p == "" {
		return false
	}
	if target, err := os.Readlink(p); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	return !m.inSearchPath(p)
}

// inSearchPath reports whether a file is in one of the unit directories.
func (m *Manager) inSearchPath(p string) bool {
	for _, dir := range m.UnitPath {
		if filepath.Dir(p) == dir {
			return true
		}
	}
	return false
}

// noRuntimeDir is the error of --runtime where the search path has no
// runtime directory.
const noRuntimeDir = "The daemon's search path has no runtime directory (it was given with --unit-path=); use the configuration directory."

// configDir is where a change to unit files is made: the runtime
// directory for --runtime, else the configuration directory. "" when
// the search path has no runtime directory.
func (m *Manager) configDir(runtime bool) string {
	if !runtime {
		return m.ConfigDir
	}
	if m.RuntimeDir == "" || !slices.Contains(m.UnitPath, m.RuntimeDir) {
		return ""
	}
	return m.RuntimeDir
}

// unitFileOp does mask, unmask, link and enable of a path, then reloads
// as systemctl does after a change, and reports whether verb was one of
// them.
func (m *Manager) unitFileOp(req api.JobRequest, r *api.JobResult) bool {
	isPath := strings.Contains(r.Unit, "/")
	switch {
	case req.Verb == "revert":
		if _, err := unit.ParseName(r.Unit); err != nil {
			r.Error, r.Code = err.Error(), "invalid"
		} else if err := m.revertUnit(r); err != nil {
			r.Error, r.Code = err.Error(), "io"
		} else {
			m.reload(context.Background())
		}
		return true
	case req.Verb == "mask", req.Verb == "unmask", req.Verb == "link", req.Verb == "enable" && isPath:
	default:
		return false
	}
	dir := m.configDir(req.Runtime)
	if dir == "" {
		r.Error, r.Code = noRuntimeDir, "invalid"
		return true
	}
	var err error
	switch req.Verb {
	case "mask":
		err = m.maskUnit(dir, r)
	case "unmask":
		err = m.unmaskUnit(dir, r)
	default:
		err = m.linkUnit(dir, r)
		if err == nil && r.Error == "" && req.Verb == "enable" {
			m.reload(context.Background())
			name := filepath.Base(r.Unit)
			r.Unit = name
			e, gerr := m.get(name)
			if gerr != nil {
				err = gerr
				break
			}
			var more []string
			more, err = m.enable(e.u(), dir)
			r.Changes = append(r.Changes, more...)
			if !installable(e.u()) && len(more) == 0 {
				r.Notes = append(r.Notes, noInstallInfo)
			}
		}
	}
	if err != nil {
		r.Error, r.Code = err.Error(), "io"
	}
	if r.Error == "" {
		m.reload(context.Background())
	}
	return true
}

// maskUnit links a unit's name to /dev/null in dir, as unit_file_mask;
// a file of the name there already is an error, a mask is left as it is.
func (m *Manager) maskUnit(dir string, r *api.JobResult) error {
	return createLink(filepath.Join(dir, r.Unit), "/dev/null", r)
}

// createLink makes the link p to target, as create_symlink: a link there
// already to target is left as it is, another file there is an error.
func createLink(p, target string, r *api.JobResult) error {
	if t, err := os.Readlink(p); err == nil && t == target {
		return nil
	}
	if _, err := os.Lstat(p); err == nil {
		r.Error, r.Code = fmt.Sprintf("File %s already exists.", p), "exists"
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(target, p); err != nil {
		return err
	}
	r.Changes = append(r.Changes, fmt.Sprintf("Created symlink %s → %s.", p, target))
	return nil
}

// unmaskUnit removes a unit's mask from dir, as unit_file_unmask.
func (m *Manager) unmaskUnit(dir string, r *api.JobResult) error {
	p := filepath.Join(dir, r.Unit)
	info, err := os.Lstat(p)
	if err != nil {
		return nil
	}
	target, _ := os.Readlink(p)
	if target != "/dev/null" && !(info.Mode().IsRegular() && info.Size() == 0) {
		return nil
	}
	if err := os.Remove(p); err != nil {
		return err
	}
	r.Changes = append(r.Changes, fmt.Sprintf("Removed \"%s\".", p))
	return nil
}

// linkUnit links a unit file outside the search path into dir, as
// unit_file_link.
func (m *Manager) linkUnit(dir string, r *api.JobResult) error {
	file := r.Unit
	if !filepath.IsAbs(file) {
		r.Error, r.Code = "Invalid argument", "invalid"
		return nil
	}
	name := filepath.Base(file)
	if _, err := unit.ParseName(name); err != nil {
		r.Error, r.Code = err.Error(), "invalid"
		return nil
	}
	if info, err := os.Stat(file); err != nil || info.IsDir() {
		r.Error, r.Code = fmt.Sprintf("Unit file %s does not exist.", file), "not-found"
		return nil
	}
	if m.inSearchPath(file) {
		r.Error, r.Code = fmt.Sprintf("File %s is under the systemd unit hierarchy already.", file), "invalid"
		return nil
	}
	return createLink(filepath.Join(dir, name), file, r)
}

// configDirs are the directories of the search path the user's
// configuration is in, which revert empties: the configuration and
// runtime directories, and the transient one.
func (m *Manager) configDirs() []string {
	var dirs []string
	for _, d := range []string{m.ConfigDir, m.RuntimeDir, m.TransientDir} {
		if d != "" && slices.Contains(m.UnitPath, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// vendorDir reports whether a directory of the search path is one of
// the vendor's, as path_is_vendor_or_generator: below /usr or /lib, or
// the built-in units' directory, which stands for systemd's own.
func (m *Manager) vendorDir(dir string) bool {
	return strings.HasPrefix(dir, "/usr/") || strings.HasPrefix(dir, "/lib/") || dir == m.builtinDir()
}

// revertUnit puts a unit back as the vendor made it, as
// unit_file_revert: its drop-in directories in the configuration
// directories go, and where the vendor has a file of its own, the
// configuration's files of its name; then the links to what went.
func (m *Manager) revertUnit(r *api.JobResult) error {
	config := m.configDirs()
	var todo []string
	vendor := false
	for _, dir := range m.UnitPath {
		p := filepath.Join(dir, r.Unit)
		if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() && m.vendorDir(dir) {
			vendor = true
		}
		if info, err := os.Lstat(p + ".d"); err == nil && info.IsDir() && slices.Contains(config, dir) {
			todo = append(todo, p+".d")
		}
	}
	if vendor {
		for _, dir := range config {
			p := filepath.Join(dir, r.Unit)
			if info, err := os.Lstat(p); err == nil && (info.Mode().IsRegular() || info.Mode()&os.ModeSymlink != 0) {
				todo = append(todo, p)
			}
		}
	}
	for _, p := range todo {
		entries, _ := os.ReadDir(p)
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		for _, e := range entries {
			r.Changes = append(r.Changes, fmt.Sprintf("Removed \"%s\".", filepath.Join(p, e.Name())))
		}
		r.Changes = append(r.Changes, fmt.Sprintf("Removed \"%s\".", p))
	}
	// The links in the configuration that led to what went, as
	// remove_marked_symlinks.
	for _, l := range m.linksMatching(func(string) bool { return true }) {
		if target, err := os.Readlink(l); err == nil && slices.Contains(todo, target) && slices.Contains(config, filepath.Dir(filepath.Dir(l))) {
			if err := os.Remove(l); err != nil {
				return err
			}
			r.Changes = append(r.Changes, fmt.Sprintf("Removed \"%s\".", l))
		}
	}
	return nil
}
