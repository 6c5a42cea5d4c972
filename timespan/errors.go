package timespan

import (
	"errors"
	"fmt"
)

// ErrRange is wrapped by a [*ParseError] when the input is well formed but
// its value does not fit: a negative span, an overflow, a timestamp outside
// the years systemd can represent. systemd reports these cases as ERANGE
// rather than EINVAL, and callers that print systemd's messages need to tell
// the two apart.
var ErrRange = errors.New("value out of range")

// A ParseError describes a time span or timestamp that could not be parsed.
type ParseError struct {
	What   string // "time span" or "timestamp"
	Input  string // the text being parsed
	Offset int    // byte offset into Input where the problem was found
	Msg    string // what was wrong, lowercase, without trailing period
	Err    error  // ErrRange for values out of range, nil otherwise
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("timespan: bad %s %q: column %d: %s", e.What, e.Input, e.Offset+1, e.Msg)
}

// Unwrap returns [ErrRange] for out-of-range values and nil otherwise.
func (e *ParseError) Unwrap() error { return e.Err }
