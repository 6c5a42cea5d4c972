package condition

import (
	"cmp"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// An op is a comparison operator, systemd's CompareOperator.
type op int

const (
	opNone op = iota
	opStringEqual
	opStringUnequal
	opFnmatchEqual
	opFnmatchUnequal
	opLowerOrEqual
	opGreaterOrEqual
	opLower
	opGreater
	opEqual
	opUnequal
)

// Flags of parseOp, systemd's CompareOperatorParseFlags.
const (
	allowFnmatch  = 1 << 0
	equalByString = 1 << 1
)

// opTable is parse_compare_operator's table, in its order: the first
// prefix that matches wins. valid: the flags the operator needs, or it is
// an error; need: the flags without which it is skipped.
var opTable = []struct {
	op          op
	s           string
	valid, need int
}{
	{opFnmatchEqual, "$=", allowFnmatch, 0},
	{opFnmatchUnequal, "!$=", allowFnmatch, 0},
	{opUnequal, "<>", 0, 0},
	{opLowerOrEqual, "<=", 0, 0},
	{opGreaterOrEqual, ">=", 0, 0},
	{opLower, "<", 0, 0},
	{opGreater, ">", 0, 0},
	{opEqual, "==", 0, 0},
	{opStringEqual, "=", 0, equalByString},
	{opEqual, "=", 0, 0},
	{opStringUnequal, "!=", 0, equalByString},
	{opUnequal, "!=", 0, 0},
}

// parseOp is parse_compare_operator: the operator s starts with and the
// rest, or opNone and s.
func parseOp(s string, flags int) (op, string) {
	for _, e := range opTable {
		if e.need != 0 && flags&e.need != e.need {
			continue
		}
		if rest, ok := strings.CutPrefix(s, e.s); ok {
			if e.valid != 0 && flags&e.valid != e.valid {
				return opNone, s
			}
			return e.op, rest
		}
	}
	return opNone, s
}

// opChars are COMPARE_OPERATOR_WITH_FNMATCH_CHARS.
const opChars = "!<=>$"

// testOrder is test_order: whether the comparison k (<0, 0, >0) holds.
func testOrder(k int, o op) (bool, error) {
	switch o {
	case opLower:
		return k < 0, nil
	case opLowerOrEqual:
		return k <= 0, nil
	case opEqual:
		return k == 0, nil
	case opUnequal:
		return k != 0, nil
	case opGreaterOrEqual:
		return k >= 0, nil
	case opGreater:
		return k > 0, nil
	}
	return false, syscall.EINVAL
}

// versionOrFnmatch is version_or_fnmatch_compare: a is the machine's
// value, b the condition's.
func versionOrFnmatch(o op, a, b string) (bool, error) {
	switch o {
	case opStringEqual:
		return a == b, nil
	case opStringUnequal:
		return a != b, nil
	case opFnmatchEqual:
		return fnmatch(b, a, false), nil
	case opFnmatchUnequal:
		return !fnmatch(b, a, false), nil
	}
	return testOrder(versionCompare(a, b), o)
}

// b2i is a C truth value.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// versionCompare is systemd's strverscmp_improved: version strings in
// segments of digits or letters, each after '~' (older than none), '-',
// '^' or '.'; other characters separate.
func versionCompare(a, b string) int {
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	valid := func(c byte) bool { return isDigit(c) || isAlpha(c) || strings.IndexByte("~-^.", c) >= 0 }
	i, j := 0, 0
	for {
		for at(a, i) != 0 && !valid(a[i]) {
			i++
		}
		for at(b, j) != 0 && !valid(b[j]) {
			j++
		}
		if at(a, i) == '~' || at(b, j) == '~' {
			if r := cmp.Compare(b2i(at(a, i) != '~'), b2i(at(b, j) != '~')); r != 0 {
				return r
			}
			i, j = i+1, j+1
		}
		if at(a, i) == 0 || at(b, j) == 0 {
			return cmp.Compare(at(a, i), at(b, j))
		}
		for _, sep := range []byte("-^.") {
			if at(a, i) == sep || at(b, j) == sep {
				if r := cmp.Compare(b2i(at(a, i) != sep), b2i(at(b, j) != sep)); r != 0 {
					return r
				}
				i, j = i+1, j+1
			}
		}
		var ii, jj int
		if isDigit(at(a, i)) || isDigit(at(b, j)) {
			for ii = i; isDigit(at(a, ii)); ii++ {
			}
			for jj = j; isDigit(at(b, jj)); jj++ {
			}
			if r := cmp.Compare(b2i(ii != i), b2i(jj != j)); r != 0 {
				return r
			}
			for at(a, i) == '0' {
				i++
			}
			for at(b, j) == '0' {
				j++
			}
			if r := cmp.Compare(ii-i, jj-j); r != 0 {
				return r
			}
			if r := strings.Compare(a[i:ii], b[j:jj]); r != 0 {
				return r
			}
		} else {
			for ii = i; isAlpha(at(a, ii)); ii++ {
			}
			for jj = j; isAlpha(at(b, jj)); jj++ {
			}
			n := min(ii-i, jj-j)
			if r := strings.Compare(a[i:i+n], b[j:j+n]); r != 0 {
				return r
			}
			if r := cmp.Compare(ii-i, jj-j); r != 0 {
				return r
			}
		}
		i, j = ii, jj
	}
}

// fnmatch is the C library's fnmatch(pattern, s, 0), or with
// FNM_CASEFOLD: '*' and '?' match any characters, '/' and a leading '.'
// included; "[...]" a set, "[!...]" or "[^...]" its complement, with
// ranges and classes; a backslash quotes. An unclosed '[' is itself.
func fnmatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	return match(pattern, s)
}

func match(p, s string) bool {
	for p != "" {
		switch p[0] {
		case '*':
			for p != "" && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
					continue
				}
				if match(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			_, n := utf8.DecodeRuneInString(s)
			p, s = p[1:], s[n:]
		case '[':
			if s == "" {
				return false
			}
			r, n := utf8.DecodeRuneInString(s)
			ok, rest, valid := matchSet(p[1:], r)
			if !valid {
				// An unclosed bracket is a literal '['.
				if s[0] != '[' {
					return false
				}
				p, s = p[1:], s[1:]
				continue
			}
			if !ok {
				return false
			}
			p, s = rest, s[n:]
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// classes are the character classes of brackets, "[:alpha:]" and others.
var classes = map[string]func(rune) bool{
	"alnum":  func(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) },
	"alpha":  func(r rune) bool { return r < 128 && unicode.IsLetter(r) },
	"blank":  func(r rune) bool { return r == ' ' || r == '\t' },
	"cntrl":  func(r rune) bool { return r < 32 || r == 127 },
	"digit":  func(r rune) bool { return '0' <= r && r <= '9' },
	"graph":  func(r rune) bool { return r > 32 && r < 127 },
	"lower":  func(r rune) bool { return 'a' <= r && r <= 'z' },
	"print":  func(r rune) bool { return r >= 32 && r < 127 },
	"punct":  func(r rune) bool { return r > 32 && r < 127 && !unicode.IsLetter(r) && !unicode.IsDigit(r) },
	"space":  func(r rune) bool { return r == ' ' || r >= '\t' && r <= '\r' },
	"upper":  func(r rune) bool { return 'A' <= r && r <= 'Z' },
	"xdigit": func(r rune) bool { return isDigit(byte(r)) && r < 128 || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F' },
}

// matchSet matches r against the bracket expression p starts (after the
// '['), and returns the pattern after its ']'. valid is false where the
// bracket is not closed or names an unknown class.
func matchSet(p string, r rune) (matched bool, rest string, valid bool) {
	negate := false
	if p != "" && (p[0] == '!' || p[0] == '^') {
		negate, p = true, p[1:]
	}
	first := true
	for {
		if p == "" {
			return false, "", false
		}
		if p[0] == ']' && !first {
			return matched != negate, p[1:], true
		}
		first = false
		if strings.HasPrefix(p, "[:") {
			end := strings.Index(p[2:], ":]")
			if end < 0 {
				return false, "", false
			}
			f, ok := classes[p[2:2+end]]
			if !ok {
				return false, "", false
			}
			if f(r) {
				matched = true
			}
			p = p[2+end+2:]
			continue
		}
		if p[0] == '\\' && len(p) > 1 {
			p = p[1:]
		}
		lo, n := utf8.DecodeRuneInString(p)
		p = p[n:]
		hi := lo
		if len(p) > 1 && p[0] == '-' && p[1] != ']' {
			p = p[1:]
			if p[0] == '\\' && len(p) > 1 {
				p = p[1:]
			}
			hi, n = utf8.DecodeRuneInString(p)
			p = p[n:]
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
}
