package unit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sundial.dev/sundial/timespan"
)

// serviceTimeoutSetting is config_parse_service_timeout, for TimeoutSec=
// (which sets the stop timeout too) and TimeoutStartSec=.
func serviceTimeoutSetting(c *settingCtx, a *Assignment) error {
	v, err := timespan.Parse(a.Value)
	if err != nil {
		c.warn(a, msgParameter, a.Key, a.Value)
		return nil
	}
	if v == 0 {
		v = timespan.Infinity
	}
	s := c.service()
	s.TimeoutStartSec, s.TimeoutStartSet = v, true
	if a.Key == "TimeoutSec" {
		s.TimeoutStopSec = v
	}
	return nil
}

// timeoutAbortSetting is config_parse_service_timeout_abort: empty means
// not set, that is, the stop timeout.
func timeoutAbortSetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.TimeoutAbortSec, s.TimeoutAbortSet = 0, false
		return nil
	}
	v, err := timespan.Parse(a.Value)
	if err != nil {
		c.warn(a, "Failed to parse %s= setting, ignoring: %s", a.Key, a.Value)
		return nil
	}
	s.TimeoutAbortSec, s.TimeoutAbortSet = v, true
	return nil
}

// exitStatusNames are the names systemd gives exit statuses, as
// exit_status_from_string reads them.
var exitStatusNames = map[string]int{
	"SUCCESS": 0, "FAILURE": 1, "INVALIDARGUMENT": 2, "NOTIMPLEMENTED": 3, "NOPERMISSION": 4,
	"NOTINSTALLED": 5, "NOTCONFIGURED": 6, "NOTRUNNING": 7,
	"USAGE": 64, "DATAERR": 65, "NOINPUT": 66, "NOUSER": 67, "NOHOST": 68, "UNAVAILABLE": 69,
	"SOFTWARE": 70, "OSERR": 71, "OSFILE": 72, "CANTCREAT": 73, "IOERR": 74, "TEMPFAIL": 75,
	"PROTOCOL": 76, "NOPERM": 77, "CONFIG": 78,
	"CHDIR": 200, "NICE": 201, "FDS": 202, "EXEC": 203, "MEMORY": 204, "LIMITS": 205,
	"OOM_ADJUST": 206, "SIGNAL_MASK": 207, "STDIN": 208, "STDOUT": 209, "CHROOT": 210,
	"IOPRIO": 211, "TIMERSLACK": 212, "SECUREBITS": 213, "SETSCHEDULER": 214, "CPUAFFINITY": 215,
	"GROUP": 216, "USER": 217, "CAPABILITIES": 218, "CGROUP": 219, "SETSID": 220, "CONFIRM": 221,
	"STDERR": 222, "PAM": 224, "NETWORK": 225, "NAMESPACE": 226, "NO_NEW_PRIVILEGES": 227,
	"SECCOMP": 228, "SELINUX_CONTEXT": 229, "PERSONALITY": 230, "APPARMOR": 231,
	"ADDRESS_FAMILIES": 232, "RUNTIME_DIRECTORY": 233, "CHOWN": 235, "SMACK_PROCESS_LABEL": 236,
	"KEYRING": 237, "STATE_DIRECTORY": 238, "CACHE_DIRECTORY": 239, "LOGS_DIRECTORY": 240,
	"CONFIGURATION_DIRECTORY": 241, "NUMA_POLICY": 242, "CREDENTIALS": 243, "BPF": 244,
	"KSM":       245, // new in 254: systemd 252 does not know it
	"EXCEPTION": 255,
}

// ExitStatusName returns systemd's name of an exit status, as its logs and
// systemctl status show it ("1/FAILURE", "203/EXEC"), or "" for a status
// without one. The BSD names of sysexits.h (64 to 78), which
// SuccessExitStatus= also takes, are not shown.
func ExitStatusName(status int) string {
	if 64 <= status && status <= 78 {
		return ""
	}
	return exitStatusByNumber[status]
}

var exitStatusByNumber = func() map[int]string {
	m := make(map[int]string, len(exitStatusNames))
	for name, n := range exitStatusNames {
		m[n] = name
	}
	return m
}()

// parseExitStatus is systemd's exit_status_from_string: a name, or a
// number 0..255.
func parseExitStatus(s string) (int, bool) {
	if n, err := parseUint(s, 0, false, 255); err == nil {
		return int(n), true
	}
	n, ok := exitStatusNames[s]
	return n, ok
}

// exitStatusSetSetting is config_parse_set_status: exit statuses and
// signals, by number or name; empty clears the set.
func exitStatusSetSetting(field func(*Unit) *ExitStatusSet) setter {
	return func(c *settingCtx, a *Assignment) error {
		set := field(c.u)
		if a.Value == "" {
			*set = ExitStatusSet{}
			return nil
		}
		w := words{s: a.Value}
		for {
			word, more, err := w.next("", 0)
			if err != nil {
				c.warn(a, "Failed to parse %s=%s, ignoring: %s", a.Key, a.Value, eINVAL)
				return nil
			}
			if !more {
				return nil
			}
			if n, ok := parseExitStatus(word); ok {
				set.Status = addSorted(set.Status, n)
			} else if n, err := parseSignal(word); err == nil {
				set.Signals = addSorted(set.Signals, n)
			} else {
				c.warn(a, "Failed to parse value, ignoring: %s", word)
			}
		}
	}
}

func addSorted(set []int, n int) []int {
	i, found := slices.BinarySearch(set, n)
	if found {
		return set
	}
	return slices.Insert(set, i, n)
}

// killModeSetting is config_parse_kill_mode; empty means control-group.
func killModeSetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.KillMode = "control-group"
		return nil
	}
	if !slices.Contains(killModes, a.Value) {
		c.warn(a, "Failed to parse kill mode specification, ignoring: %s", a.Value)
		return nil
	}
	if a.Value == "none" {
		c.warn(a, "Unit uses KillMode=none. "+
			"This is unsafe, as it disables systemd's process lifecycle management for the service. "+
			"Please update the service to use a safer KillMode=, such as 'mixed' or 'control-group'. "+
			"Support for KillMode=none is deprecated and will eventually be removed.")
	}
	s.KillMode = a.Value
	return nil
}

// niceSetting is config_parse_exec_nice: -20..19.
func niceSetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.Nice, s.NiceSet = 0, false
		return nil
	}
	n, err := SafeAtoi(a.Value)
	if err == nil && (n < -20 || n > 19) {
		err = eRANGE
	}
	switch {
	case err == eRANGE:
		c.warn(a, "Nice priority out of range, ignoring: %s", a.Value)
		return nil
	case err != nil:
		c.warn(a, "Failed to parse nice priority '%s', ignoring: %s", a.Value, strerror(err))
		return nil
	}
	s.Nice, s.NiceSet = n, true
	return nil
}

// userGroupSetting is config_parse_user_group_compat, for User= and
// Group=: a mistake refuses the unit.
func userGroupSetting(field func(*Unit) *string) setter {
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			store(c, field, "")
			return nil
		}
		v, err := c.x.full(a.Value)
		if err != nil {
			return c.fatal(a, "Failed to resolve unit specifiers in %s: %s", a.Value, strerror(err))
		}
		if !validUserGroupName(v) {
			return c.fatal(a, "Invalid user/group name or numeric ID: %s", v)
		}
		c.warnUnsafeName(v)
		if strings.Contains(a.Key, "User") && v == "nobody" {
			c.log(a, Notice, "Special user %s configured, this is not safe!", v)
		}
		store(c, field, v)
		return nil
	}
}

// validUserGroupName is systemd's valid_user_group_name in the relaxed
// form it uses for unit files: a valid numeric ID, or a name without
// padding spaces, control characters, ':' or '/', that is neither
// (negative) digits alone nor "." or "..".
func validUserGroupName(s string) bool {
	if s == "" {
		return false
	}
	if n, ok := parseUID(s); ok {
		return n != 0xFFFF && n != 0xFFFFFFFF
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' || !validUTF8(s) || strings.ContainsAny(s, ":/") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return false
		}
	}
	digits := strings.TrimLeft(s, "0123456789")
	return digits != "" && !(s[0] == '-' && strings.TrimLeft(s[1:], "0123456789") == "") && s != "." && s != ".."
}

// workingDirectorySetting is config_parse_working_directory: "~" for
// the home directory, a "-" prefix for a directory that may be missing;
// without it a mistake refuses the unit.
func workingDirectorySetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.WorkingDirectory, s.WorkingDirectoryMissingOK = "", false
		return nil
	}
	v := a.Value
	missingOK := v[0] == '-'
	if missingOK {
		v = v[1:]
	}
	if v != "~" {
		p, err := c.x.path(v)
		if err != nil {
			c.log(a, severity(!missingOK), "Failed to resolve unit specifiers in working directory path '%s'%s: %s", v, ignoring(!missingOK), strerror(err))
			return fatalErr(!missingOK)
		}
		if v, err = c.checkPath(a, p, !missingOK); err != nil {
			return fatalErr(!missingOK)
		}
	}
	s.WorkingDirectory, s.WorkingDirectoryMissingOK = v, missingOK
	return nil
}

// pidFileSetting is config_parse_pid_file: relative to /run, and
// /var/run is read as /run.
func pidFileSetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.PIDFile = ""
		return nil
	}
	p, err := c.x.path(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		p = c.runtimeDir() + "/" + p
	}
	if p, err = c.checkPath(a, p, false); err != nil {
		return eINVAL
	}
	s.PIDFile = c.patchVarRun(a, p)
	return nil
}

// patchVarRun is patch_var_run: a path below /var/run is read as below
// /run.
func (c *settingCtx) patchVarRun(a *Assignment, p string) string {
	rest, ok := strings.CutPrefix(p, "/var/run/")
	if !ok {
		return p
	}
	// patch_var_run logs at notice level; Debian's builds, which this
	// package is checked against, log it at debug level (not shown at
	// the default level) but for files below /etc, which lintian does
	// not check ("Downgrade a couple of warnings to debug", since
	// 247.3-2).
	if a.Pos.File == "/etc" || strings.HasPrefix(a.Pos.File, "/etc/") {
		c.log(a, Notice, "%s= references a path below legacy directory /var/run/, updating %s → %s; please update the unit file accordingly.", a.Key, p, "/run/"+rest)
	}
	return "/run/" + rest
}

// runtimeDir is the manager's runtime directory, which relative PID files
// are in.
func (c *settingCtx) runtimeDir() string {
	if c.scope == UserScope {
		if d, err := c.x.full("%t"); err == nil {
			return d
		}
	}
	return "/run"
}

// stdioSetting is config_parse_exec_input (input) and
// config_parse_exec_output, for Standard{Input,Output,Error}=.
func stdioSetting(input bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		s := c.service()
		kind, file := a.Value, ""
		if name, ok := strings.CutPrefix(a.Value, "fd:"); ok {
			kind = "fd"
			if name != "" && !validFDName(name) {
				c.warn(a, "Invalid file descriptor name, ignoring: %s", name)
				return nil
			}
		} else if k, p, ok := strings.Cut(a.Value, ":"); ok && (k == "file" || !input && (k == "append" || k == "truncate")) {
			v, err := c.x.path(p)
			if err != nil {
				if input {
					c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", p, strerror(err))
				} else {
					c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", p, strerror(err))
				}
				return nil
			}
			if file, err = c.checkPath(a, v, true); err != nil {
				return nil
			}
			kind = k
		} else if !input && (a.Value == "syslog" || a.Value == "syslog+console") {
			kind = "journal" + strings.TrimPrefix(a.Value, "syslog")
			c.log(a, Notice, "Standard output type %s is obsolete, automatically updating to %s. Please update your unit file, and consider removing the setting altogether.", a.Value, kind)
		} else if input && !slices.Contains(execInputs, a.Value) || !input && !slices.Contains(execOutputs, a.Value) {
			if input {
				c.warn(a, "Failed to parse input specifier, ignoring: %s", a.Value)
			} else {
				c.warn(a, "Failed to parse output specifier, ignoring: %s", a.Value)
			}
			return nil
		}
		switch a.Key {
		case "StandardInput":
			s.StandardInput, s.StandardInputFile = kind, file
		case "StandardOutput":
			s.StandardOutput, s.StandardOutputFile = kind, file
		default:
			s.StandardError, s.StandardErrorFile = kind, file
		}
		return nil
	}
}

// validFDName is systemd's fdname_is_valid: printable ASCII but ':', at
// most 255 bytes.
func validFDName(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

// busNameSetting is config_parse_bus_name: a D-Bus service name, with
// specifiers expanded to at most 255 bytes.
func busNameSetting(c *settingCtx, a *Assignment) error {
	v, err := c.x.full(a.Value)
	if err == nil && len(v) > maxBusName {
		err = eNAMETOOLONG
	}
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", a.Value, strerror(err))
		return nil
	}
	if !validBusName(v) {
		c.warn(a, "Invalid bus name, ignoring: %s", v)
		return nil
	}
	c.service().BusName = v
	return nil
}

const maxBusName = 255 // SD_BUS_MAXIMUM_NAME_LENGTH

// validBusName is sd-bus's service_name_is_valid: a unique name
// (":1.42") or a well-known one of two or more dotted elements.
func validBusName(s string) bool {
	if s == "" || len(s) > maxBusName {
		return false
	}
	unique := s[0] == ':'
	q := s
	if unique {
		q = s[1:]
	}
	dot, foundDot := true, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '.' {
			if dot {
				return false
			}
			foundDot, dot = true, true
			continue
		}
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		digit := '0' <= c && c <= '9'
		if !alpha && !(digit && (!dot || unique)) && c != '_' && c != '-' {
			return false
		}
		dot = false
	}
	return !dot && foundDot
}

// userGroupsSetting is config_parse_user_group_strv_compat, for
// SupplementaryGroups=: names or numeric IDs, each with specifiers
// expanded to at most NAME_MAX bytes, kept in Confinement; a bad one
// refuses the unit; empty clears them.
func userGroupsSetting(c *settingCtx, a *Assignment) error {
	x := c.confinement()
	if a.Value == "" {
		x.SupplementaryGroups = nil
		return nil
	}
	w := words{s: a.Value}
	for {
		word, more, err := w.next("", 0)
		if err != nil {
			return c.fatal(a, "Invalid syntax: %s", a.Value)
		}
		if !more {
			return nil
		}
		v, err := c.x.full(word)
		if err == nil && len(v) > nameMax {
			err = eNAMETOOLONG
		}
		if err != nil {
			return c.fatal(a, "Failed to resolve unit specifiers in %s: %s", word, strerror(err))
		}
		if !validUserGroupName(v) {
			return c.fatal(a, "Invalid user/group name or numeric ID: %s", v)
		}
		c.warnUnsafeName(v)
		x.SupplementaryGroups = append(x.SupplementaryGroups, v)
	}
}

// warnUnsafeName logs, as systemd does, a name that is valid only in the
// relaxed rules.
func (c *settingCtx) warnUnsafeName(name string) {
	if _, ok := parseUID(name); !ok && !strictUserGroupName(name) {
		c.u.Diagnostics = append(c.u.Diagnostics, Diagnostic{Severity: Notice,
			Msg: fmt.Sprintf("Accepting user/group name '%s', which does not match strict user/group name rules.", name)})
	}
}

// parseUID reads a numeric user or group ID as systemd's parse_uid reads
// the digits: decimal, no sign, white space or leading zero, 32 bits.
func parseUID(s string) (uint64, bool) {
	if s == "" || s[0] == '0' && len(s) > 1 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return n, err == nil
}

// strictUserGroupName is systemd's strict valid_user_group_name: a
// letter or '_', then letters, digits, '_' and '-', fitting utmp.
func strictUserGroupName(s string) bool {
	if s == "" || len(s) > 31 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && c != '_' && (i == 0 || !('0' <= c && c <= '9') && c != '-') {
			return false
		}
	}
	return true
}

// addressFamilies are the names af_from_name knows, those <sys/socket.h>
// defines (generate-af-list.sh), aliases included.
var addressFamilies = []string{"AF_ALG", "AF_APPLETALK", "AF_ASH", "AF_ATMPVC", "AF_ATMSVC", "AF_AX25",
	"AF_BLUETOOTH", "AF_BRIDGE", "AF_CAIF", "AF_CAN", "AF_DECnet", "AF_ECONET", "AF_FILE", "AF_IB",
	"AF_IEEE802154", "AF_INET", "AF_INET6", "AF_IPX", "AF_IRDA", "AF_ISDN", "AF_IUCV", "AF_KCM", "AF_KEY",
	"AF_LLC", "AF_LOCAL", "AF_MCTP", "AF_MPLS", "AF_NETBEUI", "AF_NETLINK", "AF_NETROM", "AF_NFC",
	"AF_PACKET", "AF_PHONET", "AF_PPPOX", "AF_QIPCRTR", "AF_RDS", "AF_ROSE", "AF_ROUTE", "AF_RXRPC",
	"AF_SECURITY", "AF_SMC", "AF_SNA", "AF_TIPC", "AF_UNIX", "AF_VSOCK", "AF_WANPIPE", "AF_X25", "AF_XDP"}
