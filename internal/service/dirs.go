package service

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"sundial.dev/sundial/unit"
)

// ExecBases are the directories a service's own directories
// (RuntimeDirectory=, StateDirectory=, …) are made in, by type, as the
// manager's prefix[] in systemd, in the order of unit.ExecDirectoryKinds.
type ExecBases [len(unit.ExecDirectoryKinds)]string

// SystemBases are the system manager's: /run, /var/lib, /var/cache,
// /var/log and /etc.
func SystemBases() ExecBases {
	return ExecBases{"/run", "/var/lib", "/var/cache", "/var/log", "/etc"}
}

// UserBases are a user manager's, from its environment, as
// user_search_dirs… and manager_new set them: $XDG_RUNTIME_DIR,
// $XDG_STATE_HOME, $XDG_CACHE_HOME, $XDG_STATE_HOME/log and
// $XDG_CONFIG_HOME, with the XDG defaults below home.
func UserBases(getenv func(string) string, home string) ExecBases {
	dir := func(name, def string) string {
		if v := getenv(name); strings.HasPrefix(v, "/") {
			return v
		}
		return filepath.Join(home, def)
	}
	state := dir("XDG_STATE_HOME", ".local/state")
	return ExecBases{getenv("XDG_RUNTIME_DIR"), state, dir("XDG_CACHE_HOME", ".cache"), filepath.Join(state, "log"), dir("XDG_CONFIG_HOME", ".config")}
}

// The variables that tell a service its directories, by type.
var execDirectoryEnv = [len(unit.ExecDirectoryKinds)]string{"RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY", "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY"}

// DirectoryEnv returns the variables that tell a service where its
// directories are, as build_environment sets them: $STATE_DIRECTORY and
// the others, each the directories of its type joined by ':'.
func DirectoryEnv(s *unit.ServiceSection, bases ExecBases) []string {
	var env []string
	for t, kind := range unit.ExecDirectoryKinds {
		items := s.Confinement.Directories[kind]
		if len(items) == 0 || bases[t] == "" {
			continue
		}
		paths := make([]string, len(items))
		for i, item := range items {
			paths[i] = filepath.Join(bases[t], item.Path)
		}
		env = append(env, execDirectoryEnv[t]+"="+strings.Join(paths, ":"))
	}
	return env
}

// RemoveRuntimeDirectories removes the service's RuntimeDirectory=
// directories and their links, as exec_context_destroy_runtime_directory
// does when a service ends that keeps none (RuntimeDirectoryPreserve=no,
// or restart and it is not restarted).
func RemoveRuntimeDirectories(s *unit.ServiceSection, bases ExecBases) {
	base := bases[runtimeKind]
	if base == "" {
		return
	}
	for _, item := range s.Confinement.Directories[unit.ExecDirectoryKinds[runtimeKind]] {
		os.RemoveAll(filepath.Join(base, item.Path))
		for _, l := range item.Symlinks {
			os.Remove(filepath.Join(base, l))
		}
	}
}

// The kinds of directories that are told apart, by their index in
// unit.ExecDirectoryKinds.
const (
	runtimeKind       = 0
	configurationKind = 4
)

// An execDirs is what the helper makes of the service's directories,
// of one kind (its index in unit.ExecDirectoryKinds).
type execDirs struct {
	Type  int
	Base  string
	Mode  uint32
	Items []unit.ExecDirectory
	// Private: made below Base/private, for DynamicUser=, and linked
	// to from where they are named.
	Private bool
}

// execDirsOf returns the directories to make, by type.
func execDirsOf(s *unit.ServiceSection, bases ExecBases) []execDirs {
	var out []execDirs
	x := &s.Confinement
	for t, kind := range unit.ExecDirectoryKinds {
		if items := x.Directories[kind]; len(items) > 0 && bases[t] != "" {
			out = append(out, execDirs{t, bases[t], x.DirectoryMode(kind), items, x.DynamicUser && privateKind(t)})
		}
	}
	return out
}

// The exit statuses of the directories' set-up, by type.
var execDirectoryStatus = [len(unit.ExecDirectoryKinds)]int{233, 238, 239, 240, 241}

// setUpExecDirs makes the directories of one type, as
// setup_exec_directory: each with its parents (0755), then given its
// mode and, for the system manager (chown set), the user's ownership
// of its tree; an existing ConfigurationDirectory= keeps its own, with
// a warning if its mode differs. Then the links. warn receives the
// warnings.
func setUpExecDirs(d execDirs, chown bool, uid, gid int, warn func(string)) *setupError {
	fail := func(err error) *setupError {
		name := strings.ToUpper(unit.ExecDirectoryKinds[d.Type]) + "_DIRECTORY"
		return &setupError{execDirectoryStatus[d.Type], name, "Failed to set up special execution directory in " + d.Base, errnoOf(err)}
	}
	setting := unit.ExecDirectoryKinds[d.Type] + "Directory"
	for _, item := range d.Items {
		p := filepath.Join(d.Base, item.Path)
		if d.Private {
			var err error
			if p, err = privateDir(d.Base, item.Path); err != nil {
				return fail(err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
		err := syscall.Mkdir(p, d.Mode)
		if err == syscall.EEXIST && d.Type == configurationKind {
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				return fail(err)
			}
			if (uint32(st.Mode)^d.Mode)&0o7777 != 0 {
				warn(fmt.Sprintf("%s '%s' already exists but the mode is different. (File system: %o %sMode: %o)", setting, item.Path, st.Mode&0o7777, setting, d.Mode))
			}
			continue
		}
		if err != nil && err != syscall.EEXIST {
			return fail(err)
		}
		// The mode as asked for, whatever the umask: chmod_and_chown.
		if err := syscall.Chmod(p, d.Mode); err != nil {
			return fail(err)
		}
		if chown && d.Type != configurationKind {
			if err := chownTree(p, uid, gid); err != nil {
				return fail(err)
			}
		}
		if d.Private {
			if err := linkPrivate(d.Base, item.Path); err != nil {
				return fail(err)
			}
		}
	}
	for _, item := range d.Items {
		for _, l := range item.Symlinks {
			link := filepath.Join(d.Base, l)
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				return fail(err)
			}
			if err := os.Symlink(filepath.Join(d.Base, item.Path), link); err != nil && !os.IsExist(err) {
				return fail(err)
			}
		}
	}
	return nil
}

// chownTree gives the tree below p to uid and gid, as
// path_chown_recursive: not walked when p has them already.
func chownTree(p string, uid, gid int) error {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return err
	}
	if int(st.Uid) == uid && int(st.Gid) == gid {
		return nil
	}
	return filepath.WalkDir(p, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// writableDirs are the service's own directories but its configuration
// ones, which stay writable in its mount namespace.
func writableDirs(s *unit.ServiceSection, bases ExecBases) []string {
	var out []string
	for _, d := range execDirsOf(s, bases) {
		if d.Type != configurationKind {
			for _, item := range d.Items {
				if d.Private {
					out = append(out, filepath.Join(d.Base, "private", item.Path))
				} else {
					out = append(out, filepath.Join(d.Base, item.Path))
				}
			}
		}
	}
	return out
}

// makePrivateTmp makes the directories bound on /tmp and /var/tmp with
// PrivateTmp=, as setup_tmp_dirs: below a directory only root may
// enter, one all may write to, sticky.
func makePrivateTmp() ([2]string, error) {
	var dirs [2]string
	for i, base := range []string{"/tmp", "/var/tmp"} {
		d, err := os.MkdirTemp(base, "sundial-private-")
		if err == nil {
			dirs[i] = filepath.Join(d, "tmp")
			if err = os.Mkdir(dirs[i], 0o700); err == nil {
				err = os.Chmod(dirs[i], 0o777|os.ModeSticky)
			}
		}
		if err != nil {
			for _, d := range dirs[:i+1] {
				if d != "" {
					os.RemoveAll(filepath.Dir(d))
				}
			}
			return [2]string{}, err
		}
	}
	return dirs, nil
}
