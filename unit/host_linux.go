package unit

import (
	"math"
	"syscall"
)

// utsname holds the fields of uname(2) specifiers use.
type utsname struct {
	nodename, release, machine string
}

func uname() (utsname, error) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return utsname{}, fsErrno(err)
	}
	return utsname{cString(u.Nodename[:]), cString(u.Release[:]), cString(u.Machine[:])}, nil
}

// cString is a NUL-terminated field of utsname: of int8 or uint8, as
// char is signed or not on the architecture.
func cString[T int8 | uint8](f []T) string {
	b := make([]byte, 0, len(f))
	for _, c := range f {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// sysconfArgMax is glibc's sysconf(_SC_ARG_MAX) on Linux: a quarter of the
// stack size limit, at least ARG_MAX.
func sysconfArgMax() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &rl); err != nil {
		return legacyArgMax
	}
	limit := uint64(rl.Cur) / 4
	if limit > math.MaxInt {
		return math.MaxInt // an unlimited stack
	}
	return max(int(limit), legacyArgMax)
}
