package unit

import (
	"bytes"
	"encoding/binary"
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
	// assignment's error stops the reading of the file. k is a's key's
	// settings, nil for a key systemd does not know or one of an X-
	// section or with X- in front.
	assignment(a Assignment, k *settingKey) error
	diagnose(d Diagnostic)
}

// A syntaxParser reads files, its buffers reused from one to the next.
type syntaxParser struct {
	data   []byte        // the file
	lines  []logicalLine // in data, or in joined
	joined []byte        // the text of the lines made of continued ones

	// The strings kept from a file, the values mostly, in one piece
	// of their own size: the file's text is not kept.
	arena strings.Builder

	file   string
	size   int   // of the strings kept
	lexErr error // split's

	h                  syntaxHandler
	section            string
	inSection, ignored bool // ignored: the current section is unknown
}

// release lets go of the last file's strings and handler.
func (p *syntaxParser) release() {
	p.arena = strings.Builder{}
	p.data, p.h, p.section = nil, nil, ""
}

// A logicalLine is a line as parsed, a line of the file or lines joined,
// with white space trimmed from both ends.
type logicalLine struct {
	start, end int  // its text, in data or joined
	joined     bool // in joined
	col        int  // the column of its text, from 1
	eq         int  // the index of the first '=' in it, -1 if none or a section header
	line       int
}

// parse reads a unit file or drop-in as systemd's config_parse does:
// lines end with \n, \r, \0 or a pair of them; lines whose first non-blank
// character is '#' or ';' are comments, even within a continuation; a line
// ending in an unescaped backslash continues on the next; a byte order
// mark is dropped once.
func (p *syntaxParser) parse(buf []byte, file string, h syntaxHandler) error {
	p.split(buf, file)
	return p.run(h)
}

// split cuts a file into logical lines, for run, and returns how many of
// them may be assignments. A line too long ends the file, and is run's
// error once the lines before it are read.
func (p *syntaxParser) split(data []byte, file string) (assignments int) {
	p.data, p.lines, p.joined = data, p.lines[:0], p.joined[:0]
	p.file, p.size, p.lexErr = file, 0, nil
	var (
		line    int
		cont    = -1 // where the continuation being read starts in joined
		bomSeen bool
		xs      bool // the last section is an extension
	)
	add := func(text []byte, off int, joined bool, line int) {
		t := trimLeft(text)
		lead := len(text) - len(t)
		t = trimRight(t)
		l := logicalLine{start: off + lead, end: off + lead + len(t), joined: joined, col: lead + 1, eq: -1, line: line}
		if len(t) > 0 && t[0] != '[' {
			l.eq = bytes.IndexByte(t, '=')
		}
		p.lines = append(p.lines, l)
		n, ok := keptSize(t, l.eq, &xs)
		p.size += n
		if ok {
			assignments++
		}
	}
	for at := 0; at < len(data); {
		raw, rest, tooLong := readLine(data[at:])
		if tooLong {
			p.lexErr = &SyntaxError{Diagnostic{Pos{file, line, 0}, Error, "Line too long"}, ErrTooLong}
			return assignments
		}
		off := at
		at = len(data) - len(rest)
		line++
		if t := trimLeft(raw); len(t) > 0 && (t[0] == '#' || t[0] == ';') {
			continue
		}
		l := raw
		if !bomSeen && bytes.HasPrefix(l, bom) {
			l, off, bomSeen = l[3:], off+3, true
		}
		escaped := endsEscaped(l)
		if cont < 0 && !escaped {
			// The common case: a line of its own, read in place.
			add(l, off, false, line)
			continue
		}
		if cont < 0 {
			cont = len(p.joined)
		}
		if len(p.joined)-cont+len(l) > MaxLineLength {
			p.lexErr = &SyntaxError{Diagnostic{Pos{file, line, 0}, Error, "Continuation line too long"}, ErrTooLong}
			return assignments
		}
		p.joined = append(p.joined, l...)
		if escaped {
			p.joined[len(p.joined)-1] = ' '
			continue
		}
		add(p.joined[cont:], cont, true, line)
		cont = -1
	}
	if cont >= 0 {
		add(p.joined[cont:], cont, true, line+1)
	}
	return assignments
}

// run hands the lines split to h.
func (p *syntaxParser) run(h syntaxHandler) error {
	p.arena = strings.Builder{}
	p.arena.Grow(p.size)
	p.h = h
	p.section, p.inSection, p.ignored = "", false, false
	for _, l := range p.lines {
		if err := p.parseLine(l); err != nil {
			return err
		}
	}
	return p.lexErr
}

var bom = []byte("\xef\xbb\xbf")

// keptSize returns the size of the strings parseLine keeps of the
// trimmed line t, whose first '=' is at eq: its value, and the names of
// extensions; and whether it is an assignment. xs tells whether the
// section is an extension.
func keptSize(t []byte, eq int, xs *bool) (int, bool) {
	if len(t) == 0 {
		return 0, false
	}
	if t[0] == '[' {
		if name, ok := bytes.CutSuffix(t[1:], []byte("]")); ok {
			if *xs = bytes.HasPrefix(name, extensionPrefix); *xs {
				return len(name), false
			}
		}
		return 0, false
	}
	if eq <= 0 {
		return 0, false
	}
	n := len(trimLeft(t[eq+1:]))
	if *xs || bytes.HasPrefix(t, extensionPrefix) {
		n += len(trimRight(t[:eq]))
	}
	return n, true
}

var extensionPrefix = []byte("X-")

// keep returns b as a string kept in the arena.
func (p *syntaxParser) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	n := p.arena.Len()
	p.arena.Write(b)
	return p.arena.String()[n:]
}

// readLine splits off the first line of data, as systemd's read_line
// does: \n, \r and \0 end a line, and so does a pair of different ones.
func readLine(data []byte) (line, rest []byte, tooLong bool) {
	i := 0
	for i < len(data) && !lineEnd[data[i]] {
		i++
	}
	if i >= MaxLineLength {
		return nil, nil, true
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
	return line, data[i:], false
}

// lineEnd holds the bytes that end lines.
var lineEnd = [256]bool{'\n': true, '\r': true, 0: true}

// endsEscaped reports whether p ends in a backslash that is not itself
// escaped: in a run of backslashes, each escapes the next.
func endsEscaped[T string | []byte](p T) bool {
	n := 0
	for n < len(p) && p[len(p)-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

// isSpace reports whether c is in whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimLeft(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseLine parses one logical line, as systemd's parse_line.
func (p *syntaxParser) parseLine(ll logicalLine) error {
	src := p.data
	if ll.joined {
		src = p.joined
	}
	l := src[ll.start:ll.end]
	if len(l) == 0 {
		return nil
	}
	h := p.h
	pos := Pos{File: p.file, Line: ll.line, Col: ll.col}
	if !ascii(l) && !validUTF8(l) {
		d := Diagnostic{pos, Error, "String is not UTF-8 clean, ignoring assignment: " + escapeInvalidUTF8(string(l))}
		h.diagnose(d)
		return &SyntaxError{d, ErrInvalid}
	}
	if l[0] == '[' {
		if l[len(l)-1] != ']' {
			d := Diagnostic{pos, Error, fmt.Sprintf("Invalid section header '%s'", l)}
			h.diagnose(d)
			return &SyntaxError{d, ErrBadMessage}
		}
		raw := l[1 : len(l)-1]
		if !safeString(raw) {
			d := Diagnostic{pos, Error, fmt.Sprintf("Bad characters in section header '%s'", l)}
			h.diagnose(d)
			return &SyntaxError{d, ErrBadMessage}
		}
		var name string
		switch id := sectionOf(raw); {
		case id >= 0:
			name = sectionNames[id]
		case bytes.HasPrefix(raw, extensionPrefix):
			name = p.keep(raw)
		default:
			name = string(raw)
		}
		if h.section(name, pos) {
			p.section, p.inSection, p.ignored = name, true, false
		} else {
			p.section, p.inSection, p.ignored = "", false, true
		}
		return nil
	}
	if !p.inSection {
		if !p.ignored {
			h.diagnose(Diagnostic{pos, Warning, "Assignment outside of section. Ignoring."})
		}
		return nil
	}
	eq := ll.eq
	// systemd skips the lines of X- sections unread; they are kept here
	// when they are assignments.
	extension := strings.HasPrefix(p.section, "X-")
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
	rawKey := trimRight(l[:eq])
	value := trimLeft(l[eq+1:])
	valStart := len(l) - len(value)
	var key string
	var k *settingKey
	switch {
	case extension || bytes.HasPrefix(rawKey, extensionPrefix):
		key = p.keep(rawKey)
	default:
		if k = settingKeys()[string(rawKey)]; k != nil {
			key = k.name
		} else {
			key = string(rawKey)
		}
	}
	return h.assignment(Assignment{
		Section: p.section,
		Key:     key,
		Value:   p.keep(value),
		Pos:     pos,
		ValCol:  ll.col + valStart,
	}, k)
}

// safeString reports whether s has no control characters, quotes or
// backslashes, as systemd's string_is_safe.
func safeString[T string | []byte](s T) bool {
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
func validUTF8[T string | []byte](s T) bool {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if r == utf8.RuneError && n == 1 || !validRune(r) {
			return false
		}
		i += n
	}
	return true
}

// ascii reports whether b is all ASCII, eight bytes at a time.
func ascii(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
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
