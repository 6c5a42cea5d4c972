package unit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A Host is the machine unit specifiers describe, and the manager's own
// user and environment there: what systemd reads from the running system
// to expand %m, %b, %H, %l, %q, %v, %a, %o, %w, %W, %B, %M, %A, %u, %U,
// %g, %G, %h, %s, %T, %V and the directories of a user manager.
//
// The zero Host is the machine this program runs on: a field left empty
// (or nil) is read from the running system each time a specifier needs it,
// from the files systemd reads, with systemd's errors where they are
// missing or bad. A Host whose fields are all set does no I/O.
type Host struct {
	// MachineID is %m, 32 lowercase hexadecimal digits. Empty: read
	// from /etc/machine-id; a missing file makes %m fail with "Protocol
	// driver not attached" (EUNATCH), an empty one "No medium found".
	MachineID string

	// BootID is %b, 32 lowercase hexadecimal digits. Empty: read from
	// /proc/sys/kernel/random/boot_id.
	BootID string

	// Hostname is the kernel's host name, uname's nodename. %H is it,
	// %l is it up to the first dot; where it is unset ("(none)"),
	// $SYSTEMD_DEFAULT_HOSTNAME, os-release's DEFAULT_HOSTNAME or
	// "localhost" stands in. Empty: read with uname.
	Hostname string

	// KernelRelease is %v, uname's release. Empty: read with uname.
	KernelRelease string

	// Architecture is %a, in systemd's names: "x86-64", "x86", "arm64",
	// "arm", "riscv64", … Empty: uname's machine, renamed as systemd's
	// uname_architecture does.
	Architecture string

	// OSRelease holds the fields of os-release(5): %o is ID, %w
	// VERSION_ID, %W VARIANT_ID, %B BUILD_ID, %M IMAGE_ID and %A
	// IMAGE_VERSION; a missing field expands to nothing. Nil: read from
	// $SYSTEMD_OS_RELEASE, /etc/os-release or /usr/lib/os-release; if
	// none exists, those specifiers fail with EUNATCH.
	OSRelease map[string]string

	// MachineInfo holds the fields of machine-info(5): %q is
	// PRETTY_HOSTNAME, or %l where that is missing or empty. Nil: read
	// from /etc/machine-info.
	MachineInfo map[string]string

	// User is the user the manager runs as. It gives %u, %U, %g and %G
	// of a user manager (a system manager's are root's), and %h and %s
	// of both where the environment has no $HOME or $SHELL. Nil: the
	// user running this program, from /etc/passwd and /etc/group.
	User *User

	// Getenv reads the manager's environment: $HOME and $SHELL; the
	// XDG base directories a user manager's %t, %S, %C, %L, %E and %d
	// stand for; $TMPDIR, $TEMP and $TMP; $SYSTEMD_DEFAULT_HOSTNAME and
	// $SYSTEMD_OS_RELEASE. Nil: this program's environment.
	Getenv func(key string) string

	// TmpDir and VarTmpDir are %T and %V. Empty: as systemd's tmp_dir
	// and var_tmp_dir find them: the first of $TMPDIR, $TEMP and $TMP
	// that is set, and a normalized absolute path of a directory; else
	// /tmp (/var/tmp), if it is a directory.
	TmpDir, VarTmpDir string

	// ArgMax is the longest an Environment= value may grow to as its
	// specifiers are expanded: the manager's sysconf(_SC_ARG_MAX).
	// Zero: a quarter of the stack size limit, but at least 128 KiB,
	// as the C library computes it.
	ArgMax int

	// root is where the files above are read; nil means the real root
	// directory. Tests set it.
	root fs.FS
}

// A User is an account in the user database, as the manager sees its own.
//
// systemd does not ask the database about root (UID 0) and nobody (65534):
// their names are "root" and "nobody" whatever Name and Group say, and
// their home and shell are /root and /bin/bash (/bin/sh where there is no
// bash), / and /usr/sbin/nologin, as a nil [Host.User] has them.
type User struct {
	UID, GID int
	Name     string // the user's name; empty: shown as the UID
	Group    string // the name of group GID; empty: shown as the GID
	Home     string // the home directory, an absolute path; else %h fails
	Shell    string // the login shell, an absolute path; else %s fails
}

// The IDs and names systemd gives root and nobody without asking the user
// database, and its defaults (meson options: nobody-user, nobody-group,
// default-user-shell, nologin-path, fallback-hostname).
const (
	uidNobody       = 65534
	nobodyUser      = "nobody"
	nobodyGroup     = "nobody"
	rootShell       = "/bin/bash"
	rootShellLast   = "/bin/sh"
	nologinShell    = "/usr/sbin/nologin"
	fallbackHost    = "localhost"
	legacyArgMax    = 131072 // ARG_MAX, the least sysconf reports
	idFileBufferLen = 38     // a UUID, its newline and one byte more
)

// Resolved returns a copy of h with what it stands for read now, as far
// as it can be read: the specifiers of units loaded with it expand the
// same later, as systemd expands them once, when it loads a unit, and so
// does a unit parsed again from its [Snapshot]. What cannot be read is
// left to be read, and to fail, again.
func (h *Host) Resolved() *Host {
	r := *h
	if v, err := h.machineID(); err == nil {
		r.MachineID = v
	}
	if v, err := h.bootID(); err == nil {
		r.BootID = v
	}
	if u, err := uname(); err == nil && r.Hostname == "" {
		r.Hostname = u.nodename
	}
	if v, err := h.kernelRelease(); err == nil {
		r.KernelRelease = v
	}
	if v, err := h.architecture(); err == nil {
		r.Architecture = v
	}
	if v, err := h.osRelease(); err == nil {
		r.OSRelease = v
	}
	if r.MachineInfo == nil {
		// No file reads as no fields.
		r.MachineInfo = map[string]string{}
		if data, err := fs.ReadFile(h.fsys(), "etc/machine-info"); err == nil {
			if info, err := parseEnvFile(data); err == nil {
				r.MachineInfo = info
			}
		}
	}
	u := h.user()
	r.User = &u
	if r.Getenv == nil {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		r.Getenv = func(key string) string { return env[key] }
	}
	if v, err := h.tmpDir("/tmp"); err == nil && r.TmpDir == "" {
		r.TmpDir = v
	}
	if v, err := h.tmpDir("/var/tmp"); err == nil && r.VarTmpDir == "" {
		r.VarTmpDir = v
	}
	r.ArgMax = h.argMax()
	return &r
}

func (h *Host) fsys() fs.FS {
	if h.root != nil {
		return h.root
	}
	return os.DirFS("/")
}

func (h *Host) getenv(key string) string {
	if h.Getenv != nil {
		return h.Getenv(key)
	}
	return os.Getenv(key)
}

// fsErrno turns a file error into the errno systemd would see.
func fsErrno(err error) error {
	if err == nil {
		return nil
	}
	if e, n, ok := sysErrno(err); ok {
		if n != 0 {
			return n
		}
		return e // strerror prints its text
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return eNOENT
	case errors.Is(err, fs.ErrPermission):
		return eACCES
	}
	return err
}

// machineID returns %m, as specifier_machine_id.
func (h *Host) machineID() (string, error) {
	if h.MachineID != "" {
		return h.MachineID, nil
	}
	id, err := h.readID128("etc/machine-id", true)
	if err == eNOENT {
		// The file's absence means something is seriously wrong with the
		// installation; systemd says so with its own errno.
		return "", eUNATCH
	}
	return id, err
}

// bootID returns %b, as specifier_boot_id.
func (h *Host) bootID() (string, error) {
	if h.BootID != "" {
		return h.BootID, nil
	}
	id, err := h.readID128("proc/sys/kernel/random/boot_id", false)
	if err == eNOENT {
		if _, err := fs.Stat(h.fsys(), "proc/self"); err != nil {
			return "", eNOSYS // /proc is not mounted
		}
	}
	return id, err
}

// readID128 reads a 128-bit ID file as systemd's id128_read_fd, refusing
// the null ID: plain holds 32 hex digits (the machine ID), else a UUID
// (the boot ID); either may end in a newline.
func (h *Host) readID128(name string, plain bool) (string, error) {
	f, err := h.fsys().Open(name)
	if err != nil {
		return "", fsErrno(err)
	}
	defer f.Close()
	buf := make([]byte, idFileBufferLen)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fsErrno(err)
	}
	return parseID128(buf[:n], plain)
}

// parseID128 checks the contents of an ID file, with id128_read_fd's
// errors: ENOMEDIUM for nothing (or the null ID), ENOPKG for
// "uninitialized", EUCLEAN for anything else it cannot read.
func parseID128(b []byte, plain bool) (string, error) {
	switch n := len(b); n {
	case 0:
		return "", eNOMEDIUM
	case 13, 14:
		if string(b) == "uninitialized\n"[:n] {
			return "", eNOPKG
		}
		return "", eINVAL
	case 33, 37:
		if b[n-1] != '\n' {
			return "", eUCLEAN
		}
		b = b[:n-1]
	case 32, 36:
	default:
		return "", eUCLEAN
	}
	if (len(b) == 32) != plain {
		return "", eUCLEAN
	}
	var id [32]byte
	j := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '-' && len(b) == 36 && (i == 8 || i == 13 || i == 18 || i == 23) {
			continue
		}
		if unhex(c) < 0 || j == len(id) {
			return "", eUCLEAN
		}
		id[j] = hexDigits[unhex(c)]
		j++
	}
	if j != len(id) {
		return "", eUCLEAN
	}
	if string(id[:]) == strings.Repeat("0", 32) {
		return "", eNOMEDIUM
	}
	return string(id[:]), nil
}

// hostname returns %H (short false) or %l (short true), as systemd's
// gethostname_malloc and gethostname_short_malloc.
func (h *Host) hostname(short bool) (string, error) {
	s := h.Hostname
	if s == "" {
		u, err := uname()
		if err != nil {
			return "", err
		}
		s = u.nodename
	}
	if s == "" || s == "(none)" || short && s[0] == '.' {
		s = h.defaultHostname()
	}
	if short {
		s, _, _ = strings.Cut(s, ".")
	}
	return s, nil
}

// defaultHostname is systemd's get_default_hostname.
func (h *Host) defaultHostname() string {
	if e := h.getenv("SYSTEMD_DEFAULT_HOSTNAME"); e != "" && validHostname(e) {
		return e
	}
	if osr, err := h.osRelease(); err == nil && validHostname(osr["DEFAULT_HOSTNAME"]) {
		return osr["DEFAULT_HOSTNAME"]
	}
	return fallbackHost
}

// validHostname is systemd's hostname_is_valid without flags: labels of
// letters, digits and inner hyphens, joined by single dots, at most 64
// bytes.
func validHostname(s string) bool {
	if s == "" || s == ".host" || len(s) > 64 {
		return false
	}
	dot, hyphen := true, true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if dot || hyphen {
				return false
			}
			dot, hyphen = true, false
		case c == '-':
			if dot {
				return false
			}
			dot, hyphen = false, true
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			dot, hyphen = false, false
		default:
			return false
		}
	}
	return !dot && !hyphen
}

// prettyHostname returns %q, as specifier_pretty_hostname.
func (h *Host) prettyHostname() (string, error) {
	info := h.MachineInfo
	if info == nil {
		data, err := fs.ReadFile(h.fsys(), "etc/machine-info")
		if err == nil {
			info, err = parseEnvFile(data)
		}
		if err != nil {
			info = nil
		}
	}
	if p := info["PRETTY_HOSTNAME"]; p != "" {
		return p, nil
	}
	return h.hostname(true)
}

// kernelRelease returns %v.
func (h *Host) kernelRelease() (string, error) {
	if h.KernelRelease != "" {
		return h.KernelRelease, nil
	}
	u, err := uname()
	return u.release, err
}

// architecture returns %a.
func (h *Host) architecture() (string, error) {
	if h.Architecture != "" {
		return h.Architecture, nil
	}
	u, err := uname()
	if err != nil {
		return "", err
	}
	return architectureName(u.machine), nil
}

// architectureName names the architecture of uname's machine as systemd
// does. systemd knows only the names of its own build's architecture
// family and stops at others; these are all families' names, and an
// unknown machine keeps its own.
func architectureName(machine string) string {
	switch machine {
	case "aarch64":
		return "arm64"
	case "aarch64_be":
		return "arm64-be"
	case "armv8l", "armv7ml", "armv7l", "armv6l", "armv5tl", "armv5tel", "armv5tejl", "armv4tl", "armv4l":
		return "arm"
	case "armv8b", "armv7mb", "armv7b", "armv6b", "armv5tejb", "armv5teb", "armv5tb", "armv4tb", "armv4b":
		return "arm-be"
	case "arceb":
		return "arc-be"
	case "crisv32":
		return "cris"
	case "x86_64":
		return "x86-64"
	case "i686", "i586", "i486", "i386":
		return "x86"
	case "sh5":
		return "sh64"
	case "sh4a", "sh4", "sh3", "sh2a", "sh2":
		return "sh"
	case "riscv":
		if strconv.IntSize == 32 {
			return "riscv32"
		}
		return "riscv64"
	}
	// alpha, arc, ia64, parisc(64), loongarch64, m68k, mips(64), nios2,
	// ppc(64), ppcle, ppc64le, riscv32, riscv64, s390(x), sparc(64) and
	// tilegx keep their names, less the "le" systemd writes "-le".
	switch machine {
	case "ppc64le":
		return "ppc64-le"
	case "ppcle":
		return "ppc-le"
	}
	return machine
}

// osRelease returns the fields of os-release, as systemd's
// parse_os_release reads them.
func (h *Host) osRelease() (map[string]string, error) {
	if h.OSRelease != nil {
		return h.OSRelease, nil
	}
	names := []string{"etc/os-release", "usr/lib/os-release"}
	if e := h.getenv("SYSTEMD_OS_RELEASE"); e != "" {
		names = []string{rel(e)}
	}
	for _, name := range names {
		data, err := fs.ReadFile(h.fsys(), name)
		if err := fsErrno(err); err == eNOENT {
			continue
		} else if err != nil {
			return nil, err
		}
		return parseEnvFile(data)
	}
	return nil, eNOENT
}

// osReleaseField returns one field of os-release for a specifier, with
// specifier.c's error for a missing file.
func (h *Host) osReleaseField(key string) (string, error) {
	osr, err := h.osRelease()
	if err == eNOENT {
		return "", eUNATCH
	}
	return osr[key], err
}

// parseEnvFile reads KEY=VALUE lines as systemd's parse_env_file, the last
// assignment of a key winning (see envPairs).
func parseEnvFile(data []byte) (map[string]string, error) {
	m := map[string]string{}
	err := envPairs(data, func(k, v string) { m[k] = v })
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ReadEnvironmentFile reads the assignments of a file named by
// EnvironmentFile=, as systemd's load_env_file: KEY=VALUE lines, with
// shell-like quoting and backslash escapes, quoted values running over
// lines, and comments starting with '#' or ';'. A later assignment of a
// key replaces an earlier one in its place. A key or value that is not
// UTF-8, or a NUL byte, fails the whole file. Names are not checked here: systemd drops
// the assignments that are not valid when it runs the command.
func ReadEnvironmentFile(data []byte) ([]string, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		// As read_full_file, which is asked for no size.
		return nil, eBADMSG
	}
	var env []string
	err := envPairs(data, func(k, v string) { env = envReplace(env, k+"="+v) })
	if err != nil {
		return nil, err
	}
	return env, nil
}

// envPairs parses an environment file, handing each assignment to push:
// shell-like quoting and backslash escapes, comments starting with '#' or
// ';'. A key or value that is not UTF-8 fails the whole file with EINVAL.
func envPairs(data []byte, emit func(k, v string)) error {
	const (
		preKey = iota
		inKey
		preValue
		inValue
		valueEscape
		singleQuote
		doubleQuote
		doubleQuoteEscape
		comment
		commentEscape
	)
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i] // read as a C string
	}
	var key, value []byte
	keyEnd, valueEnd := -1, -1 // where trailing whitespace starts, or -1
	state := preKey
	push := func() error {
		k, v := key, value
		if keyEnd >= 0 {
			k = k[:keyEnd]
		}
		if state == inValue && valueEnd >= 0 {
			v = v[:valueEnd]
		}
		if !utf8.Valid(k) || !utf8.Valid(v) {
			return eINVAL
		}
		emit(string(k), string(v))
		key, value = key[:0], value[:0]
		return nil
	}
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	isNewline := func(c byte) bool { return c == '\n' || c == '\r' }
	for _, c := range data {
		switch state {
		case preKey:
			switch {
			case c == '#' || c == ';':
				state = comment
			case !isSpace(c):
				state, keyEnd = inKey, -1
				key = append(key, c)
			}
		case inKey:
			switch {
			case isNewline(c):
				state, key = preKey, key[:0]
			case c == '=':
				state, valueEnd = preValue, -1
			default:
				if !isSpace(c) {
					keyEnd = -1
				} else if keyEnd < 0 {
					keyEnd = len(key)
				}
				key = append(key, c)
			}
		case preValue:
			switch {
			case isNewline(c):
				if err := push(); err != nil {
					return err
				}
				state = preKey
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !isSpace(c):
				state = inValue
				value = append(value, c)
			}
		case inValue:
			switch {
			case isNewline(c):
				if err := push(); err != nil {
					return err
				}
				state = preKey
			case c == '\\':
				state, valueEnd = valueEscape, -1
			default:
				if !isSpace(c) {
					valueEnd = -1
				} else if valueEnd < 0 {
					valueEnd = len(value)
				}
				value = append(value, c)
			}
		case valueEscape:
			state = inValue
			if !isNewline(c) {
				value = append(value, c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				value = append(value, c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleQuoteEscape
			default:
				value = append(value, c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case strings.IndexByte("\"\\`$", c) >= 0:
				value = append(value, c)
			case c != '\n':
				value = append(value, '\\', c)
			}
		case comment:
			if c == '\\' {
				state = commentEscape
			} else if isNewline(c) {
				state = preKey
			}
		case commentEscape:
			// Since systemd 254 an escaped newline ends a comment
			// all the same.
			if isNewline(c) {
				state = preKey
			} else {
				state = comment
			}
		}
	}
	switch state {
	case preValue, inValue, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		if err := push(); err != nil {
			return err
		}
	}
	return nil
}

// user returns the manager's user; with no User set, the one running this
// program, with the answers systemd gives root and nobody without asking
// the user database.
func (h *Host) user() User {
	if h.User != nil {
		return *h.User
	}
	uid, gid := processIDs()
	u := User{UID: uid, GID: gid}
	switch u.UID {
	case 0:
		u.Name, u.Home, u.Shell = "root", "/root", rootShellLast
		if _, err := fs.Stat(h.fsys(), rel(rootShell)); err == nil {
			u.Shell = rootShell
		}
	case uidNobody:
		u.Name, u.Home, u.Shell = nobodyUser, "/", nologinShell
	default:
		if f := h.lookupDB("etc/passwd", u.UID); f != nil {
			u.Name = f[0]
			if len(f) > 5 {
				u.Home = f[5]
			}
			if len(f) > 6 {
				u.Shell = f[6]
			}
		} else {
			// No entry: %h and %s fail with ESRCH, unless the
			// environment has them.
			u.Home, u.Shell = noEntry, noEntry
		}
	}
	switch u.GID {
	case 0:
		u.Group = "root"
	case uidNobody:
		u.Group = nobodyGroup
	default:
		if f := h.lookupDB("etc/group", u.GID); f != nil {
			u.Group = f[0]
		}
	}
	return u
}

// processIDs returns the real user and group IDs of this process, which
// systemd's getuid and getgid give; tests replace it.
var processIDs = func() (uid, gid int) { return os.Getuid(), os.Getgid() }

// noEntry marks a home or shell the user database does not have. It
// cannot be a path, having no slash.
const noEntry = "\x00"

// lookupDB returns the fields of the first line of a colon-separated
// database (passwd, group) whose third field is id, or nil.
func (h *Host) lookupDB(name string, id int) []string {
	f, err := h.fsys().Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	want := strconv.Itoa(id)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue // comments and NIS compat entries
		}
		fields := strings.Split(line, ":")
		if len(fields) > 2 && fields[2] == want && fields[0] != "" {
			return fields
		}
	}
	return nil
}

// homeDir returns %h, as systemd's get_home_dir.
func (h *Host) homeDir() (string, error) {
	return h.userPath("HOME", func(u User) string { return u.Home })
}

// shell returns %s, as systemd's get_shell.
func (h *Host) shell() (string, error) {
	return h.userPath("SHELL", func(u User) string { return u.Shell })
}

func (h *Host) userPath(env string, field func(User) string) (string, error) {
	if e := h.getenv(env); validPath(e) && strings.HasPrefix(e, "/") {
		return simplifyPath(e), nil
	}
	p := field(h.user())
	switch {
	case p == noEntry:
		return "", eSRCH
	case !validPath(p) || !strings.HasPrefix(p, "/"):
		return "", eINVAL
	}
	return simplifyPath(p), nil
}

// tmpDir returns %T (def "/tmp") or %V (def "/var/tmp"), as systemd's
// tmp_dir and var_tmp_dir.
func (h *Host) tmpDir(def string) (string, error) {
	var firstErr error
	for _, name := range []string{"TMPDIR", "TEMP", "TMP"} {
		e := h.getenv(name)
		if e == "" {
			// secure_getenv tells unset from empty; Getenv cannot, and
			// an empty value would fail as not absolute.
			continue
		}
		var err error
		switch {
		case !strings.HasPrefix(e, "/"):
			err = eNOTDIR
		case !pathIsNormalized(e):
			err = ePERM
		default:
			err = h.isDir(e)
		}
		if err == nil {
			return e, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if err := h.isDir(def); err != nil {
		if firstErr != nil {
			return "", firstErr
		}
		return "", err
	}
	return def, nil
}

// isDir is nil if p is a directory, following links.
func (h *Host) isDir(p string) error {
	info, err := fs.Stat(h.fsys(), rel(p))
	if err != nil {
		return fsErrno(err)
	}
	if !info.IsDir() {
		return eNOTDIR
	}
	return nil
}

// argMax returns the limit unit_env_printf expands values to.
func (h *Host) argMax() int {
	if h.ArgMax > 0 {
		return h.ArgMax
	}
	return sysconfArgMax()
}

// pathIsNormalized is systemd's path_is_normalized of any path (where
// normalizedPath takes a simplified one): valid, without "..", "." or "//".
func pathIsNormalized(p string) bool {
	return validPath(p) && normalizedPath(p) && !strings.HasPrefix(p, "./") &&
		!strings.HasSuffix(p, "/.") && !strings.Contains(p, "/./") && !strings.Contains(p, "//")
}

// joinPath is systemd's path_join of two parts: a slash between them
// unless one is there already; an empty part is left out.
func joinPath(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case strings.HasSuffix(a, "/") || strings.HasPrefix(b, "/"):
		return a + b
	}
	return a + "/" + b
}
