//go:build !linux

package service

import (
	"syscall"

	"sundial.dev/sundial/unit"
)

// CGroupRoot is "" here: control groups are Linux's.
func CGroupRoot(string) (dir, path string) { return "", "" }

// CGroupEscape is cg_escape, which has nothing to escape here.
func CGroupEscape(name string) string { return name }

// A cgroup is never had here.
type cgroup struct{}

// openCGroup fails here: control groups are Linux's.
func openCGroup(string) (*cgroup, error) { return nil, syscall.ENOTSUP }

func intoCGroup(*syscall.SysProcAttr, *cgroup) {}
func (*cgroup) members() []procStat            { return nil }
func (*cgroup) signal(syscall.Signal, bool)    {}
func (*cgroup) populated() bool                { return false }
func (*cgroup) close()                         {}
func (*cgroup) changes() <-chan struct{}       { return nil }

// CGroupProcesses finds none here.
func CGroupProcesses(string) []int { return nil }

// CGroupMemory is not known here.
func CGroupMemory(string) (uint64, bool) { return 0, false }

// CGroupDir is "": there is no hierarchy here.
func CGroupDir(string) string { return "" }

// ReadCGroupUsage knows nothing here.
func ReadCGroupUsage(string) CGroupUsage { return noCGroupUsage }

// applyResources has nothing to apply to here: resource settings are
// named as not honoured.
func applyResources(string, *unit.Confinement, func(string)) {}
