//go:build unix

package unit

import (
	"syscall"
	"testing"
)

// TestHostErrno: an error number is known by the host's constants, not
// looked up by number in Linux's table: darwin's 65 (EHOSTUNREACH) is
// not Linux's ENOPKG, and darwin's ENOENT is.
func TestHostErrno(t *testing.T) {
	for _, tt := range []struct {
		e    syscall.Errno
		goos string
		want errno
	}{
		{syscall.ENOENT, "darwin", eNOENT},
		{syscall.ELOOP, "freebsd", eLOOP},
		{syscall.Errno(65), "darwin", 0}, // Linux's ENOPKG by number; no such errno by the constants of every Unix
		{syscall.Errno(65), "linux", eNOPKG},
		{syscall.ENOENT, "linux", eNOENT},
		{syscall.Errno(4095), "linux", 0},
	} {
		if tt.goos == "linux" && syscall.ENOENT != syscall.Errno(eNOENT) {
			continue // a number of Linux's, not this host's
		}
		if got := tableErrno(tt.e, tt.goos); got != tt.want {
			t.Errorf("%s %d: %v, want %v", tt.goos, int(tt.e), got, tt.want)
		}
	}
	for e, n := range hostErrnos {
		if _, ok := errnoTexts[n]; !ok {
			t.Errorf("%v (%d) maps to %d, not in errnoTexts", e, int(e), n)
		}
	}
}
