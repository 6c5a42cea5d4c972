package unit

import (
	"iter"
	"math"
	"runtime"
	"slices"
	"strings"

	"sundial.dev/sundial/timespan"
)

// Confinement holds the settings of a service's execution environment
// that limit what it may do and use: scheduling, privileges, the file
// system it sees, its system calls and its resources, as systemd's
// parsers leave them. Settings of other unit types are checked, not kept.
type Confinement struct {
	// IOSchedulingClass is 0 (none), 1 (realtime), 2 (best-effort), 3
	// (idle) or another number below 8; with IOSchedulingPriority, 0..7,
	// it is set when IOSchedulingSet is.
	IOSchedulingClass    int
	IOSchedulingPriority int
	IOSchedulingSet      bool

	// CPUSchedulingPolicy is SCHED_OTHER (0), SCHED_FIFO (1), SCHED_RR
	// (2), SCHED_BATCH (3), SCHED_IDLE (5) or another number;
	// CPUSchedulingPriority is 0..99.
	CPUSchedulingPolicy   int
	CPUSchedulingPriority int
	CPUSchedulingSet      bool

	// CPUAffinity lists the CPUs, ascending; CPUAffinityFromNUMA is
	// CPUAffinity=numa.
	CPUAffinity         []uint
	CPUAffinityFromNUMA bool

	OOMScoreAdjust    int // -1000..1000
	OOMScoreAdjustSet bool

	TimerSlackNSec uint64 // math.MaxUint64: not set
	Personality    string // "x86-64", "x86", …; "" not set; see PersonalityOf

	CPUSchedulingResetOnFork bool
	NoNewPrivileges          bool
	// SupplementaryGroups are the names or IDs of the groups the
	// processes are in besides Group=, specifiers expanded.
	SupplementaryGroups []string

	// CapabilityBoundingSet and AmbientCapabilities are masks of
	// capabilities by number; the bounding set is CapMaskUnset until set.
	CapabilityBoundingSet uint64
	AmbientCapabilities   uint64
	SecureBits            int // the SECBIT_ bits

	// The namespaces of PrivateTmp= and the other booleans, and the
	// restrictions seccomp filters make of RestrictRealtime= and the
	// others.
	PrivateTmp, PrivateDevices, PrivateNetwork, PrivateIPC, PrivateUsers, ProtectHostname bool
	// DynamicUser: the service runs as a user allocated while it runs;
	// see patchDynamicUser.
	DynamicUser                                                                               bool
	ProtectKernelTunables, ProtectKernelModules, ProtectKernelLogs, ProtectControlGroups      bool
	RestrictRealtime, RestrictSUIDSGID, LockPersonality, MemoryDenyWriteExecute, ProtectClock bool

	ProtectSystem string // "no", "yes", "full" or "strict"
	ProtectHome   string // "no", "yes", "read-only" or "tmpfs"
	ProtectProc   string // "default", "noaccess", "invisible" or "ptraceable"
	ProcSubset    string // "all" or "pid"

	// The paths of ReadWritePaths= and the like, each absolute, with
	// the "-" (missing is fine) and "+" (below RootDirectory=) prefixes
	// systemd keeps on them.
	ReadWritePaths       []string
	ReadOnlyPaths        []string
	InaccessiblePaths    []string
	ExecPaths            []string
	NoExecPaths          []string
	ExtensionDirectories []string

	TemporaryFileSystem []TemporaryFileSystem
	BindPaths           []BindPath // BindPaths= and BindReadOnlyPaths=, in order

	// The directories of RuntimeDirectory= and the like, relative to
	// the manager's base directory of each kind, with their modes.
	Directories              map[string][]ExecDirectory // by kind: "Runtime", "State", "Cache", "Logs", "Configuration"
	DirectoryModes           map[string]uint32          // by kind; default 0755
	RuntimeDirectoryPreserve string                     // "no", "yes" or "restart"
	RestrictNS               uint64                     // the CLONE_NEW… flags of the namespaces allowed; NamespacesUnset until set
	SyscallErrno             int                        // SystemCallErrorNumber=; 0: kill
	// SyscallFilter is SystemCallFilter=, entry by entry: an allow
	// list if SyscallAllowList, which the first assignment decides
	// (then the system calls of @default are allowed too), else a deny
	// list. The names of system calls are not checked.
	SyscallFilter    []SyscallEntry
	SyscallAllowList bool
	SyscallArchs     []string // SystemCallArchitectures=, as written
	// RestrictAddressFamilies are the socket address families
	// ("AF_UNIX") allowed with AddressFamiliesAllowList, else denied;
	// nil and not AddressFamiliesAllowList: no restriction.
	RestrictAddressFamilies  []string
	AddressFamiliesAllowList bool
	CPUQuota                 int                    // in ten-thousandths of a CPU (1% = 100); 0: none
	Memory                   map[string]MemoryLimit // by setting: "MemoryMax", "MemoryHigh", …
	Weights                  map[string]uint64      // by setting: "CPUWeight", "IOWeight", … (CPUWeight=idle is 0)
	TasksMax                 TasksMax
	TasksMaxSet              bool
	ManagedOOMLimit          int // ManagedOOMMemoryPressureLimit=, in ten-thousandths
}

// A SyscallEntry is a system call or a group ("@clock") of
// SystemCallFilter=: denied (after "~") or allowed, and the error it
// fails with, or -1 for SystemCallErrorNumber='s.
type SyscallEntry struct {
	Name  string
	Deny  bool
	Errno int // SyscallKill for "kill"
}

// SyscallKill is the Errno of an entry that kills the process:
// SECCOMP_ERROR_NUMBER_KILL.
const SyscallKill = math.MaxInt32 - 1

// syscallGroupsUnlisted are the groups of systemd 254 that SyscallGroups
// does not list the system calls of: SystemCallFilter= takes them, and
// they add no system call to the filter.
var syscallGroupsUnlisted = []string{"@known", "@sandbox"}

// knownSyscallGroup reports whether systemd 254 has the group.
func knownSyscallGroup(name string) bool {
	_, ok := SyscallGroups[name]
	return ok || slices.Contains(syscallGroupsUnlisted, name)
}

// ExpandSyscalls returns the system calls of names, each a system call
// or a group, the groups' members resolved, sorted and once each.
func ExpandSyscalls(names ...string) []string {
	var out []string
	seen := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if members, ok := SyscallGroups[n]; ok {
			for _, m := range members {
				add(m)
			}
		} else if !strings.HasPrefix(n, "@") {
			out = append(out, n)
		}
	}
	for _, n := range names {
		add(n)
	}
	slices.Sort(out)
	return out
}

// SystemCalls returns the filter of SystemCallFilter= as
// seccomp_parse_syscall_filter makes it from its entries: the system
// calls allowed (an allow list begins with those of @default), or those
// denied, each with the error it fails with (-1: SystemCallErrorNumber='s,
// SyscallKill); an entry of the other kind takes its calls out. Nil: no
// filter.
func (x *Confinement) SystemCalls() map[string]int {
	if x.SyscallFilter == nil {
		return nil
	}
	calls := map[string]int{}
	if x.SyscallAllowList {
		for _, n := range ExpandSyscalls("@default") {
			calls[n] = -1
		}
	}
	for _, e := range x.SyscallFilter {
		for _, n := range ExpandSyscalls(e.Name) {
			if e.Deny != x.SyscallAllowList {
				calls[n] = e.Errno
			} else {
				delete(calls, n)
			}
		}
	}
	return calls
}

// syscallFilterSetting is config_parse_syscall_filter (log false) and
// config_parse_syscall_log: system calls and groups, after "~" for those
// denied (or not logged), each of a filter with an error after ":"; empty
// resets. An unknown group is dropped with a word; system calls are
// taken as named.
func syscallFilterSetting(log bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		x := c.confinement()
		if a.Value == "" {
			if !log {
				x.SyscallFilter, x.SyscallAllowList = nil, false
			}
			return nil
		}
		v, invert := strings.CutPrefix(a.Value, "~")
		if !log && x.SyscallFilter == nil {
			x.SyscallAllowList = !invert
		}
		c.eachWord(a, v, 0, "Invalid syntax, ignoring: %s", func(word string) {
			name, errno := word, -1
			if !log {
				// parse_syscall_and_errno
				var e string
				var withErrno bool
				name, e, withErrno = strings.Cut(word, ":")
				if withErrno {
					n, ok := parseErrno(e)
					switch {
					case e == "kill":
						n, ok = SyscallKill, true
					case !ok:
						n = -1
					}
					errno = n
					if !ok {
						c.warn(a, "Failed to parse syscall:errno, ignoring: %s", word)
						return
					}
				}
				if name == "" {
					c.warn(a, "Failed to parse syscall:errno, ignoring: %s", word)
					return
				}
				if !invert && errno >= 0 {
					c.warn(a, "Allow-listed system calls cannot take error number, ignoring: %s", word)
					return
				}
			}
			if strings.HasPrefix(name, "@") && !knownSyscallGroup(name) {
				c.warn(a, "Unknown system call group, ignoring: %s", name)
				return
			}
			if !strings.HasPrefix(name, "@") && !knownSyscall(name) {
				c.warn(a, "Failed to parse system call, ignoring: %s", name)
				return
			}
			if !log {
				x.SyscallFilter = append(x.SyscallFilter, SyscallEntry{Name: name, Deny: invert, Errno: errno})
			}
		})
		return nil
	}
}

// Capability masks.
const (
	CapMaskUnset uint64 = math.MaxUint64 // CapabilityBoundingSet= not given
	capMaskAll   uint64 = math.MaxInt64  // CAP_MASK_ALL
)

// NamespacesUnset is the RestrictNamespaces= of a unit that does not set
// it: every namespace may be made.
const NamespacesUnset uint64 = math.MaxUint64

// A TemporaryFileSystem is one entry of TemporaryFileSystem=: a path and
// its mount options ("" for none).
type TemporaryFileSystem struct {
	Path, Options string
}

// A BindPath is one entry of BindPaths= or BindReadOnlyPaths=.
type BindPath struct {
	Source, Destination string
	ReadOnly            bool
	Recursive           bool // rbind, the default
	IgnoreMissing       bool // the source had a "-" prefix
}

// An ExecDirectory is one directory of RuntimeDirectory= and the like,
// with the symbolic links to make to it.
type ExecDirectory struct {
	Path     string
	Symlinks []string
}

// A MemoryLimit is a MemoryMax= and the like: a number of bytes, or a
// share of the machine's memory in ten-thousandths (then Bytes is 0).
// CGroupLimitMax is no limit.
type MemoryLimit struct {
	Bytes     uint64
	Permyriad int
}

// CGroupLimitMax is a MemoryLimit without a limit, "infinity".
const CGroupLimitMax uint64 = math.MaxUint64

// TasksMax is TasksMax=: Value tasks, or with a Scale, Value/Scale of the
// system's maximum.
type TasksMax struct {
	Value, Scale uint64
}

// confinement returns the confinement settings to fill in.
func (c *settingCtx) confinement() *Confinement { return &c.service().Confinement }

// defaultConfinement is what systemd's exec_context_init and
// cgroup_context_init leave.
func defaultConfinement() Confinement {
	return Confinement{
		IOSchedulingClass:        2,
		IOSchedulingPriority:     4,
		TimerSlackNSec:           math.MaxUint64,
		CapabilityBoundingSet:    CapMaskUnset,
		ProtectSystem:            "no",
		ProtectHome:              "no",
		ProtectProc:              "default",
		ProcSubset:               "all",
		RuntimeDirectoryPreserve: "no",
		RestrictNS:               NamespacesUnset,
	}
}

// ioClasses are ioprio_class's names.
var ioClasses = []string{"none", "realtime", "best-effort", "idle"}

// lookupWithFallback is systemd's DEFINE_STRING_TABLE_LOOKUP_WITH_FALLBACK:
// a name of the table, or a number up to max.
func lookupWithFallback(table []string, s string, max uint64) (int, bool) {
	if i := slices.Index(table, s); i >= 0 && s != "" {
		return i, true
	}
	n, err := parseUint(s, 0, false, max)
	return int(n), err == nil
}

// ioClassSetting is config_parse_exec_io_class.
func ioClassSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.IOSchedulingClass, x.IOSchedulingPriority, x.IOSchedulingSet = 2, 4, false
		return nil
	}
	n, ok := lookupWithFallback(ioClasses, a.Value, 8)
	if !ok {
		c.warn(a, "Failed to parse IO scheduling class, ignoring: %s", a.Value)
		return nil
	}
	x.IOSchedulingClass, x.IOSchedulingSet = n, true
	x.normalizeIO()
	return nil
}

// normalizeIO is ioprio_normalize: the class none is best-effort at 4,
// as the kernel takes it.
func (x *Confinement) normalizeIO() {
	if x.IOSchedulingClass == 0 {
		x.IOSchedulingClass, x.IOSchedulingPriority = 2, 4
	}
}

// ioPrioritySetting is config_parse_exec_io_priority: 0..7.
func ioPrioritySetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.IOSchedulingClass, x.IOSchedulingPriority, x.IOSchedulingSet = 2, 4, false
		return nil
	}
	n, err := SafeAtoi(a.Value)
	if err != nil || n < 0 || n > 7 {
		c.warn(a, "Failed to parse IO priority, ignoring: %s", a.Value)
		return nil
	}
	x.IOSchedulingPriority, x.IOSchedulingSet = n, true
	x.normalizeIO()
	return nil
}

// schedPolicies are sched_policy's names, by number.
var schedPolicies = []string{"other", "fifo", "rr", "batch", "", "idle"}

// cpuSchedPolicySetting is config_parse_exec_cpu_sched_policy; the
// priority is brought into the policy's range.
func cpuSchedPolicySetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.CPUSchedulingPolicy, x.CPUSchedulingPriority, x.CPUSchedulingSet = 0, 0, false
		return nil
	}
	n, ok := lookupWithFallback(schedPolicies, a.Value, math.MaxInt32)
	if !ok {
		c.warn(a, "Failed to parse CPU scheduling policy, ignoring: %s", a.Value)
		return nil
	}
	lo, hi := 0, 0 // sched_get_priority_min and _max
	if n == 1 || n == 2 {
		lo, hi = 1, 99
	}
	x.CPUSchedulingPolicy, x.CPUSchedulingPriority, x.CPUSchedulingSet = n, min(max(x.CPUSchedulingPriority, lo), hi), true
	return nil
}

// cpuSchedPrioSetting is config_parse_exec_cpu_sched_prio: 0..99.
func cpuSchedPrioSetting(c *settingCtx, a *Assignment) error {
	n, err := SafeAtoi(a.Value)
	switch {
	case err != nil:
		c.warn(a, "Failed to parse CPU scheduling priority, ignoring: %s", a.Value)
	case n < 0 || n > 99:
		c.warn(a, "CPU scheduling priority is out of range, ignoring: %s", a.Value)
	default:
		x := c.confinement()
		x.CPUSchedulingPriority, x.CPUSchedulingSet = n, true
	}
	return nil
}

// oomScoreAdjustSetting is config_parse_exec_oom_score_adjust:
// -1000..1000.
func oomScoreAdjustSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.OOMScoreAdjustSet = false
		return nil
	}
	n, err := SafeAtoi(a.Value)
	if err == nil && (n < -1000 || n > 1000) {
		err = eRANGE
	}
	switch {
	case err == eRANGE:
		c.warn(a, "OOM score adjust value out of range, ignoring: %s", a.Value)
	case err != nil:
		c.warn(a, "Failed to parse the OOM score adjust value '%s', ignoring: %s", a.Value, strerror(err))
	default:
		x.OOMScoreAdjust, x.OOMScoreAdjustSet = n, true
	}
	return nil
}

// nsecSetting is config_parse_nsec, for TimerSlackNSec=.
func nsecSetting(c *settingCtx, a *Assignment) error {
	n, err := timespan.ParseNanoseconds(a.Value)
	if err != nil {
		c.warn(a, "Failed to parse nsec value, ignoring: %s", a.Value)
		return nil
	}
	c.confinement().TimerSlackNSec = n
	return nil
}

// personalities are the architectures personality_from_string takes: the
// native one of the build, and its secondary one.
var personalities = map[string][]string{
	"amd64": {"x86-64", "x86"}, "386": {"x86"}, "arm64": {"arm64", "arm"}, "arm": {"arm"},
	"ppc64": {"ppc64", "ppc"}, "ppc64le": {"ppc64-le"}, "s390x": {"s390x", "s390"},
	"riscv64": {"riscv64"}, "loong64": {"loongarch64"}, "mips": {"mips"}, "mipsle": {"mips-le"},
	"mips64": {"mips64"}, "mips64le": {"mips64-le"},
}[runtime.GOARCH]

// PersonalityOf returns the execution domain of a Personality= value
// where the manager runs: PER_LINUX for the native architecture,
// PER_LINUX32 for its secondary one.
func PersonalityOf(arch string) (uint32, bool) {
	switch slices.Index(personalities, arch) {
	case -1:
		return 0, false
	case 0:
		return 0, true
	}
	return 8, true
}

// personalitySetting is config_parse_personality.
func personalitySetting(c *settingCtx, a *Assignment) error {
	if a.Value != "" && !slices.Contains(personalities, a.Value) {
		c.warn(a, "Failed to parse personality, ignoring: %s", a.Value)
		return nil
	}
	c.confinement().Personality = a.Value
	return nil
}

// capabilityNames are Linux's capabilities by number, as cap-list knows
// them.
var capabilityNames = []string{"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill",
	"setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin",
	"net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease",
	"audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore"}

// capabilityFromName is capability_from_name: a number below 64, or a
// name with "cap_" in any case.
func capabilityFromName(s string) (int, bool) {
	if n, err := SafeAtoi(s); err == nil {
		return n, n >= 0 && n < 64
	}
	name, ok := strings.CutPrefix(strings.ToLower(s), "cap_")
	if !ok {
		return 0, false
	}
	i := slices.Index(capabilityNames, name)
	return i, i >= 0
}

// capabilitySetSetting is config_parse_capability_set. Unknown names are
// dropped quietly, as capability_set_from_string drops them.
func capabilitySetSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	set, def := &x.AmbientCapabilities, uint64(0)
	if a.Key == "CapabilityBoundingSet" {
		set, def = &x.CapabilityBoundingSet, CapMaskUnset
	}
	v, invert := strings.CutPrefix(a.Value, "~")
	var sum uint64
	w := words{s: v}
	for {
		word, more, err := w.next("", extractUnquote|extractRelax)
		if err != nil || !more {
			break
		}
		if n, ok := capabilityFromName(word); ok {
			sum |= 1 << n
		}
	}
	switch {
	case sum == 0 || *set == def:
		if invert {
			sum = ^sum
		}
		*set = sum
	case invert:
		*set &^= sum
	default:
		*set |= sum
	}
	return nil
}

// secureBitsSetting is config_parse_exec_secure_bits: names of secure
// bits; others are dropped quietly, as secure_bits_from_string does.
func secureBitsSetting(c *settingCtx, a *Assignment) error {
	names := []string{"noroot", "noroot-locked", "no-setuid-fixup", "no-setuid-fixup-locked", "keep-caps", "keep-caps-locked"}
	bits := 0
	w := words{s: a.Value}
	for {
		word, more, err := w.next("", extractUnquote)
		if err != nil || !more {
			break
		}
		if i := slices.Index(names, word); i >= 0 {
			bits |= 1 << i
		}
	}
	c.confinement().SecureBits = bits
	return nil
}

// boolEnumSetting is DEFINE_CONFIG_PARSE_ENUM over a table that also
// takes booleans (DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN): yes is the
// second name, no the first.
func boolEnumSetting(field func(*Confinement) *string, msg string, names ...string) setter {
	return func(c *settingCtx, a *Assignment) error {
		v := a.Value
		if b, ok := ParseBoolean(v); ok {
			v = names[map[bool]int{false: 0, true: 1}[b]]
		} else if !slices.Contains(names, v) {
			c.warn(a, "%s, ignoring: %s", msg, a.Value)
			return nil
		}
		*field(c.confinement()) = v
		return nil
	}
}

// confinementEnumSetting is DEFINE_CONFIG_PARSE_ENUM for a setting kept
// in Confinement.
func confinementEnumSetting(field func(*Confinement) *string, msg string, names ...string) setter {
	return func(c *settingCtx, a *Assignment) error {
		if !slices.Contains(names, a.Value) {
			c.warn(a, "%s, ignoring: %s", msg, a.Value)
			return nil
		}
		*field(c.confinement()) = a.Value
		return nil
	}
}

// namespacePaths are the lists of the namespace_path_strv settings, by
// key; the old names are those of the …Paths= settings that replace them.
var namespacePaths = map[string]func(*Confinement) *[]string{
	"ReadWritePaths":          func(x *Confinement) *[]string { return &x.ReadWritePaths },
	"ReadWriteDirectories":    func(x *Confinement) *[]string { return &x.ReadWritePaths },
	"ReadOnlyPaths":           func(x *Confinement) *[]string { return &x.ReadOnlyPaths },
	"ReadOnlyDirectories":     func(x *Confinement) *[]string { return &x.ReadOnlyPaths },
	"InaccessiblePaths":       func(x *Confinement) *[]string { return &x.InaccessiblePaths },
	"InaccessibleDirectories": func(x *Confinement) *[]string { return &x.InaccessiblePaths },
	"ExecPaths":               func(x *Confinement) *[]string { return &x.ExecPaths },
	"NoExecPaths":             func(x *Confinement) *[]string { return &x.NoExecPaths },
	"ExtensionDirectories":    func(x *Confinement) *[]string { return &x.ExtensionDirectories },
}

// namespacePathsSetting is config_parse_namespace_path_strv: absolute
// paths, each perhaps prefixed with "-" and then "+".
func namespacePathsSetting(c *settingCtx, a *Assignment) error {
	list := namespacePaths[a.Key](c.confinement())
	if a.Value == "" {
		*list = nil
		return nil
	}
	c.eachWord(a, a.Value, extractUnquote, "Failed to extract first word, ignoring: %s", func(word string) {
		v, ignore := strings.CutPrefix(word, "-")
		v, prefix := strings.CutPrefix(v, "+")
		p, err := c.x.path(v)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in %s: %s", v, strerror(err))
			return
		}
		if p, err = c.checkPath(a, p, false); err != nil {
			return
		}
		if prefix {
			p = "+" + p
		}
		if ignore {
			p = "-" + p
		}
		*list = append(*list, p)
	})
	return nil
}

// temporaryFileSystemSetting is config_parse_temporary_filesystems:
// "PATH[:OPTIONS]" words.
func temporaryFileSystemSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.TemporaryFileSystem = nil
		return nil
	}
	c.eachWord(a, a.Value, extractUnquote, "Failed to extract first word, ignoring: %s", func(word string) {
		path, options, _ := strings.Cut(word, ":")
		p, err := c.x.path(path)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", path, strerror(err))
			return
		}
		if p, err = c.checkPath(a, p, false); err == nil {
			x.TemporaryFileSystem = append(x.TemporaryFileSystem, TemporaryFileSystem{p, options})
		}
	})
	return nil
}

// bindPathsSetting is config_parse_bind_paths:
// "[-]SOURCE[:DESTINATION[:OPTIONS]]" words.
func bindPathsSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.BindPaths = nil
		return nil
	}
	w := words{s: a.Value}
	colon := func() bool { return !w.done && w.i > 0 && w.s[w.i-1] == ':' }
	const seps = ":" + whitespace
	for {
		source, more, err := w.next(seps, extractUnquote|extractDontCoalesceSeparators)
		if err != nil {
			c.warn(a, "Failed to parse %s, ignoring: %s", a.Key, a.Value)
			return nil
		}
		if !more {
			return nil
		}
		s, err := c.x.path(source)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in \"%s\", ignoring: %s", source, strerror(err))
			continue
		}
		b := BindPath{ReadOnly: a.Key == "BindReadOnlyPaths", Recursive: true}
		s, b.IgnoreMissing = strings.CutPrefix(s, "-")
		if b.Source, err = c.checkPath(a, s, false); err != nil {
			continue
		}
		b.Destination = b.Source
		if colon() {
			dest, more, err := w.next(seps, extractUnquote|extractDontCoalesceSeparators)
			if err != nil {
				c.warn(a, "Failed to parse %s, ignoring: %s", a.Key, a.Value)
				return nil
			}
			if !more {
				c.warn(a, "Missing argument after ':', ignoring: %s", b.Source)
				continue
			}
			d, err := c.x.path(dest)
			if err != nil {
				c.warn(a, "Failed to resolve specifiers in \"%s\", ignoring: %s", dest, strerror(err))
				continue
			}
			if b.Destination, err = c.checkPath(a, d, false); err != nil {
				continue
			}
			if colon() {
				options, _, err := w.next("", extractUnquote)
				if err != nil {
					c.warn(a, "Failed to parse %s=, ignoring: %s", a.Key, a.Value)
					return nil
				}
				switch options {
				case "", "rbind":
				case "norbind":
					b.Recursive = false
				default:
					c.warn(a, "Invalid option string, ignoring setting: %s", options)
					continue
				}
			}
		}
		x.BindPaths = append(x.BindPaths, b)
	}
}

// execDirectoriesSetting is config_parse_exec_directories, for
// RuntimeDirectory= and the like: relative paths, each with a symbolic
// link to make to it after a ":" (but for ConfigurationDirectory=).
func execDirectoriesSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	kind := strings.TrimSuffix(a.Key, "Directory")
	if a.Value == "" {
		delete(x.Directories, kind)
		return nil
	}
	for tuple := range c.tuples(a) {
		t := words{s: tuple}
		src, ok, err1 := t.next(":", extractCUnescape|extractUnescapeSeparators)
		dest, _, err2 := t.next(":", extractCUnescape|extractUnescapeSeparators)
		if !ok || err1 != nil || err2 != nil {
			c.warn(a, "Invalid syntax in %s=, ignoring: %s", a.Key, tuple)
			return nil
		}
		s, err := c.x.path(src)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in \"%s\", ignoring: %s", src, strerror(err))
			continue
		}
		if s, err = c.checkPathAs(a, s, relativePath, false); err != nil {
			continue
		}
		if s == "private" || strings.HasPrefix(s, "private/") {
			c.warn(a, "%s= path can't be 'private', ignoring assignment: %s", a.Key, tuple)
			continue
		}
		var link string
		if dest != "" {
			if kind == "Configuration" {
				c.warn(a, "Destination parameter is not supported for ConfigurationDirectory, ignoring: %s", tuple)
				continue
			}
			if link, err = c.x.path(dest); err != nil {
				c.warn(a, "Failed to resolve unit specifiers in \"%s\", ignoring: %s", dest, strerror(err))
				continue
			}
			if link, err = c.checkPathAs(a, link, relativePath, false); err != nil {
				continue
			}
		}
		if x.Directories == nil {
			x.Directories = map[string][]ExecDirectory{}
		}
		dirs := x.Directories[kind]
		i := slices.IndexFunc(dirs, func(d ExecDirectory) bool { return d.Path == s })
		if i < 0 {
			dirs = append(dirs, ExecDirectory{Path: s})
			i = len(dirs) - 1
		}
		if link != "" {
			dirs[i].Symlinks = append(dirs[i].Symlinks, link)
		}
		x.Directories[kind] = dirs
	}
	return nil
}

// tuples yields the words of a's value, unquoted with their escapes
// kept, as the loops of config_parse_exec_directories and the like take
// them with extract_first_word(EXTRACT_UNQUOTE|EXTRACT_RETAIN_ESCAPE);
// at bad quoting it warns as they do, and ends.
func (c *settingCtx) tuples(a *Assignment) iter.Seq[string] {
	return func(yield func(string) bool) {
		w := words{s: a.Value}
		for {
			tuple, more, err := w.next("", extractUnquote|extractRetainEscape)
			if err != nil {
				c.warn(a, "Invalid syntax %s=%s, ignoring: %s", a.Key, a.Value, strerror(eINVAL))
				return
			}
			if !more || !yield(tuple) {
				return
			}
		}
	}
}

// directoryModeSetting is config_parse_mode for RuntimeDirectoryMode= and
// the like.
func directoryModeSetting(c *settingCtx, a *Assignment) error {
	n, err := parseUint(a.Value, 8, true, 07777)
	if err != nil {
		c.warn(a, "Failed to parse mode value, ignoring: %s", a.Value)
		return nil
	}
	x := c.confinement()
	if x.DirectoryModes == nil {
		x.DirectoryModes = map[string]uint32{}
	}
	x.DirectoryModes[strings.TrimSuffix(a.Key, "DirectoryMode")] = uint32(n)
	return nil
}

// A NamespaceFlag is a namespace RestrictNamespaces= names, with its
// CLONE_NEW… flag.
type NamespaceFlag struct {
	Name string
	Flag uint64
}

// NamespaceFlags are the namespaces RestrictNamespaces= names, as
// namespace_info has them.
var NamespaceFlags = []NamespaceFlag{
	{"cgroup", 0x02000000}, {"ipc", 0x08000000}, {"net", 0x40000000}, {"mnt", 0x00020000},
	{"pid", 0x20000000}, {"user", 0x10000000}, {"uts", 0x04000000}, {"time", 0x00000080},
}

// NamespaceFlagsAll is NAMESPACE_FLAGS_ALL, the flags of all of them.
const NamespaceFlagsAll uint64 = 0x02000000 | 0x08000000 | 0x40000000 | 0x00020000 | 0x20000000 | 0x10000000 | 0x04000000 | 0x00000080

// restrictNamespacesSetting is config_parse_restrict_namespaces: a
// boolean, or namespaces allowed (or after "~", denied).
func restrictNamespacesSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.RestrictNS = NamespacesUnset
		return nil
	}
	if b, ok := ParseBoolean(a.Value); ok {
		x.RestrictNS = map[bool]uint64{true: 0, false: NamespaceFlagsAll}[b]
		return nil
	}
	v, invert := strings.CutPrefix(a.Value, "~")
	var flags uint64
	w := words{s: v}
	for {
		word, more, err := w.next("", extractUnquote|extractRelax)
		if err != nil {
			break
		}
		if !more {
			break
		}
		i := slices.IndexFunc(NamespaceFlags, func(n NamespaceFlag) bool { return n.Name == word })
		if i < 0 {
			c.warn(a, "Failed to parse namespace type string, ignoring: %s", v)
			return nil
		}
		flags |= NamespaceFlags[i].Flag
	}
	switch {
	case x.RestrictNS == NamespacesUnset && invert:
		x.RestrictNS = ^flags & NamespaceFlagsAll
	case x.RestrictNS == NamespacesUnset:
		x.RestrictNS = flags
	case invert:
		x.RestrictNS &^= flags
	default:
		x.RestrictNS |= flags
	}
	return nil
}

// syscallErrnoSetting is config_parse_syscall_errno: "kill", or an error
// by name or number, 1..4095.
func syscallErrnoSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" || a.Value == "kill" {
		x.SyscallErrno = 0
		return nil
	}
	e, ok := parseErrno(a.Value)
	switch {
	case !ok:
		c.warn(a, "Failed to parse error number, ignoring: %s", a.Value)
	case e == 0:
		c.warn(a, "Invalid error number, ignoring: %s", a.Value)
	default:
		x.SyscallErrno = e
	}
	return nil
}

// parseErrno is parse_errno: a name of errnoNames in any case, or a
// number up to ERRNO_MAX.
func parseErrno(s string) (int, bool) {
	if n, ok := errnoNames[strings.ToUpper(s)]; ok {
		return n, true
	}
	n, err := SafeAtoi(s)
	return n, err == nil && n >= 0 && n <= 4095
}

// seccompArchitectures are the names seccomp_arch_from_string knows.
var seccompArchitectures = []string{"native", "x86", "x86-64", "x32", "arm", "arm64", "loongarch64", "mips", "mips64",
	"mips64-n32", "mips-le", "mips64-le", "mips64-le-n32", "parisc", "parisc64", "ppc", "ppc64", "ppc64-le",
	"riscv64", "s390", "s390x"}

// syscallArchsSetting is config_parse_syscall_archs.
func syscallArchsSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.SyscallArchs = nil
		return nil
	}
	c.eachWord(a, a.Value, extractUnquote, "Invalid syntax, ignoring: %s", func(word string) {
		switch {
		case !slices.Contains(seccompArchitectures, word):
			c.warn(a, "Failed to parse system call architecture \"%s\", ignoring: %s", word, strerror(eINVAL))
		case !slices.Contains(x.SyscallArchs, word):
			x.SyscallArchs = append(x.SyscallArchs, word)
		}
	})
	return nil
}

// restrictAddressFamiliesSetting is config_parse_address_families:
// families allowed, or after "~" denied, the first assignment deciding
// which; "none" allows none; empty clears the restriction.
func restrictAddressFamiliesSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	switch a.Value {
	case "":
		x.RestrictAddressFamilies, x.AddressFamiliesAllowList = nil, false
		return nil
	case "none":
		x.RestrictAddressFamilies, x.AddressFamiliesAllowList = nil, true
		return nil
	}
	v, invert := strings.CutPrefix(a.Value, "~")
	if x.RestrictAddressFamilies == nil && !x.AddressFamiliesAllowList {
		x.AddressFamiliesAllowList = !invert
	}
	if x.RestrictAddressFamilies == nil {
		x.RestrictAddressFamilies = []string{}
	}
	w := words{s: v}
	for {
		word, more, err := w.next("", extractUnquote)
		if err != nil {
			c.warn(a, "Invalid syntax, ignoring: %s", v)
			return nil
		}
		if !more {
			return nil
		}
		// af_from_name's table ignores case.
		i := slices.IndexFunc(addressFamilies, func(n string) bool { return strings.EqualFold(n, word) })
		if i < 0 {
			c.warn(a, "Failed to parse address family, ignoring: %s", word)
			continue
		}
		af := addressFamilies[i]
		has := slices.Contains(x.RestrictAddressFamilies, af)
		switch {
		case !invert == x.AddressFamiliesAllowList && !has:
			x.RestrictAddressFamilies = append(x.RestrictAddressFamilies, af)
		case invert == x.AddressFamiliesAllowList && has:
			x.RestrictAddressFamilies = slices.DeleteFunc(x.RestrictAddressFamilies, func(n string) bool { return n == af })
		}
	}
}

// confinementFlags are the boolean settings of a service's Confinement
// the manager acts on, by key.
var confinementFlags = map[string]func(*Confinement) *bool{
	"CPUSchedulingResetOnFork": func(x *Confinement) *bool { return &x.CPUSchedulingResetOnFork },
	"NoNewPrivileges":          func(x *Confinement) *bool { return &x.NoNewPrivileges },
	"PrivateTmp":               func(x *Confinement) *bool { return &x.PrivateTmp },
	"PrivateDevices":           func(x *Confinement) *bool { return &x.PrivateDevices },
	"PrivateNetwork":           func(x *Confinement) *bool { return &x.PrivateNetwork },
	"PrivateIPC":               func(x *Confinement) *bool { return &x.PrivateIPC },
	"PrivateUsers":             func(x *Confinement) *bool { return &x.PrivateUsers },
	"DynamicUser":              func(x *Confinement) *bool { return &x.DynamicUser },
	"ProtectHostname":          func(x *Confinement) *bool { return &x.ProtectHostname },
	"ProtectKernelTunables":    func(x *Confinement) *bool { return &x.ProtectKernelTunables },
	"ProtectKernelModules":     func(x *Confinement) *bool { return &x.ProtectKernelModules },
	"ProtectKernelLogs":        func(x *Confinement) *bool { return &x.ProtectKernelLogs },
	"ProtectControlGroups":     func(x *Confinement) *bool { return &x.ProtectControlGroups },
	"RestrictRealtime":         func(x *Confinement) *bool { return &x.RestrictRealtime },
	"RestrictSUIDSGID":         func(x *Confinement) *bool { return &x.RestrictSUIDSGID },
	"LockPersonality":          func(x *Confinement) *bool { return &x.LockPersonality },
	"MemoryDenyWriteExecute":   func(x *Confinement) *bool { return &x.MemoryDenyWriteExecute },
	"ProtectClock":             func(x *Confinement) *bool { return &x.ProtectClock },
}

// confinementActed are the other settings of a service's Confinement the
// manager acts on; they are parsed as the checkers parse them.
var confinementActed = []string{
	"RuntimeDirectory", "StateDirectory", "CacheDirectory", "LogsDirectory", "ConfigurationDirectory", "RuntimeDirectoryPreserve",
	"IOSchedulingClass", "IOSchedulingPriority", "CPUSchedulingPolicy", "CPUSchedulingPriority", "CPUAffinity",
	"OOMScoreAdjust", "TimerSlackNSec", "Personality",
	"SupplementaryGroups", "CapabilityBoundingSet", "AmbientCapabilities", "SecureBits",
	"ProtectSystem", "ProtectHome", "ProtectProc", "ProcSubset", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths",
	"ReadWriteDirectories", "ReadOnlyDirectories", "InaccessibleDirectories", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
	"SystemCallFilter", "SystemCallErrorNumber", "SystemCallArchitectures", "RestrictAddressFamilies", "RestrictNamespaces",
	"MemoryMax", "MemoryHigh", "CPUQuota", "CPUWeight", "TasksMax", "IOWeight",
}

// typedSetter is the parser of a setting the typed sections keep: those
// of typedSetters, and of a service's Confinement those the manager acts
// on.
func typedSetter(key string) (setter, bool) {
	if s, ok := typedSetters[key]; ok {
		return s, true
	}
	name, ok := strings.CutPrefix(key, "Service.")
	if !ok {
		return nil, false
	}
	if f, ok := confinementFlags[name]; ok {
		return boolSetting(func(u *Unit) *bool { return f(&u.execSettings().Confinement) }, false), true
	}
	if slices.Contains(confinementActed, name) {
		p := knownSettings[key]
		return checker(p.parser, p.arg), true
	}
	return nil, false
}

// ExecDirectoryKinds are the kinds of a service's own directories, as
// Directories names them, in the order of systemd's ExecDirectoryType.
var ExecDirectoryKinds = [...]string{"Runtime", "State", "Cache", "Logs", "Configuration"}

// DirectoryMode returns the mode the directories of a kind ("State") are
// made with: its …DirectoryMode=, or systemd's default 0755.
func (x *Confinement) DirectoryMode(kind string) uint32 {
	if m, ok := x.DirectoryModes[kind]; ok {
		return m
	}
	return 0o755
}

// patchDynamicUser is unit_patch_contexts for DynamicUser=: User= is the
// unit's name without its type and instance where that is a valid user
// name, and Group= is User=; the sandbox that keeps the user's
// ID from being left behind in the file system is implied.
func (s *ServiceSection) patchDynamicUser(unitName string) {
	x := &s.Confinement
	if !x.DynamicUser {
		return
	}
	if s.User == "" {
		// systemd names a unit whose prefix is no valid user name
		// "_du" and a siphash24 of it; such a unit keeps no User=
		// here, and fails to start.
		if n, err := ParseName(unitName); err == nil && strictUserGroupName(n.Prefix) {
			s.User = n.Prefix
		}
	}
	if s.Group == "" {
		s.Group = s.User
	}
	x.PrivateTmp, x.ProtectSystem, x.NoNewPrivileges, x.RestrictSUIDSGID = true, "strict", true, true
	if x.ProtectHome == "no" {
		x.ProtectHome = "read-only"
	}
}
