package manager

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// transientTypes are the unit types systemd makes transient units of.
var transientTypes = []string{"service", "scope", "slice", "mount", "automount", "swap", "socket", "path", "timer"}

// serviceTypes are the values of Type=.
var serviceTypes = []string{"simple", "exec", "forking", "oneshot", "dbus", "notify", "notify-reload", "idle"}

// execFlags are the flags of systemd's ExecStartEx=, by their names,
// and the prefixes that stand for them in a unit file.
var execFlags = map[string]string{"ignore-failure": "-", "no-env-expand": ":", "privileged": "+", "no-setuid": "!", "ambient": "!!"}

// TransientFile checks the properties of a transient unit as systemd's
// bus_unit_set_properties does, in order, and returns the text of its
// file, less the header, or the refusal of the first property systemd
// refuses, in its words. Each value is written as systemd's
// unit_write_settingf writes it (specifiers escaped; commands and
// environment quoted and C-escaped), so that the file reads back to the
// properties sent and nothing more; a value the file cannot hold as it
// is (a control character, text that is not UTF-8, a backslash that
// would join the next line) is refused.
func TransientFile(u api.TransientUnit) (string, error) {
	n, err := unit.ParseName(u.Name)
	if err != nil {
		return "", errors.New("Invalid unit name or type.")
	}
	typ := n.Type.String()
	if !slices.Contains(transientTypes, typ) {
		return "", fmt.Errorf("Unit type %s does not support transient units.", typ)
	}
	own := strings.ToUpper(typ[:1]) + typ[1:]
	var b strings.Builder
	section := ""
	for _, s := range u.Settings {
		kind := api.SettingKind(s.Section, s.Key)
		if s.Section != "Unit" && s.Section != own || kind == api.KindNone {
			return "", fmt.Errorf("Cannot set property %s, or unknown property.", busName(s.Section, s.Key))
		}
		line, err := settingLine(s, kind)
		if err != nil {
			return "", err
		}
		if s.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = s.Section
			b.WriteString("[" + section + "]\n")
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

// busName is the name of the D-Bus property systemd-run sends for
// Key= in [Section], which systemd's refusals name.
func busName(section, key string) string {
	switch {
	case key == "OnCalendar":
		return "TimersCalendar"
	case slices.Contains(monotonicKeys, key):
		return "TimersMonotonic"
	case api.SettingKind(section, key) == api.KindSpan:
		return strings.TrimSuffix(key, "Sec") + "USec"
	}
	return key
}

// monotonicKeys are the settings of systemd's TimersMonotonic.
var monotonicKeys = []string{"OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec"}

// settingLine checks one property of a kind and writes it as a line.
func settingLine(s api.Setting, kind api.Kind) (string, error) {
	v := s.Value
	invalid := func() error { return fmt.Errorf("Invalid %s setting: %s", s.Key, cescape(v)) }
	if kind != api.KindEnv && kind != api.KindExec && (len(s.List) > 0 || len(s.Flags) > 0) {
		return "", invalid()
	}
	switch kind {
	case api.KindString:
		if !literal(v) || s.Key == "Type" && !slices.Contains(serviceTypes, v) {
			return "", invalid()
		}
	case api.KindBool:
		// A boolean on the bus: the client reads the words for it.
		if v != "yes" && v != "no" {
			return "", invalid()
		}
	case api.KindSpan:
		if v == "" && s.Section == "Timer" && slices.Contains(monotonicKeys, s.Key) {
			// Resets the list of the monotonic timers.
			break
		}
		span, err := timespan.Parse(v)
		if err != nil {
			return "", invalid()
		}
		v = span.Format(timespan.Millisecond)
	case api.KindName:
		// As bus_unit_set_transient_property checks the units named.
		switch {
		case s.Key == "Slice" && !unit.ValidName(v, unit.Plain):
			return "", fmt.Errorf("Invalid unit name '%s'", cescape(v))
		case s.Key == "Slice" && !strings.HasSuffix(v, ".slice"):
			return "", fmt.Errorf("Unit name '%s' is not a slice", v)
		case !unit.ValidName(v, unit.Plain|unit.Instance):
			return "", fmt.Errorf("Invalid unit name %s", cescape(v))
		}
	case api.KindPath:
		if s.Key == "WorkingDirectory" {
			// As bus_exec_context_set_transient_property checks it.
			p := strings.TrimPrefix(v, "-")
			switch {
			case v == "" || p == "~":
			case !literal(v) || !strings.HasPrefix(p, "/"):
				return "", errors.New("WorkingDirectory= expects an absolute path or '~'")
			case !normalPath(p):
				return "", errors.New("WorkingDirectory= expects a normalized path or '~'")
			}
			break
		}
		switch {
		case !literal(v) || !strings.HasPrefix(v, "/"):
			return "", fmt.Errorf("Path %s is not absolute.", cescape(v))
		case !normalPath(v):
			return "", fmt.Errorf("Path %s is not normalized.", cescape(v))
		}
	case api.KindNice:
		if !slices.Contains(niceLevels, v) {
			return "", invalid()
		}
	case api.KindCalendar:
		if v != "" {
			if _, err := calendar.Parse(v); err != nil || !literal(v) {
				return "", errors.New("Invalid calendar spec")
			}
		}
	case api.KindEnv:
		if v != "" || slices.ContainsFunc(s.List, func(a string) bool { return !unit.ValidEnvAssignment(a) || strings.ContainsRune(a, 0) }) {
			return "", errors.New("Invalid environment block.")
		}
		return s.Key + "=" + environmentValue(s.List), nil
	case api.KindExec:
		return execLine(s)
	}
	return s.Key + "=" + escapeSpecifiers(v), nil
}

// niceLevels are the values of Nice=, as the client sends them.
var niceLevels = func() []string {
	var l []string
	for n := -20; n <= 19; n++ {
		l = append(l, fmt.Sprint(n))
	}
	return l
}()

// execLine checks a command as bus_set_transient_exec_command does and
// writes it quoted; no command resets the list.
func execLine(s api.Setting) (string, error) {
	if s.Value == "" && len(s.List) == 0 && len(s.Flags) == 0 {
		return s.Key + "=", nil
	}
	path := s.Value
	// A file name to look up is no prefix of a command line either; and
	// the executable's name has none of the characters config_parse_exec
	// refuses in it.
	name := path != "" && path != "." && path != ".." && path != ";" && !strings.Contains(path, "/") &&
		!strings.ContainsAny(path[:1], "-@:+!") && len(path) <= 255
	abs := strings.HasPrefix(path, "/") && !strings.HasSuffix(path, "/") && normalPath(path)
	if !abs && !name || !literal(path) || strings.ContainsAny(path, `"'\`) {
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
	return s.Key + "=" + prefix + strings.Join(args, " "), nil
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
