package unit

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// An ExecCommand is one command line of an Exec…= setting, as systemd's
// config_parse_exec reads it: the prefixes, the executable and its
// arguments, with specifiers expanded. Environment variables ($FOO,
// ${FOO}) are left in place: they are expanded when the command runs (see
// [ExpandArgv]).
type ExecCommand struct {
	// Path is the executable: an absolute path, simplified, or a file
	// name to look up in the search path when the command runs.
	Path string
	// Argv are the arguments, the zeroth included. It is the executable
	// as written unless the "@" prefix gave another.
	Argv  []string
	Flags ExecFlags
}

// ExecFlags are the prefixes of a command line.
type ExecFlags uint

const (
	ExecIgnoreFailure   ExecFlags = 1 << iota // "-": a failure counts as success
	ExecNoEnvExpand                           // ":": no expansion of environment variables
	ExecFullyPrivileged                       // "+": no sandboxing, no change of user
	ExecNoSetuid                              // "!": no change of user
	ExecAmbientMagic                          // "!!": no change of user where ambient capabilities are missing
)

// String returns the command line in the syntax of a unit file, which
// reads back to the same command. (The exceptions are an executable
// whose name starts with a prefix character it does not have, such as
// "!x" without "!", which only a specifier expanding to nothing before it
// can give, and "/" given as "/." with another zeroth argument.)
func (c ExecCommand) String() string {
	var b strings.Builder
	if c.Flags&ExecIgnoreFailure != 0 {
		b.WriteByte('-')
	}
	// Without "@" the zeroth argument is the executable as written, which
	// it simplifies to.
	separate := len(c.Argv) == 0 || simplifyPath(c.Argv[0]) != c.Path || strings.HasPrefix(c.Path, "@")
	if separate {
		b.WriteByte('@')
	}
	if c.Flags&ExecNoEnvExpand != 0 {
		b.WriteByte(':')
	}
	switch {
	case c.Flags&ExecFullyPrivileged != 0:
		b.WriteByte('+')
	case c.Flags&ExecAmbientMagic != 0:
		b.WriteString("!!")
	case c.Flags&ExecNoSetuid != 0:
		b.WriteByte('!')
	}
	// The prefixes may stand inside the quotes of the first word.
	prefix := b.String()
	b.Reset()
	if separate {
		b.WriteString(quoteUnitWord(prefix+c.Path, false))
	} else {
		b.WriteString(quoteUnitWord(prefix+c.Argv[0], false))
	}
	args := c.Argv
	if !separate {
		args = args[1:]
	}
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(quoteUnitWord(a, true))
	}
	return b.String()
}

// quoteUnitWord writes a word so that config_parse_exec reads it back:
// specifier signs doubled, and in double quotes with C escapes when it
// holds anything extract_first_word would take apart. An argument ";"
// is written "\;", which is not a separator.
func quoteUnitWord(s string, arg bool) string {
	if arg && s == ";" {
		return `\;`
	}
	plain := s != "" && validUTF8(s)
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c > ' ' && c != 0x7f && c != '"' && c != '\'' && c != '\\'
	}
	if plain {
		return strings.ReplaceAll(s, "%", "%%")
	}
	b := []byte{'"'}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && n <= 1:
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		case n > 1 && !validRune(r):
			// Unicode that systemd does not take in a unit file: its
			// bytes.
			for _, c := range []byte(s[i : i+n]) {
				b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			}
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '%':
			b = append(b, '%', '%')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < ' ' || c == 0x7f:
			b = append(b, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(append(b, '"'))
}

// CommandLine returns the arguments as systemd shows a command line, each
// quoted for a shell where it needs to be (quote_command_line).
func (c ExecCommand) CommandLine() string {
	var b []byte
	for i, a := range c.Argv {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendShellQuoted(b, a)
	}
	return string(b)
}

// appendShellQuoted is systemd's shell_maybe_quote with SHELL_ESCAPE_EMPTY:
// the word as it is if it is safe, else in double quotes from its first
// unsafe character on, with backslashes before the characters special in
// double quotes and C escapes for control characters and invalid UTF-8.
func appendShellQuoted(b []byte, s string) []byte {
	const needQuotes = " \t\n\r\"\\`$*?['()<>|&;!"
	if s == "" {
		return append(b, `""`...)
	}
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isCC(s[i]) || r == utf8.RuneError && n <= 1 || strings.IndexByte(needQuotes, s[i]) >= 0 {
			break
		}
		i += n
	}
	if i == len(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, s[:i]...)
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case isCC(c) || r == utf8.RuneError && n <= 1:
			b = appendCEscape(b, c)
			n = 1
		case n == 1 && strings.IndexByte("\"\\`$", c) >= 0:
			b = append(b, '\\', c)
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// isCC is systemd's char_is_cc.
func isCC(c byte) bool { return c < ' ' || c == 0x7f }

// appendCEscape is systemd's cescape_char.
func appendCEscape(b []byte, c byte) []byte {
	if i := strings.IndexByte("\a\b\f\n\r\t\v\\\"'", c); i >= 0 {
		return append(b, '\\', "abfnrtv\\\"'"[i])
	}
	if c < ' ' || c >= 0x7f {
		return append(b, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
	}
	return append(b, c)
}

// execSetting is config_parse_exec for the setting that keeps commands
// in field: an empty value clears the list; otherwise command lines
// separated by lone semicolons are added to it. A mistake in a command
// without the "-" prefix refuses the unit.
func execSetting(field func(*ServiceSection) *[]ExecCommand) setter {
	return func(c *settingCtx, a *Assignment) error {
		list := field(c.service())
		if a.Value == "" {
			*list = nil
			return nil
		}
		w := words{s: a.Value}
		// What systemd's messages quote: the value from the command
		// line being read on.
		rvalue := a.Value
		for {
			cmd, ignore, more, err := c.execCommand(a, &w, rvalue)
			if err != nil {
				return fatalErr(!ignore)
			}
			if cmd.Argv != nil {
				*list = append(*list, cmd)
				rvalue = w.s[w.i:]
			}
			if !more {
				return nil
			}
		}
	}
}

// execCommand reads one command line from w. It returns the command, if
// there is one (it has an Argv), whether the line had the "-" prefix, and
// whether another command line follows a semicolon. Its error means a
// mistake the assignment stops at.
func (c *settingCtx) execCommand(a *Assignment, w *words, rvalue string) (cmd ExecCommand, ignore, more bool, err error) {
	first, ok, err := c.extractWord(a, w, rvalue)
	if err != nil || !ok {
		// A first word that cannot be read drops the rest of the
		// assignment, but does not refuse the unit.
		return ExecCommand{}, false, false, nil
	}
	if first == ";" {
		return ExecCommand{}, false, true, nil
	}
	var flags ExecFlags
	separate := false
	f := first
prefixes:
	for ; f != ""; f = f[1:] {
		switch {
		case f[0] == '-' && flags&ExecIgnoreFailure == 0:
			flags |= ExecIgnoreFailure
		case f[0] == '@' && !separate:
			separate = true
		case f[0] == ':' && flags&ExecNoEnvExpand == 0:
			flags |= ExecNoEnvExpand
		case f[0] == '+' && flags&(ExecFullyPrivileged|ExecNoSetuid|ExecAmbientMagic) == 0:
			flags |= ExecFullyPrivileged
		case f[0] == '!' && flags&(ExecFullyPrivileged|ExecNoSetuid|ExecAmbientMagic) == 0:
			flags |= ExecNoSetuid
		case f[0] == '!' && flags&(ExecFullyPrivileged|ExecAmbientMagic) == 0:
			flags = flags&^ExecNoSetuid | ExecAmbientMagic
		default:
			break prefixes
		}
	}
	ignore = flags&ExecIgnoreFailure != 0
	sev, suffix := severity(!ignore), ignoring(!ignore)
	path, err := c.x.path(f)
	if err != nil {
		c.log(a, sev, "Failed to resolve unit specifiers in '%s'%s: %s", f, suffix, strerror(err))
		return ExecCommand{}, ignore, false, err
	}
	if msg := badExecutable(path); msg != "" {
		if path == "" {
			path = "'" + rvalue + "'"
		}
		c.log(a, sev, "%s%s: %s", msg, suffix, path)
		return ExecCommand{}, ignore, false, eINVAL
	}
	argv := c.argv[:0]
	defer func() { c.argv = argv[:0] }()
	if !separate {
		argv = append(argv, path)
	}
	for w.i < len(w.s) && !w.done {
		rest := w.s[w.i:]
		if rest[0] == ';' && (len(rest) == 1 || isWhitespace(rest[1])) {
			w.i++
			w.skipWhitespace()
			more = true
			break
		}
		if rest[0] == '\\' && len(rest) >= 2 && rest[1] == ';' && (len(rest) == 2 || isWhitespace(rest[2])) {
			w.i += 2
			w.skipWhitespace()
			argv = append(argv, ";")
			continue
		}
		word, ok, err := c.extractWord(a, w, rvalue)
		if err != nil {
			return ExecCommand{}, ignore, false, err
		}
		if !ok {
			break
		}
		arg, err := c.x.full(word)
		if err != nil {
			c.log(a, sev, "Failed to resolve unit specifiers in %s%s: %s", word, suffix, strerror(err))
			return ExecCommand{}, ignore, false, err
		}
		argv = append(argv, arg)
	}
	if len(argv) == 0 {
		c.log(a, sev, "Empty executable name or zeroeth argument%s: %s", suffix, rvalue)
		return ExecCommand{}, ignore, false, eINVAL
	}
	return ExecCommand{Path: simplifyPath(path), Argv: slices.Clone(argv), Flags: flags}, ignore, more, nil
}

// badExecutable returns what config_parse_exec says of an executable it
// refuses, or "".
func badExecutable(path string) string {
	abs := strings.HasPrefix(path, "/")
	switch {
	case path == "":
		return "Empty path in command line"
	case !safeString(path):
		return "Executable name contains special characters"
	case strings.HasSuffix(path, "/"):
		return "Executable path specifies a directory"
	case abs && !validPath(path), !abs && !validFilename(path):
		return "Neither a valid executable name nor an absolute path"
	}
	return ""
}

// extractWord is systemd's extract_first_word_and_warn with
// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE: a word with unknown escapes is read
// again keeping them, with a warning; unbalanced quotes are an error,
// which quotes rvalue.
func (c *settingCtx) extractWord(a *Assignment, w *words, rvalue string) (string, bool, error) {
	save := *w
	word, ok, err := w.next("", extractUnquote|extractCUnescape)
	if err == nil {
		return word, ok, nil
	}
	*w = save
	word, ok, err = w.next("", extractUnquote|extractCUnescape|extractUnescapeRelax)
	if err == nil {
		c.warn(a, "Ignoring unknown escape sequences: \"%s\"", word)
		return word, ok, nil
	}
	c.log(a, Error, "Unbalanced quoting, ignoring: \"%s\"", rvalue)
	return "", false, err
}

// isWhitespace reports whether c is in systemd's WHITESPACE.
func isWhitespace(c byte) bool { return strings.IndexByte(whitespace, c) >= 0 }

// skipWhitespace steps over white space.
func (w *words) skipWhitespace() {
	for w.i < len(w.s) && isWhitespace(w.s[w.i]) {
		w.i++
	}
}
