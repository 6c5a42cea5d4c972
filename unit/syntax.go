package unit

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLineLength is the longest line, and the longest line made of
// continuations, that a unit file may have: systemd's LONG_LINE_MAX.
const MaxLineLength = 1 << 20

// A Pos is a position in a unit file. Line is the line systemd names in
// its messages, which for a line continued with a backslash is the last
// of the lines joined; Col is the byte column, from 1, in the joined line.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", leaving out what is not known.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Col > 0 {
			s += fmt.Sprintf(":%d", p.Col)
		}
	}
	return s
}

// A Severity is how serious a diagnostic is: systemd's log level.
type Severity int

const (
	Info    Severity = iota // for information, e.g. a setting that is gone
	Notice                  // a setting that was rewritten
	Warning                 // the setting is ignored
	Error                   // the setting, or the unit, is refused
)

// A Diagnostic is something wrong in a unit file, in systemd's words.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string // as systemd logs it, e.g. "Unknown section 'Tmer'. Ignoring."
}

// String formats the diagnostic as systemd logs it: "file:line: message".
func (d Diagnostic) String() string {
	if d.Pos.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", d.Pos.File, d.Pos.Line, d.Msg)
	}
	if d.Pos.File != "" {
		return d.Pos.File + ": " + d.Msg
	}
	return d.Msg
}

// An Assignment is one "Key=Value" of a unit file, with white space
// trimmed from both.
type Assignment struct {
	Section string
	Key     string
	Value   string
	Pos     Pos // of the key
	ValCol  int // the column of the value
}

// ValuePos returns the position of the value.
func (a *Assignment) ValuePos() Pos {
	p := a.Pos
	p.Col = a.ValCol
	return p
}

// A SyntaxError is a mistake that makes systemd refuse the whole file:
// a line too long, a broken section header, text that is not UTF-8.
type SyntaxError struct {
	Diagnostic
	Err error // what systemd reports the unit failed with (errno)
}

func (e *SyntaxError) Error() string { return "unit: " + e.Diagnostic.String() }
func (e *SyntaxError) Unwrap() error { return e.Err }

// Errors a unit fails to load with. Their texts are the C library's
// strerror texts of the errno values systemd reports, in lower case.
var (
	ErrBadMessage = errors.New("bad message")               // EBADMSG
	ErrInvalid    = errors.New("invalid argument")          // EINVAL
	ErrTooLong    = errors.New("no buffer space available") // ENOBUFS
)

// whitespace is systemd's WHITESPACE.
const whitespace = " \t\n\r"

// A syntaxHandler receives what a file holds, in order.
type syntaxHandler interface {
	// section is called for a section header and reports whether the
	// section is known; the assignments of unknown sections are dropped.
	section(name string, pos Pos) bool
	// assignment's error stops the reading of the file. a is good
	// until it returns.
	assignment(a *Assignment) error
	diagnose(d Diagnostic)
}

// parseSyntax reads a unit file or drop-in as systemd's config_parse does:
// lines end with \n, \r, \0 or a pair of them; lines whose first non-blank
// character is '#' or ';' are comments, even within a continuation; a line
// ending in an unescaped backslash continues on the next; a byte order
// mark is dropped once.
func parseSyntax(buf []byte, file string, h syntaxHandler) error {
	data := string(buf) // one copy: the lines and values are its substrings
	var (
		line         int
		continuation []byte
		inSection    bool
		ignored      bool // the current section is unknown
		bomSeen      bool
		section      string
	)
	var scratch Assignment // handed to h for each assignment in turn
	parse := func(l string, line int) error {
		return parseLine(l, Pos{File: file, Line: line}, &section, &inSection, &ignored, h, &scratch)
	}
	for len(data) > 0 {
		raw, rest, err := readLine(data)
		if err != nil {
			return &SyntaxError{Diagnostic{Pos{file, line, 0}, Error, "Line too long"}, ErrTooLong}
		}
		data = rest
		line++
		if t := strings.TrimLeft(raw, whitespace); t != "" && (t[0] == '#' || t[0] == ';') {
			continue
		}
		l := raw
		if !bomSeen && strings.HasPrefix(l, "\xef\xbb\xbf") {
			l, bomSeen = l[3:], true
		}
		if continuation == nil && !endsEscaped(l) {
			// The common case: a line of its own, read in place.
			if err := parse(l, line); err != nil {
				return err
			}
			continue
		}
		if len(continuation)+len(l) > MaxLineLength {
			return &SyntaxError{Diagnostic{Pos{file, line, 0}, Error, "Continuation line too long"}, ErrTooLong}
		}
		continuation = append(continuation, l...)
		if endsEscaped(l) {
			continuation[len(continuation)-1] = ' '
			continue
		}
		if err := parse(string(continuation), line); err != nil {
			return err
		}
		continuation = nil
	}
	if continuation != nil {
		line++
		return parse(string(continuation), line)
	}
	return nil
}

// readLine splits off the first line of data, as systemd's read_line
// does: \n, \r and \0 end a line, and so does a pair of different ones.
func readLine(data string) (line, rest string, err error) {
	i := 0
	for i < len(data) && data[i] != '\n' && data[i] != '\r' && data[i] != 0 {
		i++
	}
	if i >= MaxLineLength {
		return "", "", ErrTooLong
	}
	line = data[:i]
	// Take one end-of-line character of each kind, stopping after a NUL.
	seen := 0
	for i < len(data) {
		kind := 0
		switch data[i] {
		case '\n':
			kind = 1
		case '\r':
			kind = 2
		case 0:
			kind = 4
		}
		if kind == 0 || seen&kind != 0 || seen&4 != 0 {
			break
		}
		seen |= kind
		i++
	}
	return line, data[i:], nil
}

// endsEscaped reports whether p ends in a backslash that is not itself
// escaped.
func endsEscaped[T string | []byte](p T) bool {
	escaped := false
	for i := range len(p) {
		c := p[i]
		if escaped {
			escaped = false
		} else if c == '\\' {
			escaped = true
		}
	}
	return escaped
}

// parseLine parses one logical line, as systemd's parse_line.
func parseLine(l string, pos Pos, section *string, inSection, ignored *bool, h syntaxHandler, a *Assignment) error {
	start := len(l) - len(strings.TrimLeft(l, whitespace))
	l = strings.Trim(l, whitespace)
	if l == "" {
		return nil
	}
	pos.Col = start + 1
	if !validUTF8(l) {
		d := Diagnostic{pos, Error, "String is not UTF-8 clean, ignoring assignment: " + escapeInvalidUTF8(l)}
		h.diagnose(d)
		return &SyntaxError{d, ErrInvalid}
	}
	if l[0] == '[' {
		if l[len(l)-1] != ']' {
			d := Diagnostic{pos, Error, fmt.Sprintf("Invalid section header '%s'", l)}
			h.diagnose(d)
			return &SyntaxError{d, ErrBadMessage}
		}
		name := l[1 : len(l)-1]
		if !safeString(name) {
			d := Diagnostic{pos, Error, fmt.Sprintf("Bad characters in section header '%s'", l)}
			h.diagnose(d)
			return &SyntaxError{d, ErrBadMessage}
		}
		if h.section(name, pos) {
			*section, *inSection, *ignored = name, true, false
		} else {
			*section, *inSection, *ignored = "", false, true
		}
		return nil
	}
	if !*inSection {
		if !*ignored {
			h.diagnose(Diagnostic{pos, Warning, "Assignment outside of section. Ignoring."})
		}
		return nil
	}
	eq := strings.IndexByte(l, '=')
	// systemd skips the lines of X- sections unread; they are kept here
	// when they are assignments.
	extension := strings.HasPrefix(*section, "X-")
	switch {
	case eq < 0:
		if !extension {
			h.diagnose(Diagnostic{pos, Warning, "Missing '=', ignoring line."})
		}
		return nil
	case eq == 0:
		if !extension {
			h.diagnose(Diagnostic{pos, Warning, "Missing key name before '=', ignoring line."})
		}
		return nil
	}
	value := l[eq+1:]
	valStart := eq + 1 + len(value) - len(strings.TrimLeft(value, whitespace))
	*a = Assignment{
		Section: *section,
		Key:     strings.Trim(l[:eq], whitespace),
		Value:   strings.Trim(value, whitespace),
		Pos:     pos,
		ValCol:  start + valStart + 1,
	}
	return h.assignment(a)
}

// safeString reports whether s has no control characters, quotes or
// backslashes, as systemd's string_is_safe.
func safeString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == '"' || c == '\'' || c == '\\' || c == 0x7f {
			return false
		}
	}
	return true
}

// validUTF8 reports whether s is UTF-8 as systemd accepts it, which also
// excludes the noncharacters U+FDD0 to U+FDEF and U+xFFFE and U+xFFFF.
func validUTF8(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !validRune(r) {
			return false
		}
		i += n
	}
	return true
}

func validRune(r rune) bool {
	return !(r >= 0xFDD0 && r <= 0xFDEF) && r&0xFFFE != 0xFFFE
}

// escapeInvalidUTF8 replaces each byte that does not start a valid
// character with U+FFFD, as systemd's utf8_escape_invalid.
func escapeInvalidUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || !validRune(r) {
			b.WriteString("\uFFFD")
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}
