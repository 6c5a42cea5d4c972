// Package await is for tests: it waits until a condition holds, checking
// it often, and fails the test with a message when it does not hold
// within a generous deadline, so that a stuck wait fails instead of
// hanging, and no test waits for a set time. It is imported by tests only.
package await

import (
	"fmt"
	"time"
)

// Deadline is how long a condition is given: long enough for a machine
// loaded many times over, short enough to fail before the test binary's
// own timeout.
const Deadline = 30 * time.Second

// poll is how often a condition is checked.
const poll = 10 * time.Millisecond

// T is what a wait fails: a testing.TB, or a testscript.TestScript.
type T interface {
	Fatalf(format string, args ...any)
}

// Until returns once ok reports true, checked at once and then every few
// milliseconds; if it still does not after Deadline, it fails t, saying
// what was waited for (a format and its arguments).
func Until(t T, ok func() bool, what string, args ...any) {
	if h, isHelper := t.(interface{ Helper() }); isHelper {
		h.Helper()
	}
	within(t, Deadline, ok, what, args...)
}

// Within is Until with a deadline of d beyond Deadline, for a condition
// that waits for more than its own events: a clock the test set off by
// d.
func Within(t T, d time.Duration, ok func() bool, what string, args ...any) {
	if h, isHelper := t.(interface{ Helper() }); isHelper {
		h.Helper()
	}
	within(t, Deadline+d, ok, what, args...)
}

func within(t T, d time.Duration, ok func() bool, what string, args ...any) {
	for deadline := time.Now().Add(d); !ok(); time.Sleep(poll) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %v", fmt.Sprintf(what, args...), d)
			return
		}
	}
}
