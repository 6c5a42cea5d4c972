//go:build !linux

package main

import "syscall"

// dieWithTest does nothing where the kernel has no signal on a parent's
// death: a node of a test that outlives -timeout is left to stop by PID.
func dieWithTest(*syscall.SysProcAttr) {}
