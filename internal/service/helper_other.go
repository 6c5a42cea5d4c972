//go:build !linux

package service

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

func executable() (string, error) { return os.Executable() }

// currentUmask is -1: the system does not tell the umask without changing
// it, so a UMask= always goes through the helper.
func currentUmask() int { return -1 }

// rlimitResources are the Limit…= resources this system has, by name.
var rlimitResources = map[string]int{
	"CPU": unix.RLIMIT_CPU, "FSIZE": unix.RLIMIT_FSIZE, "DATA": unix.RLIMIT_DATA, "STACK": unix.RLIMIT_STACK,
	"CORE": unix.RLIMIT_CORE, "NOFILE": unix.RLIMIT_NOFILE, "AS": unix.RLIMIT_AS,
}

func setNice(pid, nice int) error { return unix.Setpriority(unix.PRIO_PROCESS, pid, nice) }

func namespacesAllowed() bool { return false }

// fdDir lists the process's file descriptors, where fdescfs or the
// system's own /dev/fd lists them all (not FreeBSD's without fdescfs).
const fdDir = "/dev/fd"

// closeRangeOnExec is not had here: the descriptors are marked one by
// one.
func closeRangeOnExec() error { return errors.ErrUnsupported }
