//go:build !linux

package service

import "syscall"

// groupAlive reports whether a process of the group is still there.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }

// pidAlive reports whether the process is there; zombies cannot be told
// apart here.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// marked finds no process here: the environments of processes cannot
// be read.
func marked(string, bool) []procStat { return nil }

// Survives is false here: that the process of a PID is the one an
// activation started, and not another that took its number since, cannot
// be told without its environment.
func Survives(int, string) bool { return false }

// Leftovers is false here, as marked finds nothing.
func Leftovers(string) bool { return false }

// A procStat is what is known of a process.
type procStat struct{ pid, pgrp int }

// parentPID is not known here.
func parentPID(int) (int, bool) { return 0, false }

// soleProcess is 0: the processes of a group cannot be listed here, so
// GuessMainPID= finds none.
func soleProcess([]int) int { return 0 }
