package await

import (
	"fmt"
	"testing"
	"time"
)

// failer records a failure instead of ending the test.
type failer struct{ msg string }

func (f *failer) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestUntil(t *testing.T) {
	n := 0
	var f failer
	Until(&f, func() bool { n++; return n == 3 }, "the third check")
	if f.msg != "" || n != 3 {
		t.Errorf("after %d checks: %q", n, f.msg)
	}
}

func TestUntilFails(t *testing.T) {
	var f failer
	within(&f, 50*time.Millisecond, func() bool { return false }, "%s to appear", "x")
	if want := "waiting for x to appear: not within 50ms"; f.msg != want {
		t.Errorf("message %q, want %q", f.msg, want)
	}
}
