package service

import (
	"math"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// The exit statuses of the scheduling steps of exec_child.
const (
	statusOOMAdjust   = 206
	statusIOPrio      = 211
	statusTimerSlack  = 212
	statusSetSched    = 214
	statusCPUAffinity = 215
	statusPersonality = 230
)

// applyScheduling makes the scheduling settings in exec_child's order:
// OOMScoreAdjust=, Nice=, CPUScheduling…=, CPUAffinity=,
// IOScheduling…= and TimerSlackNSec=, of the calling thread, which
// execve keeps, or of the process pid, its main thread, the one the
// helper executes the command from (see managerSchedules). The OOM
// score is the process's.
func (s *helperSetup) applyScheduling(pid int) *setupError {
	x := s.Exec
	if x != nil && x.OOMScoreAdjustSet {
		err := os.WriteFile(procFile(pid, "oom_score_adj"), []byte(strconv.Itoa(x.OOMScoreAdjust)), 0)
		// As in a container, where it may not be lowered: not a failure.
		if err != nil && !isPrivilegeError(err) {
			return &setupError{statusOOMAdjust, "OOM_ADJUST", "Failed to adjust OOM setting", errnoOf(err)}
		}
	}
	if s.Nice != nil {
		if err := setNice(pid, *s.Nice); err != nil {
			return &setupError{statusNice, "NICE", "Failed to set up process scheduling priority (nice level)", errnoOf(err)}
		}
	}
	if x == nil {
		return nil
	}
	if x.CPUSchedulingSet {
		policy := x.CPUSchedulingPolicy
		if x.CPUSchedulingResetOnFork {
			policy |= unix.SCHED_RESET_ON_FORK
		}
		param := struct{ priority int32 }{int32(x.CPUSchedulingPriority)}
		if _, _, e := unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, uintptr(pid), uintptr(policy), uintptr(unsafe.Pointer(&param))); e != 0 {
			return &setupError{statusSetSched, "SETSCHEDULER", "Failed to set up CPU scheduling", e}
		}
	}
	if len(x.CPUAffinity) > 0 {
		set := unix.NewCPUSet(int(x.CPUAffinity[len(x.CPUAffinity)-1]) + 1)
		for _, cpu := range x.CPUAffinity {
			set.Set(int(cpu))
		}
		if err := unix.SchedSetaffinityDynamic(pid, set); err != nil {
			return &setupError{statusCPUAffinity, "CPUAFFINITY", "Failed to set up CPU affinity", errnoOf(err)}
		}
	}
	if x.IOSchedulingSet {
		const whoProcess, classShift = 1, 13
		prio := x.IOSchedulingClass<<classShift | x.IOSchedulingPriority
		if _, _, e := unix.RawSyscall(unix.SYS_IOPRIO_SET, whoProcess, uintptr(pid), uintptr(prio)); e != 0 {
			return &setupError{statusIOPrio, "IOPRIO", "Failed to set up IO scheduling priority", e}
		}
	}
	if x.TimerSlackNSec != math.MaxUint64 {
		var err error
		if pid == 0 {
			err = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(x.TimerSlackNSec), 0, 0, 0)
		} else {
			err = os.WriteFile(procFile(pid, "timerslack_ns"), []byte(strconv.FormatUint(x.TimerSlackNSec, 10)), 0)
		}
		if err != nil {
			return &setupError{statusTimerSlack, "TIMERSLACK", "Failed to set up timer slack", errnoOf(err)}
		}
	}
	return nil
}

// procFile is a file of the process pid in /proc; of the calling
// thread's process if 0.
func procFile(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// managerSchedules reports whether the manager makes the scheduling
// settings for the helper of c, by its PID, before the helper goes on:
// as root, for one started in a user namespace of its own for
// PrivateUsers=, which has none of the host's privileges that a
// realtime policy, a lower nice level or a realtime I/O class take.
// systemd's child, as root, makes that namespace last
// (setup_private_users), with the others made before it.
func managerSchedules(c Command) bool {
	return c.Exec != nil && c.Exec.PrivateUsers && os.Geteuid() == 0
}

// applyPersonality sets Personality=, which takes no privilege.
func (s *helperSetup) applyPersonality() *setupError {
	if x := s.Exec; x != nil && x.Personality != "" {
		p, _ := unit.PersonalityOf(x.Personality)
		if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(p), 0, 0); e != 0 {
			return &setupError{statusPersonality, "PERSONALITY", "Failed to set up execution domain (personality)", e}
		}
	}
	return nil
}

// isPrivilegeError is systemd's ERRNO_IS_PRIVILEGE: EACCES or EPERM.
func isPrivilegeError(err error) bool {
	e := errnoOf(err)
	return e == unix.EACCES || e == unix.EPERM
}
