package condition

import (
	"bytes"
	"cmp"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"sundial.dev/sundial/unit"
)

const whitespace = " \t\n\r"

// parseBoolean is systemd's parse_boolean, with its error.
func parseBoolean(s string) (bool, error) {
	if b, ok := unit.ParseBoolean(s); ok {
		return b, nil
	}
	return false, syscall.EINVAL
}

// errnoOf is the errno of an error of the os package, as systemd's
// functions return it.
func errnoOf(err error) error {
	if e, ok := errors.AsType[syscall.Errno](err); ok {
		return e
	}
	if errors.Is(err, fs.ErrNotExist) {
		return syscall.ENOENT
	}
	return syscall.EIO
}

// exists is access(path, F_OK) >= 0.
func exists(path string) bool { return syscall.Access(path, 0) == nil }

// readLine is read_one_line_file: the first line, without its end.
func readLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", errnoOf(err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(line), nil
}

// splitQuoted is extract_first_word with EXTRACT_UNQUOTE, repeated; its
// error is EINVAL.
func splitQuoted(s string) ([]string, error) {
	words, err := unit.SplitQuoted(s)
	if err != nil {
		return nil, syscall.EINVAL
	}
	return words, nil
}

// host is the machine, read once for each test that needs it.
func host() *unit.Host { return (&unit.Host{}).Resolved() }

// goArchitectures are systemd's names for the architectures Go builds
// for: native_architecture.
var goArchitectures = map[string]string{
	"amd64": "x86-64", "386": "x86", "arm64": "arm64", "arm": "arm",
	"riscv64": "riscv64", "ppc64le": "ppc64-le", "ppc64": "ppc64",
	"s390x": "s390x", "mips64le": "mips64-le", "mips64": "mips64",
	"mipsle": "mips-le", "mips": "mips", "loong64": "loongarch64",
}

// testArchitecture is condition_test_architecture: the kernel's
// architecture, or "native", that of this program; an unknown name is
// not ours.
func testArchitecture(param string, _ []string) (bool, error) {
	a := host().Architecture
	if a == "" {
		return false, syscall.EINVAL
	}
	if param == "native" {
		return goArchitectures[runtime.GOARCH] == a, nil
	}
	return param == a, nil
}

// testFirmware is condition_test_firmware.
func testFirmware(param string, _ []string) (bool, error) {
	switch {
	case param == "device-tree":
		return exists("/sys/firmware/devicetree/"), nil
	case strings.HasPrefix(param, "device-tree-compatible("):
		arg := strings.TrimPrefix(param, "device-tree-compatible(")
		end := strings.LastIndexByte(arg, ')')
		if end < 0 || end != len(arg)-1 {
			return false, nil
		}
		b, err := os.ReadFile("/proc/device-tree/compatible")
		if err != nil || len(b) == 0 || b[len(b)-1] != 0 {
			return false, nil
		}
		for _, s := range strings.Split(string(b[:len(b)-1]), "\x00") {
			if s == arg[:end] {
				return true, nil
			}
		}
		return false, nil
	case param == "uefi":
		return isEFIBoot(), nil
	case strings.HasPrefix(param, "smbios-field("):
		arg := strings.TrimPrefix(param, "smbios-field(")
		end := strings.LastIndexByte(arg, ')')
		if end < 0 || end != len(arg)-1 {
			return false, syscall.EINVAL
		}
		return testSMBIOSField(arg[:end])
	}
	return false, nil
}

// isEFIBoot is is_efi_boot: booted by UEFI, and not in a container.
func isEFIBoot() bool {
	return detectContainer() == "none" && exists("/sys/firmware/efi/")
}

// testSMBIOSField is condition_test_firmware_smbios_field: "field OP
// value", the field read from /sys/class/dmi/id.
func testSMBIOSField(expr string) (bool, error) {
	i := strings.IndexAny(expr, opChars)
	if i < 0 {
		return false, syscall.EINVAL
	}
	field := strings.TrimRight(expr[:i], whitespace)
	o, rest := parseOp(expr[i:], allowFnmatch|equalByString)
	if o == opNone {
		return false, syscall.EINVAL
	}
	words, err := splitQuoted(rest)
	if err != nil || len(words) != 1 || strings.TrimLeft(rest, whitespace) == "" {
		return false, syscall.EINVAL
	}
	if field == "" || field == "." || field == ".." || strings.Contains(field, "/") {
		return false, syscall.EINVAL
	}
	v, err := os.ReadFile("/sys/class/dmi/id/" + field)
	if err != nil {
		if errnoOf(err) == syscall.ENOENT {
			return false, nil
		}
		return false, errnoOf(err)
	}
	return versionOrFnmatch(o, strings.TrimRight(string(v), whitespace), words[0])
}

// parseID128 is sd_id128_from_string: 32 hexadecimal digits, or a UUID.
func parseID128(s string) (string, bool) {
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !('a' <= s[i]|0x20 && s[i]|0x20 <= 'f') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// testHost is condition_test_host: the machine ID, or the host name
// matched as a pattern, case folded.
func testHost(param string, _ []string) (bool, error) {
	h := host()
	if id, ok := parseID128(param); ok {
		if h.MachineID == "" {
			return false, errNoMedium // as sd_id128_get_machine without a machine ID
		}
		return id == h.MachineID, nil
	}
	name := h.Hostname
	if name == "" || name == "(none)" {
		name = "localhost"
	}
	return fnmatch(param, name, true), nil
}

// kernelCommandLine is proc_cmdline_strv: the words of /proc/cmdline, or
// in a container the arguments of its PID 1.
func kernelCommandLine() ([]string, error) {
	if s, ok := os.LookupEnv("SYSTEMD_PROC_CMDLINE"); ok {
		return splitQuoted(s)
	}
	if detectContainer() != "none" {
		b, err := os.ReadFile("/proc/1/cmdline")
		if err != nil {
			return nil, errnoOf(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
	}
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return nil, errnoOf(err)
	}
	return splitQuoted(strings.TrimRight(string(b), whitespace))
}

// testKernelCommandLine is condition_test_kernel_command_line: a word
// equal to the parameter, or, where it has no "=", a word that is it or
// starts with it and "=".
func testKernelCommandLine(param string, _ []string) (bool, error) {
	args, err := kernelCommandLine()
	if err != nil {
		return false, err
	}
	return hasWord(args, param), nil
}

// hasWord is the search of condition_test_kernel_command_line and
// condition_test_environment.
func hasWord(words []string, param string) bool {
	equal := strings.Contains(param, "=")
	for _, w := range words {
		if equal && w == param {
			return true
		}
		if rest, ok := strings.CutPrefix(w, param); !equal && ok && (rest == "" || rest[0] == '=') {
			return true
		}
	}
	return false
}

// testKernelVersion is condition_test_kernel_version: expressions "OP
// VERSION" or patterns, all of which the kernel's release must meet.
func testKernelVersion(param string, _ []string) (bool, error) {
	release := host().KernelRelease
	words, err := splitQuoted(param)
	if err != nil {
		return false, err
	}
	for i := 0; i < len(words); i++ {
		s := strings.Trim(words[i], whitespace)
		o, rest := parseOp(s, allowFnmatch|equalByString)
		if o == opNone {
			o, rest = opFnmatchEqual, s
		}
		rest = strings.TrimLeft(rest, whitespace)
		if rest == "" {
			// White space may follow the operator of the first
			// expression, for compatibility.
			if i != 0 || i+1 >= len(words) {
				return false, syscall.EINVAL
			}
			i++
			rest = words[i]
		}
		ok, err := versionOrFnmatch(o, release, rest)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// validFilename is systemd's filename_is_valid.
func validFilename(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/") && len(s) <= 255
}

// testCredential is condition_test_credential: a credential of that name
// in $CREDENTIALS_DIRECTORY or $ENCRYPTED_CREDENTIALS_DIRECTORY.
func testCredential(param string, _ []string) (bool, error) {
	if !validFilename(param) {
		return false, nil
	}
	for _, env := range []string{"CREDENTIALS_DIRECTORY", "ENCRYPTED_CREDENTIALS_DIRECTORY"} {
		dir, ok := os.LookupEnv(env)
		if !ok {
			continue
		}
		if !strings.HasPrefix(dir, "/") || unit.SimplifyPath(dir) != dir {
			return false, syscall.EINVAL
		}
		_, err := os.Lstat(dir + "/" + param)
		if err == nil {
			return true, nil
		}
		if e := errnoOf(err); e != syscall.ENOENT {
			return false, e
		}
	}
	return false, nil
}

// testEnvironment is condition_test_environment, in the manager's
// environment.
func testEnvironment(param string, env []string) (bool, error) {
	return hasWord(env, param), nil
}

// testSecurity is condition_test_security: the security modules and
// features systemd 254 knows; others are absent.
func testSecurity(param string, _ []string) (bool, error) {
	switch param {
	case "selinux":
		return exists("/sys/fs/selinux/enforce"), nil
	case "smack":
		return exists("/sys/fs/smackfs/"), nil
	case "apparmor":
		s, err := readLine("/sys/module/apparmor/parameters/enabled")
		b, perr := parseBoolean(s)
		return err == nil && perr == nil && b, nil
	case "audit":
		return useAudit(), nil
	case "ima":
		return exists("/sys/kernel/security/ima/"), nil
	case "tomoyo":
		return exists("/sys/kernel/security/tomoyo/version"), nil
	case "uefi-secureboot":
		b, err := os.ReadFile("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
		return isEFIBoot() && err == nil && len(b) == 5 && b[4] == 1, nil
	case "tpm2":
		// tpm2_support: the kernel's subsystem, and the firmware's.
		return exists("/sys/class/tpmrm") && (exists("/sys/firmware/acpi/tables/TPM2") ||
			exists("/sys/kernel/security/tpm0/binary_bios_measurements")), nil
	case "cvm":
		return confidentialVM(), nil
	}
	return false, nil
}

// capabilityNames are the capabilities by number, as capability_from_name
// knows them.
var capabilityNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

// capabilityFromName is capability_from_name: a name, any case, or a
// number below 64.
func capabilityFromName(s string) (int, bool) {
	for i, n := range capabilityNames {
		if strings.EqualFold(s, n) {
			return i, true
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n < 64 && (s[0] != '+' && s[0] != '-')
}

// testCapability is condition_test_capability: the capability is in the
// bounding set.
func testCapability(param string, _ []string) (bool, error) {
	c, ok := capabilityFromName(param)
	if !ok {
		return false, syscall.EINVAL
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, errnoOf(err)
	}
	bounding := ^uint64(0)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
				bounding = n
			}
			break
		}
	}
	return bounding&(1<<c) != 0, nil
}

// onACPower is on_ac_power: some mains supply online, or none offline.
func onACPower() (bool, error) {
	const dir = "/sys/class/power_supply/"
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errnoOf(err) == syscall.ENOENT {
			return true, nil
		}
		return false, errnoOf(err)
	}
	online, offline := false, false
	for _, e := range entries {
		if t, err := os.ReadFile(dir + e.Name() + "/type"); err != nil || string(t) != "Mains\n" {
			continue
		}
		o, err := os.ReadFile(dir + e.Name() + "/online")
		if err != nil {
			continue
		}
		if len(o) != 2 || o[1] != '\n' {
			return false, syscall.EIO
		}
		switch o[0] {
		case '1':
			return true, nil
		case '0':
			offline = true
		default:
			return false, syscall.EIO
		}
	}
	return online || !offline, nil
}

// testACPower is condition_test_ac_power.
func testACPower(param string, _ []string) (bool, error) {
	want, err := parseBoolean(param)
	if err != nil {
		return false, err
	}
	on, err := onACPower()
	return (on || err != nil) == want, nil
}

// commandLineBool is proc_cmdline_get_bool: whether the kernel command
// line sets key, and to what; a bare key is true.
func commandLineBool(key string) (value, set bool) {
	args, err := kernelCommandLine()
	if err != nil {
		return false, false
	}
	for _, a := range args {
		k, v, hasValue := strings.Cut(a, "=")
		if k != key {
			continue
		}
		if !hasValue {
			value, set = true, true
			continue
		}
		if b, err := parseBoolean(v); err == nil {
			value, set = b, true
		}
	}
	return value, set
}

// inInitrd is in_initrd.
func inInitrd() bool {
	if v, ok := os.LookupEnv("SYSTEMD_IN_INITRD"); ok {
		b, err := parseBoolean(v)
		return err == nil && b
	}
	return exists("/etc/initrd-release")
}

// testNeedsUpdate is condition_test_needs_update: /usr is newer than the
// directory's .updated, unless its file system is read-only; in doubt,
// an update is needed.
func testNeedsUpdate(param string, _ []string) (bool, error) {
	if b, ok := commandLineBool("systemd.condition_needs_update"); ok {
		return b, nil
	}
	if inInitrd() {
		return false, nil
	}
	if !strings.HasPrefix(param, "/") {
		return true, nil
	}
	if ro, err := readOnlyFS(param); err == nil && ro {
		return false, nil
	}
	p := param + "/.updated"
	other, err := lstatTimes(p)
	if err != nil {
		return true, nil
	}
	usr, err := lstatTimes("/usr/")
	if err != nil {
		return true, nil
	}
	if usr.sec != other.sec {
		return usr.sec > other.sec, nil
	}
	if usr.nsec == 0 || other.nsec > 0 {
		return usr.nsec > other.nsec, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return true, nil
	}
	vars, err := unit.ReadEnvironmentFile(data)
	if err != nil {
		return true, nil
	}
	ts := ""
	for _, kv := range vars {
		if v, ok := strings.CutPrefix(kv, "TIMESTAMP_NSEC="); ok {
			ts = v
		}
	}
	n, err := strconv.ParseUint(ts, 10, 64)
	if err != nil {
		return true, nil
	}
	return uint64(usr.sec)*1e9+uint64(usr.nsec) > n, nil
}

// testFirstBoot is condition_test_first_boot.
func testFirstBoot(param string, _ []string) (bool, error) {
	want, err := parseBoolean(param)
	if err != nil {
		return false, err
	}
	first := exists("/run/systemd/first-boot")
	if v, ok := os.LookupEnv("SYSTEMD_FIRST_BOOT"); ok {
		if b, err := parseBoolean(v); err == nil {
			first = b
		}
	}
	return first == want, nil
}

// parseID is parse_uid and parse_gid: a decimal number without leading
// zeros that is a valid ID (not -1, not 65535).
func parseID(s string) (uint32, bool) {
	if s == "" || s[0] == '0' && len(s) > 1 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil && n != 0xffffffff && n != 0xffff
}

// systemUIDMax is SYSTEM_UID_MAX of Debian's and most distributions'
// builds of systemd.
const systemUIDMax = 999

// testUser is condition_test_user: the real or effective user.
func testUser(param string, _ []string) (bool, error) {
	uid, euid := uint32(os.Getuid()), uint32(os.Geteuid())
	switch param {
	case "root":
		return uid == 0 || euid == 0, nil
	case "nobody":
		return uid == 65534 || euid == 65534, nil
	case "@system":
		return uid <= systemUIDMax || euid <= systemUIDMax, nil
	}
	if id, ok := parseID(param); ok {
		return id == uid || id == euid, nil
	}
	if os.Getpid() == 1 {
		return false, nil
	}
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
			name = u.Username
		}
	}
	if name == param {
		return true, nil
	}
	u, err := user.Lookup(param)
	if err != nil {
		return false, nil
	}
	id, _ := strconv.ParseUint(u.Uid, 10, 32)
	return uint32(id) == uid || uint32(id) == euid, nil
}

// inGID is in_gid: the real, effective or a supplementary group.
func inGID(gid uint32) bool {
	if uint32(os.Getgid()) == gid || uint32(os.Getegid()) == gid {
		return true
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if uint32(g) == gid {
			return true
		}
	}
	return false
}

// testGroup is condition_test_group.
func testGroup(param string, _ []string) (bool, error) {
	if id, ok := parseID(param); ok {
		return inGID(id), nil
	}
	if os.Getpid() == 1 {
		// No lookups in PID 1.
		return param == "root", nil
	}
	g, err := user.LookupGroup(param)
	if err != nil {
		return false, nil
	}
	id, _ := strconv.ParseUint(g.Gid, 10, 32)
	return inGID(uint32(id)), nil
}

// safeAtou is systemd's safe_atou: strtoul in base 0 (hexadecimal after
// "0x", octal after "0"), white space before, nothing after; a minus is
// out of range.
func safeAtou(s string) (uint64, error) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if strings.HasPrefix(s, "-") {
		return 0, syscall.ERANGE
	}
	s = strings.TrimPrefix(s, "+")
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && s[1]|0x20 == 'x':
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseUint(s, base, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, syscall.ERANGE
		}
		return 0, syscall.EINVAL
	}
	return n, nil
}

// testCPUs is condition_test_cpus: the CPUs this process may run on,
// compared; ">=" where no operator is given.
func testCPUs(param string, _ []string) (bool, error) {
	n, err := cpusInAffinity()
	if err != nil {
		return false, err
	}
	o, p := parseOp(param, 0)
	if o == opNone {
		o = opGreaterOrEqual
	}
	k, err := safeAtou(p)
	if err != nil {
		return false, err
	}
	return testOrder(cmp.Compare(uint64(n), k), o)
}

// testMemory is condition_test_memory: the memory of the machine, or of
// its cgroup if less, compared; ">=" where no operator is given.
func testMemory(param string, _ []string) (bool, error) {
	m := physicalMemory()
	o, p := parseOp(param, 0)
	if o == opNone {
		o = opGreaterOrEqual
	}
	k, err := unit.ParseSize(p, 1024)
	if err != nil {
		if errors.Is(err, syscall.ERANGE) || err.Error() == "Numerical result out of range" {
			return false, syscall.ERANGE
		}
		return false, syscall.EINVAL
	}
	return testOrder(cmp.Compare(m, k), o)
}

// cpuFeatures are the flags of has_cpu_with_flag: CPUID leaf, register
// (0 EBX, 1 ECX, 2 EDX) and bit.
var cpuFeatures = map[string]struct {
	leaf uint32
	reg  int
	bit  uint
}{
	"fpu": {1, 2, 0}, "vme": {1, 2, 1}, "de": {1, 2, 2}, "pse": {1, 2, 3},
	"tsc": {1, 2, 4}, "msr": {1, 2, 5}, "pae": {1, 2, 6}, "mce": {1, 2, 7},
	"cx8": {1, 2, 8}, "apic": {1, 2, 9}, "sep": {1, 2, 11}, "mtrr": {1, 2, 12},
	"pge": {1, 2, 13}, "mca": {1, 2, 14}, "cmov": {1, 2, 15}, "pat": {1, 2, 16},
	"pse36": {1, 2, 17}, "clflush": {1, 2, 19}, "mmx": {1, 2, 23}, "fxsr": {1, 2, 24},
	"sse": {1, 2, 25}, "sse2": {1, 2, 26}, "ht": {1, 2, 28},
	"pni": {1, 1, 0}, "pclmul": {1, 1, 1}, "monitor": {1, 1, 3}, "ssse3": {1, 1, 9},
	"fma3": {1, 1, 12}, "cx16": {1, 1, 13}, "sse4_1": {1, 1, 19}, "sse4_2": {1, 1, 20},
	"movbe": {1, 1, 22}, "popcnt": {1, 1, 23}, "aes": {1, 1, 25}, "xsave": {1, 1, 26},
	"osxsave": {1, 1, 27}, "avx": {1, 1, 28}, "f16c": {1, 1, 29}, "rdrand": {1, 1, 30},
	"bmi1": {7, 0, 3}, "avx2": {7, 0, 5}, "bmi2": {7, 0, 8}, "rdseed": {7, 0, 18},
	"adx": {7, 0, 19}, "sha_ni": {7, 0, 29},
	"syscall": {0x80000001, 2, 11}, "rdtscp": {0x80000001, 2, 27}, "lm": {0x80000001, 2, 29},
	"lahf_lm": {0x80000001, 1, 0}, "abm": {0x80000001, 1, 5},
	"constant_tsc": {0x80000007, 2, 8},
}

// cpuidLeaf is __get_cpuid: the leaf, where the CPU has it.
func cpuidLeaf(leaf uint32) (regs [3]uint32, ok bool) {
	if !hasCPUID {
		return regs, false
	}
	if max, _, _, _ := cpuid(leaf&0x80000000, 0); max < leaf {
		return regs, false
	}
	_, b, c, d := cpuid(leaf, 0)
	return [3]uint32{b, c, d}, true
}

// testCPUFeature is condition_test_cpufeature: a flag of CPUID, on x86.
func testCPUFeature(param string, _ []string) (bool, error) {
	f, ok := cpuFeatures[asciiLower(param)]
	if !ok {
		return false, nil
	}
	regs, ok := cpuidLeaf(f.leaf)
	return ok && regs[f.reg]&(1<<f.bit) != 0, nil
}

// validEnvName is env_name_is_valid.
func validEnvName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isAlpha(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// testOSRelease is condition_test_osrelease: "KEY OP VALUE" expressions,
// all of which os-release must meet; a key it lacks is empty.
func testOSRelease(param string, _ []string) (bool, error) {
	words, err := splitQuoted(param)
	if err != nil {
		return false, err
	}
	for _, w := range words {
		i := strings.IndexAny(w, opChars)
		if i < 0 || !validEnvName(w[:i]) {
			return false, syscall.EINVAL
		}
		o, value := parseOp(w[i:], allowFnmatch|equalByString)
		if o == opNone || value == "" || strings.IndexByte(whitespace, value[0]) >= 0 {
			return false, syscall.EINVAL
		}
		rel := host().OSRelease
		if rel == nil {
			return false, syscall.ENOENT
		}
		ok, err := versionOrFnmatch(o, rel[w[:i]], value)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
