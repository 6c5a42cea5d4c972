package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

const runUsage = `%s [OPTIONS...] COMMAND [ARGUMENTS...]

Run the specified command in a transient service of the sundial daemon.

  -h --help                       Show this help
     --version                    Show package version
     --system                     Talk to the system's daemon (default)
     --user                       Run as user unit
  -u --unit=UNIT                  Run under the specified unit name
  -p --property=NAME=VALUE        Set service unit property
     --description=TEXT           Description for unit
     --expand-environment=BOOL    Control expansion of environment variables
     --no-block                   Do not wait until operation finished
  -r --remain-after-exit          Leave service around until explicitly stopped
     --wait                       Wait until service stopped again
     --service-type=TYPE          Service type
     --uid=USER                   Run as system user
     --gid=GROUP                  Run as system group
     --nice=NICE                  Nice level
     --slice=SLICE                Run in the specified slice
     --send-sighup                Send SIGHUP when terminating
     --working-directory=PATH     Set working directory
  -d --same-dir                   Inherit working directory from caller
  -E --setenv=NAME[=VALUE]        Set environment variable
  -P --pipe                       Wait for the service and copy its output
                                  from the journal to STDOUT
  -q --quiet                      Suppress information messages during runtime
  -G --collect                    Unload unit after it ran, even when failed

Path options:
     --path-property=NAME=VALUE   Set path unit property

Socket options:
     --socket-property=NAME=VALUE Set socket unit property

Timer options:
     --on-active=SECONDS          Run after SECONDS delay
     --on-boot=SECONDS            Run SECONDS after machine was booted up
     --on-startup=SECONDS         Run SECONDS after systemd activation
     --on-unit-active=SECONDS     Run SECONDS after the last activation
     --on-unit-inactive=SECONDS   Run SECONDS after the last deactivation
     --on-calendar=SPEC           Realtime timer
     --on-timezone-change         Run when the timezone changes
     --on-clock-change            Run when the realtime clock jumps
     --timer-property=NAME=VALUE  Set timer unit property
`

// How the command's standard input and output are connected, as
// systemd-run's --pty and --pipe choose.
const (
	stdioNone = iota
	stdioPty
	stdioPipe
	stdioAuto // both: --pty on a terminal, --pipe otherwise
)

// stdioFor is what --pty and --pipe each choose alone.
var stdioFor = map[string]int{"pty": stdioPty, "pipe": stdioPipe}

// exitException is systemd's EXIT_EXCEPTION, the status of a command
// killed by a signal.
const exitException = 255

// runOptions are systemd-run's options.
type runOptions struct {
	daemonOptions
	unit, description       string
	unitSet, descriptionSet bool
	properties              []string
	timer                   []string // --timer-property= and the --on-… options
	withTimer               bool
	path, socket            bool // --path-property=, --socket-property= given
	environment             []string
	workingDirectory        string
	serviceType, uid, gid   string
	nice                    int
	niceSet                 bool
	noExpand                bool
	remain, wait, collect   bool
	sendSIGHUP              bool
	slice                   string
	quiet, noBlock          bool
	stdio                   int
	command                 []string
	serviceName, timerName  string
	// serviceUnit and timerUnit are what is asked of the daemon.
	serviceUnit, timerUnit api.TransientUnit
}

// runMain is systemd-run: options, then the command and its arguments,
// which are not options even where they look like them.
func runMain(c *cli, args []string) int {
	o, ok, status := parseRun(c, args)
	if !ok {
		return status
	}
	if err := o.prepare(c); err != nil {
		c.errorf("%s", err)
		return 1
	}
	return o.start(c)
}

// parseRun reads systemd-run's options and command line.
func parseRun(c *cli, args []string) (o *runOptions, ok bool, status int) {
	fs := c.flags()
	fs.SetInterspersed(false)
	o = &runOptions{daemonOptions: daemonOptions{usage: runUsage}}
	o.declare(fs)
	for _, name := range []string{"remain-after-exit/r", "wait", "same-dir/d", "pty/t", "pipe/P", "quiet/q", "collect/G",
		"no-block", "on-timezone-change", "on-clock-change", "send-sighup", "no-ask-password",
		"scope", "shell/S", "slice-inherit"} {
		long, short, _ := strings.Cut(name, "/")
		switchOption(fs, long, short)
	}
	for _, name := range []string{"unit/u", "description", "expand-environment", "service-type", "uid", "gid", "nice",
		"setenv/E", "property/p", "on-active", "on-boot", "on-startup", "on-unit-active", "on-unit-inactive",
		"on-calendar", "timer-property", "path-property", "socket-property", "working-directory", "slice",
		"host/H", "machine/M"} {
		long, short, _ := strings.Cut(name, "/")
		fs.StringArrayP(long, short, nil, "")
	}
	head, command := splitCommand(fs, args)
	ok, status = c.parse(fs, head, func(name, value string) error {
		if done, err := o.option(c, name); done {
			return err
		}
		return o.set(c, name, value)
	})
	o.command = slices.Clone(command)
	return o, ok, status
}

// prepare checks the options as systemd-run does after reading them,
// finds the executable, and makes the units' names and settings.
func (o *runOptions) prepare(c *cli) error {
	if o.stdio == stdioAuto {
		o.stdio = stdioPipe
		if isTerminal(os.Stdin) && isTerminal(os.Stdout) && isTerminal(os.Stderr) {
			o.stdio = stdioPty
		}
	}
	if msg := o.refusal(); msg != "" {
		return usageError(msg)
	}
	if err := o.resolveCommand(); err != nil {
		return err
	}
	return o.compose(c)
}

// splitCommand splits the arguments at the first one that is no option
// (or after "--"), as getopt_long with "+" stops there: what comes
// before is the options, what comes from there the command line.
func splitCommand(fs *pflag.FlagSet, args []string) (options, command []string) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return args[:i], args[i+1:]
		case len(a) < 2 || a[0] != '-':
			return args[:i], args[i:]
		case takesNext(fs, a):
			i++
		}
	}
	return args, nil
}

// set takes one of the options that are not daemonOptions', checking
// it as systemd-run's parse_argv does when it reads it.
func (o *runOptions) set(c *cli, name, value string) error {
	switch name {
	case "unit":
		o.unit, o.unitSet = value, true
	case "description":
		o.description, o.descriptionSet = value, true
	case "property":
		o.properties = append(o.properties, value)
	case "remain-after-exit":
		o.remain = true
	case "expand-environment":
		b, ok := unit.ParseBoolean(value)
		if !ok {
			return usageError(fmt.Sprintf("Failed to parse boolean argument to --expand-environment=: %s.", value))
		}
		o.noExpand = !b
	case "service-type":
		o.serviceType = value
	case "uid":
		o.uid = value
	case "gid":
		o.gid = value
	case "nice":
		n, err := parseNice(value)
		if err != nil {
			return usageError("Failed to parse nice value: " + value)
		}
		o.nice, o.niceSet = n, true
	case "setenv":
		// A name alone passes the caller's value on, or an empty one.
		a, valid := value, unit.ValidEnvAssignment(value)
		if !strings.Contains(value, "=") {
			a, valid = value+"="+os.Getenv(value), unit.ValidEnvAssignment(value+"=")
		}
		if !valid {
			return usageError(fmt.Sprintf("Cannot assign environment variable %s: Invalid argument", value))
		}
		o.environment = unit.MergeEnv(o.environment, a)
	case "pty", "pipe":
		switch {
		case o.stdio != stdioNone && o.stdio != stdioFor[name]:
			o.stdio = stdioAuto
		default:
			o.stdio = stdioFor[name]
		}
	case "quiet":
		o.quiet = true
	case "on-active", "on-boot", "on-startup", "on-unit-active", "on-unit-inactive":
		o.timer = append(o.timer, onSecKeys[name]+"="+value)
		o.withTimer = true
	case "on-calendar":
		spec, err := calendar.Parse(value)
		if err != nil {
			return usageError("Failed to parse calendar event specification: " + errnoText(err))
		}
		switch _, err := spec.NextErr(now()); {
		case errors.Is(err, calendar.ErrNever):
			// The daemon decides; its clock or zone may be another.
			c.errorf("Specified calendar expression is in the past, proceeding anyway.")
		case errors.Is(err, calendar.ErrLoop):
			c.errorf("Infinite loop in calendar calculation: %s", spec)
			return usageError("Failed to calculate next time calendar expression elapses: Resource deadlock avoided")
		case err != nil:
			return usageError("Failed to calculate next time calendar expression elapses: Invalid argument")
		}
		o.timer = append(o.timer, "OnCalendar="+value)
		o.withTimer = true
	case "on-timezone-change":
		o.timer = append(o.timer, "OnTimezoneChange=yes")
		o.withTimer = true
	case "on-clock-change":
		o.timer = append(o.timer, "OnClockChange=yes")
		o.withTimer = true
	case "timer-property":
		o.timer = append(o.timer, value)
		key, _, _ := strings.Cut(value, "=")
		o.withTimer = o.withTimer || strings.Contains(value, "=") && (key == "OnCalendar" || slices.Contains(onSecKeyList, key))
	case "path-property":
		o.path = true
	case "socket-property":
		o.socket = true
	case "no-block":
		o.noBlock = true
	case "wait":
		o.wait = true
	case "working-directory":
		o.workingDirectory = ""
		if value != "" {
			dir, err := absolutePath(value)
			if err != nil {
				return usageError(fmt.Sprintf("Failed to parse path \"%s\" and make it absolute: %s", value, errnoText(err)))
			}
			if dir = unit.SimplifyPath(dir); dir != "/" {
				o.workingDirectory = dir
			}
		}
	case "same-dir":
		dir, err := os.Getwd()
		if err != nil {
			return usageError("Failed to get current working directory: " + errnoText(err))
		}
		o.workingDirectory = ""
		if dir != "/" {
			o.workingDirectory = dir
		}
	case "collect":
		o.collect = true
	case "send-sighup":
		o.sendSIGHUP = true
	case "slice":
		o.slice = value
	case "no-ask-password":
		// sundial asks for no passwords.
	case "scope":
		return usageError("--scope is not supported: sundial runs no scope units.")
	case "shell":
		return usageError("--shell is not supported: the sundial daemon cannot give a service a terminal.")
	case "slice-inherit":
		return usageError("--slice-inherit is not supported: sundial puts no processes in slices.")
	case "host", "machine":
		return usageError(fmt.Sprintf("--%s= is not supported: sundial talks to the daemon on this machine only.", name))
	}
	return nil
}

// The --on-… options and the [Timer] settings they stand for.
var (
	onSecKeys = map[string]string{"on-active": "OnActiveSec", "on-boot": "OnBootSec", "on-startup": "OnStartupSec",
		"on-unit-active": "OnUnitActiveSec", "on-unit-inactive": "OnUnitInactiveSec"}
	onSecKeyList = []string{"OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec"}
)

// parseNice reads a nice level as systemd's parse_nice: a number from -20
// to 19.
func parseNice(s string) (int, error) {
	s = strings.TrimLeft(s, " \t\n\r")
	// strtol's base 0 knows 0x and a leading 0, not Go's 0b, 0o and '_'.
	if digits := strings.ToLower(strings.TrimLeft(s, "+-")); strings.Contains(s, "_") ||
		strings.HasPrefix(digits, "0b") || strings.HasPrefix(digits, "0o") {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(s, 0, 32)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, timespan.ErrRange
	case err != nil:
		return 0, err
	case n < -20 || n > 19:
		return 0, timespan.ErrRange
	}
	return int(n), nil
}

// refusal is what systemd-run says of options that do not go together,
// in the order it checks them; "" if they do.
func (o *runOptions) refusal() string {
	triggers := 0
	for _, t := range []bool{o.path, o.socket, o.withTimer} {
		if t {
			triggers++
		}
	}
	withTrigger := triggers > 0
	switch {
	case triggers > 1:
		return "Only single trigger (path, socket, timer) unit can be created."
	case len(o.command) == 0 && (!o.unitSet || !withTrigger):
		return "Command line to execute required."
	case o.stdio != stdioNone && withTrigger:
		return "--pty/--pipe is not compatible in timer or --scope mode."
	case o.stdio != stdioNone && o.noBlock:
		return "--pty/--pipe is not compatible with --no-block."
	case len(o.timer) > 0 && !o.withTimer:
		return "--timer-property= has no effect without any other timer options."
	case o.wait && o.noBlock:
		return "--wait may not be combined with --no-block."
	case o.wait && withTrigger:
		return "--wait may not be combined with path, socket or timer operations."
	case o.stdio == stdioPty:
		return "--pty is not supported: the sundial daemon cannot give a service a terminal. Use --pipe or --wait."
	case o.path || o.socket:
		return "--path-property= and --socket-property= are not supported: sundial runs no path or socket units."
	}
	return ""
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// resolveCommand makes the executable an absolute path, as systemd-run
// looks it up in the caller's $PATH, unless a property makes the lookup
// one for the service to do.
func (o *runOptions) resolveCommand() error {
	if len(o.command) == 0 {
		return nil
	}
	for _, p := range o.properties {
		for _, key := range []string{"RootDirectory=", "RootImage=", "ExecSearchPath=", "MountImages=", "ExtensionImages="} {
			if strings.HasPrefix(p, key) {
				return nil
			}
		}
	}
	name := o.command[0]
	var search []string
	if p, ok := os.LookupEnv("PATH"); ok {
		search = []string{}
		for _, dir := range filepath.SplitList(p) {
			if filepath.IsAbs(dir) {
				search = append(search, dir)
			}
		}
	}
	path, err := unit.FindExecutable(name, search)
	if err == nil && strings.Contains(name, "/") {
		path, err = absolutePath(name)
	}
	if err != nil {
		return usageError(fmt.Sprintf("Failed to find executable %s: %v", name, err))
	}
	o.command[0] = path
	return nil
}

// absolutePath is systemd's path_make_absolute_cwd: the path joined to
// the working directory, without simplifying it.
func absolutePath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(dir, "/") + "/" + p, nil
}

// compose names the units and makes their properties, as systemd-run
// sends them. It returns the client's refusals; what the manager refuses
// the daemon says, after its checks of the names.
func (o *runOptions) compose(c *cli) error {
	if !o.descriptionSet {
		// Quoted as systemd 255's systemd-run quotes it (#30192): an
		// argument's line break is no line break of the description.
		o.description = unit.ExecCommand{Argv: o.command}.CommandLine()
		if o.unitSet && o.description == "" {
			o.description = o.unit
		}
	}
	if err := o.names(c); err != nil {
		return err
	}
	if o.withTimer {
		s, err := o.common("Timer", o.timer)
		if err != nil {
			return err
		}
		// Transient timers clean up after themselves.
		s.add("Timer", "RemainAfterElapse", "no")
		o.timerUnit = api.TransientUnit{Name: o.timerName, Settings: s.settings}
		if len(o.command) == 0 {
			return nil
		}
	}
	s, err := o.service()
	if err != nil {
		return err
	}
	o.serviceUnit = api.TransientUnit{Name: o.serviceName, Settings: s.settings}
	return validUTF8(o.units())
}

// validUTF8 refuses text that is not UTF-8 in the units' settings, as
// sd-bus refuses to append such a string to a message (EINVAL): sent,
// it would come out with U+FFFD in place of its bytes.
func validUTF8(units []api.TransientUnit) error {
	for _, u := range units {
		for _, s := range u.Settings {
			strs := append([]string{u.Name, s.Section, s.Key, s.Value}, s.List...)
			if slices.ContainsFunc(append(strs, s.Flags...), func(t string) bool { return !utf8.ValidString(t) }) {
				return errors.New("Failed to create bus message: Invalid argument")
			}
		}
	}
	return nil
}

// mainType is the type of the unit started, which systemd-run's
// messages name: the timer's if there is one, else the service's.
func (o *runOptions) mainType() string {
	if o.withTimer {
		return "timer"
	}
	return "service"
}

// units are the units to make: the timer, if there is one, first, and
// the service, if there is a command to run.
func (o *runOptions) units() []api.TransientUnit {
	var units []api.TransientUnit
	if o.withTimer {
		units = append(units, o.timerUnit)
	}
	if len(o.command) > 0 {
		units = append(units, o.serviceUnit)
	}
	return units
}

// names picks the names of the service and of its timer, as
// systemd-run's start_transient_service and start_transient_trigger.
func (o *runOptions) names(c *cli) error {
	mangle := func(operation, suffix string) (string, error) {
		name, msg, ok := mangleUnitName(o.unit, operation, suffix, false)
		if !o.quiet && msg != "" {
			c.errorf("%s", msg)
		}
		if !ok {
			return "", usageError("Failed to mangle unit name: Invalid argument")
		}
		return name, nil
	}
	changeSuffix := func(name, suffix string) (string, error) {
		s := name[:strings.LastIndexByte(name, '.')] + suffix
		if !unit.ValidName(s, unit.AnyName) {
			return "", usageError("Failed to change unit suffix: Invalid argument")
		}
		return s, nil
	}
	var err error
	switch {
	case !o.unitSet:
		base := randomUnitName()
		o.serviceName = base + ".service"
		if o.withTimer {
			o.timerName = base + ".timer"
		}
	case !o.withTimer:
		o.serviceName, err = mangle("as unit", ".service")
	case unitType(o.unit) == "service":
		o.serviceName = o.unit
		o.timerName, err = changeSuffix(o.unit, ".timer")
	case unitType(o.unit) == "timer":
		o.timerName = o.unit
		o.serviceName, err = changeSuffix(o.unit, ".service")
	default:
		if o.serviceName, err = mangle("as unit", ".service"); err == nil {
			o.timerName, err = mangle("as trigger", ".timer")
		}
	}
	if err != nil || o.slice == "" {
		return err
	}
	// As the service's properties are made, after the names.
	slice, msg, ok := mangleUnitName(o.slice, "as slice", ".slice", false)
	if !o.quiet && msg != "" {
		c.errorf("%s", msg)
	}
	if !ok {
		return usageError(fmt.Sprintf("Failed to mangle name '%s': Invalid argument", o.slice))
	}
	o.slice = slice
	return nil
}

// randomUnitName is the name systemd-run gives a unit when connected to
// the manager directly: "run-r" and a random 128-bit ID, a version 4 UUID
// as sd_id128_randomize makes.
func randomUnitName() string {
	var id [16]byte
	rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return "run-r" + hex.EncodeToString(id[:])
}

// unitType is the type of a valid unit name, "" for an invalid one.
func unitType(name string) string {
	n, err := unit.ParseName(name)
	if err != nil {
		return ""
	}
	return n.Type.String()
}

// validUnitChars are systemd's VALID_CHARS_WITH_AT.
const validUnitChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@"

// isDevicePath is systemd's is_device_path: /dev, /sys or a path under them.
func isDevicePath(p string) bool {
	for _, dir := range []string{"/dev", "/sys"} {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// mangleUnitName is systemd's unit_name_mangle_with_suffix: a valid name
// as it is; a device path or an absolute path as a .device or .mount
// unit; anything else with its invalid characters escaped and suffix
// added if it has none. With glob (UNIT_NAME_MANGLE_GLOB), a glob
// pattern is kept as it is, its characters are not escaped, and no
// suffix is added to one. It returns the notice systemd logs about the
// escaping, if any, and false if the result is no valid name (with glob,
// only for an empty name).
func mangleUnitName(name, operation, suffix string, glob bool) (mangled, notice string, ok bool) {
	if name == "" {
		return "", "", false
	}
	if unit.ValidName(name, unit.AnyName) {
		return name, "", true
	}
	suggest := " (maybe you should use systemd-escape?)"
	valid := validUnitChars
	if glob {
		valid += "[]!-*?"
	}
	if isGlob(name) && strings.Trim(name, validUnitChars+"[]!*?") == "" {
		if glob {
			return name, "", true
		}
		notice = fmt.Sprintf("Glob pattern passed %s, but globs are not supported for this.", operation)
		suggest = ""
	}
	if strings.HasPrefix(name, "/") {
		// Told a device by the simplified path: "//dev/sda" is one.
		p := unit.SimplifyPath(name)
		if isDevicePath(p) {
			if n, ok := unitNameFromPath(p, ".device"); ok {
				return n, notice, true
			}
		}
		if n, ok := unitNameFromPath(p, ".mount"); ok {
			return n, notice, true
		}
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch ch := name[i]; {
		case ch == '/':
			b.WriteByte('-')
		case strings.IndexByte(valid, ch) < 0:
			fmt.Fprintf(&b, `\x%02x`, ch)
		default:
			b.WriteByte(ch)
		}
	}
	s := b.String()
	if s != name {
		msg := fmt.Sprintf("Invalid unit name \"%s\" escaped as \"%s\"%s.", name, s, suggest)
		notice = strings.TrimPrefix(notice+"\n"+msg, "\n")
	}
	if glob && isGlob(s) {
		return s, notice, true
	}
	if unitType(s) == "" {
		s += suffix
	}
	return s, notice, glob || unit.ValidName(s, unit.AnyName)
}

// unitNameFromPath is systemd's unit_name_from_path: the path,
// simplified and escaped, with suffix; false if that is no valid name.
func unitNameFromPath(p, suffix string) (string, bool) {
	p = unit.SimplifyPath(p)
	if slices.Contains(strings.Split(p, "/"), "..") {
		return "", false
	}
	s := "-"
	if p != "/" {
		s = unit.Escape(strings.Trim(p, "/"))
	}
	s += suffix
	return s, unit.ValidName(s, unit.Plain)
}

// A composed list of properties.
type composed struct {
	settings []api.Setting
}

func (s *composed) add(section, key, value string) {
	s.settings = append(s.settings, api.Setting{Section: section, Key: key, Value: value})
}

// common are the settings of transient_unit_set_properties: the
// description, the collect mode and the properties given, for a unit
// whose own section is section.
func (o *runOptions) common(section string, props []string) (composed, error) {
	var s composed
	s.add("Unit", "Description", o.description)
	if o.collect {
		s.add("Unit", "CollectMode", "inactive-or-failed")
	}
	for _, p := range props {
		if err := s.property(section, p); err != nil {
			return s, err
		}
	}
	return s, nil
}

// service is the service's settings, in the order systemd-run sends
// them (transient_service_set_properties).
func (o *runOptions) service() (composed, error) {
	s, err := o.common("Service", o.properties)
	if err != nil {
		return s, err
	}
	// transient_kill_set_properties, then transient_cgroup_set_properties.
	if o.sendSIGHUP {
		s.add("Service", "SendSIGHUP", "yes")
	}
	if o.slice != "" {
		s.add("Service", "Slice", o.slice)
	}
	if o.remain {
		s.add("Service", "RemainAfterExit", "yes")
	}
	if o.serviceType != "" {
		s.add("Service", "Type", o.serviceType)
	}
	if o.uid != "" {
		s.add("Service", "User", o.uid)
	}
	if o.gid != "" {
		s.add("Service", "Group", o.gid)
	}
	if o.niceSet {
		s.add("Service", "Nice", strconv.Itoa(o.nice))
	}
	if o.workingDirectory != "" {
		s.add("Service", "WorkingDirectory", o.workingDirectory)
	}
	if len(o.environment) > 0 {
		s.settings = append(s.settings, api.Setting{Section: "Service", Key: "Environment", List: o.environment})
	}
	if len(o.command) > 0 {
		cmd := api.Setting{Section: "Service", Key: "ExecStart", Value: o.command[0], List: o.command}
		if o.noExpand {
			cmd.Flags = []string{"no-env-expand"}
		}
		s.add("Service", "ExecStart", "")
		s.settings = append(s.settings, cmd)
	}
	return s, nil
}

// property adds a NAME=VALUE given with -p (or --timer-property=, …),
// read and checked as systemd-run does before it sends it; the daemon
// checks it again, and writes it.
func (s *composed) property(section, assignment string) error {
	key, value, ok := strings.Cut(assignment, "=")
	if !ok {
		return usageError("Not an assignment: " + assignment)
	}
	if !unit.KnownSetting(section, key) {
		if !unit.KnownSetting("Unit", key) {
			return usageError("Unknown assignment: " + assignment)
		}
		section = "Unit"
	}
	parseErr := func(err error) error {
		return usageError(fmt.Sprintf("Failed to parse %s=%s: %s", key, value, errnoText(err)))
	}
	// Read as systemd-run's bus_append_unit_property_assignment reads
	// them: by the parser the settings' table gives the key.
	switch parser := unit.SettingParser(section, key); {
	case parser == "bool":
		b, ok := unit.ParseBoolean(value)
		if !ok {
			return usageError(fmt.Sprintf("Failed to parse %s: %s", key, value))
		}
		s.add(section, key, yesNo(b))
	case parser == "log_level":
		// bus_append_log_level_from_string: sent as the level's number.
		l, ok := unit.ParseLogLevel(value)
		if !ok {
			return usageError(fmt.Sprintf("Failed to parse %s: %s", key, value))
		}
		s.add(section, key, strconv.Itoa(l))
	case section == "Timer" && slices.Contains(onSecKeyList, key):
		if value == "" {
			// The manager resets all the values, and writes so.
			s.add(section, "OnActiveSec", "")
			break
		}
		span, err := timespan.Parse(value)
		if err != nil {
			return parseErr(err)
		}
		s.add(section, key, span.Format(timespan.Microsecond))
	case section == "Service" && key == "TimeoutSec":
		span, err := timespan.Parse(value)
		if err != nil {
			return usageError(fmt.Sprintf("Failed to parse TimeoutStartSec=%s: %s", value, errnoText(err)))
		}
		s.add(section, "TimeoutStartSec", span.Format(timespan.Microsecond))
		s.add(section, "TimeoutStopSec", span.Format(timespan.Microsecond))
	case strings.HasPrefix(parser, "sec"):
		span, err := timespan.Parse(value)
		if err != nil {
			return parseErr(err)
		}
		s.add(section, key, span.Format(timespan.Microsecond))
	case parser == "environ":
		// Split by the client; the assignments are checked by the manager.
		env, err := unit.SplitWords(value)
		if err != nil {
			return usageError("Failed to parse Environment: Invalid argument")
		}
		s.settings = append(s.settings, api.Setting{Section: section, Key: key, List: env})
	case parser == "exec":
		cmd, err := execProperty(value)
		if err != nil {
			return err
		}
		cmd.Section, cmd.Key = section, key
		s.settings = append(s.settings, cmd)
	case parser == "exec_nice":
		n, err := parseNice(value)
		if err != nil {
			return parseErr(err)
		}
		s.add(section, key, strconv.Itoa(n))
	case parser == "unit_deps":
		// One each; an empty list is none.
		for _, v := range strings.Fields(value) {
			s.add(section, key, v)
		}
	case parser == "documentation" || parser == "unit_requires_mounts_for":
		// Items, unquoted as bus_append_strv reads them; none resets.
		items, err := unit.SplitWords(value)
		if err != nil {
			return usageError("Invalid syntax: " + value)
		}
		s.settings = append(s.settings, api.Setting{Section: section, Key: key, List: items})
	default:
		// Text, sent as it is: the manager checks it.
		s.add(section, key, value)
	}
	return nil
}

// execProperty reads a command line given with -p as systemd-run's
// bus_append_exec_command: its prefixes, then its words, the first its
// executable unless "@" gave another; none resets the list.
func execProperty(value string) (api.Setting, error) {
	var cmd api.Setting
	explicitPath := false
	has := func(f string) bool { return slices.Contains(cmd.Flags, f) }
prefixes:
	for ; value != ""; value = value[1:] {
		switch c := value[0]; {
		case c == '-' && !has("ignore-failure"):
			cmd.Flags = append(cmd.Flags, "ignore-failure")
		case c == '@' && !explicitPath:
			explicitPath = true
		case c == ':' && !has("no-env-expand"):
			cmd.Flags = append(cmd.Flags, "no-env-expand")
		case c == '+' && !has("privileged") && !has("no-setuid") && !has("ambient"):
			cmd.Flags = append(cmd.Flags, "privileged")
		case c == '!' && !has("privileged") && !has("ambient"):
			if i := slices.Index(cmd.Flags, "no-setuid"); i >= 0 {
				cmd.Flags[i] = "ambient"
			} else {
				cmd.Flags = append(cmd.Flags, "no-setuid")
			}
		default:
			break prefixes
		}
	}
	words, err := unit.SplitWords(value)
	if explicitPath && err == nil && len(words) > 0 {
		cmd.Value, words = words[0], words[1:]
	}
	if err != nil {
		what := "command line"
		if explicitPath {
			what = "path"
		}
		return cmd, usageError(fmt.Sprintf("Failed to parse %s: %s", what, errnoText(err)))
	}
	if len(words) == 0 {
		return api.Setting{}, nil
	}
	if !explicitPath {
		cmd.Value = words[0]
	}
	cmd.List = words
	return cmd, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// start asks the daemon for the units, then waits as systemd-run does:
// for the start job, and with --wait or --pipe for the service to end.
func (o *runOptions) start(c *cli) int {
	ctx := context.Background()
	client := o.client()
	req := api.TransientRequest{Units: o.units()}
	what := o.mainType()
	if !o.withTimer {
		// A timer's start is always waited for; with --pipe the
		// service's end is.
		req.NoBlock = o.noBlock || o.stdio == stdioPipe
	}
	var cursor int64
	if o.stdio == stdioPipe {
		entries, err := client.Journal(ctx, api.JournalQuery{Units: []string{o.serviceName}, Last: 1})
		if err != nil {
			return o.failed(c, client, "start transient "+what+" unit", err)
		}
		if len(entries) > 0 {
			cursor = entries[0].Cursor
		}
	}
	res, err := client.Transient(ctx, req)
	if err != nil {
		return o.failed(c, client, "start transient "+what+" unit", err)
	}
	if res.Error != "" {
		c.errorf("Failed to start transient %s unit: %s", what, res.Error)
		return 1
	}
	// The settings taken that sundial does not act on: a warning, not
	// silenced by --quiet.
	for _, note := range res.Notes {
		c.errorf("%s", note)
	}
	if !req.NoBlock {
		if msg := jobFailure(&systemctlOptions{daemonOptions: o.daemonOptions}, res); msg != "" {
			if !o.quiet {
				c.errorf("%s", msg)
			}
			return 1
		}
	}
	if !o.quiet {
		if o.withTimer {
			c.errorf("Running timer as unit: %s", o.timerName)
			if len(o.command) > 0 {
				c.errorf("Will run service as unit: %s", o.serviceName)
			}
		} else {
			c.errorf("Running as unit: %s", o.serviceName)
		}
	}
	if o.withTimer || !o.wait && o.stdio == stdioNone {
		return 0
	}
	var u api.Unit
	if o.stdio == stdioPipe {
		u, err = o.copyOutput(ctx, c, client, cursor)
	} else {
		u, err = client.WaitInactive(ctx, o.serviceName)
	}
	if err != nil {
		return o.failed(c, client, "wait for "+o.serviceName, err)
	}
	return o.finished(c, u)
}

// copyOutput copies what the service's processes write to the journal
// after cursor to standard output, until the service is inactive, and
// returns it as it was then. The daemon's own messages about the unit
// are left out: they come first, and tell its PID.
func (o *runOptions) copyOutput(ctx context.Context, c *cli, client *api.Client, cursor int64) (api.Unit, error) {
	type waited struct {
		u   api.Unit
		err error
	}
	done := make(chan waited, 1)
	go func() {
		// It ends with the service; the channel holds what it says.
		u, err := client.WaitInactive(ctx, o.serviceName)
		done <- waited{u, err}
	}()
	daemonPID := 0
	copied := func() (int, error) {
		entries, err := client.Journal(ctx, api.JournalQuery{Units: []string{o.serviceName}, After: cursor})
		for _, e := range entries {
			cursor = e.Cursor
			if e.Identifier == "sundial" && (daemonPID == 0 || e.PID == daemonPID) {
				daemonPID = e.PID
				continue
			}
			fmt.Fprintln(c.stdout, e.Message)
		}
		return len(entries), err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case w := <-done:
			if w.err != nil {
				return w.u, w.err
			}
			// The journal is written behind: what is left comes soon,
			// and then no more.
			for idle := 0; idle < 3; {
				<-tick.C
				n, err := copied()
				if err != nil {
					return w.u, err
				}
				idle++
				if n > 0 {
					idle = 0
				}
			}
			return w.u, nil
		case <-tick.C:
			if _, err := copied(); err != nil {
				return api.Unit{}, err
			}
		}
	}
}

// finished reports how the service ended, with --wait, and returns the
// exit status systemd-run passes on: the command's.
func (o *runOptions) finished(c *cli, u api.Unit) int {
	if o.wait && !o.quiet {
		if u.Result != "" {
			c.errorf("Finished with result: %s", u.Result)
		}
		switch u.MainCode {
		case "":
		case "exited":
			c.errorf("Main processes terminated with: code=exited/status=%d", u.MainStatus)
		default:
			c.errorf("Main processes terminated with: code=%s/status=%s", u.MainCode, unit.SignalName(u.MainStatus))
		}
		if u.InactiveExit > 0 && u.InactiveEnter > u.InactiveExit {
			c.errorf("Service runtime: %s", timespan.Span(u.InactiveEnter-u.InactiveExit).Format(timespan.Millisecond))
		}
		// As systemd's with CPU accounting, its default on cgroup v2.
		if u.InactiveExit > 0 {
			c.errorf("CPU time consumed: %s", timespan.Span(u.CPU).Format(timespan.Millisecond))
		}
	}
	switch {
	case u.Result == "success":
		return 0
	case u.Result == "exit-code" && u.MainStatus > 0:
		return u.MainStatus
	case u.Result == "signal":
		return exitException
	}
	return 1
}
