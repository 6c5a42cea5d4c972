package manager

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// transientTypes are the unit types systemd makes transient units of.
var transientTypes = []string{"service", "scope", "slice", "mount", "automount", "swap", "socket", "path", "timer"}

// execFlags are the flags of systemd's ExecStartEx=, by their names,
// and the prefixes that stand for them in a unit file.
var execFlags = map[string]string{"ignore-failure": "-", "no-env-expand": ":", "privileged": "+", "no-setuid": "!", "ambient": "!!"}

// TransientFile checks the properties of a transient unit as systemd's
// bus_unit_set_properties does, in order, and returns the text of its
// file, less the header, with the notes on the settings sundial does
// not act on; or the refusal of the first property refused, in systemd's
// words. The properties taken are those systemd's table of settings
// (load-fragment-gperf) has for the unit's type; each is written as
// systemd's unit_write_settingf writes it (specifiers escaped; commands
// and environment quoted and C-escaped), and then read back by the unit
// loader's own parser for it, strictly: a value the loader would ignore,
// or that would fail the unit, is refused rather than written. A value
// the file cannot hold as it is (a control character, text that is not
// UTF-8, a backslash that would join the next line) is refused too.
func TransientFile(u api.TransientUnit, scope unit.RuntimeScope) (string, []string, error) {
	n, err := unit.ParseName(u.Name)
	if err != nil {
		return "", nil, errors.New("Invalid unit name or type.")
	}
	typ := n.Type.String()
	if !slices.Contains(transientTypes, typ) {
		return "", nil, fmt.Errorf("Unit type %s does not support transient units.", typ)
	}
	own := strings.ToUpper(typ[:1]) + typ[1:]
	var b strings.Builder
	var told []string
	// The setting each line of the file is of, and the item it holds;
	// the header's none.
	type line struct {
		setting int
		item    string
	}
	lines := []line{{-1, ""}}
	section := ""
	refused, at := error(nil), len(u.Settings)
	for i, s := range u.Settings {
		if s.Section != "Unit" && s.Section != own || !settable(s.Section, s.Key) {
			refused, at = fmt.Errorf("Cannot set property %s, or unknown property.", busName(s.Section, s.Key)), i
			break
		}
		items, err := settingLines(s)
		if err != nil {
			refused, at = err, i
			break
		}
		if s.Section != section {
			if section != "" {
				b.WriteString("\n")
				lines = append(lines, line{-1, ""})
			}
			section = s.Section
			b.WriteString("[" + section + "]\n")
			lines = append(lines, line{-1, ""})
		}
		for _, it := range items {
			b.WriteString(s.Key + "=" + it.text + "\n")
			lines = append(lines, line{i, it.value})
		}
	}
	// The settings before the first refused, as the loader reads them.
	parsed, err := unit.ParseText(u.Name, transientHeader+b.String(), scope)
	if err != nil {
		return "", nil, err
	}
	for _, d := range parsed.Diagnostics {
		if d.Severity < unit.Warning || d.Pos.Line < 1 || d.Pos.Line > len(lines) {
			continue
		}
		if l := lines[d.Pos.Line-1]; l.setting >= 0 && l.setting < at {
			refused, at = loaderRefusal(u.Settings[l.setting], l.item, d), l.setting
		}
	}
	if refused != nil {
		return "", nil, refused
	}
	// The loader's notes on settings sundial does not act on, less the
	// file and line, which the client has no use for.
	for _, n := range notes(parsed) {
		if _, msg, ok := strings.Cut(n.msg, ": "); ok && n.priority == 5 && !slices.Contains(told, msg) {
			told = append(told, msg)
		}
	}
	return b.String(), told, nil
}

// settable reports whether systemd takes Key= in [Section] as a property
// of a transient unit: a setting of its table that it reads, less those
// that only a unit file can say (SourcePath=), and the obsolete ones.
func settable(section, key string) bool {
	switch unit.SettingParser(section, key) {
	case "", "warn_compat", "job_mode_isolate":
		return false
	}
	return key != "SourcePath"
}

// busName is the name of the D-Bus property systemd-run sends for
// Key= in [Section], which systemd's refusals name.
func busName(section, key string) string {
	switch {
	case key == "OnCalendar":
		return "TimersCalendar"
	case slices.Contains(monotonicKeys, key):
		return "TimersMonotonic"
	case strings.HasPrefix(unit.SettingParser(section, key), "sec") && strings.HasSuffix(key, "Sec"):
		return strings.TrimSuffix(key, "Sec") + "USec"
	}
	return key
}

// monotonicKeys are the settings of systemd's TimersMonotonic.
var monotonicKeys = []string{"OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec"}

// An item is what a line of a setting holds: its value as sent, and as
// written.
type item struct{ value, text string }

// settingLines checks one property as far as the bus does, before the
// loader reads it, and writes it as the values of its lines: one, or
// one to each item of a list.
func settingLines(s api.Setting) ([]item, error) {
	v := s.Value
	invalid := func() error { return fmt.Errorf("Invalid %s setting: %s", s.Key, cescape(v)) }
	parser := unit.SettingParser(s.Section, s.Key)
	if parser != "exec" && len(s.Flags) > 0 {
		// Flags are a command's only: none is dropped unsaid.
		return nil, fmt.Errorf("Invalid flags for %s: %s", s.Key, cescape(strings.Join(s.Flags, " ")))
	}
	switch parser {
	case "exec":
		l, err := execLine(s)
		return []item{{v, l}}, err
	case "environ":
		if v != "" || slices.ContainsFunc(s.List, func(a string) bool { return !unit.ValidEnvAssignment(a) || strings.ContainsRune(a, 0) }) {
			return nil, errors.New("Invalid environment block.")
		}
		return []item{{v, environmentValue(s.List)}}, nil
	case "documentation", "unit_requires_mounts_for":
		return listLines(s)
	}
	if len(s.List) > 0 {
		return nil, invalid()
	}
	switch parser {
	case "unit_deps", "unit_slice", "trigger_unit":
		// As bus_unit_set_transient_property checks the units named.
		switch {
		case parser == "unit_slice" && !unit.ValidName(v, unit.Plain):
			return nil, fmt.Errorf("Invalid unit name '%s'", cescape(v))
		case parser == "unit_slice" && !strings.HasSuffix(v, ".slice"):
			return nil, fmt.Errorf("Unit name '%s' is not a slice", v)
		case !unit.ValidName(v, unit.Plain|unit.Instance):
			return nil, fmt.Errorf("Invalid unit name %s", cescape(v))
		}
	case "working_directory":
		// As bus_exec_context_set_transient_property checks it.
		p := strings.TrimPrefix(v, "-")
		switch {
		case v == "" || p == "~":
		case !literal(v):
			// Absolute or not, no file holds it as it is.
			return nil, invalid()
		case !strings.HasPrefix(p, "/"):
			return nil, errors.New("WorkingDirectory= expects an absolute path or '~'")
		case !normalPath(p):
			return nil, errors.New("WorkingDirectory= expects a normalized path or '~'")
		}
	case "unit_condition_path", "unit_condition_string":
		// As bus_set_transient_conditions checks them; none empties the
		// list, as the empty assignment does in a file.
		param := strings.TrimPrefix(strings.TrimPrefix(v, "|"), "!")
		switch {
		case v == "":
		case !literal(v):
			return nil, invalid()
		case param == "":
			return nil, fmt.Errorf("Condition parameter in %s is empty", s.Key)
		case parser == "unit_condition_path" && !strings.HasPrefix(param, "/"):
			return nil, fmt.Errorf("Path in condition %s is not absolute: %s", s.Key, param)
		}
	case "timer":
		if s.Key == "OnCalendar" && !literal(v) {
			return nil, errors.New("Invalid calendar spec")
		}
	case "memory_limit", "cpu_quota", "tasks_max", "managed_oom_mem_pressure_limit":
		// Their parsers expand no specifiers: the "%" of a share is
		// written as it is.
		if !literal(v) {
			return nil, invalid()
		}
		return []item{{v, v}}, nil
	default:
		if !literal(v) {
			return nil, invalid()
		}
	}
	return []item{{v, escapeSpecifiers(v)}}, nil
}

// listLines checks the items of Documentation= or RequiresMountsFor= as
// bus_unit_set_transient_property does, and writes one a line, so that
// none is read as two: an item holds no white space, nor the quotes and
// backslashes the loader would read as quoting. No item resets the list.
func listLines(s api.Setting) ([]item, error) {
	if s.Value != "" {
		return nil, fmt.Errorf("Invalid %s setting: %s", s.Key, cescape(s.Value))
	}
	if len(s.List) == 0 {
		return []item{{"", ""}}, nil
	}
	lines := make([]item, len(s.List))
	for i, it := range s.List {
		word := literal(it) && it != "" && !strings.ContainsAny(it, " \t\"'\\")
		switch {
		case s.Key == "Documentation":
			if !word {
				return nil, fmt.Errorf("Invalid URL in %s: %s", s.Key, cescape(it))
			}
		case !strings.HasPrefix(it, "/"):
			return nil, fmt.Errorf("Path specified in %s is not absolute: %s", s.Key, cescape(it))
		case !word || len(it) >= 4096:
			return nil, fmt.Errorf("Path specified in %s is not valid: %s", s.Key, cescape(it))
		case !normalPath(it):
			// The loader's path_simplify_and_warn would ignore it.
			return nil, fmt.Errorf("Path specified in %s is not normalized: %s", s.Key, cescape(it))
		}
		lines[i] = item{it, escapeSpecifiers(it)}
	}
	return lines, nil
}

// loaderRefusal is the refusal of a property, or of the item of it, the
// loader found wrong (d), in the words systemd's bus setter for it has.
func loaderRefusal(s api.Setting, value string, d unit.Diagnostic) error {
	switch unit.SettingParser(s.Section, s.Key) {
	case "exec":
		// config_parse_exec's words: the bus takes less than the
		// loader, and its own words would not say what is wrong.
		return errors.New(strings.Replace(d.Msg, ", ignoring", "", 1))
	case "documentation":
		return fmt.Errorf("Invalid URL in %s: %s", s.Key, cescape(value))
	case "timer":
		if s.Key == "OnCalendar" {
			return errors.New("Invalid calendar spec")
		}
	}
	return fmt.Errorf("Invalid %s setting: %s", s.Key, cescape(value))
}

// execLine checks a command as bus_set_transient_exec_command does and
// writes it quoted; no command resets the list.
func execLine(s api.Setting) (string, error) {
	if s.Value == "" && len(s.List) == 0 && len(s.Flags) == 0 {
		return "", nil
	}
	path := s.Value
	// A file name to look up is no prefix of a command line either; and
	// the executable's name has none of the characters config_parse_exec
	// refuses in it.
	name := path != "" && path != "." && path != ".." && path != ";" && !strings.Contains(path, "/") &&
		!strings.ContainsAny(path[:1], "-@:+!") && len(path) <= 255
	abs := strings.HasPrefix(path, "/") && !strings.HasSuffix(path, "/") && normalPath(path)
	if literal(path) && strings.ContainsAny(path, `"'\`) {
		// Quotes would be read as quoting: config_parse_exec's words.
		return "", fmt.Errorf("Executable name contains special characters: %s", cescape(path))
	}
	if !abs && !name || !literal(path) {
		return "", fmt.Errorf("\"%s\" is neither a valid executable name nor an absolute path", cescape(path))
	}
	if len(s.List) == 0 {
		return "", fmt.Errorf("\"%s\" argv cannot be empty", s.Key)
	}
	if slices.ContainsFunc(s.List, func(a string) bool { return strings.ContainsRune(a, 0) }) {
		return "", fmt.Errorf("Invalid %s setting: an argument contains a NUL byte", s.Key)
	}
	// Of "+", "!" and "!!", one at most, as config_parse_exec reads them.
	var prefix string
	for _, f := range slices.Sorted(slices.Values(s.Flags)) {
		chars, ok := execFlags[f]
		if !ok || strings.Contains(prefix, chars) || strings.ContainsAny(chars, "+!") && strings.ContainsAny(prefix, "+!") {
			return "", fmt.Errorf("Invalid flags for %s: %s", s.Key, cescape(strings.Join(s.Flags, " ")))
		}
		prefix += chars
	}
	if abs {
		path = unit.SimplifyPath(path)
	}
	// As systemd writes a command: each argument in double quotes, and
	// the executable after "@" where it is not the zeroth argument; in
	// quotes too where it holds what would end the word. An argument ";",
	// quoted or not, ends the command: "\;" is one.
	quote := func(a string) string {
		if a == ";" {
			return `\;`
		}
		return `"` + shellEscape(escapeSpecifiers(a)) + `"`
	}
	if path != s.List[0] {
		p := shellEscape(escapeSpecifiers(path))
		if strings.ContainsAny(p, ` '`) {
			p = quote(path)
		}
		prefix += "@" + p + " "
	}
	args := make([]string, len(s.List))
	for i, a := range s.List {
		args[i] = quote(a)
	}
	return prefix + strings.Join(args, " "), nil
}

// shellEscape is systemd's shell_escape(s, "\""): backslashes before '\'
// and '"', C escapes for control characters and bytes that are not
// UTF-8.
func shellEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch c := s[i]; {
		case c < ' ' || c == 0x7f || r == utf8.RuneError && n <= 1:
			b.WriteString(cescape(s[i : i+1]))
			n = 1
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// literal reports whether a unit file holds text as it is: UTF-8 as
// systemd's utf8_is_valid takes it, no control characters (a line break
// would begin another setting), and no backslash at its end (which would
// join the next line to it).
func literal(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f || r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe
	}) && !strings.HasSuffix(strings.TrimRight(s, " "), `\`)
}

// normalPath reports whether an absolute path is one systemd takes, as
// path_is_valid and path_is_normalized: shorter than PATH_MAX, each name
// in it at most 255 bytes, and no ".." once simplified.
func normalPath(p string) bool {
	names := strings.Split(unit.SimplifyPath(p), "/")
	return len(p) < 4096 && !slices.Contains(names, "..") && !slices.ContainsFunc(names, func(n string) bool { return len(n) > 255 })
}

// escapeSpecifiers doubles '%', so that the value reads back as it is
// (systemd's specifier_escape).
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// environmentValue is how systemd writes Environment=: each assignment
// C-escaped in double quotes, specifiers escaped.
func environmentValue(env []string) string {
	quoted := make([]string, len(env))
	for i, e := range env {
		quoted[i] = `"` + cescape(escapeSpecifiers(e)) + `"`
	}
	return strings.Join(quoted, " ")
}

// cescape is systemd's cescape: C escapes for quotes, backslashes,
// control characters and bytes above 0x7e.
func cescape(s string) string {
	var b []byte
	for _, c := range []byte(s) {
		if i := strings.IndexByte("\a\b\f\n\r\t\v\\\"'", c); i >= 0 {
			b = append(b, '\\', "abfnrtv\\\"'"[i])
		} else if c < ' ' || c >= 0x7f {
			b = append(b, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}
