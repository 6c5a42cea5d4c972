//go:build !linux

package service

import "syscall"

// CGroupRoot is "" here: control groups are Linux's.
func CGroupRoot(string) (dir, path string) { return "", "" }

// CGroupEscape is cg_escape, which has nothing to escape here.
func CGroupEscape(name string) string { return name }

// A cgroup is never had here.
type cgroup struct{}

// openCGroup fails here: control groups are Linux's.
func openCGroup(string) (*cgroup, error) { return nil, syscall.ENOTSUP }

func intoCGroup(*syscall.SysProcAttr, *cgroup) {}
func (*cgroup) procs() []int                   { return nil }
func (*cgroup) populated() bool                { return false }
func (*cgroup) close()                         {}
