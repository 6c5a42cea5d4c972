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
// IOScheduling…=, TimerSlackNSec= and Personality=. All but the OOM
// score are the calling thread's, which execve keeps.
func (s *helperSetup) applyScheduling() *setupError {
	x := s.Exec
	if x != nil && x.OOMScoreAdjustSet {
		err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(x.OOMScoreAdjust)), 0)
		// As in a container, where it may not be lowered: not a failure.
		if err != nil && !isPrivilegeError(err) {
			return &setupError{statusOOMAdjust, "OOM_ADJUST", "Failed to adjust OOM setting", errnoOf(err)}
		}
	}
	if s.Nice != nil {
		if err := setNice(*s.Nice); err != nil {
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
		if _, _, e := unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, uintptr(policy), uintptr(unsafe.Pointer(&param))); e != 0 {
			return &setupError{statusSetSched, "SETSCHEDULER", "Failed to set up CPU scheduling", e}
		}
	}
	if len(x.CPUAffinity) > 0 {
		set := unix.NewCPUSet(int(x.CPUAffinity[len(x.CPUAffinity)-1]) + 1)
		for _, cpu := range x.CPUAffinity {
			set.Set(int(cpu))
		}
		if err := unix.SchedSetaffinityDynamic(0, set); err != nil {
			return &setupError{statusCPUAffinity, "CPUAFFINITY", "Failed to set up CPU affinity", errnoOf(err)}
		}
	}
	if x.IOSchedulingSet {
		const whoProcess, classShift = 1, 13
		prio := x.IOSchedulingClass<<classShift | x.IOSchedulingPriority
		if _, _, e := unix.RawSyscall(unix.SYS_IOPRIO_SET, whoProcess, 0, uintptr(prio)); e != 0 {
			return &setupError{statusIOPrio, "IOPRIO", "Failed to set up IO scheduling priority", e}
		}
	}
	if x.TimerSlackNSec != math.MaxUint64 {
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(x.TimerSlackNSec), 0, 0, 0); err != nil {
			return &setupError{statusTimerSlack, "TIMERSLACK", "Failed to set up timer slack", errnoOf(err)}
		}
	}
	if x.Personality != "" {
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
