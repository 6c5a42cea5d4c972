package unit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// envFunc reads an environment from a map.
func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testHost is a machine whose every specifier is fixed.
func testHost() *Host {
	return &Host{
		MachineID:     "0123456789abcdef0123456789abcdef",
		BootID:        "fedcba9876543210fedcba9876543210",
		Hostname:      "vm.example.com",
		KernelRelease: "6.1.0-18-amd64",
		Architecture:  "x86-64",
		OSRelease:     map[string]string{"ID": "debian", "VERSION_ID": "12", "VARIANT_ID": "server", "BUILD_ID": "2024", "IMAGE_ID": "img", "IMAGE_VERSION": "1.2"},
		MachineInfo:   map[string]string{"PRETTY_HOSTNAME": "Lab VM"},
		User:          &User{UID: 1000, GID: 100, Name: "alice", Group: "users", Home: "/home/alice", Shell: "/bin/zsh"},
		Getenv:        envFunc(map[string]string{"HOME": "/home/alice", "XDG_RUNTIME_DIR": "/run/user/1000"}),
		TmpDir:        "/tmp",
		VarTmpDir:     "/var/tmp",
		ArgMax:        2 << 20,
		root:          fstest.MapFS{},
	}
}

// testFS holds the fragments of the test units; /lib is a link to
// /usr/lib, as where /usr is merged.
var testFS = fstest.MapFS{
	"lib": link("usr/lib"),
	`usr/lib/systemd/system/foo-a\x2db@.service`: file("[Unit]\n"),
	"usr/lib/systemd/system/dev-sda1.service":    file("[Unit]\n"),
	"etc/systemd/system/loop.service":            link("loop.service"),
	"etc/systemd/system/dangling.service":        link("/nowhere/x.service"),
}

// testExpander returns the expander of a unit called name, from fragment.
func testExpander(scope RuntimeScope, h *Host, name, fragment string) (*unitSpecifiers, *Unit) {
	n, err := ParseName(name)
	if err != nil {
		panic(err)
	}
	u := &Unit{Name: name, Type: n.Type, Instance: n.Instance, FragmentPath: fragment}
	l := &Loader{FS: testFS, Scope: scope, Host: h}
	x := l.specifiers(u)
	return &x, u
}

// result formats what an expansion gave: the text, or "!" and the error
// as systemd prints it.
func result(s string, err error) string {
	if err != nil {
		if _, ok := errors.AsType[errno](err); !ok {
			return "!not an errno: " + err.Error()
		}
		return "!" + strerror(err)
	}
	return s
}

// The specifiers of an instance of a template with escapes in its prefix
// and instance, for either manager. Those of unit_name_printf are marked.
var specifierTests = []struct {
	c            byte
	name         bool // in unit_name_printf's set
	system, user string
}{
	{'a', true, "x86-64", ""},
	{'A', true, "1.2", ""},
	{'b', true, "fedcba9876543210fedcba9876543210", ""},
	{'B', true, "2024", ""},
	{'c', false, `/foo-a\x2db@x\x2dy-z.service`, ""},
	{'C', false, "/var/cache", "/home/alice/.cache"},
	{'d', false, `/run/credentials/foo-a\x2db@x\x2dy-z.service`, `/run/user/1000/credentials/foo-a\x2db@x\x2dy-z.service`},
	{'E', false, "/etc", "/home/alice/.config"},
	{'f', false, "/x-y/z", ""},
	{'g', true, "root", "users"},
	{'G', true, "0", "100"},
	{'h', false, "/home/alice", ""}, // the manager's $HOME, whichever the scope
	{'H', true, "vm.example.com", ""},
	{'i', true, `x\x2dy-z`, ""},
	{'I', false, "x-y/z", ""},
	{'j', true, `a\x2db`, ""},
	{'J', false, "a-b", ""},
	{'l', true, "vm", ""},
	{'L', false, "/var/log", "/home/alice/.local/state/log"},
	{'m', true, "0123456789abcdef0123456789abcdef", ""},
	{'M', true, "img", ""},
	{'n', true, `foo-a\x2db@x\x2dy-z.service`, ""},
	{'N', true, `foo-a\x2db@x\x2dy-z`, ""},
	{'o', true, "debian", ""},
	{'p', true, `foo-a\x2db`, ""},
	{'P', false, "foo/a-b", ""},
	{'q', true, "Lab VM", ""},
	{'r', false, "", ""},
	{'R', false, "", ""},
	{'s', false, "/bin/zsh", ""}, // no $SHELL: the user's
	{'S', false, "/var/lib", "/home/alice/.local/state"},
	{'t', false, "/run", "/run/user/1000"},
	{'T', false, "/tmp", ""},
	{'u', true, "root", "alice"},
	{'U', true, "0", "1000"},
	{'v', true, "6.1.0-18-amd64", ""},
	{'V', false, "/var/tmp", ""},
	{'w', true, "12", ""},
	{'W', true, "server", ""},
	{'y', false, `/usr/lib/systemd/system/foo-a\x2db@.service`, ""},
	{'Y', false, "/usr/lib/systemd/system", ""},
	{'%', false, "%", ""},
}

func TestSpecifiers(t *testing.T) {
	seen := map[byte]bool{}
	for _, tt := range specifierTests {
		seen[tt.c] = true
		for _, scope := range []RuntimeScope{SystemScope, UserScope} {
			want := tt.system
			if scope == UserScope && tt.user != "" {
				want = tt.user
			}
			x, _ := testExpander(scope, testHost(), `foo-a\x2db@x\x2dy-z.service`, `/lib/systemd/system/foo-a\x2db@.service`)
			in := "%" + string(tt.c)
			for _, f := range []struct {
				name string
				fn   func(string) (string, error)
			}{{"full", x.full}, {"path", x.path}, {"env", x.env}, {"name", x.name}} {
				w := want
				if f.name == "name" && !tt.name && tt.c != '%' {
					w = "!Invalid slot"
				}
				if got := result(f.fn(in)); got != w {
					t.Errorf("%s %s(%q) = %q, want %q", scope, f.name, in, got, w)
				}
			}
		}
	}
	// Every other letter and digit is unknown to all four.
	x, _ := testExpander(SystemScope, testHost(), "a.service", "")
	for c := byte('0'); c <= 'z'; c++ {
		if seen[c] || !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			continue
		}
		for _, fn := range []func(string) (string, error){x.full, x.path, x.env, x.name} {
			if got := result(fn("x%" + string(c))); got != "!Invalid slot" {
				t.Errorf("%%%c = %q, want Invalid slot", c, got)
			}
		}
	}
}

// TestSpecifierNames covers the parts of names: plain names, escapes,
// and the errors of unescaping.
func TestSpecifierNames(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"dev-sda1.service", "%p|%P|%j|%J|%f|%i|%I|%N", "dev-sda1|dev/sda1|sda1|sda1|/dev/sda1|||dev-sda1"},
		{"foo.service", "%p|%P|%j|%J|%f", "foo|foo|foo|foo|/foo"},
		{"-.service", "%p|%P|%f", "-|/|/"},
		{"-.service", "[%j][%J]", "[][]"},           // systemd 254 aborts on %J here
		{"foo-.service", "[%j][%J]", "[][]"},        // and here
		{"foo-.service", "%f", "!Invalid argument"}, // "foo/": a trailing slash
		{"a@-.service", "%i|%I|%f", "-|/|/"},
		{`a@x\x00y.service`, "%I|%f", "x|/x"}, // a NUL ends a C string
		{`a@\x00y.service`, "[%I]|%f", "[]|/"},
		{`a@x\x2fy.service`, "%I|%f", "x/y|/x/y"},
		{`a@\x2fx.service`, "%I", "/x"},
		{`a@\x2fx.service`, "%f", "!Invalid argument"}, // a leading slash
		{"a@x--y.service", "%I", "x//y"},
		{"a@x--y.service", "%f", "!Invalid argument"}, // not normalized
		{"a@..-x.service", "%f", "!Invalid argument"},
		{"a@.-x.service", "%f", "!Invalid argument"},
		{`a@x\x2.service`, "%i", `x\x2`},
		{`a@x\x2.service`, "%I", "!Invalid argument"},
		{`a@x\y.service`, "%I", "!Invalid argument"},
		{`a@x\xg0.service`, "%I", "!Invalid argument"},
		{`a@x\XA0.service`, "%I", "!Invalid argument"},
		{`a@\x41\x4a.service`, "%I", "AJ"},
		{`a@\x4A.service`, "%I", "J"},
		{`p\x2dq-r\x2ds@i.timer`, "%p|%P|%j|%J", `p\x2dq-r\x2ds|p-q/r-s|r\x2ds|r-s`},
		{"foo_0123456789abcdef.service", "%f", "!File name too long"}, // hashed
		{"foo_0123456789abcdeF.service", "%f", "/foo_0123456789abcdeF"},
		{"foo_0123456789abcdef.service", "%p", "foo_0123456789abcdef"},
		{"x@foo_0123456789abcdef.service", "%f", "/foo_0123456789abcdef"},
		{"a:b.c_d.mount", "%p|%N|%f", "a:b.c_d|a:b.c_d|/a:b.c_d"},
	}
	for _, tt := range tests {
		x, _ := testExpander(SystemScope, testHost(), tt.name, "")
		if got := result(x.full(tt.in)); got != tt.want {
			t.Errorf("%s: full(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestSpecifierSyntax covers what is not a specifier, and the limits.
func TestSpecifierSyntax(t *testing.T) {
	x, _ := testExpander(SystemScope, testHost(), "a@b.service", "")
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		fn, in, want string
	}{
		{"full", "", ""},
		{"full", "plain", "plain"},
		{"full", "%", "%"},
		{"full", "a%", "a%"},
		{"full", "%%", "%"},
		{"full", "%%%", "%%"},
		{"full", "%%i", "%i"},
		{"full", "%%%i", "%b"},
		{"full", "%!", "%!"},
		{"full", "%-x", "%-x"},
		{"full", "% x", "% x"},
		{"full", "%\x00", "%\x00"},
		{"full", "%é", "%é"}, // a byte at a time
		{"full", "%/%i/", "%/b/"},
		{"full", "%Z", "!Invalid slot"},
		{"full", "%0", "!Invalid slot"},
		{"full", "%9", "!Invalid slot"},
		{"full", "%i%Z", "!Invalid slot"},
		{"name", "%I", "!Invalid slot"},
		{"name", "%i%%", "b%"},

		// The limits: the result may be as long as the limit.
		{"name", long(256), long(256)},
		{"name", long(257), "!File name too long"},
		{"name", long(250) + "%n", "!File name too long"},
		{"name", long(245) + "%n", long(245) + "a@b.service"},
		{"name", "%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n%n", "!File name too long"},
		{"path", long(4095), long(4095)},
		{"path", long(4096), "!File name too long"},
		{"path", long(4094) + "%", long(4094) + "%"},
		{"path", long(4095) + "%", "!File name too long"},
		{"path", long(4094) + "%%", long(4094) + "%"},
		{"full", long(1 << 20), long(1 << 20)},
		{"full", long(1<<20 + 1), "!File name too long"},
		{"env", long(2 << 20), long(2 << 20)},
		{"env", long(2<<20 + 1), "!File name too long"},
		// Too long is found before a bad specifier after it, not after.
		{"name", long(257) + "%Z", "!File name too long"},
		{"name", long(10) + "%Z" + long(300), "!Invalid slot"},
		// The limit is checked as the text grows, so an empty
		// expansion at the limit is no more than the limit.
		{"name", long(256) + "%r", "!Invalid slot"},
		{"path", long(4095) + "%r", long(4095)},
	}
	fns := map[string]func(string) (string, error){"full": x.full, "path": x.path, "env": x.env, "name": x.name}
	for _, tt := range tests {
		if got := result(fns[tt.fn](tt.in)); got != tt.want {
			t.Errorf("%s(%.40q…) = %.60q…, want %.60q…", tt.fn, tt.in, got, tt.want)
		}
	}
}

// TestSpecifierUserDirs covers the directories of a user manager from the
// XDG variables, the home directory, and where both are missing.
func TestSpecifierUserDirs(t *testing.T) {
	tests := []struct {
		env  map[string]string
		user *User
		in   string
		want string
	}{
		{map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/r"}, nil, "%t|%S|%C|%L|%E|%d", "/r|/h/.local/state|/h/.cache|/h/.local/state/log|/h/.config|/r/credentials/a.service"},
		{map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/r/", "XDG_STATE_HOME": "/s/", "XDG_CACHE_HOME": "/c", "XDG_CONFIG_HOME": "/e//"}, nil, "%t|%S|%C|%L|%E|%d", "/r/|/s/|/c|/s/log|/e//|/r//credentials/a.service"},
		// Relative values do not count.
		{map[string]string{"HOME": "/h", "XDG_RUNTIME_DIR": "/r", "XDG_STATE_HOME": "s", "XDG_CONFIG_HOME": "~/e"}, nil, "%S|%E", "/h/.local/state|/h/.config"},
		// The home is simplified; the root is no exception.
		{map[string]string{"HOME": "//h/./i/", "XDG_RUNTIME_DIR": "/r"}, nil, "%h|%E", "/h/i|/h/i/.config"},
		{map[string]string{"HOME": "/", "XDG_RUNTIME_DIR": "/r"}, nil, "%h|%C", "/|/.cache"},
		{map[string]string{"HOME": "/a/../b", "XDG_RUNTIME_DIR": "/r"}, nil, "%h", "/a/../b"},
		// No $HOME: the user's; no runtime directory: no user manager.
		{map[string]string{"XDG_RUNTIME_DIR": "/r"}, &User{UID: 7, Home: "/home/u/"}, "%h|%S", "/home/u|/home/u/.local/state"},
		{map[string]string{"HOME": "rel", "XDG_RUNTIME_DIR": "/r"}, &User{UID: 7, Home: "/home/u"}, "%h", "/home/u"},
		{map[string]string{"HOME": "/h"}, nil, "%t", "!No such device or address"},
		{map[string]string{"HOME": "/h"}, nil, "%d", "!No such device or address"},
		{map[string]string{"XDG_RUNTIME_DIR": "/r"}, &User{UID: 7, Home: "home"}, "%h", "!Invalid argument"},
		{map[string]string{"XDG_RUNTIME_DIR": "/r"}, &User{UID: 7, Home: ""}, "%E", "!Invalid argument"},
		{map[string]string{"XDG_RUNTIME_DIR": "/r"}, &User{UID: 7, Home: noEntry}, "%C", "!No such process"},
		{map[string]string{"XDG_RUNTIME_DIR": "/r", "XDG_CACHE_HOME": "/c"}, &User{UID: 7, Home: noEntry}, "%C", "/c"},
		{map[string]string{"SHELL": "/bin//fish"}, &User{UID: 7, Shell: "/bin/sh"}, "%s", "/bin/fish"},
		{map[string]string{"SHELL": "fish"}, &User{UID: 7, Shell: "/bin/sh"}, "%s", "/bin/sh"},
		{map[string]string{"HOME": "/" + strings.Repeat("x", 256)}, &User{UID: 7, Home: "/h"}, "%h", "/h"},
	}
	for _, tt := range tests {
		h := testHost()
		h.Getenv = envFunc(tt.env)
		if tt.user != nil {
			h.User = tt.user
		}
		x, _ := testExpander(UserScope, h, "a.service", "")
		if got := result(x.full(tt.in)); got != tt.want {
			t.Errorf("%v %+v: full(%q) = %q, want %q", tt.env, tt.user, tt.in, got, tt.want)
		}
	}
	// The system manager's directories are fixed, its home is not.
	h := testHost()
	h.Getenv = envFunc(nil)
	x, _ := testExpander(SystemScope, h, "a.service", "")
	if got, want := result(x.full("%t|%S|%C|%L|%E|%d|%h|%s")), "/run|/var/lib|/var/cache|/var/log|/etc|/run/credentials/a.service|/home/alice|/bin/zsh"; got != want {
		t.Errorf("system full = %q, want %q", got, want)
	}
}

// TestSpecifierCreds covers the names systemd gives IDs without asking.
func TestSpecifierCreds(t *testing.T) {
	tests := []struct {
		user User
		want string
	}{
		{User{UID: 1000, GID: 100, Name: "alice", Group: "users"}, "alice 1000 users 100"},
		{User{UID: 1000, GID: 100}, "1000 1000 100 100"},
		{User{UID: 0, GID: 0, Name: "toor", Group: "wheel"}, "root 0 root 0"},
		{User{UID: 65534, GID: 65534, Name: "nfsnobody", Group: "nogroup"}, "nobody 65534 nobody 65534"},
	}
	for _, tt := range tests {
		h := testHost()
		h.User = &tt.user
		x, _ := testExpander(UserScope, h, "a.service", "")
		if got := result(x.name("%u %U %g %G")); got != tt.want {
			t.Errorf("%+v: %%u %%U %%g %%G = %q, want %q", tt.user, got, tt.want)
		}
		x, _ = testExpander(SystemScope, h, "a.service", "")
		if got := result(x.name("%u %U %g %G")); got != "root 0 root 0" {
			t.Errorf("%+v: system %%u %%U %%g %%G = %q, want root's", tt.user, got)
		}
	}
}

// TestSpecifierFragment covers %y and %Y: links resolved, and a unit
// without a fragment.
func TestSpecifierFragment(t *testing.T) {
	tests := []struct {
		fragment, want string
	}{
		{`/lib/systemd/system/foo-a\x2db@.service`, `/usr/lib/systemd/system/foo-a\x2db@.service|/usr/lib/systemd/system`},
		{"/usr/lib/systemd/system/dev-sda1.service", "/usr/lib/systemd/system/dev-sda1.service|/usr/lib/systemd/system"},
		{"//lib/./systemd/../systemd/system//dev-sda1.service", "/usr/lib/systemd/system/dev-sda1.service|/usr/lib/systemd/system"},
		{"", "!No such file or directory"},
		{"/etc/systemd/system/missing.service", "!No such file or directory"},
		{"/etc/systemd/system/dangling.service", "!No such file or directory"},
		{"/etc/systemd/system/loop.service", "!Too many levels of symbolic links"},
		{"/usr/lib/systemd/system/dev-sda1.service/x", "!Not a directory"},
	}
	for _, tt := range tests {
		x, _ := testExpander(SystemScope, testHost(), "a.service", tt.fragment)
		if got := result(x.full("%y|%Y")); got != tt.want {
			t.Errorf("%q: %%y|%%Y = %q, want %q", tt.fragment, got, tt.want)
		}
		if got := result(x.name("%y")); got != "!Invalid slot" {
			t.Errorf("%q: name(%%y) = %q, want Invalid slot", tt.fragment, got)
		}
	}
}

// TestSpecifierCgroup covers the deprecated %c, %r and %R: what they give
// depends on the Slice= settings read before them, and each use is
// warned about.
func TestSpecifierCgroup(t *testing.T) {
	tests := []struct {
		name   string
		slices []string // the Slice= values read so far
		want   string
	}{
		{"a.service", nil, "/a.service||"},
		{"a.service", []string{"foo-bar.slice"}, "/foo.slice/foo-bar.slice/a.service|/foo-bar.slice|"},
		{"a.service", []string{"x.slice", "%p-y.slice"}, "/a.slice/a-y.slice/a.service|/a-y.slice|"},
		// Slice= values systemd ignores do not count.
		{"a.service", []string{"x.slice", "y.service", "%I.slice", "z@.slice", ""}, "/x.slice/a.service|/x.slice|"},
		{"a.service", []string{"-.slice"}, "/a.service||"},
		// A slice systemd accepts whose path it cannot make.
		{"a.service", []string{"x--y.slice"}, "!Invalid argument"},
		{"a.service", []string{"x@y.slice"}, "!Invalid argument"},
		// Names the kernel might mistake get an underscore.
		{"cpu.service", nil, "/_cpu.service||"},
		{"_a.service", []string{"tasks-x.slice"}, "/tasks.slice/tasks-x.slice/__a.service|/tasks-x.slice|"},
		{"cgroup.x.service", []string{"memory.x.slice"}, "/_memory.x.slice/_cgroup.x.service|/_memory.x.slice|"},
		// Slices, and units without control groups, are in none.
		{"a.slice", []string{"b.slice"}, "/a.slice||"},
		{"-.slice", nil, "||"},
		{"a.timer", []string{"b.slice"}, "/a.timer||"},
	}
	for _, tt := range tests {
		x, u := testExpander(SystemScope, testHost(), tt.name, "")
		section := strings.ToUpper(u.Type.String()[:1]) + u.Type.String()[1:]
		for _, s := range tt.slices {
			u.Assignments = append(u.Assignments, Assignment{Section: section, Key: "Slice", Value: s})
		}
		u.Assignments = append(u.Assignments, Assignment{Section: "Unit", Key: "Slice", Value: "elsewhere.slice"})
		got := result(x.full("%c|%r|%R"))
		if got != tt.want {
			t.Errorf("%s %q: %%c|%%r|%%R = %q, want %q", tt.name, tt.slices, got, tt.want)
		}
		if got := result(x.name("%c")); got != "!Invalid slot" {
			t.Errorf("name(%%c) = %q, want Invalid slot", got)
		}
	}
	x, u := testExpander(SystemScope, testHost(), "a.service", "")
	x.full("%c %R")
	x.env("%r")
	var got []string
	for _, d := range u.Diagnostics {
		got = append(got, d.String())
	}
	want := []string{
		"a.service: Specifier '%c' used in unit configuration, which is deprecated. Please update your unit file, as it does not work as intended.",
		"a.service: Specifier '%R' used in unit configuration, which is deprecated. Please update your unit file, as it does not work as intended.",
		"a.service: Specifier '%r' used in unit configuration, which is deprecated. Please update your unit file, as it does not work as intended.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSpecifierHostFiles covers the machine's files, read where the Host
// leaves fields empty.
func TestSpecifierHostFiles(t *testing.T) {
	base := fstest.MapFS{
		"etc/machine-id":                 file("0123456789ABCDEF0123456789abcdef\n"),
		"proc/sys/kernel/random/boot_id": file("fedcba98-7654-3210-fedc-ba9876543210\n"),
		"proc/self/status":               file(""),
		"etc/os-release":                 link("../usr/lib/os-release"),
		"usr/lib/os-release":             file("# comment\nID=debian\nVERSION_ID=\"12\"\nVARIANT_ID='a b'\nBUILD_ID=\nIMAGE_ID=x\\ y  \nIMAGE_VERSION=\"q\\\"\\n\"\n"),
		"etc/machine-info":               file("PRETTY_HOSTNAME=\"Lab VM\"\n"),
		"bin/bash":                       file(""),
		"tmp":                            &fstest.MapFile{Mode: 0o1777 | os.ModeDir},
		"var/tmp":                        &fstest.MapFile{Mode: 0o1777 | os.ModeDir},
		"scratch":                        &fstest.MapFile{Mode: 0o755 | os.ModeDir},
		"afile":                          file(""),
	}
	with := func(changes map[string]*fstest.MapFile) fstest.MapFS {
		m := fstest.MapFS{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		files map[string]*fstest.MapFile
		env   map[string]string
		in    string
		want  string
	}{
		{nil, nil, "%m|%b", "0123456789abcdef0123456789abcdef|fedcba9876543210fedcba9876543210"},
		{nil, nil, "%o|%w|%W|%B|%M|%A", "debian|12|a b||x y|q\"\\n"},
		{nil, nil, "%q", "Lab VM"},
		{nil, nil, "%T|%V", "/tmp|/var/tmp"},

		// The machine ID's errors.
		{map[string]*fstest.MapFile{"etc/machine-id": nil}, nil, "%m", "!Protocol driver not attached"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("")}, nil, "%m", "!No medium found"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("uninitialized\n")}, nil, "%m", "!Package not installed"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("uninitialized")}, nil, "%m", "!Package not installed"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("uninitialize\n")}, nil, "%m", "!Invalid argument"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("00000000000000000000000000000000\n")}, nil, "%m", "!No medium found"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("0123456789abcdef0123456789abcdef")}, nil, "%m", "0123456789abcdef0123456789abcdef"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("0123456789abcdef0123456789abcdef\n\n")}, nil, "%m", "!Structure needs cleaning"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("01234567-89ab-cdef-0123-456789abcdef\n")}, nil, "%m", "!Structure needs cleaning"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("0123456789abcdef0123456789abcdeg\n")}, nil, "%m", "!Structure needs cleaning"},
		{map[string]*fstest.MapFile{"etc/machine-id": file("0123456789abcdef0123456789abcdef0123456789")}, nil, "%m", "!Structure needs cleaning"},
		// The boot ID is a UUID.
		{map[string]*fstest.MapFile{"proc/sys/kernel/random/boot_id": file("fedcba9876543210fedcba9876543210\n")}, nil, "%b", "!Structure needs cleaning"},
		{map[string]*fstest.MapFile{"proc/sys/kernel/random/boot_id": file("fedcba98-7654-3210-fedc-ba98765432-0\n")}, nil, "%b", "!Structure needs cleaning"},
		{map[string]*fstest.MapFile{"proc/sys/kernel/random/boot_id": nil}, nil, "%b", "!No such file or directory"},
		{map[string]*fstest.MapFile{"proc/sys/kernel/random/boot_id": nil, "proc/self/status": nil}, nil, "%b", "!Function not implemented"},

		// os-release: /etc's first, $SYSTEMD_OS_RELEASE instead.
		{map[string]*fstest.MapFile{"etc/os-release": file("ID=fedora\n")}, nil, "%o|%w", "fedora|"},
		{map[string]*fstest.MapFile{"etc/os-release": nil}, nil, "%o", "debian"},
		{map[string]*fstest.MapFile{"etc/os-release": nil, "usr/lib/os-release": nil}, nil, "%o", "!Protocol driver not attached"},
		{map[string]*fstest.MapFile{"etc/os-release": nil, "usr/lib/os-release": nil}, nil, "[%w]", "!Protocol driver not attached"},
		{map[string]*fstest.MapFile{"alt": file("ID=alt\n")}, map[string]string{"SYSTEMD_OS_RELEASE": "/alt"}, "%o", "alt"},
		{nil, map[string]string{"SYSTEMD_OS_RELEASE": "/nonexistent"}, "%o", "!Protocol driver not attached"},
		{map[string]*fstest.MapFile{"etc/os-release": file("ID=a\nX=\xff\n")}, nil, "%o", "!Invalid argument"},
		{map[string]*fstest.MapFile{"etc/os-release": &fstest.MapFile{Mode: os.ModeDir}}, nil, "%o", "!not an errno: read etc/os-release: invalid argument"},

		// The pretty host name falls back to the short one.
		{map[string]*fstest.MapFile{"etc/machine-info": nil}, nil, "%q", "vm"},
		{map[string]*fstest.MapFile{"etc/machine-info": file("PRETTY_HOSTNAME=\n")}, nil, "%q", "vm"},
		{map[string]*fstest.MapFile{"etc/machine-info": file("PRETTY_HOSTNAME=\xff\n")}, nil, "%q", "vm"},

		// Temporary directories from the environment, if usable.
		{nil, map[string]string{"TMPDIR": "/scratch"}, "%T|%V", "/scratch|/scratch"},
		{nil, map[string]string{"TMPDIR": "/nonexistent", "TEMP": "/scratch"}, "%T", "/scratch"},
		{nil, map[string]string{"TMPDIR": "scratch", "TMP": "/scratch"}, "%T", "/scratch"},
		{nil, map[string]string{"TMPDIR": "/scratch/../scratch"}, "%T", "/tmp"},
		{nil, map[string]string{"TMPDIR": "/afile"}, "%T", "/tmp"},
		{map[string]*fstest.MapFile{"tmp": nil}, nil, "%T|%V", "!No such file or directory"},
		{map[string]*fstest.MapFile{"tmp": file("")}, nil, "%T", "!Not a directory"},
		// With /tmp unusable, the first variable's error is the one.
		{map[string]*fstest.MapFile{"tmp": nil}, map[string]string{"TMPDIR": "scratch", "TMP": "/a/../b"}, "%T", "!Not a directory"},
		{map[string]*fstest.MapFile{"tmp": nil}, map[string]string{"TEMP": "/a//b", "TMP": "rel"}, "%T", "!Operation not permitted"},

		// Root's shell is bash if there is one.
		{nil, nil, "%s", "/bin/bash"},
		{map[string]*fstest.MapFile{"bin/bash": nil}, nil, "%s", "/bin/sh"},
	}
	defer setIDs(0, 0)()
	for _, tt := range tests {
		h := &Host{Hostname: "vm.example.com", Getenv: envFunc(tt.env), root: with(tt.files)}
		x, _ := testExpander(UserScope, h, "a.service", "")
		if got := result(x.full(tt.in)); got != tt.want {
			t.Errorf("%v %v: full(%q) = %q, want %q", tt.files, tt.env, tt.in, got, tt.want)
		}
	}
}

// setIDs makes the process's IDs seem uid and gid, and returns the undo.
func setIDs(uid, gid int) func() {
	old := processIDs
	processIDs = func() (int, int) { return uid, gid }
	return func() { processIDs = old }
}

// TestSpecifierUserDatabase covers the manager's user as /etc/passwd and
// /etc/group give it where the Host leaves User nil.
func TestSpecifierUserDatabase(t *testing.T) {
	root := fstest.MapFS{
		"etc/passwd": file("root:x:0:0:root:/root:/bin/zsh\n+nis\nbob:x:1001:1001::/home/bob:/bin/dash\nodd:x:1002:1002::rel:\n#c:x:1003:1003::/c:/c\n"),
		"etc/group":  file("root:x:0:\nbob:x:1001:\nstaff:x:50:bob\n"),
	}
	tests := []struct {
		uid, gid int
		env      map[string]string
		want     string
	}{
		{1001, 1001, nil, "bob 1001 bob 1001 /home/bob /bin/dash"},
		{1001, 50, map[string]string{"HOME": "/h", "SHELL": "/bin/sh"}, "bob 1001 staff 50 /h /bin/sh"},
		{1003, 1003, map[string]string{"HOME": "/h"}, "1003 1003 1003 1003 /h !No such process"},
		{1003, 1003, nil, "1003 1003 1003 1003 !No such process"},
		{1002, 1002, nil, "odd 1002 1002 1002 !Invalid argument"},
		{0, 0, nil, "root 0 root 0 /root /bin/sh"},
		{65534, 65534, nil, "nobody 65534 nobody 65534 / /usr/sbin/nologin"},
	}
	for _, tt := range tests {
		func() {
			defer setIDs(tt.uid, tt.gid)()
			h := &Host{Getenv: envFunc(tt.env), root: root}
			x, _ := testExpander(UserScope, h, "a.service", "")
			var got []string
			for _, s := range []string{"%u", "%U", "%g", "%G", "%h", "%s"} {
				v := result(x.full(s))
				got = append(got, v)
				if strings.HasPrefix(v, "!") {
					break
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("uid %d gid %d %v: %q, want %q", tt.uid, tt.gid, tt.env, g, tt.want)
			}
		}()
	}
}

// TestSpecifierHostnames covers the host name where the kernel has none.
func TestSpecifierHostnames(t *testing.T) {
	tests := []struct {
		hostname string
		env      map[string]string
		osr      map[string]string
		want     string
	}{
		{"a.b.c", nil, nil, "a.b.c|a|a"},
		{"localhost", nil, nil, "localhost|localhost|localhost"},
		{"(none)", nil, nil, "localhost|localhost|localhost"},
		{"(none)", map[string]string{"SYSTEMD_DEFAULT_HOSTNAME": "d.e"}, nil, "d.e|d|d"},
		{"(none)", map[string]string{"SYSTEMD_DEFAULT_HOSTNAME": "-bad"}, map[string]string{"DEFAULT_HOSTNAME": "os.x"}, "os.x|os|os"},
		{"(none)", nil, map[string]string{"DEFAULT_HOSTNAME": "a..b"}, "localhost|localhost|localhost"},
		{".lead", nil, nil, ".lead|localhost|localhost"},
	}
	for _, tt := range tests {
		h := testHost()
		h.Hostname, h.Getenv, h.OSRelease, h.MachineInfo = tt.hostname, envFunc(tt.env), tt.osr, map[string]string{}
		if h.OSRelease == nil {
			h.OSRelease = map[string]string{}
		}
		x, _ := testExpander(SystemScope, h, "a.service", "")
		if got := result(x.name("%H|%l|%q")); got != tt.want {
			t.Errorf("%q %v %v: %%H|%%l|%%q = %q, want %q", tt.hostname, tt.env, tt.osr, got, tt.want)
		}
	}
	for s, want := range map[string]bool{
		"a": true, "a-b.c": true, "A9": true, "": false, ".host": false, "a.": false, ".a": false,
		"a-": false, "-a": false, "a.-b": false, "a_b": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if got := validHostname(s); got != want {
			t.Errorf("validHostname(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  error
	}{
		{"A=1\nB = 2 \n  C=3", map[string]string{"A": "1", "B": "2", "C": "3"}, nil},
		{"A=1\nA=2\n", map[string]string{"A": "2"}, nil},
		{"# x=1\n; y=2\nz\nw=\n", map[string]string{"w": ""}, nil},
		{"A='x  y' \"z\"\n", map[string]string{"A": "x  yz"}, nil},
		{`A="a\"b\\c\$d\e"` + "\n", map[string]string{"A": `a"b\c$d\e`}, nil},
		{"A=\"a\\\nb\"\n", map[string]string{"A": "ab"}, nil},
		{"A=a\\\nb\nC=\\ x\\  \n", map[string]string{"A": "ab", "C": " x "}, nil},
		{"A=a b  c  \r\nB=x", map[string]string{"A": "a b  c", "B": "x"}, nil},
		{"A=\"open", map[string]string{"A": "open"}, nil},
		{"#c\\\nA=1\n", map[string]string{"A": "1"}, nil},
		{"A=1\x00B=2\n", map[string]string{"A": "1"}, nil},
		{"=x\n", map[string]string{}, nil}, // the key is "=x", without '='
		{"==x\n", map[string]string{"=": "x"}, nil},
		{"A B=1\n", map[string]string{"A B": "1"}, nil},
		{"A=\xff\n", nil, eINVAL},
		{"\xff=1\n", nil, eINVAL},
		{"A=1\n\xff\n", map[string]string{"A": "1"}, nil}, // a key without '=' is dropped unread
	}
	for _, tt := range tests {
		got, err := parseEnvFile([]byte(tt.in))
		if err != tt.err || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parseEnvFile(%q) = %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestArchitectureName(t *testing.T) {
	for machine, want := range map[string]string{
		"x86_64": "x86-64", "i686": "x86", "i386": "x86", "aarch64": "arm64", "aarch64_be": "arm64-be",
		"armv7l": "arm", "armv7b": "arm-be", "ppc64le": "ppc64-le", "ppc64": "ppc64", "ppcle": "ppc-le",
		"s390x": "s390x", "riscv64": "riscv64", "loongarch64": "loongarch64", "mips64": "mips64",
		"sh4a": "sh", "sh5": "sh64", "parisc64": "parisc64", "sparc64": "sparc64", "crisv32": "cris",
		"arceb": "arc-be", "alpha": "alpha", "weird": "weird",
	} {
		if got := architectureName(machine); got != want {
			t.Errorf("architectureName(%q) = %q, want %q", machine, got, want)
		}
	}
}

// TestSpecifierGolden expands every letter for a fixed host, units of
// both managers, and compares with testdata/specifiers.golden; -update
// rewrites it.
func TestSpecifierGolden(t *testing.T) {
	units := []struct {
		scope          RuntimeScope
		name, fragment string
	}{
		{SystemScope, `foo-a\x2db@x\x2dy-z.service`, `/lib/systemd/system/foo-a\x2db@.service`},
		{UserScope, `foo-a\x2db@x\x2dy-z.service`, `/lib/systemd/system/foo-a\x2db@.service`},
		{SystemScope, "dev-sda1.service", "/usr/lib/systemd/system/dev-sda1.service"},
		{UserScope, "backup.timer", ""},
		{SystemScope, "-.slice", ""},
	}
	var b strings.Builder
	b.WriteString("# What each specifier gives in unit_full_printf and unit_name_printf\n" +
		"# (unit_path_printf and unit_env_printf are unit_full_printf with other\n" +
		"# limits), for testHost. Regenerate with: go test ./unit -run Specifier -update\n")
	for _, u := range units {
		x, unit := testExpander(u.scope, testHost(), u.name, u.fragment)
		fmt.Fprintf(&b, "\n[%s %s]\n", u.scope, u.name)
		if u.fragment != "" {
			fmt.Fprintf(&b, "# from %s\n", u.fragment)
		}
		var letters []byte
		for c := byte('a'); c <= 'z'; c++ {
			letters = append(letters, c, c-'a'+'A')
		}
		for _, c := range append(letters, '0', '%', '!') {
			in := "%" + string(c)
			fmt.Fprintf(&b, "%-3s %-60s name: %s\n", in, fmt.Sprintf("%q", result(x.full(in))), fmt.Sprintf("%q", result(x.name(in))))
		}
		for _, d := range unit.Diagnostics {
			fmt.Fprintf(&b, "# %s\n", d)
		}
	}
	got := b.String()
	const golden = "testdata/specifiers.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s:%d:\n got %s\nwant %s", golden, i+1, g, w)
			}
		}
		t.Errorf("expansions differ from %s (run with -update to accept)", filepath.Base(golden))
	}
}

func FuzzSpecifiers(f *testing.F) {
	for _, tt := range specifierTests {
		f.Add("x%"+string(tt.c)+"y", `foo-a\x2db@x\x2dy-z.service`)
	}
	for _, s := range []string{"%", "%%", "%%%", "%!", "%Z", "%\x00", "%é", "a%i%I%j%J%p%P%f", "%c%r%R"} {
		f.Add(s, `a@x\x00y.service`)
		f.Add(s, "foo-.service")
	}
	f.Fuzz(func(t *testing.T, text, name string) {
		if !ValidName(name, Plain|Instance) {
			name = "fuzz@x.service"
		}
		h := testHost()
		h.ArgMax = 4096
		x, u := testExpander(UserScope, h, name, "/usr/lib/systemd/system/dev-sda1.service")
		u.Assignments = []Assignment{{Section: "Service", Key: "Slice", Value: text}}
		for _, f := range []struct {
			fn  func(string) (string, error)
			max int
		}{{x.full, longLineMax}, {x.path, pathMax - 1}, {x.name, MaxNameLength}, {x.env, 4096}} {
			s, err := f.fn(text)
			if err != nil {
				if _, ok := errors.AsType[errno](err); !ok || s != "" {
					t.Fatalf("%q: %q, %v: not an errno", text, s, err)
				}
				continue
			}
			if len(s) > f.max {
				t.Fatalf("%q: %d bytes, more than %d", text, len(s), f.max)
			}
			if !strings.Contains(text, "%") && s != text {
				t.Fatalf("%q without specifiers became %q", text, s)
			}
			// Escaped, any text comes back as it was.
			esc := strings.ReplaceAll(text, "%", "%%")
			if back, err := f.fn(esc); len(text) <= f.max && (err != nil || back != text) {
				t.Fatalf("%q escaped gave %q, %v", text, back, err)
			}
		}
	})
}

// TestResolved resolves this machine's host, then changes $TMPDIR: %T
// of a unit loaded with the resolved host, and of its snapshot parsed
// again, is still the old one.
func TestResolved(t *testing.T) {
	before := t.TempDir()
	t.Setenv("TMPDIR", before)
	h := (&Host{}).Resolved()
	t.Setenv("TMPDIR", t.TempDir())
	if h.User == nil || h.TmpDir != before || h.Getenv("TMPDIR") != before {
		t.Fatalf("resolved: user %v, TmpDir %q, $TMPDIR %q", h.User, h.TmpDir, h.Getenv("TMPDIR"))
	}
	l := &Loader{FS: fstest.MapFS{"units/t.service": file("[Service]\nExecStart=/bin/echo %T\n")}, Path: []string{"/units"}, Host: h}
	u, snap, err := l.LoadSnapshot("t.service")
	if err != nil || u.LoadState != Loaded {
		t.Fatalf("load: %v %v %v", err, u.LoadState, u.Diagnostics)
	}
	for _, u := range []*Unit{u, snap.Unit()} {
		if argv := u.Service.ExecStart[0].Argv; argv[1] != before {
			t.Errorf("%%T expanded to %q, want %q", argv[1], before)
		}
	}
}
