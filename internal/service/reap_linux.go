package service

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/internal/clock"
)

// BecomeSubreaper makes this process the reaper of the orphans of its
// descendants, as systemd is theirs: the processes a service leaves
// behind become its children, and a Type=forking service's main process
// is one, whose end is then known. Reap must run for the orphans.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// isSubreaper reports whether orphans come to this process: it is a
// subreaper, or PID 1.
func isSubreaper() bool {
	if os.Getpid() == 1 {
		return true
	}
	var on int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&on)), 0, 0, 0)
	return err == nil && on != 0
}

// Reap reaps, until ctx is done, the children of this process that no
// one waits for: the orphans a subreaper (or PID 1) adopts.
func Reap(ctx context.Context) {
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)
	var clk clock.Real
	for {
		reapOrphans()
		scanned := clk.Now().Monotonic
		select {
		case <-ctx.Done():
			return
		case <-sigchld:
		}
		// A scan reads a file for each of the daemon's threads: the
		// ends of children that come quicker than reapEvery, as runs
		// of many timers do, are reaped together.
		if wait := reapEvery - time.Duration(clk.Now().Monotonic-scanned)*time.Microsecond; wait > 0 {
			wake, stop := clk.After(wait)
			select {
			case <-ctx.Done():
				stop()
				return
			case <-wake:
			}
		}
	}
}

// reapEvery is how often at most the orphans are looked for.
const reapEvery = 100 * time.Millisecond

// reapOrphans reaps the zombies among this process's children that are
// not noted.
func reapOrphans() {
	// Most ends are of children whose waiters reaped them already:
	// where no child is a zombie, none is looked for. waitid leaves a
	// zombie as it is with WNOWAIT, and sets si_signo only if it found
	// one (kernel_waitid).
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil || info.Signo != int32(unix.SIGCHLD) {
		return
	}
	children.gate.Lock()
	defer children.gate.Unlock()
	for _, pid := range childPIDs() {
		if isNoted(pid) {
			continue
		}
		if st, ok := readStat(strconv.Itoa(pid)); ok && st.zombie {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// childPIDs lists this process's children, which each thread's children
// file names, or where there are none such, the process list.
func childPIDs() []int {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	if len(files) == 0 {
		return childrenByParent()
	}
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(s); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// childrenByParent lists the processes whose parent is this one.
func childrenByParent() []int {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		if st, ok := readStat(e.Name()); ok && st.ppid == self {
			pids = append(pids, st.pid)
		}
	}
	return pids
}
