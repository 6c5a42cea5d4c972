package service

import (
	"os"

	"golang.org/x/sys/unix"
)

// awaitGone waits until the process, which is not a child of ours, is
// gone, through a pidfd, which becomes readable then and names that
// process alone; where there is none (Linux before 5.3), it polls. It
// reports false if the activation ended first.
func (r *Run) awaitGone(p *process) bool {
	fd, err := unix.PidfdOpen(p.pid, 0)
	if err != nil {
		return r.pollGone(p)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return r.pollGone(p)
	}
	// Nonblocking, the file is the runtime poller's, and closing it (as
	// the activation's end does) ends the wait.
	f := os.NewFile(uintptr(fd), "pidfd")
	if !r.closeAtEnd(f) {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return r.pollGone(p)
	}
	gone := false
	err = rc.Read(func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		gone = err == nil && n > 0
		return gone
	})
	if err != nil && !r.ended() {
		return r.pollGone(p)
	}
	return gone
}
