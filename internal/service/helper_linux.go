package service

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// executable is the running binary, which /proc/self/exe names even once
// the file has been replaced or removed.
func executable() (string, error) { return "/proc/self/exe", nil }

// currentUmask is the manager's umask, which Linux tells in
// /proc/self/status (reading it through umask(2) would change it for a
// moment); -1 when not told.
func currentUmask() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return int(m)
			}
		}
	}
	return -1
}

// rlimitResources are the Limit…= resources, by name.
var rlimitResources = map[string]int{
	"CPU": unix.RLIMIT_CPU, "FSIZE": unix.RLIMIT_FSIZE, "DATA": unix.RLIMIT_DATA, "STACK": unix.RLIMIT_STACK,
	"CORE": unix.RLIMIT_CORE, "RSS": unix.RLIMIT_RSS, "NPROC": unix.RLIMIT_NPROC, "NOFILE": unix.RLIMIT_NOFILE,
	"MEMLOCK": unix.RLIMIT_MEMLOCK, "AS": unix.RLIMIT_AS, "LOCKS": unix.RLIMIT_LOCKS, "SIGPENDING": unix.RLIMIT_SIGPENDING,
	"MSGQUEUE": unix.RLIMIT_MSGQUEUE, "NICE": unix.RLIMIT_NICE, "RTPRIO": unix.RLIMIT_RTPRIO, "RTTIME": unix.RLIMIT_RTTIME,
}

// setNice is systemd's setpriority_closest: the nice level asked for, or,
// when a lower one is not permitted, the lowest RLIMIT_NICE permits. It
// sets the calling thread's, which Linux keeps per thread, or the
// thread pid's.
func setNice(pid, nice int) error {
	err := unix.Setpriority(unix.PRIO_PROCESS, pid, nice)
	if err == nil || err != unix.EPERM && err != unix.EACCES {
		return err
	}
	// The system call returns 20 - nice, so that it is never negative.
	raw, gerr := unix.Getpriority(unix.PRIO_PROCESS, pid)
	if gerr != nil {
		return gerr
	}
	current := 20 - raw
	if nice == current {
		return nil
	}
	if nice > current {
		return err
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NICE, &lim); err != nil {
		return err
	}
	limit := 20 - int(min(lim.Cur, 40))
	if lim.Cur <= 1 {
		limit = 19
	}
	if current < limit {
		return nil // already less nice than the limit allows
	}
	return unix.Setpriority(unix.PRIO_PROCESS, pid, limit)
}

// inUserNamespace starts the helper of a manager that is not root in a
// user namespace of its own, mapping its user and group to themselves,
// as systemd's user manager does with PrivateUsers=: there, with the
// capabilities to mount and to set up a network given it as ambient
// ones (which survive its execution as a user that is not root), it
// may make the service's other namespaces, which the service, executed
// without them, then holds without privilege.
func inUserNamespace(attr *syscall.SysProcAttr) {
	attr.Cloneflags |= syscall.CLONE_NEWUSER
	attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN}
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
	attr.GidMappingsEnableSetgroups = false
}

// userNamespaces reports whether a user that is not root may make user
// namespaces.
var userNamespaces = sync.OnceValue(func() bool {
	for _, f := range []string{"/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone"} {
		b, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(b)) == "0" {
			return false
		}
	}
	return true
})

// namespacesAllowed reports whether the process may make namespaces:
// as root, or in a user namespace of its own.
func namespacesAllowed() bool { return os.Geteuid() == 0 || userNamespaces() }

// Unhonoured returns why a setting of a service cannot be honoured
// where the manager runs, or "" if it can: a manager that is not root
// bounds no capabilities, makes namespaces only in a user namespace,
// and there mounts no /proc of its own, which takes privilege over the
// PID namespace; resource settings need a controller the manager may
// use.
func Unhonoured(key string) string {
	if why := resourceUnhonoured(key); why != "" {
		return why
	}
	if os.Geteuid() == 0 {
		return ""
	}
	switch key {
	case "CapabilityBoundingSet", "AmbientCapabilities", "SecureBits", "DynamicUser":
		return "the manager is not root"
	case "ProtectProc", "ProcSubset":
		return "the manager is not root, and a new /proc needs privilege over the PID namespace"
	case "PrivateTmp", "PrivateDevices", "PrivateNetwork", "PrivateIPC", "ProtectHostname", "ProtectSystem", "ProtectHome",
		"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ReadWritePaths",
		"ReadOnlyPaths", "InaccessiblePaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "ExecPaths", "NoExecPaths", "PrivateUsers":
		if !userNamespaces() {
			return "the manager is not root, and user namespaces are not available"
		}
	}
	return ""
}

// fdDir lists the process's file descriptors.
const fdDir = "/proc/self/fd"

// closeRangeOnExec marks the descriptors above standard error
// close-on-exec at once, where the kernel can (Linux 5.11).
func closeRangeOnExec() error { return unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC) }
