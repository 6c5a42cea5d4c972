package api

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// errNotText refuses a request holding text that is not UTF-8, or a
// \u escape of half a surrogate pair, which encoding/json would read as
// U+FFFD without a word; sd-bus refuses such strings in a message.
var errNotText = errors.New("Invalid argument: the request holds text that is not UTF-8.")

// checkText reports whether a request's body is UTF-8 and its escapes
// stand for characters. A backslash is only found inside a JSON string,
// where it escapes what follows it.
func checkText(body []byte) error {
	if !utf8.Valid(body) {
		return errNotText
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r, ok := escapedRune(body[i+1:])
		switch {
		case !ok:
			i++ // another escape, or a mistake the decoder reports
		case r >= 0xd800 && r < 0xdc00:
			// A high surrogate is followed by a low one.
			if len(body) < i+7 || body[i+6] != '\\' {
				return errNotText
			}
			if lo, ok := escapedRune(body[i+7:]); !ok || lo < 0xdc00 || lo > 0xdfff {
				return errNotText
			}
			i += 11
		case r >= 0xdc00 && r <= 0xdfff:
			return errNotText
		default:
			i += 5
		}
	}
	return nil
}

// escapedRune reads the code of a \u escape from what follows its
// backslash.
func escapedRune(b []byte) (rune, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[1:5]), 16, 16)
	return rune(n), err == nil
}
