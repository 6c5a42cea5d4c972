package service

import (
	"net"
	"syscall"
)

// credentialsKnown: Linux tells the sender of each datagram.
const credentialsKnown = true

// credentialsSpace is the room SCM_CREDENTIALS takes in control data.
var credentialsSpace = syscall.CmsgSpace(syscall.SizeofUcred)

// passCredentials has the kernel pass the sender's credentials with each
// message (SO_PASSCRED); it is set before any process is started.
func passCredentials(c *net.UnixConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	return serr
}

// credentials returns the sender's PID and UID from a message's control
// data; ok is false if it has none.
func credentials(oob []byte) (pid, uid int, ok bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_CREDENTIALS {
			if c, err := syscall.ParseUnixCredentials(&m); err == nil {
				return int(c.Pid), int(c.Uid), true
			}
		}
	}
	return 0, 0, false
}
