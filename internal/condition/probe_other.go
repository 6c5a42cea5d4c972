//go:build !linux

package condition

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// Off Linux, the probes answer as systemd's would find the facility
// missing.

// readOnlyFS: writing is refused with EROFS.
func readOnlyFS(p string) (bool, error) {
	if _, err := os.Stat(p); err != nil {
		return false, errnoOf(err)
	}
	return syscall.Access(p, 2) == syscall.EROFS, nil
}

func cpusInAffinity() (int, error) { return runtime.NumCPU(), nil }

// physicalMemory: unknown, and so never less than asked.
func physicalMemory() uint64 { return ^uint64(0) }

// isMountPoint: the device differs from the parent's.
func isMountPoint(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	parent, err := os.Stat(p + "/..")
	if err != nil {
		return false
	}
	a, ok1 := fi.Sys().(*syscall.Stat_t)
	b, ok2 := parent.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && (a.Dev != b.Dev || a.Ino == b.Ino)
}

func isEncrypted(string) bool { return false }

func useAudit() bool { return false }

// cgroupUnified: there is no cgroup file system.
func cgroupUnified() (bool, error) { return false, syscall.ENOENT }

// The errors of the probes, with the C library's texts, where the
// system has no such errno.
var (
	errNoData   = errors.New("No data available")
	errNoMedium = errors.New("No medium found")
)
