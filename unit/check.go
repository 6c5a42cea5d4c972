package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VerifyOptions are the options of [Verify], those of systemd-analyze
// verify.
type VerifyOptions struct {
	Scope RuntimeScope

	// Recursive is --recursive-errors: "yes" fails on a mistake in any
	// unit loaded, "one" on one in the files named, and "no" on one in
	// the files named, loaded alone without the units they bring in.
	// Without it ("") mistakes that only make systemd ignore a setting do
	// not fail.
	Recursive string

	// LookupEnv reads $SYSTEMD_UNIT_PATH and the XDG directories; nil
	// reads the process's environment.
	LookupEnv func(string) (string, bool)

	// Man, if set, is run for each man: page of Documentation= ("foo(8)")
	// and returns man's exit status, or an error if man could not run.
	Man func(page string) (int, error)

	// Log receives each line of the messages, as systemd-analyze logs
	// them; a message with newlines is several lines.
	Log func(line string)
}

// Verify loads unit files as systemd-analyze verify does and logs what
// is wrong with them, as it does: each file's unit is loaded from the
// file's directory, then from the usual search path (or
// $SYSTEMD_UNIT_PATH, which when empty leaves the files' directories
// alone), with the units it brings in; then each unit that loaded is
// checked as it would be started. A file named "FILE:ALIAS" is checked
// under the alias's name. It reports whether all is well.
func Verify(files []string, o VerifyOptions) bool {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if log := o.Log; log != nil {
		// As systemd's log: a message with newlines is lines, less the
		// empty ones.
		o.Log = func(msg string) {
			for _, l := range strings.Split(msg, "\n") {
				if l != "" {
					log(l)
				}
			}
		}
	} else {
		o.Log = func(string) {}
	}
	files, cleanup, err := processAliases(files)
	defer cleanup()
	if err != nil {
		o.Log("Couldn't process aliases: " + strerror(err))
		return false
	}
	set := &Set{
		Loader:  &Loader{Scope: o.Scope, Path: verifySearchPath(files, o)},
		Shallow: o.Recursive == "no",
	}
	failed, warned := false, false
	var units []*Unit
	for _, f := range files {
		u, w := o.loadFile(set, f)
		warned = warned || w
		if u == nil {
			failed = true
			continue
		}
		units = append(units, u)
	}
	for _, u := range units {
		if msg := set.StartError(u); msg != "" {
			o.Log(fmt.Sprintf("%s: Failed to create %s/start: %s", u.Name, u.Name, msg))
			failed = true
		}
		if !verifySocket(set, u, o) {
			failed = true
		}
		if !verifyExecutables(u, o) {
			failed = true
		}
		if o.Man != nil && !verifyDocumentation(u, o) {
			failed = true
		}
	}
	return !failed && !warned
}

// loadFile loads the unit of a file named to verify, logging what
// systemd says of it and of the units it brings in: nil if it did not
// load. warned is set when a mistake of a file's lines counts as a
// failure (see Recursive).
func (o VerifyOptions) loadFile(set *Set, f string) (u *Unit, warned bool) {
	name, err := prepareFilename(f)
	if err != nil {
		o.Log(fmt.Sprintf("Failed to prepare filename %s: %s", f, strerror(err)))
		return nil, false
	}
	seen := len(set.Units())
	u, err = set.Load(name)
	if err != nil {
		o.Log(fmt.Sprintf("Failed to load unit file %s: %s", f, strerror(err)))
		return nil, false
	}
	for _, l := range set.Units()[seen:] {
		for _, d := range l.Diagnostics {
			o.Log(d.String())
			// Only the mistakes of a file's lines count, and with
			// "one" only those of the files named.
			if d.Pos.Line > 0 && d.Severity >= Warning && o.Recursive != "" && (o.Recursive != "one" || l == u) {
				warned = true
			}
		}
	}
	if msg := u.LoadStateMessage(); msg != "" {
		o.Log(msg)
		return nil, warned
	}
	return u, warned
}

// LoadFile loads the unit of a file as systemd-analyze condition
// --unit= does (verify_set_unit_path, verify_prepare_filename,
// manager_load_startable_unit_or_warn): from the file's directory first,
// logging through o.Log what systemd says of it. It returns nil where
// the unit did not load.
func LoadFile(file string, o VerifyOptions) *Unit {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	set := &Set{Loader: &Loader{Scope: o.Scope, Path: verifySearchPath([]string{file}, o)}}
	u, _ := o.loadFile(set, file)
	return u
}

// verifySearchPath is systemd's verify_set_unit_path: the directories of
// the files (or of the templates of instances named) come first.
func verifySearchPath(files []string, o VerifyOptions) []string {
	var dirs []string
	for _, f := range files {
		if d, ok := unitDirectory(f); ok {
			dirs = append(dirs, d)
		}
	}
	env, set := o.LookupEnv("SYSTEMD_UNIT_PATH")
	if len(dirs) > 0 {
		if env != "" || !set {
			env = strings.Join(dirs, ":") + ":" + env
		} else {
			env = strings.Join(dirs, ":")
		}
	}
	return SearchPath(o.Scope, Dirs{}, func(k string) string {
		if k == "SYSTEMD_UNIT_PATH" {
			return env
		}
		v, _ := o.LookupEnv(k)
		return v
	})
}

// unitDirectory is systemd's find_unit_directory: the directory of the
// file, or for an instance that does not exist, of its template.
func unitDirectory(f string) (string, bool) {
	abs, err := filepath.Abs(f)
	if err != nil {
		return "", false
	}
	if _, err := os.Stat(abs); err == nil {
		return filepath.Dir(abs), true
	}
	t, ok := TemplateName(filepath.Base(abs))
	if !ok {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(abs), t)); err != nil {
		return "", false
	}
	return filepath.Dir(abs), true
}

// prepareFilename is systemd's verify_prepare_filename: the name of the
// unit a file stands for, a template standing for its instance "i".
func prepareFilename(f string) (string, error) {
	name := filepath.Base(f)
	if f == "" || strings.HasSuffix(f, "/") || !ValidName(name, AnyName) {
		return "", eINVAL
	}
	return instanceName(name, "i"), nil
}

// processAliases reads the "FILE:ALIAS" arguments: the file is checked
// under the alias's name, from a copy in a temporary directory.
func processAliases(args []string) (files []string, cleanup func(), err error) {
	cleanup = func() {}
	var tmp string
	for _, a := range args {
		src, alias, ok := strings.Cut(a, ":")
		if !ok {
			files = append(files, a)
			continue
		}
		if tmp == "" {
			if tmp, err = os.MkdirTemp("", "sundial-verify-"); err != nil {
				return nil, cleanup, err
			}
			cleanup = func() { os.RemoveAll(tmp) }
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, cleanup, err
		}
		dst := filepath.Join(tmp, filepath.Base(alias))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return nil, cleanup, err
		}
		files = append(files, dst)
	}
	return files, cleanup, nil
}

// verifySocket is systemd's verify_socket: a socket's service must load.
func verifySocket(set *Set, u *Unit, o VerifyOptions) bool {
	if u.Type != Socket {
		return true
	}
	name := u.trigger
	if name == "" {
		n, _ := ParseName(u.Name)
		n.Type = Service
		if u.socketAccept {
			n.Instance = "internal"
		}
		name = n.String()
	}
	svc, err := set.Load(name)
	if err != nil {
		o.Log(fmt.Sprintf("%s: service unit for the socket cannot be loaded: %s", u.Name, strerror(err)))
		return false
	}
	if svc.LoadState != Loaded {
		o.Log(fmt.Sprintf("%s: service %s not loaded, socket cannot be started.", u.Name, svc.Name))
		return false
	}
	return true
}

// verifyExecutables is systemd's verify_executables: the first command
// of each Exec…= list must be executable, unless it may fail. (Newer
// systemd checks every command; 252 and 254 the first.)
func verifyExecutables(u *Unit, o VerifyOptions) bool {
	s := u.Service
	if s == nil {
		return true
	}
	ok := true
	for _, list := range [][]ExecCommand{s.ExecCondition, s.ExecStartPre, s.ExecStart, s.ExecStartPost, s.ExecReload, s.ExecStop, s.ExecStopPost} {
		if len(list) == 0 || list[0].Flags&ExecIgnoreFailure != 0 {
			continue
		}
		if _, err := FindExecutable(list[0].Path, nil); err != nil {
			o.Log(fmt.Sprintf("%s: Command %s is not executable: %s", u.Name, list[0].Path, strerror(err)))
			ok = false
		}
	}
	return ok
}

// verifyDocumentation runs man for each man: page of the unit, as
// systemd does, and reports those it cannot show.
func verifyDocumentation(u *Unit, o VerifyOptions) bool {
	ok := true
	for _, doc := range u.Unit.Documentation {
		page, found := strings.CutPrefix(doc, "man:")
		if !found {
			continue
		}
		code, err := o.Man(page)
		if err != nil {
			// As systemd's child, which logs and exits with status 1.
			o.Log("Failed to execute man: " + strerror(err))
			code = 1
		}
		if code != 0 {
			o.Log(fmt.Sprintf("%s: Command 'man %s' failed with code %d", u.Name, page, code))
			ok = false
		}
	}
	return ok
}
