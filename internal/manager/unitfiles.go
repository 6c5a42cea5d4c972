package manager

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

func (b backend) UnitFileList(ctx context.Context) ([]api.UnitFile, error) {
	var files []api.UnitFile
	err := b.ask(ctx, func() { files = b.m.unitFileList() })
	return files, err
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
	runtime := strings.HasPrefix(dir, "/run/") || os.Getenv("XDG_RUNTIME_DIR") != "" && strings.HasPrefix(dir, os.Getenv("XDG_RUNTIME_DIR")+"/")
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

// inSearchPath reports whether a file is in one of the unit directories.
func (m *Manager) inSearchPath(p string) bool {
	for _, dir := range m.UnitPath {
		if filepath.Dir(p) == dir {
			return true
		}
	}
	return false
}
