//go:build !linux

package service

import (
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
