package unit

import "slices"

//go:generate sh syscall_names.sh

// knownSyscall is whether seccomp_syscall_resolve_name knows a system
// call by that name, as systemd asks of the names in SystemCallFilter=
// and SystemCallLog=.
func knownSyscall(name string) bool {
	_, ok := slices.BinarySearch(syscallNames, name)
	return ok
}
