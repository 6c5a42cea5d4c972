package calendar

import "time"

// NextExact is NextErr with every step of the search resolved as mktime
// does.
func (s *Spec) NextExact(after time.Time) (time.Time, error) {
	t, _, err := s.next(after, false)
	return t, err
}

// NextPinned is NextErr, and reports whether the pinned search gave the
// result.
func (s *Spec) NextPinned(after time.Time) (time.Time, bool, error) {
	return s.next(after, true)
}
