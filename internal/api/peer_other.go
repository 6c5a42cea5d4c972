//go:build !linux

package api

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerUID is the user of the process at the other end (getpeereid).
func peerUID(c *net.UnixConn) (int, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var uid int
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		var cred *unix.Xucred
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if cerr == nil {
			uid = int(cred.Uid)
		}
	}); err != nil || cerr != nil {
		return 0, false
	}
	return uid, true
}
