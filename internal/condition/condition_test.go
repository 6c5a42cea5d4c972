package condition

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"sundial.dev/sundial/unit"
)

// TestVersionCompare holds the order strverscmp_improved documents, and
// the cases of systemd's test-string-util.c.
func TestVersionCompare(t *testing.T) {
	order := []string{"~1", "", "ab", "abb", "abc", "0001", "002", "12", "122", "122.9",
		"123~rc1-1", "123", "123-a", "123-a.1", "123-1", "123-1.1", "123^post1", "123.a-1",
		"123.1-1", "123a-1", "124", "124-1"}
	for i := range order {
		for j := range order {
			got := versionCompare(order[i], order[j])
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got != want && !(order[i] == "0001" && order[j] == "002" || order[i] == "002" && order[j] == "0001") {
				t.Errorf("versionCompare(%q, %q) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"123_a", "123a", 0}, {"00123", "123", 0}, {"5.11.0-0.rc5.20210128git76c057c84d28.137.fc34", "5.11.0-0.rc5.20210128git76c057c84d28.137.fc34", 0},
		{"247.2-3.1.fc33.x86_64", "247.2-3.1.fc33.x86_64", 0}, {"1.2", "1.10", -1}, {"1.0", "1.0.1", -1},
		{"1~a", "1", -1}, {"1", "1~a", 1},
	} {
		if got := versionCompare(tt.a, tt.b); got != tt.want {
			t.Errorf("versionCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFnmatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true}, {"*", "a/b", false, true}, {"a*c", "abbc", false, true},
		{"a?c", "abc", false, true}, {"a?c", "ac", false, false}, {"[a-c]x", "bx", false, true},
		{"[!a-c]x", "bx", false, false}, {"[^a]", "b", false, true}, {"[", "[", false, true},
		{"[", "a", false, false}, {"\\*", "*", false, true}, {"\\*", "a", false, false},
		{"[[:digit:]]*", "6.1", false, true}, {"[[:alpha:]]", "1", false, false},
		{"HOST*", "host-1", true, true}, {"HOST*", "host-1", false, false}, {"*.x", ".x", false, true},
		{"[]]", "]", false, true}, {"[a-]", "-", false, true},
	} {
		if got := fnmatch(tt.pattern, tt.s, tt.fold); got != tt.want {
			t.Errorf("fnmatch(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestParseOp(t *testing.T) {
	for _, tt := range []struct {
		in    string
		flags int
		op    op
		rest  string
	}{
		{"<=1", 0, opLowerOrEqual, "1"}, {">=1", 0, opGreaterOrEqual, "1"}, {"<1", 0, opLower, "1"},
		{">1", 0, opGreater, "1"}, {"==1", 0, opEqual, "1"}, {"=1", 0, opEqual, "1"},
		{"=1", equalByString, opStringEqual, "1"}, {"!=1", 0, opUnequal, "1"},
		{"!=1", equalByString, opStringUnequal, "1"}, {"<>1", 0, opUnequal, "1"},
		{"$=1*", allowFnmatch, opFnmatchEqual, "1*"}, {"!$=1*", allowFnmatch, opFnmatchUnequal, "1*"},
		{"$=1", 0, opNone, "$=1"}, {"1", 0, opNone, "1"}, {"lt 1", 0, opNone, "lt 1"},
	} {
		o, rest := parseOp(tt.in, tt.flags)
		if o != tt.op || rest != tt.rest {
			t.Errorf("parseOp(%q, %d) = %d, %q; want %d, %q", tt.in, tt.flags, o, rest, tt.op, tt.rest)
		}
	}
}

func TestSliceToPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"-.slice", ""}, {"foo.slice", "foo.slice"}, {"foo-bar-baz.slice", "foo.slice/foo-bar.slice/foo-bar-baz.slice"},
		{"foo--bar.slice", "!"}, {"-foo.slice", "!"}, {"foo-.slice", "!"}, {"foo.service", "!"}, {"x", "!"},
	} {
		got, err := sliceToPath(tt.in)
		if err != nil {
			got = "!"
		}
		if got != tt.want {
			t.Errorf("sliceToPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandBraces(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"/a/{b,c}/d", []string{"/a/b/d", "/a/c/d"}}, {"/{a,{b,c}}", []string{"/a", "/b", "/c"}},
		{"/{a", []string{"/{a"}}, {"/x", []string{"/x"}}, {"/{}", []string{"/"}},
	} {
		if got := expandBraces(tt.in); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("expandBraces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// check tests a condition and compares the result and the error.
func check(t *testing.T, kind, param string, env []string, want bool, wantErr error) {
	t.Helper()
	got, err := Test(unit.Condition{Kind: kind, Param: param}, env)
	if got != want || !errors.Is(err, wantErr) && err != wantErr {
		t.Errorf("Condition%s=%s: %v, %v; want %v, %v", kind, param, got, err, want, wantErr)
	}
	if wantErr != nil {
		return
	}
	neg, err := Test(unit.Condition{Kind: kind, Param: param, Negate: true}, env)
	if neg == got || err != nil {
		t.Errorf("Condition%s=!%s: %v, %v; want %v", kind, param, neg, err, !got)
	}
}

// TestPaths holds the path conditions of systemd.unit(5) and
// test-condition.c on files made for the test.
func TestPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("empty", "", 0o644)
	write("full", "x", 0o644)
	write("exec", "x", 0o755)
	for _, d := range []string{"d-empty", "d-full", "d-hidden"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("d-full/x", "", 0o644)
	write("d-hidden/.x", "", 0o644)
	write("d-hidden/x.rpmnew", "", 0o644)
	if err := os.Symlink("full", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, tt := range []struct {
		kind, path string
		want       bool
	}{
		{"PathExists", "/", true}, {"PathExists", p("empty"), true}, {"PathExists", p("nope"), false},
		{"PathExists", p("link"), true},
		{"PathExistsGlob", p("e*"), true}, {"PathExistsGlob", p("n*"), false}, {"PathExistsGlob", p("d-*/x"), true},
		{"PathExistsGlob", p("d-hidden/*"), true}, {"PathExistsGlob", p("d-{nope,full}/?"), true},
		{"PathExistsGlob", p("*x"), false}, {"PathExistsGlob", p(".*"), false},
		{"PathIsDirectory", p("d-empty"), true}, {"PathIsDirectory", p("full"), false}, {"PathIsDirectory", p("nope"), false},
		{"PathIsSymbolicLink", p("link"), true}, {"PathIsSymbolicLink", p("full"), false},
		{"PathIsMountPoint", "/", true}, {"PathIsMountPoint", p("d-empty"), false}, {"PathIsMountPoint", p("nope"), false},
		{"PathIsReadWrite", p("full"), true}, {"PathIsReadWrite", p("nope"), false},
		{"PathIsEncrypted", p("nope"), false},
		{"DirectoryNotEmpty", p("d-full"), true}, {"DirectoryNotEmpty", p("d-empty"), false},
		{"DirectoryNotEmpty", p("d-hidden"), false}, {"DirectoryNotEmpty", p("full"), false}, {"DirectoryNotEmpty", p("nope"), false},
		{"FileNotEmpty", p("full"), true}, {"FileNotEmpty", p("empty"), false}, {"FileNotEmpty", p("d-full"), false},
		{"FileNotEmpty", p("link"), true},
		{"FileIsExecutable", p("exec"), true}, {"FileIsExecutable", p("full"), false}, {"FileIsExecutable", p("d-full"), false},
		{"NeedsUpdate", "relative", true},
	} {
		check(t, tt.kind, tt.path, nil, tt.want, nil)
	}
	if exists("/proc/self") {
		check(t, "PathIsMountPoint", "/proc", nil, true, nil)
	}
}

// TestStrings holds the conditions that do not depend on the machine,
// or only on what the test can read of it itself.
func TestStrings(t *testing.T) {
	release := host().KernelRelease
	env := []string{"EXISTINGENVVAR=foo", "EMPTYVAR="}
	for _, tt := range []struct {
		kind, param string
		want        bool
		err         error
	}{
		// test_condition_test_environment
		{"Environment", "EXISTINGENVVAR", true, nil}, {"Environment", "EXISTINGENVVAR=foo", true, nil},
		{"Environment", "EXISTINGENVVAR=", false, nil}, {"Environment", "EMPTYVAR=", true, nil},
		{"Environment", "EXISTING", false, nil}, {"Environment", "NOPE", false, nil},
		// test_condition_test_kernel_version
		{"KernelVersion", "*thisreallyshouldntbeinthekernelversion*", false, nil}, {"KernelVersion", "*", true, nil},
		{"KernelVersion", "", true, nil}, {"KernelVersion", release, true, nil}, {"KernelVersion", "= " + release, true, nil},
		{"KernelVersion", "!= " + release, false, nil}, {"KernelVersion", ">= 0", true, nil}, {"KernelVersion", "< 0", false, nil},
		{"KernelVersion", "<= 4711.8.15", true, nil}, {"KernelVersion", "> 4711.8.15", false, nil},
		{"KernelVersion", ">= 0 < 4711.8.15", false, syscall.EINVAL}, {"KernelVersion", ">=0 <4711.8.15", true, nil}, {"KernelVersion", "> 0 <", false, syscall.EINVAL},
		{"KernelVersion", ">", false, syscall.EINVAL}, {"KernelVersion", "$=" + release[:1] + "*", true, nil},
		{"KernelVersion", "'>= 0' '< 4711'", true, nil}, {"KernelVersion", "'", false, syscall.EINVAL},
		{"KernelVersion", "> 0.1.2", true, nil}, {"KernelVersion", ">0.1.2", true, nil},
		{"KernelVersion", "'>0.1.2' '<9.0.0'", true, nil}, {"KernelVersion", "> 0.1.2 < 9.0.0", false, syscall.EINVAL},
		{"KernelVersion", ">= 0.1.2", true, nil}, {"KernelVersion", "< 0.1.2", false, nil}, {"KernelVersion", "<= 0.1.2", false, nil},
		{"KernelVersion", "= 0.1.2", false, nil}, {"KernelVersion", "< 4711.8.15", true, nil}, {"KernelVersion", "= 4711.8.15", false, nil},
		{"KernelVersion", " >= 4711.8.15", false, nil}, {"KernelVersion", ">=" + release, true, nil},
		{"KernelVersion", "=  " + release, true, nil}, {"KernelVersion", "<=" + release, true, nil},
		{"KernelVersion", "> " + release, false, nil}, {"KernelVersion", "<   " + release, false, nil},
		{"KernelVersion", release[:min(4, len(release))] + "*", true, nil},
		// test_condition_test_memory and _cpus, in the shapes they take
		{"Memory", "> 0", true, nil}, {"Memory", ">= 0", true, nil}, {"Memory", "= 0", false, nil},
		{"Memory", "<= 0", false, nil}, {"Memory", "!= 0", true, nil}, {"Memory", "< 15E", true, nil}, {"Memory", "< 16E", false, syscall.ERANGE},
		{"Memory", "foo", false, syscall.EINVAL}, {"Memory", "17E", false, syscall.ERANGE},
		{"CPUs", "> 0", true, nil}, {"CPUs", ">= 1", true, nil}, {"CPUs", "< 1", false, nil},
		{"CPUs", "= 0", false, nil}, {"CPUs", "0x1000000", false, nil}, {"CPUs", "foo", false, syscall.EINVAL},
		{"CPUs", "-1", false, syscall.ERANGE}, {"CPUs", "1 ", false, syscall.EINVAL},
		// test_condition_test_capability, _ac_power, _first_boot
		{"Capability", "cap_foo", false, syscall.EINVAL}, {"Capability", "64", false, syscall.EINVAL},
		{"ACPower", "foo", false, syscall.EINVAL}, {"FirstBoot", "foo", false, syscall.EINVAL},
		// test_condition_test_architecture, _firmware, _security, _user
		{"Architecture", "garbage value", false, nil}, {"Architecture", host().Architecture, true, nil},
		{"Firmware", "garbage value", false, nil}, {"Firmware", "smbios-field(", false, syscall.EINVAL},
		{"Firmware", "device-tree-compatible(", false, nil}, {"Security", "garbage value", false, nil},
		{"User", "nobody@nowhere", false, nil}, {"Group", "nonexistinggroup", false, nil},
		{"User", "garbage oifdsjfoidsjoj", false, nil}, {"User", "65535", false, nil},
		{"User", itoa(uint64(os.Getuid()) + 1), false, nil},
		{"CPUFeature", "somecpufeaturethatreallydoesntmakesense", false, nil}, {"CPUFeature", "a", false, nil},
		// test_condition_test_os_release
		{"OSRelease", "ID", false, syscall.EINVAL}, {"OSRelease", "ID=", false, syscall.EINVAL}, {"OSRelease", "ID= x", false, syscall.EINVAL},
		{"OSRelease", "1ID=x", false, syscall.EINVAL}, {"OSRelease", "NOPE_NOT_THERE=x", false, nil},
		{"OSRelease", "NOPE_NOT_THERE!=x", true, nil}, {"OSRelease", "NOPE_NOT_THERE$=*", true, nil},
		// test_condition_test_control_group_controller
		{"ControlGroupController", "thisisnotarealcontroller", true, nil}, {"ControlGroupController", "", true, nil},
		// pressure: malformed values
		{"MemoryPressure", "100%/2min", !pressureSupported(), errIf(pressureSupported())},
		{"CPUPressure", "100%", true, nil},
		{"Credential", "../x", false, nil},
	} {
		check(t, tt.kind, tt.param, env, tt.want, tt.err)
	}
	u := os.Getuid()
	check(t, "User", itoa(uint64(u)), nil, true, nil)
	check(t, "Group", itoa(uint64(os.Getgid())), nil, true, nil)
	check(t, "User", "@system", nil, u <= systemUIDMax || os.Geteuid() <= systemUIDMax, nil)
	check(t, "User", "root", nil, u == 0 || os.Geteuid() == 0, nil)
	check(t, "Virtualization", "garbage value", nil, false, nil)
	check(t, "Virtualization", "yes", nil, detectVirtualization() != "none", nil)
	check(t, "Virtualization", "container", nil, isContainer(detectVirtualization()), nil)
	check(t, "Host", "*", nil, true, nil)
	if id := host().MachineID; id != "" {
		check(t, "Host", id, nil, true, nil)
		check(t, "Host", strings.ToUpper(id), nil, true, nil)
	}
	check(t, "CPUFeature", "garbage value", nil, false, nil)
	if hasCPUID {
		check(t, "CPUFeature", "fpu", nil, true, nil)
	}
}

// TestCredential is test-condition.c's test_condition_test_credential.
func TestCredential(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	os.Unsetenv("CREDENTIALS_DIRECTORY")
	t.Setenv("ENCRYPTED_CREDENTIALS_DIRECTORY", "")
	os.Unsetenv("ENCRYPTED_CREDENTIALS_DIRECTORY")
	check(t, "Credential", "definitelymissing", nil, false, nil)
	check(t, "Credential", "..", nil, false, nil)
	n1, n2 := t.TempDir(), t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", n1)
	t.Setenv("ENCRYPTED_CREDENTIALS_DIRECTORY", n2)
	check(t, "Credential", "stillmissing", nil, false, nil)
	for _, f := range []string{filepath.Join(n1, "existing"), filepath.Join(n2, "existing-encrypted")} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check(t, "Credential", "existing", nil, true, nil)
	check(t, "Credential", "existing-encrypted", nil, true, nil)
	t.Setenv("CREDENTIALS_DIRECTORY", "relative")
	check(t, "Credential", "existing", nil, false, syscall.EINVAL)
}

func errIf(b bool) error {
	if b {
		return syscall.EINVAL
	}
	return nil
}

// TestList holds condition_test_list's rules: newest first, the first
// failure that is not triggering ends the test, one triggering one must
// hold.
func TestList(t *testing.T) {
	yes := unit.Condition{Kind: "PathExists", Param: "/"}
	no := unit.Condition{Kind: "PathExists", Param: "/nonexistent-path"}
	trig := func(c unit.Condition) unit.Condition { c.Trigger = true; return c }
	bad := unit.Condition{Kind: "Memory", Param: "foo"}
	for _, tt := range []struct {
		list   []unit.Condition
		want   bool
		tested int
	}{
		{nil, true, 0},
		{[]unit.Condition{yes, yes}, true, 2},
		{[]unit.Condition{no, yes, yes}, false, 3},
		{[]unit.Condition{yes, no, yes}, false, 2},
		{[]unit.Condition{yes, yes, no}, false, 1},
		{[]unit.Condition{trig(no), trig(yes)}, true, 2},
		{[]unit.Condition{trig(no), trig(no)}, false, 2},
		{[]unit.Condition{trig(yes), yes}, true, 2},
		{[]unit.Condition{trig(no), yes}, false, 2},
		{[]unit.Condition{bad}, false, 1},
		{[]unit.Condition{trig(bad), trig(yes)}, true, 2},
	} {
		ok, tested := List(tt.list, nil)
		if ok != tt.want || len(tested) != tt.tested {
			t.Errorf("List(%v) = %v, %d tested; want %v, %d", tt.list, ok, len(tested), tt.want, tt.tested)
		}
		if f, failed := Failed(tested); !ok && !failed {
			t.Errorf("List(%v) = %v, and Failed says %v (%v)", tt.list, ok, failed, f)
		}
	}
	if _, tested := List([]unit.Condition{{Kind: "CPUFeature", Param: "SSE2"}}, nil); tested[0].Param != "sse2" {
		t.Errorf("CPUFeature=SSE2 logged as %q; systemd lowers it", tested[0].Param)
	}
}

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		name, kind string
		assert, ok bool
		takesPath  bool
	}{
		{"ConditionPathExists", "PathExists", false, true, true},
		{"AssertPathExists", "PathExists", true, true, true},
		{"ConditionNeedsUpdate", "NeedsUpdate", false, true, true},
		{"AssertFirmware", "Firmware", true, true, false},
		{"ConditionKernelVersion", "KernelVersion", false, true, false},
		{"conditionpathexists", "", false, false, false},
		{"ConditionFoo", "Foo", false, false, false},
		{"Condition", "", false, false, false},
	} {
		k, a, ok := Lookup(tt.name)
		if ok != tt.ok || ok && (k != tt.kind || a != tt.assert || TakesPath(k) != tt.takesPath) {
			t.Errorf("Lookup(%q) = %q, %v, %v (path %v)", tt.name, k, a, ok, TakesPath(k))
		}
	}
}
