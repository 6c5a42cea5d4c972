package calendar

import "time"

// The modes of search, as NextTried reports them.
const (
	ModeExact   = int(exact)
	ModePinned  = int(pinned)
	ModeTracked = int(tracked)
)

// NextExact is NextErr with every step of the search resolved as mktime
// does.
func (s *Spec) NextExact(after time.Time) (time.Time, error) {
	t, _, err := s.next(after, false)
	return t, err
}

// NextTried is NextErr, and reports the mode of the search that gave the
// result.
func (s *Spec) NextTried(after time.Time) (time.Time, int, error) {
	t, mode, err := s.next(after, true)
	return t, int(mode), err
}
