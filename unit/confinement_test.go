package unit

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestConfinement loads services with the settings that confine them and
// checks what is kept, and the messages of the settings systemd 252
// (the oracle of TestVerifyOracleSettings) words otherwise or lacks.
func TestConfinement(t *testing.T) {
	def := defaultConfinement()
	for _, tt := range []struct {
		lines string
		want  func(x *Confinement)
		diags []string
	}{
		{"IOSchedulingClass=idle\nIOSchedulingPriority=7", func(x *Confinement) {
			x.IOSchedulingClass, x.IOSchedulingPriority, x.IOSchedulingSet = 3, 7, true
		}, nil},
		{"IOSchedulingClass=idle\nIOSchedulingClass=", func(x *Confinement) {}, nil},
		{"CPUSchedulingPriority=50\nCPUSchedulingPolicy=batch", func(x *Confinement) {
			x.CPUSchedulingPolicy, x.CPUSchedulingSet = 3, true
		}, nil},
		{"CPUSchedulingPolicy=fifo", func(x *Confinement) {
			x.CPUSchedulingPolicy, x.CPUSchedulingPriority, x.CPUSchedulingSet = 1, 1, true
		}, nil},
		{"CPUAffinity=3 0-1\nCPUAffinity=1,5", func(x *Confinement) { x.CPUAffinity = []uint{0, 1, 3, 5} }, nil},
		{"CPUAffinity=1\nCPUAffinity=numa", func(x *Confinement) { x.CPUAffinityFromNUMA = true }, nil},
		{"OOMScoreAdjust=-900", func(x *Confinement) { x.OOMScoreAdjust, x.OOMScoreAdjustSet = -900, true }, nil},
		{"TimerSlackNSec=1.5us", func(x *Confinement) { x.TimerSlackNSec = 1500 }, nil},
		{"CapabilityBoundingSet=CAP_CHOWN cap_kill\nCapabilityBoundingSet=~CAP_KILL", func(x *Confinement) { x.CapabilityBoundingSet = 1 }, nil},
		{"CapabilityBoundingSet=~CAP_CHOWN", func(x *Confinement) { x.CapabilityBoundingSet = ^uint64(1) }, nil},
		{"AmbientCapabilities=CAP_NET_RAW CAP_BOGUS", func(x *Confinement) { x.AmbientCapabilities = 1 << 13 }, nil},
		{"SecureBits=keep-caps noroot-locked", func(x *Confinement) { x.SecureBits = 1<<4 | 1<<1 }, nil},
		{"ProtectSystem=true\nProtectHome=read-only\nProtectProc=invisible\nProcSubset=pid", func(x *Confinement) {
			x.ProtectSystem, x.ProtectHome, x.ProtectProc, x.ProcSubset = "yes", "read-only", "invisible", "pid"
		}, nil},
		{"ReadWritePaths=/a -/b\nReadWriteDirectories=-+/c//d/\nInaccessiblePaths=/e\nInaccessiblePaths=", func(x *Confinement) {
			x.ReadWritePaths = []string{"/a", "-/b", "-+/c/d"}
		}, nil},
		{"TemporaryFileSystem=/tmp:ro /var", func(x *Confinement) {
			x.TemporaryFileSystem = []TemporaryFileSystem{{"/tmp", "ro"}, {"/var", ""}}
		}, nil},
		{"BindPaths=/a -/b:/c:norbind\nBindReadOnlyPaths=/d:/e", func(x *Confinement) {
			x.BindPaths = []BindPath{{"/a", "/a", false, true, false}, {"/b", "/c", false, false, true}, {"/d", "/e", true, true, false}}
		}, nil},
		{"StateDirectory=a a:b c\nStateDirectoryMode=0700\nRuntimeDirectory=r", func(x *Confinement) {
			x.Directories = map[string][]ExecDirectory{"State": {{"a", []string{"b"}}, {"c", nil}}, "Runtime": {{"r", nil}}}
			x.DirectoryModes = map[string]uint32{"State": 0o700}
		}, nil},
		{"RestrictNamespaces=~net\nRestrictNamespaces=net", func(x *Confinement) { x.RestrictNS = NamespaceFlagsAll }, nil},
		{"RestrictNamespaces=yes", func(x *Confinement) { x.RestrictNS = 0 }, nil},
		{"SystemCallErrorNumber=EACCES\nSystemCallArchitectures=native x86 native", func(x *Confinement) {
			x.SyscallErrno, x.SyscallArchs = 13, []string{"native", "x86"}
		}, nil},
		{"MemoryMax=1K\nMemoryHigh=50%\nMemoryLow=\nMemorySwapMax=infinity", func(x *Confinement) {
			x.Memory = map[string]MemoryLimit{"MemoryMax": {1024, 0}, "MemoryHigh": {0, 5000}, "MemoryLow": {}, "MemorySwapMax": {CGroupLimitMax, 0}}
		}, nil},
		{"CPUQuota=150%\nCPUWeight=idle\nIOWeight=50\nTasksMax=5%", func(x *Confinement) {
			x.CPUQuota, x.Weights, x.TasksMax, x.TasksMaxSet = 15000, map[string]uint64{"CPUWeight": 0, "IOWeight": 50}, TasksMax{500, 10000}, true
		}, nil},
		{"SystemCallFilter=@system-service\nSystemCallFilter=~@mount:EPERM uname:kill @bogus", func(x *Confinement) {
			x.SyscallAllowList = true
			x.SyscallFilter = []SyscallEntry{{"@system-service", false, -1}, {"@mount", true, 1}, {"uname", true, SyscallKill}}
		}, []string{"2: Unknown system call group, ignoring: @bogus"}},
		{"SystemCallFilter=~@clock\nSystemCallFilter=\nSystemCallFilter=~@swap", func(x *Confinement) {
			x.SyscallFilter = []SyscallEntry{{"@swap", true, -1}}
		}, nil},
		// 254's words, and its settings 252 lacks.
		{"MountFlags=bogus\nMountFlags=shared", nil, []string{"1: Failed to parse mount propagation flag, ignoring: bogus"}},
		{"MemoryPressureWatch=auto\nMemoryPressureWatch=x", nil, []string{"2: Failed to parse memory pressure watch setting, ignoring: x"}},
		{"DefaultStartupMemoryLow=0\nDefaultMemoryLow=0", nil, []string{"1: Memory limit '0' out of range, ignoring."}},
		{"SystemCallArchitectures=loongarch64", func(x *Confinement) { x.SyscallArchs = []string{"loongarch64"} }, nil},
		{"DelegateSubgroup=supervisor\nDelegateSubgroup=cgroup.procs\nDelegateSubgroup=\nDelegateSubgroup=a/b\nDelegateSubgroup=_x", nil, []string{
			"2: Invalid control group name, ignoring: cgroup.procs", "4: Invalid control group name, ignoring: a/b", "5: Invalid control group name, ignoring: _x"}},
		{"ImportCredential=a\nImportCredential=a*\nImportCredential=*\nImportCredential=a*b\nImportCredential=a?\nImportCredential=%Z\nImportCredential=a/b*\nImportCredential=", nil, []string{
			"4: Credential name or glob \"a*b\" not valid, ignoring.", "5: Credential name or glob \"a?\" not valid, ignoring.",
			"6: Failed to resolve unit specifiers in \"(null)\", ignoring: Invalid slot", "7: Credential name or glob \"a/b*\" not valid, ignoring."}},
		{"RestrictFileSystems=@anonymous", nil, nil},
		{"OpenFile=/a\nOpenFile=/a:b:read-only,graceful\nOpenFile=/a::append\nOpenFile=rel\nOpenFile=/a:b:bogus\nOpenFile=/a:b:append,append" +
			"\nOpenFile=/a:b:append,truncate\nOpenFile=/\nOpenFile=/a/..\nOpenFile=/a:b:c:d\nOpenFile=/a:b\\x3ac\nOpenFile=:b\nOpenFile=/a/", nil, []string{
			"4: Failed to parse OpenFile= setting, ignoring: rel", "5: Failed to parse OpenFile= setting, ignoring: /a:b:bogus",
			"6: Failed to parse OpenFile= setting, ignoring: /a:b:append,append", "7: Failed to parse OpenFile= setting, ignoring: /a:b:append,truncate",
			"8: Failed to parse OpenFile= setting, ignoring: /", "9: Failed to parse OpenFile= setting, ignoring: /a/..",
			"10: Failed to parse OpenFile= setting, ignoring: /a:b:c:d", "11: Failed to parse OpenFile= setting, ignoring: /a:b\\x3ac",
			"12: Failed to parse OpenFile= setting, ignoring: :b"}},
		{"LogFilterPatterns=~\nLogFilterPatterns=~x\nLogFilterPatterns=a.*b\nLogFilterPatterns=", nil, []string{"1: Regex pattern invalid, ignoring: LogFilterPatterns=~"}},
		{"RestrictNetworkInterfaces=" + strings.Repeat("a", 20) + " " + strings.Repeat("b", 128), nil, []string{"1: Invalid interface name, ignoring: " + strings.Repeat("b", 128)}},
	} {
		u := loadText(t, "c.service", "[Service]\nExecStart=/bin/true\n"+tt.lines+"\n")
		var diags []string
		for _, d := range u.Diagnostics {
			// Lines count from the first of tt.lines.
			diags = append(diags, fmt.Sprintf("%d: %s", d.Pos.Line-2, d.Msg))
		}
		if !slices.Equal(diags, tt.diags) {
			t.Errorf("%q: diagnostics %q, want %q", tt.lines, diags, tt.diags)
		}
		if tt.want == nil {
			continue
		}
		want := def
		tt.want(&want)
		if got := u.Service.Confinement; !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", tt.lines, got, want)
		}
	}
}

func TestParsePermyriad(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		err  error
	}{
		{"10%", 1000, nil}, {"0%", 0, nil}, {"100%", 10000, nil}, {"12.5%", 1250, nil}, {"12.34%", 1234, nil},
		{"12.345%", 0, eINVAL}, {"101%", 0, eRANGE}, {"5‰", 50, nil}, {"5.5‰", 55, nil}, {"5.55‰", 0, eINVAL},
		{"7‱", 7, nil}, {"7.5‱", 0, eINVAL}, {"5", 0, eINVAL}, {"%", 0, eINVAL}, {"-1%", 0, eRANGE},
		{"1.%", 0, eINVAL}, {" 5%", 500, nil}, {"+5%", 500, nil}, {"010%", 800, nil}, {"0x10%", 1600, nil},
	} {
		got, err := ParsePermyriad(tt.in)
		if got != tt.want || err != tt.err {
			t.Errorf("ParsePermyriad(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if n, err := parsePermyriadUnbounded("250%"); n != 25000 || err != nil {
		t.Errorf("parsePermyriadUnbounded(250%%) = %d, %v", n, err)
	}
}

// FuzzSettingValues gives one value to every setting of the
// differential test of verify, and to each, the value again after the
// empty one that resets it: loading must not fail, and gives the same
// result twice.
func FuzzSettingValues(f *testing.F) {
	for _, seed := range []string{"", "/a:/b:norbind", "~CAP_SYS_ADMIN cap_chown", "50%", "12.5‰", "-+/x", "a:b:c",
		"\"unbal", "<3>", "0x10", "%n", "\\x41", "/dev/sda 5", "~net time", "a\\:b", "1-3,5"} {
		f.Add(seed)
	}
	services, _ := allSettingValues()
	keys := slices.Sorted(maps.Keys(services))
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\n\r") || strings.HasSuffix(v, "\\") {
			return // one line
		}
		var b strings.Builder
		b.WriteString("[Service]\nExecStart=/bin/true\n")
		for _, key := range keys {
			fmt.Fprintf(&b, "%s=%s\n%s=\n%s=%s\n", key, v, key, key, v)
		}
		u := loadText(t, "f.service", b.String())
		again := loadText(t, "f.service", b.String())
		if !reflect.DeepEqual(u.Service.Confinement, again.Service.Confinement) || len(u.Diagnostics) != len(again.Diagnostics) {
			t.Fatalf("%q: loaded twice, differs", v)
		}
	})
}

// TestUncheckedParsers checks that every parser systemd has for the
// settings this package does not keep has one of its own here.
func TestUncheckedParsers(t *testing.T) {
	var got []string
	for name, p := range knownSettings {
		if _, typed := typedSetters[name]; !typed && p.parser != "" && checker(p.parser, p.arg) == nil && !slices.Contains(got, p.parser) {
			got = append(got, p.parser)
		}
	}
	slices.Sort(got)
	if len(got) > 0 {
		t.Errorf("parsers kept unchecked: %q", got)
	}
}
