package unit

import (
	"errors"
	"strings"
)

// extractFlags select how words are split, as systemd's ExtractFlags.
type extractFlags uint

const (
	extractRelax                  extractFlags = 1 << iota // allow unbalanced quotes and a trailing backslash
	extractCUnescape                                       // resolve C escapes such as \n and \x41
	extractUnescapeRelax                                   // keep unknown escapes and a trailing backslash
	extractUnescapeSeparators                              // resolve escaped separators
	extractKeepQuote                                       // quotes group, and stay
	extractUnquote                                         // quotes group, and go
	extractDontCoalesceSeparators                          // each separator ends a word
	extractRetainEscape                                    // a backslash is an ordinary character
	extractRetainSeparators                                // do not step over the separator
)

var errWord = errors.New("invalid word") // EINVAL from extract_first_word

// A words splits a string into words one at a time, as systemd's
// extract_first_word, which it calls with the string's remainder.
type words struct {
	s    string
	i    int
	done bool // systemd's *p == NULL: no words are left
}

// next returns the next word; ok is false when there are no more. On an
// error, the position stays at the offending character.
func (w *words) next(separators string, flags extractFlags) (word string, ok bool, err error) {
	if w.done {
		return "", false, nil
	}
	if separators == "" {
		separators = whitespace
	}
	b := wordBuf{s: w.s}
	have := flags&extractDontCoalesceSeparators != 0
	at := func() byte {
		if w.i < len(w.s) {
			return w.s[w.i]
		}
		return 0
	}
	var seps [8]uint32 // a bit for each byte that separates
	for i := 0; i < len(separators); i++ {
		c := separators[i]
		seps[c>>5] |= 1 << (c & 31)
	}
	isSep := func(c byte) bool { return c != 0 && seps[c>>5]&(1<<(c&31)) != 0 }
	terminate := func() (string, bool, error) {
		w.done = true
		if !have {
			return "", false, nil
		}
		return b.String(), true, nil
	}

	// Skip leading separators.
	for ; ; w.i++ {
		c := at()
		if c == 0 {
			return terminate()
		}
		if isSep(c) {
			if flags&extractDontCoalesceSeparators != 0 {
				if flags&extractRetainSeparators == 0 {
					w.i++
				}
				return b.String(), true, nil
			}
			continue
		}
		have = true
		break
	}

	var quote byte
	backslash := false
	for ; ; w.i++ {
		c := at()
		switch {
		case backslash:
			if c == 0 {
				if flags&extractUnescapeRelax != 0 && (quote == 0 || flags&extractRelax != 0) {
					b.add('\\')
					return terminate()
				}
				if flags&extractRelax != 0 {
					return terminate()
				}
				return "", false, errWord
			}
			if flags&(extractCUnescape|extractUnescapeSeparators) != 0 {
				if flags&extractCUnescape != 0 {
					if r, n, eightBit, uerr := cunescapeOne(w.s[w.i:]); uerr == nil {
						w.i += n - 1
						if eightBit {
							b.add(byte(r))
						} else {
							b.flush()
							b.b = appendUnichar(b.b, r)
						}
						backslash = false
						continue
					}
				}
				switch {
				case flags&extractUnescapeSeparators != 0 && (isSep(c) || c == '\\'):
					b.at(w.i)
				case flags&extractUnescapeRelax != 0:
					b.add('\\')
					b.add(c)
				default:
					return "", false, errWord
				}
			} else {
				b.at(w.i)
			}
			backslash = false

		case quote != 0:
			for ; ; w.i++ {
				c = at()
				if c == 0 {
					if flags&extractRelax != 0 {
						return terminate()
					}
					return "", false, errWord
				} else if c == quote {
					quote = 0
					if flags&extractUnquote != 0 {
						break
					}
				} else if c == '\\' && flags&extractRetainEscape == 0 {
					backslash = true
					break
				}
				b.at(w.i)
				if quote == 0 {
					break
				}
			}

		default:
			for ; ; w.i++ {
				c = at()
				if c == 0 {
					return terminate()
				} else if (c == '\'' || c == '"') && flags&(extractKeepQuote|extractUnquote) != 0 {
					quote = c
					if flags&extractUnquote != 0 {
						break
					}
				} else if c == '\\' && flags&extractRetainEscape == 0 {
					backslash = true
					break
				} else if isSep(c) {
					if flags&extractDontCoalesceSeparators != 0 {
						if flags&extractRetainSeparators == 0 {
							w.i++
						}
						return b.String(), true, nil
					}
					if flags&extractRetainSeparators == 0 {
						for ; ; w.i++ {
							c = at()
							if c == 0 {
								w.done = true
								return b.String(), true, nil
							}
							if !isSep(c) {
								break
							}
						}
					}
					return b.String(), true, nil
				}
				b.at(w.i)
				if quote != 0 {
					break
				}
			}
		}
	}
}

// rest is what is left of the string after the words taken, as
// systemd's *p: "" once that is NULL.
func (w *words) rest() string {
	if w.done {
		return ""
	}
	return w.s[w.i:]
}

// extractMany takes at most n words from the start of s, as systemd's
// extract_many_words, and returns them and what is left.
func extractMany(s, separators string, flags extractFlags, n int) (got []string, rest string, err error) {
	w := words{s: s}
	for len(got) < n {
		word, more, err := w.next(separators, flags)
		if err != nil {
			return nil, "", err
		}
		if !more {
			break
		}
		got = append(got, word)
	}
	return got, w.rest(), nil
}

// A wordBuf is a word being read from s: a part of s as long as it can
// be, and only copied once it differs.
type wordBuf struct {
	s          string
	start, end int    // the word is s[start:end], unless copied
	b          []byte // the word, once copied
	copied     bool
}

// at adds the byte at s[i].
func (b *wordBuf) at(i int) {
	switch {
	case b.copied:
		b.b = append(b.b, b.s[i])
	case b.start == b.end:
		b.start, b.end = i, i+1
	case i == b.end:
		b.end++
	default:
		b.flush()
		b.b = append(b.b, b.s[i])
	}
}

// add adds a byte that is not the next of s.
func (b *wordBuf) add(c byte) {
	b.flush()
	b.b = append(b.b, c)
}

// flush copies the word, to add what s does not have.
func (b *wordBuf) flush() {
	if !b.copied {
		b.b, b.copied = append(b.b, b.s[b.start:b.end]...), true
	}
}

func (b *wordBuf) String() string {
	if b.copied {
		return string(b.b)
	}
	return b.s[b.start:b.end]
}

// cunescape resolves the C escapes of s as systemd's cunescape() with no
// flags: an unknown escape, a NUL byte or a trailing backslash is an
// error, and a code point is encoded as utf8_encode_unichar encodes it.
func cunescape(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		r, n, eightBit, err := cunescapeOne(s[i+1:])
		if err != nil {
			return "", err
		}
		if eightBit {
			b = append(b, byte(r))
		} else {
			b = appendUnichar(b, r)
		}
		i += n
	}
	return string(b), nil
}

// cunescapeOne resolves the C escape at the start of s (after the
// backslash), as systemd's cunescape_one without NUL bytes. It returns the
// character, the length of the escape, and whether the character is a raw
// byte rather than a code point.
func cunescapeOne(s string) (r rune, n int, eightBit bool, err error) {
	if s == "" {
		return 0, 0, false, errWord
	}
	if i := strings.IndexByte(`abfnrtv\"'s`, s[0]); i >= 0 {
		return rune("\a\b\f\n\r\t\v\\\"' "[i]), 1, false, nil
	}
	hexN := func(k int) (rune, bool) {
		if len(s) < 1+k {
			return 0, false
		}
		var v rune
		for i := 1; i <= k; i++ {
			d := unhex(s[i])
			if d < 0 {
				return 0, false
			}
			v = v<<4 | rune(d)
		}
		return v, true
	}
	switch c := s[0]; {
	case c == 'x':
		v, ok := hexN(2)
		if !ok || v == 0 {
			return 0, 0, false, errWord
		}
		return v, 3, true, nil
	case c == 'u':
		v, ok := hexN(4)
		if !ok || v == 0 {
			return 0, 0, false, errWord
		}
		return v, 5, false, nil
	case c == 'U':
		v, ok := hexN(8)
		if !ok || v == 0 || !validCodePoint(v) {
			return 0, 0, false, errWord
		}
		return v, 9, false, nil
	case '0' <= c && c <= '7':
		if len(s) < 3 {
			return 0, 0, false, errWord
		}
		var v rune
		for i := 0; i < 3; i++ {
			if s[i] < '0' || s[i] > '7' {
				return 0, 0, false, errWord
			}
			v = v<<3 | rune(s[i]-'0')
		}
		if v == 0 || v > 255 {
			return 0, 0, false, errWord
		}
		return v, 3, true, nil
	}
	return 0, 0, false, errWord
}

// validCodePoint reports whether r is a code point systemd accepts.
func validCodePoint(r rune) bool {
	return r >= 0 && r < 0x110000 && r&^0x7ff != 0xd800 && validRune(r)
}

// appendUnichar encodes r in UTF-8 as systemd's utf8_encode_unichar,
// which, unlike the utf8 package, also encodes surrogates.
func appendUnichar(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case r < 0x800:
		return append(b, 0xc0|byte(r>>6), 0x80|byte(r&0x3f))
	case r < 0x10000:
		return append(b, 0xe0|byte(r>>12), 0x80|byte(r>>6&0x3f), 0x80|byte(r&0x3f))
	default:
		return append(b, 0xf0|byte(r>>18&0x07), 0x80|byte(r>>12&0x3f), 0x80|byte(r>>6&0x3f), 0x80|byte(r&0x3f))
	}
}
