package unit

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// validEnvName is systemd's env_name_is_valid: letters, digits and '_',
// not starting with a digit, at most ARG_MAX-2 bytes.
func validEnvName(s string, argMax int) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' || len(s) > argMax-2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validEnvValue is systemd's env_value_is_valid: UTF-8, control
// characters included, at most ARG_MAX-3 bytes.
func validEnvValue(s string, argMax int) bool {
	return utf8.ValidString(s) && len(s) <= argMax-3
}

// validEnvAssignment is systemd's env_assignment_is_valid: NAME=value.
func validEnvAssignment(s string, argMax int) bool {
	name, value, ok := strings.Cut(s, "=")
	return ok && validEnvName(name, argMax) && validEnvValue(value, argMax) && len(s) <= argMax-1
}

// MergeEnv sets NAME=value assignments in an environment, as systemd's
// strv_env_merge: each takes the place of one of the same name, or goes
// at the end.
func MergeEnv(env []string, assignments ...string) []string {
	for _, a := range assignments {
		env = envReplace(env, a)
	}
	return env
}

// ValidEnvAssignment reports whether a NAME=value assignment is one that
// systemd passes to a process (env_assignment_is_valid): a name of
// letters, digits and '_' not starting with a digit; a UTF-8 value.
func ValidEnvAssignment(a string) bool { return validEnvAssignment(a, maxArgMax) }

// envReplace is systemd's strv_env_replace: an assignment takes the place
// of one of the same name, or goes at the end.
func envReplace(env []string, assignment string) []string {
	name, _, _ := strings.Cut(assignment, "=")
	for i, e := range env {
		if n, _, _ := strings.Cut(e, "="); n == name {
			env[i] = assignment
			return env
		}
	}
	return append(env, assignment)
}

// appendNew appends the words not in list yet, as strv_extend_strv with
// duplicates filtered.
func appendNew(list []string, words ...string) []string {
	for _, w := range words {
		if !slices.Contains(list, w) {
			list = append(list, w)
		}
	}
	return list
}

// SplitWords splits a list of words as Environment= takes them, and
// systemd-run's -p for such lists: separated by whitespace, each quoted
// or not, with C escapes resolved (extract_first_word with
// EXTRACT_UNQUOTE and EXTRACT_CUNESCAPE). Unbalanced quotes are an error.
func SplitWords(s string) ([]string, error) {
	var out []string
	if err := eachWord(s, func(word string) { out = append(out, word) }); err != nil {
		return nil, err
	}
	return out, nil
}

// eachWord calls f with each word of s, as SplitWords splits them, until
// the end or a mistake, which it returns: the words before it are taken.
func eachWord(s string, f func(string)) error {
	w := words{s: s}
	for {
		word, more, err := w.next("", extractCUnescape|extractUnquote)
		if err != nil || !more {
			return err
		}
		f(word)
	}
}

// environmentSetting is config_parse_environ: assignments, quoted as
// words, with specifiers expanded; a later one replaces an earlier one of
// the same name; empty clears them.
func environmentSetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.Environment = nil
		return nil
	}
	argMax := c.argMax()
	err := eachWord(a.Value, func(word string) {
		v, err := c.x.env(word)
		if err != nil {
			c.warn(a, "Failed to resolve specifiers in %s, ignoring: %s", word, strerror(err))
			return
		}
		if !validEnvAssignment(v, argMax) {
			c.warn(a, "Invalid environment assignment, ignoring: %s", v)
			return
		}
		s.Environment = envReplace(s.Environment, v)
	})
	if err != nil {
		c.warn(a, "Invalid syntax, ignoring: %s", a.Value)
	}
	return nil
}

// environmentFileSetting is config_parse_unit_env_file: an absolute path,
// "-" prefixed when a missing file is fine; empty clears the list.
func environmentFileSetting(c *settingCtx, a *Assignment) error {
	s := c.service()
	if a.Value == "" {
		s.EnvironmentFiles = nil
		return nil
	}
	v, err := c.x.path(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
		return nil
	}
	dash, p := "", v
	if strings.HasPrefix(v, "-") {
		dash, p = "-", v[1:]
	}
	if p, err = c.checkPath(a, p, false); err != nil {
		return nil
	}
	s.EnvironmentFiles = append(s.EnvironmentFiles, dash+p)
	return nil
}

// envNamesSetting is config_parse_pass_environ, and with unset
// config_parse_unset_environ, which also takes assignments: words with
// specifiers expanded, added to the list unless there already; empty
// clears it.
func envNamesSetting(unset bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		s := c.service()
		list := &s.PassEnvironment
		if unset {
			list = &s.UnsetEnvironment
		}
		if a.Value == "" {
			*list = nil
			return nil
		}
		argMax := c.argMax()
		var names []string
		w := words{s: a.Value}
		for {
			word, more, err := w.next("", extractCUnescape|extractUnquote)
			if err != nil {
				c.warn(a, "Trailing garbage in %s, ignoring: %s", a.Key, a.Value)
				break
			}
			if !more {
				break
			}
			v, err := c.x.env(word)
			if err != nil {
				c.warn(a, "Failed to resolve specifiers in %s, ignoring: %s", word, strerror(err))
				continue
			}
			switch {
			case unset && !validEnvName(v, argMax) && !validEnvAssignment(v, argMax):
				c.warn(a, "Invalid environment name or assignment %s, ignoring: %s", a.Key, v)
				continue
			case !unset && !validEnvName(v, argMax):
				c.warn(a, "Invalid environment name for %s, ignoring: %s", a.Key, v)
				continue
			}
			names = append(names, v)
		}
		*list = appendNew(*list, names...)
		return nil
	}
}

// ExpandArgv expands the environment variables of a command's arguments
// as systemd does when it runs the command (replace_env_argv): an
// argument "$NAME" becomes the variable's value split into words (none
// if it is not set, or if NAME is no valid name: "$1", "$FOO$BAR");
// "${NAME}" anywhere in an argument becomes the value as it is; "$$" is
// "$". env holds NAME=value assignments, the last of a name counting. It
// also returns the names referred to but not set, and those that are no
// valid names (which expand to nothing).
func ExpandArgv(argv, env []string) (args, unset, bad []string) {
	lookup := func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], name+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	for _, word := range argv {
		if name, ok := strings.CutPrefix(word, "$"); ok && !strings.HasPrefix(name, "{") && !strings.HasPrefix(name, "$") {
			// A word of its own: it goes, unless it names a variable
			// that is set.
			if !validEnvName(name, maxArgMax) {
				bad = append(bad, name)
				continue
			}
			v, set := lookup(name)
			if !set {
				unset = append(unset, name)
				continue
			}
			w := words{s: v}
			for {
				part, more, _ := w.next("", extractRelax|extractUnquote)
				if !more {
					break
				}
				args = append(args, part)
			}
			continue
		}
		args = append(args, expandBraces(word, lookup, &unset, &bad))
	}
	return args, unset, bad
}

// maxArgMax bounds names where no manager's ARG_MAX is at hand.
const maxArgMax = 1 << 21

// expandBraces is replace_env without flags: ${NAME} and $$; an
// unterminated ${, and ${NAME:…}, stay as written.
func expandBraces(s string, lookup func(string) (string, bool), unset, bad *[]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexAny(s[i+2:], "}:")
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if s[i+2+end] == ':' {
				// ${NAME:…} is not understood here and stays, but
				// what follows the colon is read on.
				b.WriteString(s[i : i+2+end])
				i += 1 + end
				continue
			}
			switch v, ok := lookup(name); {
			case !validEnvName(name, maxArgMax):
				*bad = append(*bad, name)
			case !ok:
				*unset = append(*unset, name)
			default:
				b.WriteString(v)
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// SplitQuoted splits s into words as systemd's extract_first_word with
// EXTRACT_UNQUOTE alone: separated by whitespace, quotes group and go, a
// backslash takes the next character as it is. Unbalanced quotes are an
// error. Conditions that take a list of expressions read them so.
func SplitQuoted(s string) ([]string, error) {
	var out []string
	w := words{s: s}
	for {
		word, more, err := w.next("", extractUnquote)
		if err != nil || !more {
			return out, err
		}
		out = append(out, word)
	}
}
