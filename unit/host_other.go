//go:build !linux

package unit

// utsname holds the fields of uname(2) specifiers use.
type utsname struct {
	nodename, release, machine string
}

// uname is not to be had: systemd, and the specifiers read with uname,
// are Linux's alone.
func uname() (utsname, error) {
	return utsname{}, eNOSYS
}

func sysconfArgMax() int { return legacyArgMax }
