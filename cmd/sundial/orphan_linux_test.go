package main

import "syscall"

// dieWithTest has the kernel kill a node's daemon when the test binary
// dies: a test that outlives go test's -timeout panics without its
// cleanups, which would leave its nodes running. The signal comes when
// the thread that started the node exits, which in Go is the process's
// end: the runtime ends a thread only under a goroutine that locked it,
// and the tests lock none.
func dieWithTest(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
