package service

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// The exit statuses of the privilege steps of exec_child.
const (
	statusSecureBits      = 213
	statusCapabilities    = 218
	statusNoNewPrivileges = 227
)

const (
	capVersion3   = 0x20080522 // _LINUX_CAPABILITY_VERSION_3
	capSetPCAP    = 8
	secureKeepCap = 1 << 4
)

// lastCap is the highest capability the kernel knows, as cap_last_cap.
func lastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < 64 {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// capabilities are the calling thread's sets.
type capabilities struct {
	hdr  unix.CapUserHeader
	data [2]unix.CapUserData
}

func getCapabilities() (*capabilities, error) {
	c := &capabilities{hdr: unix.CapUserHeader{Version: capVersion3}}
	return c, unix.Capget(&c.hdr, &c.data[0])
}

func (c *capabilities) set() error { return unix.Capset(&c.hdr, &c.data[0]) }

// bit returns the half of a set (lo, hi) that holds cap, and its bit.
func bit(lo, hi *uint32, cap int) (*uint32, uint32) {
	if cap < 32 {
		return lo, 1 << cap
	}
	return hi, 1 << (cap - 32)
}

// beforeUser drops what CapabilityBoundingSet= leaves out of the
// bounding set, and raises AmbientCapabilities= (in the inheritable set
// too), as exec_child does before it changes the user.
func (s *helperSetup) beforeUser() *setupError {
	x := s.Exec
	if x == nil || s.Unprivileged {
		return nil
	}
	last := lastCap()
	all := uint64(1)<<(last+1) - 1
	if keep := boundingSet(x); keep&all != all {
		// capability_bounding_set_drop: CAP_SETPCAP is needed to drop.
		for i := 0; i <= last; i++ {
			if keep&(1<<i) == 0 {
				if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(i), 0, 0, 0); err != nil {
					return &setupError{statusCapabilities, "CAPABILITIES", "Failed to drop capabilities", errnoOf(err)}
				}
			}
		}
	}
	if x.AmbientCapabilities != 0 {
		if err := applyAmbient(x.AmbientCapabilities, last, true); err != nil {
			return &setupError{statusCapabilities, "CAPABILITIES", "Failed to apply ambient capabilities (before UID change)", errnoOf(err)}
		}
	}
	// enforce_user: the capabilities survive the change of the user
	// only with keep-caps.
	if c := s.Credential; c != nil && c.Uid != 0 && (x.AmbientCapabilities != 0 || x.SecureBits != 0) {
		if err := setSecureBits(x.SecureBits | secureKeepCap); err != nil {
			return &setupError{statusUser, "USER", "Failed to change UID to " + strconv.Itoa(int(c.Uid)), errnoOf(err)}
		}
	}
	return nil
}

// boundingSet is CapabilityBoundingSet=, less what the settings that
// imply it take, as unit_patch_contexts: CAP_MKNOD and CAP_SYS_RAWIO
// for PrivateDevices=, CAP_SYS_MODULE for ProtectKernelModules=,
// CAP_SYSLOG for ProtectKernelLogs=, CAP_SYS_TIME and CAP_WAKE_ALARM
// for ProtectClock=.
func boundingSet(x *unit.Confinement) uint64 {
	set := x.CapabilityBoundingSet
	if x.PrivateDevices {
		set &^= 1<<unix.CAP_MKNOD | 1<<unix.CAP_SYS_RAWIO
	}
	if x.ProtectKernelModules {
		set &^= 1 << unix.CAP_SYS_MODULE
	}
	if x.ProtectKernelLogs {
		set &^= 1 << unix.CAP_SYSLOG
	}
	if x.ProtectClock {
		set &^= 1<<unix.CAP_SYS_TIME | 1<<unix.CAP_WAKE_ALARM
	}
	return set
}

// afterUser raises the ambient capabilities again, as setuid cleared
// them.
func (s *helperSetup) afterUser() *setupError {
	if x := s.Exec; x != nil && !s.Unprivileged && x.AmbientCapabilities != 0 {
		if err := applyAmbient(x.AmbientCapabilities, lastCap(), false); err != nil {
			return &setupError{statusCapabilities, "CAPABILITIES", "Failed to apply ambient capabilities (after UID change)", errnoOf(err)}
		}
	}
	return nil
}

// applyAmbient is capability_ambient_set_apply: the ambient set made
// the set asked for, each first raised in the inheritable set if
// alsoInherit.
func applyAmbient(set uint64, last int, alsoInherit bool) error {
	if alsoInherit {
		c, err := getCapabilities()
		if err != nil {
			return err
		}
		for i := 0; i <= last; i++ {
			if set&(1<<i) != 0 {
				f, b := bit(&c.data[0].Inheritable, &c.data[1].Inheritable, i)
				*f |= b
			}
		}
		if err := c.set(); err != nil {
			return err
		}
	}
	for i := 0; i <= last; i++ {
		op := uintptr(unix.PR_CAP_AMBIENT_LOWER)
		if set&(1<<i) != 0 {
			op = unix.PR_CAP_AMBIENT_RAISE
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, op, uintptr(i), 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// setSecureBits sets the thread's secure bits if they differ:
// PR_SET_SECUREBITS needs CAP_SETPCAP, PR_GET_SECUREBITS nothing.
func setSecureBits(bits int) error {
	cur, err := unix.PrctlRetInt(unix.PR_GET_SECUREBITS, 0, 0, 0, 0)
	if err == nil && cur == bits {
		return nil
	}
	return unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0)
}

// lockDown makes the last settings before the command's execution, as
// exec_child: SecureBits= (gaining CAP_SETPCAP in the effective set
// for it, as execve resets that set anyway), then NoNewPrivileges=.
func (s *helperSetup) lockDown() *setupError {
	x := s.Exec
	if x == nil {
		return nil
	}
	// What a helper in a user namespace was given to make the
	// namespaces is not the service's.
	if s.Unprivileged {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
			return &setupError{statusCapabilities, "CAPABILITIES", "Failed to drop capabilities", errnoOf(err)}
		}
	}
	if cur, err := unix.PrctlRetInt(unix.PR_GET_SECUREBITS, 0, 0, 0, 0); !s.Unprivileged && (err != nil || cur != x.SecureBits) {
		c, err := getCapabilities()
		if err == nil {
			f, b := bit(&c.data[0].Permitted, &c.data[1].Permitted, capSetPCAP)
			if *f&b == 0 {
				err = unix.EPERM
			} else {
				e, _ := bit(&c.data[0].Effective, &c.data[1].Effective, capSetPCAP)
				*e |= b
				err = c.set()
			}
		}
		if err != nil {
			return &setupError{statusCapabilities, "CAPABILITIES", "Failed to gain CAP_SETPCAP for setting secure bits", errnoOf(err)}
		}
		if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(x.SecureBits), 0, 0, 0); err != nil {
			return &setupError{statusSecureBits, "SECUREBITS", "Failed to set process secure bits", errnoOf(err)}
		}
	}
	if s.noNewPrivileges() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return &setupError{statusNoNewPrivileges, "NO_NEW_PRIVILEGES", "Failed to disable new privileges", errnoOf(err)}
		}
	}
	// Last, as close to the execution as can be: what runs after is
	// under the filters.
	return loadSeccomp(s.Seccomp)
}

// noNewPrivileges is context_has_no_new_privileges: NoNewPrivileges=,
// or a seccomp filter where the process may not load one without it
// (it has no CAP_SYS_ADMIN, or has it only in a user namespace of the
// helper's).
func (s *helperSetup) noNewPrivileges() bool {
	x := s.Exec
	if x.NoNewPrivileges {
		return true
	}
	if !seccompWanted(x) {
		return false
	}
	if s.Unprivileged {
		return true
	}
	c, err := getCapabilities()
	if err != nil {
		return true
	}
	f, b := bit(&c.data[0].Effective, &c.data[1].Effective, unix.CAP_SYS_ADMIN)
	return *f&b == 0
}
