package unit

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// The lengths expanded values may grow to (fileio.h, limits.h,
// unit-name.h).
const (
	longLineMax = 1 << 20 // LONG_LINE_MAX: unit_full_printf
	pathMax     = 4096    // PATH_MAX, the NUL included: unit_path_printf allows one less
	nameMax     = 255     // NAME_MAX
)

// A specifier returns what one specifier stands for in the context x.
type specifier[T any] func(x T) (string, error)

// A specifierTable holds the specifiers of one expansion, by letter.
type specifierTable[T any] [128]specifier[T]

// expandSpecifiers replaces the specifiers in text as systemd's
// specifier_printf: "%%" is '%'; a letter or digit after '%' must be in
// the table, or the expansion fails with EBADSLT; any other byte after
// '%', and a '%' at the very end, stay as they are. The result may not
// grow longer than maxLen (ENAMETOOLONG), which is checked as it grows,
// so that a value too long fails before a bad specifier after it.
func expandSpecifiers[T any](text string, maxLen int, table *specifierTable[T], x T) (string, error) {
	i := strings.IndexByte(text, '%')
	if i < 0 {
		if len(text) > maxLen {
			return "", eNAMETOOLONG
		}
		return text, nil
	}
	if i > maxLen {
		return "", eNAMETOOLONG
	}
	b := make([]byte, i, len(text)+32)
	copy(b, text)
	for ; i < len(text); i++ {
		c := text[i]
		switch {
		case c != '%':
			b = append(b, c)
		case i+1 == len(text):
			b = append(b, '%')
		default:
			i++
			c = text[i]
			var fn specifier[T]
			if c < 128 {
				fn = table[c]
			}
			switch {
			case c == '%':
				b = append(b, '%')
			case fn != nil:
				s, err := fn(x)
				if err != nil {
					return "", err
				}
				b = append(b, s...)
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
				return "", eBADSLT
			default:
				b = append(b, '%', c)
			}
		}
		if len(b) > maxLen {
			return "", eNAMETOOLONG
		}
	}
	return string(b), nil
}

// unitSpecifiers expands the specifiers of a unit being loaded, as the
// functions of systemd's unit-printf.c.
type unitSpecifiers struct {
	u      *Unit
	scope  RuntimeScope
	host   *Host
	fsys   fs.FS // where %y follows the fragment's links
	argMax int   // the host's ARG_MAX
}

// specifiers returns the expander of u's specifiers, for the loader's
// scope and host. It reads u's Name, Instance, Type, FragmentPath and,
// for %c and %r, the Slice= assignments read so far, when it expands.
func (l *Loader) specifiers(u *Unit) unitSpecifiers {
	l.setup()
	return unitSpecifiers{u: u, scope: l.scope, host: l.host, fsys: l.fsys, argMax: l.argMax}
}

// full is unit_full_printf: all specifiers, to LONG_LINE_MAX bytes.
func (x *unitSpecifiers) full(s string) (string, error) {
	return expandSpecifiers(s, longLineMax, &fullSpecifiers, x)
}

// path is unit_path_printf: all specifiers, to PATH_MAX-1 bytes.
func (x *unitSpecifiers) path(s string) (string, error) {
	return expandSpecifiers(s, pathMax-1, &fullSpecifiers, x)
}

// name is unit_name_printf: the specifiers that are safe in unit names
// (no %I, %P, %J, %f, %y, directories or the home), to UNIT_NAME_MAX bytes.
func (x *unitSpecifiers) name(s string) (string, error) {
	return expandSpecifiers(s, MaxNameLength, &nameSpecifiers, x)
}

// env is unit_env_printf: all specifiers, to the manager's ARG_MAX.
func (x *unitSpecifiers) env(s string) (string, error) {
	return expandSpecifiers(s, x.argMax, &fullSpecifiers, x)
}

type unitSpecifier = specifier[*unitSpecifiers]

// nameSpecifiers are unit_name_printf's.
var nameSpecifiers = specifierTable[*unitSpecifiers]{
	'i': (*unitSpecifiers).instance,
	'j': (*unitSpecifiers).lastComponent,
	'n': (*unitSpecifiers).id,
	'N': (*unitSpecifiers).prefixAndInstance,
	'p': (*unitSpecifiers).prefix,

	// COMMON_SYSTEM_SPECIFIERS
	'a': hostSpecifier((*Host).architecture),
	'A': osReleaseSpecifier("IMAGE_VERSION"),
	'b': hostSpecifier((*Host).bootID),
	'B': osReleaseSpecifier("BUILD_ID"),
	'H': func(x *unitSpecifiers) (string, error) { return x.host.hostname(false) },
	'l': func(x *unitSpecifiers) (string, error) { return x.host.hostname(true) },
	'q': hostSpecifier((*Host).prettyHostname),
	'm': hostSpecifier((*Host).machineID),
	'M': osReleaseSpecifier("IMAGE_ID"),
	'o': osReleaseSpecifier("ID"),
	'v': hostSpecifier((*Host).kernelRelease),
	'w': osReleaseSpecifier("VERSION_ID"),
	'W': osReleaseSpecifier("VARIANT_ID"),

	// COMMON_CREDS_SPECIFIERS
	'g': credsSpecifier(func(u User) string { return idName(u.GID, u.Group, nobodyGroup) }),
	'G': credsSpecifier(func(u User) string { return strconv.Itoa(u.GID) }),
	'u': credsSpecifier(func(u User) string { return idName(u.UID, u.Name, nobodyUser) }),
	'U': credsSpecifier(func(u User) string { return strconv.Itoa(u.UID) }),
}

// fullSpecifiers are unit_full_printf's, and so unit_path_printf's and
// unit_env_printf's.
var fullSpecifiers = func() specifierTable[*unitSpecifiers] {
	t := nameSpecifiers
	for c, fn := range map[byte]unitSpecifier{
		'I': (*unitSpecifiers).instanceUnescaped,
		'J': (*unitSpecifiers).lastComponentUnescaped,
		'P': (*unitSpecifiers).prefixUnescaped,

		'f': (*unitSpecifiers).filename,
		'y': (*unitSpecifiers).realPath,
		'Y': (*unitSpecifiers).realDirectory,

		'c': (*unitSpecifiers).cgroup,
		'r': (*unitSpecifiers).cgroupSlice,
		'R': (*unitSpecifiers).cgroupRoot,

		'C': dirSpecifier(cacheDir),
		'd': (*unitSpecifiers).credentialsDir,
		'E': dirSpecifier(configDir),
		'L': dirSpecifier(logsDir),
		'S': dirSpecifier(stateDir),
		't': dirSpecifier(runtimeDir),

		'h': hostSpecifier((*Host).homeDir),
		's': hostSpecifier((*Host).shell),

		// COMMON_TMP_SPECIFIERS
		'T': func(x *unitSpecifiers) (string, error) {
			if x.host.TmpDir != "" {
				return x.host.TmpDir, nil
			}
			return x.host.tmpDir("/tmp")
		},
		'V': func(x *unitSpecifiers) (string, error) {
			if x.host.VarTmpDir != "" {
				return x.host.VarTmpDir, nil
			}
			return x.host.tmpDir("/var/tmp")
		},
	} {
		t[c] = fn
	}
	return t
}()

func hostSpecifier(f func(*Host) (string, error)) unitSpecifier {
	return func(x *unitSpecifiers) (string, error) { return f(x.host) }
}

func osReleaseSpecifier(key string) unitSpecifier {
	return func(x *unitSpecifiers) (string, error) { return x.host.osReleaseField(key) }
}

// credsSpecifier gives f of the manager's user: root for the system
// manager, whoever runs it for a user manager.
func credsSpecifier(f func(User) string) unitSpecifier {
	return func(x *unitSpecifiers) (string, error) {
		if x.scope == SystemScope {
			return f(User{Name: "root", Group: "root"}), nil
		}
		return f(x.host.user()), nil
	}
}

// idName names a user or group ID as systemd's uid_to_name and
// gid_to_name: root and nobody without asking, else the database's name,
// else the number.
func idName(id int, name, nobody string) string {
	switch {
	case id == 0:
		return "root"
	case id == uidNobody:
		return nobody
	case name != "":
		return name
	}
	return strconv.Itoa(id)
}

// id is %n, the unit's name.
func (x *unitSpecifiers) id() (string, error) { return x.u.Name, nil }

// instance is %i.
func (x *unitSpecifiers) instance() (string, error) { return x.u.Instance, nil }

// instanceUnescaped is %I.
func (x *unitSpecifiers) instanceUnescaped() (string, error) {
	return unescapeNameC(x.u.Instance)
}

// prefixAndInstance is %N, the name less its type suffix.
func (x *unitSpecifiers) prefixAndInstance() (string, error) {
	if !ValidName(x.u.Name, AnyName) {
		return "", eINVAL
	}
	return x.u.Name[:strings.LastIndexByte(x.u.Name, '.')], nil
}

// prefix is %p, the name up to its '@', or less its suffix.
func (x *unitSpecifiers) prefix() (string, error) {
	return namePrefix(x.u.Name)
}

func namePrefix(name string) (string, error) {
	if !ValidName(name, AnyName) {
		return "", eINVAL
	}
	if at := strings.IndexByte(name, '@'); at >= 0 {
		return name[:at], nil
	}
	return name[:strings.LastIndexByte(name, '.')], nil
}

// prefixUnescaped is %P.
func (x *unitSpecifiers) prefixUnescaped() (string, error) {
	p, err := x.prefix()
	if err != nil {
		return "", err
	}
	return unescapeNameC(p)
}

// lastComponent is %j, the prefix after its last dash.
func (x *unitSpecifiers) lastComponent() (string, error) {
	p, err := x.prefix()
	if err != nil {
		return "", err
	}
	return p[strings.LastIndexByte(p, '-')+1:], nil
}

// lastComponentUnescaped is %J. Where the prefix ends in a dash ("foo-"
// or "-"), systemd 254 hands unit_name_unescape a null pointer and aborts;
// here it is empty.
func (x *unitSpecifiers) lastComponentUnescaped() (string, error) {
	j, err := x.lastComponent()
	if err != nil {
		return "", err
	}
	return unescapeNameC(j)
}

// filename is %f: the instance, or else the prefix, unescaped as a path.
func (x *unitSpecifiers) filename() (string, error) {
	if x.u.Instance != "" {
		return unescapePathC(x.u.Instance)
	}
	p, err := namePrefix(x.u.Name)
	if err != nil {
		return "", err
	}
	if hashedName(x.u.Name) {
		// Hashed to fit, the name cannot give the path back.
		return "", eNAMETOOLONG
	}
	return unescapePathC(p)
}

// hashedName reports whether name is a plain name ending, before its
// suffix, in '_' and 16 lowercase hex digits, as systemd's
// unit_name_is_hashed: the form it gives names too long for their path.
func hashedName(name string) bool {
	if !ValidName(name, Plain) {
		return false
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 17 || name[dot-17] != '_' {
		return false
	}
	for _, c := range []byte(name[dot-16 : dot]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// unescapeNameC is systemd's unit_name_unescape: '-' is '/' and "\xNN"
// the byte NN, or EINVAL. The result is a C string and ends at a NUL:
// "a\x00b" is "a".
func unescapeNameC(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '-':
			b = append(b, '/')
		case '\\':
			if i+3 >= len(s) || s[i+1] != 'x' || unhex(s[i+2]) < 0 || unhex(s[i+3]) < 0 {
				return "", eINVAL
			}
			b = append(b, byte(unhex(s[i+2])<<4|unhex(s[i+3])))
			i += 3
		default:
			b = append(b, c)
		}
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

// unescapePathC is systemd's unit_name_path_unescape: "-" is the root,
// anything else unescapes to a normalized relative path, made absolute.
func unescapePathC(s string) (string, error) {
	switch s {
	case "":
		return "", eINVAL
	case "-":
		return "/", nil
	}
	w, err := unescapeNameC(s)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(w, "/") || strings.HasSuffix(w, "/") || !pathIsNormalized("/"+w) {
		return "", eINVAL
	}
	return "/" + w, nil
}

// realPath is %y, the fragment's path with every link resolved.
func (x *unitSpecifiers) realPath() (string, error) {
	if x.u.FragmentPath == "" {
		return "", eNOENT
	}
	return chase(x.fsys, x.u.FragmentPath)
}

// realDirectory is %Y, the directory of %y.
func (x *unitSpecifiers) realDirectory() (string, error) {
	p, err := x.realPath()
	if err != nil {
		return "", err
	}
	return path.Dir(p), nil
}

// chaseMax bounds the links chase follows (CHASE_MAX).
const chaseMax = 32

// chase resolves the links of every component of the absolute path p
// within fsys, as systemd's chase without flags: every component must
// exist, ".." goes up from what is resolved so far, an absolute link
// starts again at the root.
func chase(fsys fs.FS, p string) (string, error) {
	done, todo := "/", p
	follows := 0
	for {
		todo = strings.TrimLeft(todo, "/")
		if todo == "" {
			return done, nil
		}
		first, rest, _ := strings.Cut(todo, "/")
		todo = rest
		switch first {
		case ".":
			continue
		case "..":
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, first)
		info, err := fs.Lstat(fsys, rel(next))
		if err != nil {
			return "", fsErrno(err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if follows++; follows >= chaseMax {
				return "", eLOOP
			}
			target, err := fs.ReadLink(fsys, rel(next))
			if err != nil {
				return "", fsErrno(err)
			}
			if target == "" {
				return "", eINVAL
			}
			if strings.HasPrefix(target, "/") {
				done = "/"
			}
			todo = target + "/" + todo
			continue
		}
		if !info.IsDir() && strings.Trim(todo, "/") != "" {
			return "", eNOTDIR
		}
		done = next
	}
}

// The directories of unit-printf.c's specifier_special_directory, in the
// order of ExecDirectoryKinds.
const (
	runtimeDir = iota
	stateDir
	cacheDir
	logsDir
	configDir
)

func dirSpecifier(which int) unitSpecifier {
	return func(x *unitSpecifiers) (string, error) { return x.dir(which) }
}

// dir is a manager's directory as manager_setup_prefix finds it: fixed
// for the system manager; from the XDG base directory variables, or under
// the home directory, for a user manager.
func (x *unitSpecifiers) dir(which int) (string, error) {
	if x.scope == SystemScope {
		return [...]string{"/run", "/var/lib", "/var/cache", "/var/log", "/etc"}[which], nil
	}
	h := x.host
	fromHome := func(env, suffix string) (string, error) {
		if e := h.getenv(env); strings.HasPrefix(e, "/") {
			return e, nil
		}
		home, err := h.homeDir()
		if err != nil {
			return "", err
		}
		return joinPath(home, suffix), nil
	}
	switch which {
	case runtimeDir:
		if e := h.getenv("XDG_RUNTIME_DIR"); strings.HasPrefix(e, "/") {
			return e, nil
		}
		// Without it a user manager does not start.
		return "", eNXIO
	case stateDir:
		return fromHome("XDG_STATE_HOME", ".local/state")
	case cacheDir:
		return fromHome("XDG_CACHE_HOME", ".cache")
	case logsDir:
		d, err := fromHome("XDG_STATE_HOME", ".local/state")
		return joinPath(d, "log"), err
	default:
		return fromHome("XDG_CONFIG_HOME", ".config")
	}
}

// credentialsDir is %d, where the unit's credentials are put.
func (x *unitSpecifiers) credentialsDir() (string, error) {
	d, err := x.dir(runtimeDir)
	if err != nil {
		return "", err
	}
	return d + "/credentials/" + x.u.Name, nil
}

// The deprecated control group specifiers depend on the order of the
// settings: Slice= counts only once read, and the default slice only after
// loading. sundial keeps no control groups; their root is empty, as under
// systemd-analyze verify.

// deprecated notes a deprecated specifier's use, as systemd logs it.
func (x *unitSpecifiers) deprecated(c byte) {
	x.u.unitLog(Warning, fmt.Sprintf("Specifier '%%%c' used in unit configuration, which is deprecated. Please update your unit file, as it does not work as intended.", c))
}

// cgroup is %c, the unit's control group as unit_default_cgroup_path
// gives it while loading.
func (x *unitSpecifiers) cgroup() (string, error) {
	x.deprecated('c')
	if x.u.Name == "-.slice" {
		return "", nil // the root
	}
	var slicePath string
	if s := x.slice(); s != "" && s != "-.slice" {
		var err error
		if slicePath, err = cgroupSliceToPath(s); err != nil {
			return "", err
		}
	}
	esc, err := cgroupEscape(x.u.Name)
	if err != nil {
		return "", err
	}
	return joinPath(joinPath("/", slicePath), esc), nil
}

// cgroupSlice is %r, the control group of the unit's slice. The slice is
// not loaded yet while the unit is, so its own slice is unknown: a slice
// "a-b.slice" is "/a-b.slice", not "/a.slice/a-b.slice".
func (x *unitSpecifiers) cgroupSlice() (string, error) {
	x.deprecated('r')
	s := x.slice()
	if s == "" || s == "-.slice" {
		return "", nil // the root
	}
	esc, err := cgroupEscape(s)
	if err != nil {
		return "", err
	}
	return joinPath("/", esc), nil
}

// cgroupRoot is %R, the manager's control group root: empty.
func (x *unitSpecifiers) cgroupRoot() (string, error) {
	x.deprecated('R')
	return "", nil
}

// slice returns the slice the Slice= settings read so far put the unit
// in, as config_parse_unit_slice and unit_set_slice accept them, or "".
func (x *unitSpecifiers) slice() string {
	switch x.u.Type {
	case Service, Socket, Mount, Swap, Scope:
	default:
		return "" // no control group context, or a slice itself
	}
	section := strings.ToUpper(typeNames[x.u.Type][:1]) + typeNames[x.u.Type][1:]
	as := x.u.Assignments
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].Section != section || as[i].Key != "Slice" {
			continue
		}
		k, err := x.name(as[i].Value)
		if err == nil && ValidName(k, Plain|Instance) && strings.HasSuffix(k, ".slice") {
			return k
		}
	}
	return ""
}

// cgroupSliceToPath is systemd's cg_slice_to_path: "a-b-c.slice" is
// "a.slice/a-b.slice/a-b-c.slice".
func cgroupSliceToPath(slice string) (string, error) {
	if !ValidName(slice, Plain) || !strings.HasSuffix(slice, ".slice") {
		return "", eINVAL
	}
	p := strings.TrimSuffix(slice, ".slice")
	if strings.HasPrefix(p, "-") {
		return "", eINVAL
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '-' {
			continue
		}
		if i+1 == len(p) || p[i+1] == '-' {
			return "", eINVAL
		}
		n := p[:i] + ".slice"
		if !ValidName(n, Plain) {
			return "", eINVAL
		}
		esc, err := cgroupEscape(n)
		if err != nil {
			return "", err
		}
		b.WriteString(esc + "/")
	}
	esc, err := cgroupEscape(slice)
	if err != nil {
		return "", err
	}
	b.WriteString(esc)
	return b.String(), nil
}

// cgroupControllers are the names of systemd's control group controllers,
// which a cgroup's name may not start with, followed by a dot.
var cgroupControllers = []string{
	"cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids",
	"bpf-firewall", "bpf-devices", "bpf-foreign", "bpf-socket-bind",
	"bpf-restrict-network-interfaces",
}

// cgroupEscape is systemd's cg_escape: a name that could be taken for
// one of the kernel's files gets a '_' in front.
func cgroupEscape(s string) (string, error) {
	if !cgroupNeedsEscape(s) {
		return s, nil
	}
	if !validFilename("_" + s) {
		return "", eINVAL
	}
	return "_" + s, nil
}

// cgroupNeedsEscape is cg_needs_escape: whether a name would clash with
// the kernel's files in a control group, or is no file name.
func cgroupNeedsEscape(s string) bool {
	needs := !validFilename(s) || s[0] == '_' || s[0] == '.' ||
		s == "notify_on_release" || s == "release_agent" || s == "tasks" ||
		strings.HasPrefix(s, "cgroup.")
	for _, c := range cgroupControllers {
		if strings.HasPrefix(s, c+".") {
			needs = true
		}
	}
	return needs
}

// validFilename is systemd's filename_is_valid.
func validFilename(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= nameMax && !strings.Contains(s, "/")
}
