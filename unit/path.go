package unit

import (
	"path"
	"strings"
)

// A RuntimeScope selects the manager units are loaded for.
type RuntimeScope int

const (
	SystemScope RuntimeScope = iota // the system manager
	UserScope                       // a user's manager
)

// String returns "system" or "user", as systemd names the scopes.
func (s RuntimeScope) String() string {
	if s == UserScope {
		return "user"
	}
	return "system"
}

// Dirs are the directories of sundial's own that take part in the search
// path, besides systemd's.
type Dirs struct {
	// Transient holds the unit files of transient units; it takes the
	// place of systemd's /run/systemd/transient.
	Transient string

	// State holds the unit files and links sundial writes itself, as
	// for enable where /etc cannot be written; it ranks just above
	// /etc/systemd/system (or the user's configuration directory).
	State string
}

// SearchPath returns the directories units are loaded from, highest
// priority first, as systemd's lookup_paths_init without generators:
// /etc, /run, /usr/local/lib, /usr/lib (and the XDG directories for the
// user manager). getenv reads the environment: $SYSTEMD_UNIT_PATH replaces
// the search path, or, ending in ':', comes first. Relative directories
// are left out, and duplicates are dropped.
func SearchPath(scope RuntimeScope, dirs Dirs, getenv func(string) string) []string {
	var paths []string
	appendDefaults := true
	if e := getenv("SYSTEMD_UNIT_PATH"); e != "" {
		if strings.HasSuffix(e, ":") {
			e = strings.TrimSuffix(e, ":")
		} else {
			appendDefaults = false
		}
		paths = append(paths, strings.Split(e, ":")...)
	}
	if appendDefaults {
		switch scope {
		case SystemScope:
			paths = append(paths,
				"/etc/systemd/system.control",
				"/run/systemd/system.control",
				dirs.Transient,
				dirs.State,
				"/etc/systemd/system",
				"/run/systemd/system",
				"/usr/local/lib/systemd/system",
				"/usr/lib/systemd/system",
				"/lib/systemd/system",
			)
		case UserScope:
			paths = append(paths, userDirs(dirs, getenv)...)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		if !path.IsAbs(p) {
			continue
		}
		p = path.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// userDirs returns the search path of a user manager.
func userDirs(dirs Dirs, getenv func(string) string) []string {
	home := getenv("HOME")
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		if home == "" {
			return ""
		}
		return home + def
	}
	configHome := env("XDG_CONFIG_HOME", "/.config")
	dataHome := env("XDG_DATA_HOME", "/.local/share")
	runtime := getenv("XDG_RUNTIME_DIR")
	list := func(name, def string) []string {
		v := getenv(name)
		if v == "" {
			v = def
		}
		return strings.Split(v, ":")
	}
	join := func(base, p string) string {
		if base == "" {
			return ""
		}
		return base + p
	}
	var res []string
	res = append(res,
		join(configHome, "/systemd/user.control"),
		join(runtime, "/systemd/user.control"),
		dirs.Transient,
		dirs.State,
		join(configHome, "/systemd/user"),
	)
	for _, d := range list("XDG_CONFIG_DIRS", "/etc/xdg") {
		res = append(res, join(d, "/systemd/user"))
	}
	res = append(res,
		"/etc/systemd/user",
		join(runtime, "/systemd/user"),
		"/run/systemd/user",
		join(dataHome, "/systemd/user"),
	)
	for _, d := range list("XDG_DATA_DIRS", "/usr/local/share:/usr/share") {
		res = append(res, join(d, "/systemd/user"))
	}
	return append(res,
		"/usr/local/lib/systemd/user",
		"/usr/local/share/systemd/user",
		"/usr/lib/systemd/user",
		"/usr/share/systemd/user",
	)
}
