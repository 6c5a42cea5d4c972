//go:build !linux

package service

import "syscall"

// groupAlive reports whether a process of the group is still there.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
