package unit

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
)

// A settingCtx is what the parser of one setting needs: the unit being
// loaded and the expansion of its specifiers.
type settingCtx struct {
	u          *Unit
	x          expander
	scope      RuntimeScope
	ignoreDeps bool // leave the units named unchecked
	argMaxV    int  // the manager's ARG_MAX

	calendars map[string]*calendar.Spec // parsed before, by text; nil: none kept
	argv      []string                  // reused by execCommand
}

// argMax is the manager's ARG_MAX, which bounds environment variables.
func (c *settingCtx) argMax() int { return c.argMaxV }

func (c *settingCtx) log(a *Assignment, sev Severity, format string, args ...any) {
	c.u.Diagnostics = append(c.u.Diagnostics, Diagnostic{a.Pos, sev, fmt.Sprintf(format, args...)})
}

// store sets the field that keeps a setting; settings that are only
// checked have none.
func store[T any](c *settingCtx, field func(*Unit) *T, v T) {
	if field != nil {
		*field(c.u) = v
	}
}

// service returns the [Service] section to keep execution and kill
// settings in; those of other unit types are kept aside, for the checks
// of their type only.
func (c *settingCtx) service() *ServiceSection { return c.u.execSettings() }

// execSettings returns the section that keeps the unit's execution and
// kill settings: its [Service], or the one kept aside for other types.
func (u *Unit) execSettings() *ServiceSection {
	if u.Service != nil {
		return u.Service
	}
	if u.exec == nil {
		u.exec = new(ServiceSection)
	}
	return u.exec
}

// warn logs a mistake that makes systemd ignore the assignment.
func (c *settingCtx) warn(a *Assignment, format string, args ...any) {
	c.log(a, Warning, format, args...)
}

// fatal logs a mistake that makes systemd refuse the unit, and returns
// the error that stops the parsing of the file (ENOEXEC).
func (c *settingCtx) fatal(a *Assignment, format string, args ...any) error {
	c.log(a, Error, format, args...)
	return eNOEXEC
}

// A setter parses one assignment into the unit, or only checks it. Its
// error is systemd's fatal return: the rest of the file is not read, and
// the unit has a bad setting (eNOEXEC) or fails to load (any other).
type setter func(c *settingCtx, a *Assignment) error

// ignoring is the suffix of systemd's messages for a setting that is
// dropped; fatal settings have none.
func ignoring(fatal bool) string {
	if fatal {
		return ""
	}
	return ", ignoring"
}

// ParseBoolean reads a boolean as systemd's parse_boolean: 1, yes, y,
// true, t or on, and 0, no, n, false, f or off, in any case; ok is false
// for anything else.
func ParseBoolean(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// boolSetting is config_parse_bool; a fatal one refuses the unit.
func boolSetting(field func(*Unit) *bool, fatal bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		v, ok := ParseBoolean(a.Value)
		if !ok {
			c.log(a, map[bool]Severity{false: Warning, true: Error}[fatal], "Failed to parse boolean value%s: %s", ignoring(fatal), a.Value)
			if fatal {
				return eNOEXEC
			}
			return nil
		}
		store(c, field, v)
		return nil
	}
}

// LogLevels are syslog's priorities by name, 0 (emerg) to 7 (debug).
var LogLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// ParseLogLevel reads a syslog priority by its name or its number, as
// systemd's log_level_from_string: the number as safe_atou reads it
// ("0x3" and " 3" too), at most 7.
func ParseLogLevel(s string) (int, bool) {
	return lookupWithFallback(LogLevels, s, uint64(len(LogLevels)-1))
}

// logLevelSetting is config_parse_log_level.
func logLevelSetting(field func(*Unit) *int) setter {
	return func(c *settingCtx, a *Assignment) error {
		l, ok := ParseLogLevel(a.Value)
		if !ok {
			c.log(a, Warning, "Failed to parse log level, ignoring: %s", a.Value)
			return nil
		}
		store(c, field, l)
		return nil
	}
}

// tristateSetting is config_parse_tristate, which also takes "".
func tristateSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	if _, ok := ParseBoolean(a.Value); !ok {
		c.warn(a, "Failed to parse boolean value for %s=, ignoring: %s", a.Key, a.Value)
	}
	return nil
}

// secSetting is config_parse_sec and its variants: with fix0, 0 means
// infinity; with emptyInfinity, so does the empty value. what names the
// value in the message ("sec", or "Failed to parse %s= parameter").
func secSetting(field func(*Unit) *timespan.Span, fix0, emptyInfinity bool, msg string) setter {
	return func(c *settingCtx, a *Assignment) error {
		var v timespan.Span
		if a.Value == "" && emptyInfinity {
			v = timespan.Infinity
		} else {
			var err error
			if v, err = timespan.Parse(a.Value); err != nil {
				c.warn(a, msg, a.Key, a.Value)
				return nil
			}
			if v == 0 && fix0 {
				v = timespan.Infinity
			}
		}
		store(c, field, v)
		return nil
	}
}

// The messages of the time span parsers; the first verb takes the key.
const (
	msgSec       = "%.0sFailed to parse sec value, ignoring: %s"
	msgSecFix0   = "%.0sFailed to parse time value, ignoring: %s"
	msgSecInf    = "%.0sFailed to parse sec_def_infinity value, ignoring: %s"
	msgParameter = "Failed to parse %s= parameter, ignoring: %s"
)

// parseUint reads a number as systemd's safe_atou_full, with base 0 or
// the given base, refusing values above max: white space may lead; a
// minus sign is only allowed on 0, or no sign at all with refuseSign.
// The error is EINVAL or ERANGE.
func parseUint(s string, base int, refuseSign bool, max uint64) (uint64, error) {
	s = strings.TrimLeft(s, whitespace)
	if refuseSign && s != "" && (s[0] == '+' || s[0] == '-') {
		return 0, eINVAL
	}
	s, base = mangleBase(s, base)
	n, neg, err := strtoul(s, base)
	if err != nil {
		return 0, err
	}
	if neg {
		n = -n
	}
	if n != 0 && strings.HasPrefix(s, "-") || n > max {
		return 0, eRANGE
	}
	return n, nil
}

// SafeAtoi reads a number as systemd's safe_atoi() in basic/parse-util.c:
// white space and a sign may lead, "0x" is hexadecimal, "0o" and a
// leading "0" octal, "0b" binary; within 32 bits. The error is EINVAL
// or ERANGE.
func SafeAtoi(s string) (int, error) {
	s, base := mangleBase(strings.TrimLeft(s, whitespace), 0)
	n, neg, err := strtoul(s, base)
	switch {
	case err != nil:
		return 0, err
	case neg && n > -math.MinInt32, !neg && n > math.MaxInt32:
		return 0, eRANGE
	case neg:
		return -int(n), nil
	}
	return int(n), nil
}

// SafeAtou reads a number as systemd's safe_atou() in
// basic/parse-util.c: white space may lead, then a sign, "0x" is
// hexadecimal, "0o" and a leading "0" octal, "0b" binary; a minus sign
// only on 0; within 32 bits. The error is EINVAL or ERANGE.
func SafeAtou(s string) (uint, error) {
	n, err := parseUint(s, 0, false, math.MaxUint32)
	return uint(n), err
}

// mangleBase reads the "0b" and "0o" prefixes systemd adds to C's when
// no base is given.
func mangleBase(s string, base int) (string, int) {
	if base == 0 && len(s) >= 2 && s[0] == '0' {
		switch s[1] {
		case 'b', 'B':
			return s[2:], 2
		case 'o', 'O':
			return s[2:], 8
		}
	}
	return s, base
}

// strtoul reads s whole as C's strtoul does: white space, a sign, with
// base 0 or 16 a "0x", with base 0 a leading "0" for octal, then digits.
// It returns the magnitude and the sign apart.
func strtoul(s string, base int) (n uint64, neg bool, err error) {
	d := strings.TrimLeft(s, " \t\n\v\f\r") // isspace
	if d != "" && (d[0] == '+' || d[0] == '-') {
		neg, d = d[0] == '-', d[1:]
	}
	if (base == 0 || base == 16) && len(d) > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'X') {
		base, d = 16, d[2:]
	}
	if base == 0 {
		base = 10
		if strings.HasPrefix(d, "0") {
			base = 8
		}
	}
	for i := 0; i < len(d); i++ {
		if v := strings.IndexByte("0123456789abcdefghijklmnopqrstuvwxyz", d[i]|0x20); v < 0 || v >= base {
			return 0, false, eINVAL
		}
	}
	if d == "" {
		return 0, false, eINVAL
	}
	n, err = strconv.ParseUint(d, base, 64)
	if err != nil {
		return 0, false, eRANGE
	}
	return n, neg, nil
}

// unsignedSetting is config_parse_unsigned.
func unsignedSetting(field func(*Unit) *uint) setter {
	return func(c *settingCtx, a *Assignment) error {
		n, err := parseUint(a.Value, 0, false, math.MaxUint32)
		if err != nil {
			c.warn(a, "Failed to parse unsigned value, ignoring: %s", a.Value)
			return nil
		}
		store(c, field, uint(n))
		return nil
	}
}

// modeSetting is config_parse_mode: octal, at most 07777.
func modeSetting(field func(*Unit) *uint32) setter {
	return func(c *settingCtx, a *Assignment) error {
		n, err := parseUint(a.Value, 8, true, 07777)
		if err != nil {
			c.warn(a, "Failed to parse mode value, ignoring: %s", a.Value)
			return nil
		}
		store(c, field, uint32(n))
		return nil
	}
}

// enumSetting is systemd's DEFINE_CONFIG_PARSE_ENUM: one of names, or
// the message msg. With empty set, the empty value sets it.
func enumSetting(field func(*Unit) *string, msg string, names ...string) setter {
	return func(c *settingCtx, a *Assignment) error {
		for _, n := range names {
			if a.Value == n {
				store(c, field, n)
				return nil
			}
		}
		c.warn(a, "%s, ignoring: %s", msg, a.Value)
		return nil
	}
}

// The value tables of systemd's enumerations.
var (
	jobModes         = []string{"fail", "replace", "replace-irreversibly", "isolate", "flush", "ignore-dependencies", "ignore-requirements", "triggering", "restart-dependencies"}
	serviceTypes     = []string{"simple", "forking", "oneshot", "dbus", "notify", "notify-reload", "idle", "exec"}
	serviceExitTypes = []string{"main", "cgroup"}
	restarts         = []string{"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}
	restartModes     = []string{"normal", "direct"}
	timeoutModes     = []string{"terminate", "abort", "kill"}
	oomPolicies      = []string{"continue", "stop", "kill"}
	notifyAccesses   = []string{"none", "main", "exec", "all"}
	collectModes     = []string{"inactive", "inactive-or-failed"}
	killModes        = []string{"control-group", "process", "mixed", "none"}
	execInputs       = []string{"null", "tty", "tty-force", "tty-fail", "socket", "fd", "data", "file"}
	execOutputs      = []string{"inherit", "null", "tty", "kmsg", "kmsg+console", "journal", "journal+console", "socket", "fd", "file", "append", "truncate"}
	// emergencyActions: the first three are the only ones of a user
	// manager.
	emergencyActions = []string{"none", "exit", "exit-force", "reboot", "reboot-force", "reboot-immediate", "poweroff", "poweroff-force", "poweroff-immediate", "soft-reboot", "soft-reboot-force", "kexec", "kexec-force", "halt", "halt-force", "halt-immediate"}
)

// emergencyActionSetting is config_parse_emergency_action.
func emergencyActionSetting(field func(*Unit) *string) setter {
	return func(c *settingCtx, a *Assignment) error {
		for i, n := range emergencyActions {
			if a.Value != n {
				continue
			}
			if c.scope != SystemScope && i >= 3 {
				c.warn(a, "%s= specified as %s mode action, ignoring: %s", a.Key, c.scope, a.Value)
				return nil
			}
			store(c, field, n)
			return nil
		}
		c.warn(a, "Failed to parse %s=, ignoring: %s", a.Key, a.Value)
		return nil
	}
}

// signalNames are Linux's signal names by number, as systemd knows them.
var signalNames = [...]string{1: "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"}

// SignalName returns systemd's name of a signal, as signal_to_string:
// "TERM", "RTMIN+3", or the number for one without a name.
func SignalName(sig int) string {
	switch {
	case sig > 0 && sig < len(signalNames):
		return signalNames[sig]
	case sig >= sigRTMin && sig <= sigRTMax:
		return fmt.Sprintf("RTMIN+%d", sig-sigRTMin)
	}
	return strconv.Itoa(sig)
}

// The real-time signals as glibc offers them; it keeps 32 and 33.
const (
	sigRTMin = 34
	sigRTMax = 64
)

// KnownSetting reports whether systemd 254 knows the setting Key in
// [Section] of a unit file, as systemd-run's -p checks its NAME.
func KnownSetting(section, key string) bool {
	_, ok := knownSettings[section+"."+key]
	return ok
}

// ParseSignal reads a signal as systemd's signal_from_string: a number,
// a name with or without "SIG", RTMIN+n or RTMAX-n.
func ParseSignal(s string) (int, error) { return parseSignal(s) }

// parseSignal reads a signal as systemd's signal_from_string: a number,
// a name with or without "SIG", RTMIN+n or RTMAX-n.
func parseSignal(s string) (int, error) {
	if n, err := SafeAtoi(s); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, eRANGE
		}
		return n, nil
	}
	s = strings.TrimPrefix(s, "SIG")
	for i, n := range signalNames {
		if i > 0 && s == n {
			return i, nil
		}
	}
	rt := func(rest string, base, sign int) (int, error) {
		if rest == "" {
			return base, nil
		}
		if rest[0] != "+-"[(1-sign)/2] {
			return 0, eINVAL
		}
		n, err := SafeAtoi(rest)
		if err != nil {
			return 0, err
		}
		if n*sign < 0 || n*sign > sigRTMax-sigRTMin {
			return 0, eRANGE
		}
		return base + n, nil
	}
	switch {
	case strings.HasPrefix(s, "RTMIN"):
		return rt(s[5:], sigRTMin, 1)
	case strings.HasPrefix(s, "RTMAX"):
		return rt(s[5:], sigRTMax, -1)
	}
	return 0, eINVAL
}

// signalSetting is config_parse_signal.
func signalSetting(field func(*Unit) *int) setter {
	return func(c *settingCtx, a *Assignment) error {
		n, err := parseSignal(a.Value)
		if err != nil {
			c.warn(a, "Failed to parse signal name, ignoring: %s", a.Value)
			return nil
		}
		store(c, field, n)
		return nil
	}
}

// warnCompatSetting is config_parse_warn_compat: systemd does not
// implement the setting, for the reason given by arg.
func warnCompatSetting(arg string) setter {
	return func(c *settingCtx, a *Assignment) error {
		switch arg {
		case "DISABLED_LEGACY":
			c.log(a, Info, "Support for option %s= has been removed and it is ignored", a.Key)
		case "DISABLED_EXPERIMENTAL":
			c.log(a, Info, "Support for option %s= has not yet been enabled and it is ignored", a.Key)
		}
		return nil
	}
}

// eachWord calls f with each word of v, split as extract_first_word
// splits it with flags. On bad quoting it logs msg, with v, and stops, as
// systemd's parsers of lists do; v is the value, or what follows its
// "~" where systemd has stepped over that.
func (c *settingCtx) eachWord(a *Assignment, v string, flags extractFlags, msg string, f func(word string)) {
	w := words{s: v}
	for {
		word, more, err := w.next("", flags)
		if err != nil {
			c.warn(a, msg, v)
			return
		}
		if !more {
			return
		}
		f(word)
	}
}
