//go:build unix && !(darwin || freebsd || netbsd)

package unit

import "syscall"

// modTime is a file's modification time, in ns since the epoch.
func modTime(st *syscall.Stat_t) int64 { return st.Mtim.Nano() }
