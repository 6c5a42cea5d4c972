package unit

import (
	"reflect"
	"strings"
	"testing"
)

// TestConfinementActedOn checks the settings of a service's Confinement
// the manager acts on: what is kept for it, with systemd's messages for
// mistakes, and that none is named as not acted on.
func TestConfinementActedOn(t *testing.T) {
	for _, tc := range []struct {
		lines string
		check func(s *Confinement) any
		want  any
		diags []string
	}{
		{"StateDirectory=foo bar/baz:link foo:other", func(s *Confinement) any { return s.Directories["State"] },
			[]ExecDirectory{{Path: "foo", Symlinks: []string{"other"}}, {Path: "bar/baz", Symlinks: []string{"link"}}}, nil},
		{"RuntimeDirectory=a//b/ %n", func(s *Confinement) any { return s.Directories["Runtime"] },
			[]ExecDirectory{{Path: "a/b"}, {Path: "x.service"}}, nil},
		{"CacheDirectory=a\nCacheDirectory=", func(s *Confinement) any { return s.Directories["Cache"] }, []ExecDirectory(nil), nil},
		{"RuntimeDirectory=/abs\nStateDirectory=../x\nLogsDirectory=a:../b", func(s *Confinement) any { return len(s.Directories["Logs"]) }, 0,
			[]string{"3: RuntimeDirectory= path is absolute, ignoring: /abs", "4: StateDirectory= path is not normalized, ignoring: ../x",
				"5: LogsDirectory= path is not normalized, ignoring: ../b"}},
		{"StateDirectoryMode=0700", func(s *Confinement) any { return s.DirectoryMode("State") }, uint32(0o700), nil},
		{"LogsDirectoryMode=999", func(s *Confinement) any { return s.DirectoryMode("Logs") }, uint32(0o755),
			[]string{"3: Failed to parse mode value, ignoring: 999"}},
		{"RuntimeDirectoryPreserve=restart", func(s *Confinement) any { return s.RuntimeDirectoryPreserve }, "restart", nil},
		{"RuntimeDirectoryPreserve=on", func(s *Confinement) any { return s.RuntimeDirectoryPreserve }, "yes", nil},
		{"RuntimeDirectoryPreserve=maybe", func(s *Confinement) any { return s.RuntimeDirectoryPreserve }, "no",
			[]string{"3: Failed to parse runtime directory preserve mode, ignoring: maybe"}},
		{"IOSchedulingClass=idle\nIOSchedulingPriority=8", func(s *Confinement) any {
			return [3]any{s.IOSchedulingClass, s.IOSchedulingPriority, s.IOSchedulingSet}
		},
			[3]any{3, 4, true}, []string{"4: Failed to parse IO priority, ignoring: 8"}},
		{"IOSchedulingPriority=6", func(s *Confinement) any {
			return [3]any{s.IOSchedulingClass, s.IOSchedulingPriority, s.IOSchedulingSet}
		}, [3]any{2, 6, true}, nil},
		{"IOSchedulingClass=none", func(s *Confinement) any {
			return [3]any{s.IOSchedulingClass, s.IOSchedulingPriority, s.IOSchedulingSet}
		}, [3]any{2, 4, true}, nil},
		{"IOSchedulingClass=foo", func(s *Confinement) any { return s.IOSchedulingSet }, false, []string{"3: Failed to parse IO scheduling class, ignoring: foo"}},
		{"CPUSchedulingPriority=50\nCPUSchedulingPolicy=batch\nCPUSchedulingPriority=-1\nCPUSchedulingPriority=", func(s *Confinement) any {
			return [3]any{s.CPUSchedulingPolicy, s.CPUSchedulingPriority, s.CPUSchedulingSet}
		},
			[3]any{3, 0, true}, []string{"5: CPU scheduling priority is out of range, ignoring: -1", "6: Failed to parse CPU scheduling priority, ignoring: "}},
		{"CPUSchedulingPolicy=rr\nCPUSchedulingPolicy=foo", func(s *Confinement) any {
			return [3]any{s.CPUSchedulingPolicy, s.CPUSchedulingPriority, s.CPUSchedulingSet}
		},
			[3]any{2, 1, true}, []string{"4: Failed to parse CPU scheduling policy, ignoring: foo"}},
		{"CPUAffinity=1,2 4-3\nCPUAffinity=0 ,6-7\nCPUAffinity=0-x", func(s *Confinement) any { return s.CPUAffinity }, []uint{0, 1, 2, 6, 7},
			[]string{"3: Range '4-3' is invalid, 4 > 3, ignoring.", "5: Failed to parse CPU affinity '0-x'"}},
		{"OOMScoreAdjust=2000\nOOMScoreAdjust=abc\nOOMScoreAdjust=-500", func(s *Confinement) any { return [2]any{s.OOMScoreAdjust, s.OOMScoreAdjustSet} }, [2]any{-500, true},
			[]string{"3: OOM score adjust value out of range, ignoring: 2000", "4: Failed to parse the OOM score adjust value 'abc', ignoring: Invalid argument"}},
		{"TimerSlackNSec=50us 3\nTimerSlackNSec=5 xs\nTimerSlackNSec=", func(s *Confinement) any { return s.TimerSlackNSec }, uint64(50003),
			[]string{"4: Failed to parse nsec value, ignoring: 5 xs", "5: Failed to parse nsec value, ignoring: "}},
		{"Personality=sparc", func(s *Confinement) any { return s.Personality }, "", []string{"3: Failed to parse personality, ignoring: sparc"}},
		{"CapabilityBoundingSet=CAP_KILL cap_chown 99 CAP_NOPE\nCapabilityBoundingSet=CAP_SETUID", func(s *Confinement) any { return s.CapabilityBoundingSet },
			uint64(1<<5 | 1<<0 | 1<<7), nil},
		{"CapabilityBoundingSet=~CAP_SYS_ADMIN\nCapabilityBoundingSet=~CAP_KILL", func(s *Confinement) any { return s.CapabilityBoundingSet }, ^uint64(1<<21 | 1<<5), nil},
		{"CapabilityBoundingSet=", func(s *Confinement) any { return s.CapabilityBoundingSet }, uint64(0), nil},
		{"NoNewPrivileges=yes", func(s *Confinement) any { return s.CapabilityBoundingSet }, ^uint64(0), nil},
		{"AmbientCapabilities=CAP_NET_RAW\nAmbientCapabilities=~CAP_NET_RAW CAP_KILL", func(s *Confinement) any { return s.AmbientCapabilities }, uint64(0), nil},
		{"AmbientCapabilities=CAP_NET_RAW CAP_KILL\nAmbientCapabilities=~CAP_KILL", func(s *Confinement) any { return s.AmbientCapabilities }, uint64(1 << 13), nil},
		{"SecureBits=keep-caps foo noroot-locked", func(s *Confinement) any { return s.SecureBits }, 1<<4 | 1<<1, nil},
		{"SupplementaryGroups=adm %u\nSupplementaryGroups=wheel", func(s *Confinement) any { return s.SupplementaryGroups }, []string{"adm", "root", "wheel"}, nil},
		{"SupplementaryGroups=adm\nSupplementaryGroups=", func(s *Confinement) any { return s.SupplementaryGroups }, []string(nil), nil},
		{"ProtectSystem=strict\nProtectHome=maybe\nProtectHome=read-only", func(s *Confinement) any { return [2]string{s.ProtectSystem, s.ProtectHome} },
			[2]string{"strict", "read-only"}, []string{"4: Failed to parse protect home value, ignoring: maybe"}},
		{"ProtectSystem=yes\nProtectSystem=off", func(s *Confinement) any { return s.ProtectSystem }, "no", nil},
		{"ReadWritePaths=/a -/b//c +/d -+/e relative\nReadOnlyPaths=/x/../y", func(s *Confinement) any { return s.ReadWritePaths },
			[]string{"/a", "-/b/c", "+/d", "-+/e"}, []string{"3: ReadWritePaths= path is not absolute, ignoring: relative", "4: ReadOnlyPaths= path is not normalized, ignoring: /x/../y"}},
		{"ProtectProc=invisible\nProcSubset=pid\nProtectProc=nope", func(s *Confinement) any { return [2]string{s.ProtectProc, s.ProcSubset} },
			[2]string{"invisible", "pid"}, []string{"5: Failed to parse /proc/ protection mode, ignoring: nope"}},
		{"NoExecPaths=/\nExecPaths=/usr -/opt/bin", func(s *Confinement) any { return [2][]string{s.NoExecPaths, s.ExecPaths} },
			[2][]string{{"/"}, {"/usr", "-/opt/bin"}}, nil},
		{"PrivateUsers=yes", func(s *Confinement) any { return s.PrivateUsers }, true, nil},
		{"DynamicUser=yes", func(s *Confinement) any {
			return []any{s.DynamicUser, s.PrivateTmp, s.ProtectSystem, s.ProtectHome, s.NoNewPrivileges, s.RestrictSUIDSGID}
		}, []any{true, true, "strict", "read-only", true, true}, nil},
		{"DynamicUser=yes\nProtectHome=tmpfs\nProtectSystem=no", func(s *Confinement) any { return [2]string{s.ProtectSystem, s.ProtectHome} },
			[2]string{"strict", "tmpfs"}, nil},
		{"InaccessiblePaths=/a\nInaccessiblePaths=", func(s *Confinement) any { return s.InaccessiblePaths }, []string(nil), nil},
		{"TemporaryFileSystem=/var:ro,mode=0700 /x rel", func(s *Confinement) any { return s.TemporaryFileSystem },
			[]TemporaryFileSystem{{"/var", "ro,mode=0700"}, {"/x", ""}}, []string{"3: TemporaryFileSystem= path is not absolute, ignoring: rel"}},
		{"BindPaths=/a -/b:/c:norbind\nBindReadOnlyPaths=/d:/e\nBindPaths=/a:/b:foo", func(s *Confinement) any { return s.BindPaths },
			[]BindPath{{Source: "/a", Destination: "/a", Recursive: true}, {Source: "/b", Destination: "/c", IgnoreMissing: true}, {Source: "/d", Destination: "/e", ReadOnly: true, Recursive: true}},
			[]string{"5: Invalid option string, ignoring setting: foo"}},
		{"SystemCallFilter=~@clock\nSystemCallFilter=~kill:EACCES mount:13 nope:EFOO @nope\nSystemCallFilter=settimeofday", func(s *Confinement) any {
			calls := s.SystemCalls()
			return [4]any{s.SyscallAllowList, calls["clock_settime"], calls["kill"], calls["settimeofday"]}
		}, [4]any{false, -1, 13, 0}, []string{"4: Failed to parse syscall:errno, ignoring: nope:EFOO", "4: Unknown system call group, ignoring: @nope"}},
		{"SystemCallFilter=@system-service\nSystemCallFilter=~@mount\nSystemCallFilter=write:EPERM", func(s *Confinement) any {
			calls := s.SystemCalls()
			_, execve := calls["execve"]
			_, mount := calls["mount"]
			_, read := calls["read"]
			return [4]any{s.SyscallAllowList, execve, mount, read}
		}, [4]any{true, true, false, true}, []string{"5: Allow-listed system calls cannot take error number, ignoring: write:EPERM"}},
		{"SystemCallErrorNumber=EPERM\nSystemCallErrorNumber=EFOO", func(s *Confinement) any { return s.SyscallErrno }, 1,
			[]string{"4: Failed to parse error number, ignoring: EFOO"}},
		{"SystemCallArchitectures=native x86 sparc", func(s *Confinement) any { return s.SyscallArchs }, []string{"native", "x86"},
			[]string{"3: Failed to parse system call architecture \"sparc\", ignoring: Invalid argument"}},
		{"RestrictAddressFamilies=AF_UNIX af_inet AF_FOO\nRestrictAddressFamilies=~AF_INET", func(s *Confinement) any { return [2]any{s.AddressFamiliesAllowList, s.RestrictAddressFamilies} },
			[2]any{true, []string{"AF_UNIX"}}, []string{"3: Failed to parse address family, ignoring: AF_FOO"}},
		{"RestrictAddressFamilies=none", func(s *Confinement) any { return [2]any{s.AddressFamiliesAllowList, len(s.RestrictAddressFamilies)} }, [2]any{true, 0}, nil},
		{"RestrictNamespaces=~user net\nRestrictNamespaces=net", func(s *Confinement) any { return s.RestrictNS },
			uint64(NamespaceFlagsAll &^ 0x10000000), nil},
		{"RestrictNamespaces=yes\nRestrictNamespaces=foo", func(s *Confinement) any { return s.RestrictNS },
			uint64(0), []string{"4: Failed to parse namespace type string, ignoring: foo"}},
	} {
		u := loadText(t, "x.service", "[Service]\nExecStart=/bin/true\n"+tc.lines+"\n")
		if got := tc.check(&u.Service.Confinement); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %#v, want %#v", tc.lines, got, tc.want)
		}
		var diags []string
		for _, d := range u.Diagnostics {
			diags = append(diags, strings.TrimPrefix(d.String(), "/etc/systemd/system/x.service:"))
		}
		if !reflect.DeepEqual(diags, tc.diags) {
			t.Errorf("%q: diagnostics %q, want %q", tc.lines, diags, tc.diags)
		}
		if n := len(u.Unsupported()); n != 0 {
			t.Errorf("%q: %d settings unsupported", tc.lines, n)
		}
	}
}

// TestDynamicUserName: DynamicUser= names the user after the unit, as
// unit_patch_contexts, unless User= does; Group= is the user's.
func TestDynamicUserName(t *testing.T) {
	for _, tc := range []struct{ name, lines, user, group string }{
		{"web@a.service", "DynamicUser=yes", "web", "web"},
		{"web.service", "DynamicUser=yes\nUser=www\nGroup=adm", "www", "adm"},
		{"web.service", "User=www", "www", ""},
		{"my.web.service", "DynamicUser=yes", "", ""},
	} {
		u := loadText(t, tc.name, "[Service]\nExecStart=/bin/true\n"+tc.lines+"\n")
		if s := u.Service; s.User != tc.user || s.Group != tc.group {
			t.Errorf("%s %q: User=%q Group=%q, want %q %q", tc.name, tc.lines, s.User, s.Group, tc.user, tc.group)
		}
	}
}
