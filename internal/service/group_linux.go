package service

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// A procStat is what /proc/PID/stat tells of a process.
type procStat struct {
	pid, ppid, pgrp int
	zombie          bool
}

// readStat reads /proc/PID/stat: pid (comm) state ppid pgrp …, where comm
// may hold anything.
func readStat(name string) (procStat, bool) {
	stat, err := os.ReadFile("/proc/" + name + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 3 {
		return procStat{}, false
	}
	pid, err1 := strconv.Atoi(name)
	ppid, err2 := strconv.Atoi(string(f[1]))
	pgrp, err3 := strconv.Atoi(string(f[2]))
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, false
	}
	return procStat{pid: pid, ppid: ppid, pgrp: pgrp, zombie: string(f[0]) == "Z"}, true
}

// processes lists the processes there, zombies left out; ok is false when
// /proc cannot be read.
func processes() (ps []procStat, ok bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if st, ok := readStat(e.Name()); ok && !st.zombie {
			ps = append(ps, st)
		}
	}
	return ps, true
}

// marked lists the processes there, but this one and zombies, whose
// environment holds the entry mark ("INVOCATION_ID=…"): those an
// activation started, wherever they went since, unless they cleared it.
// A subreaper (or PID 1) looks among its descendants only, where the
// orphans of its services are, unless everywhere (the activation was a
// manager's before this one); any other process, among all processes,
// as their orphans go elsewhere. The environments of other users'
// processes cannot be read, unless by root.
func marked(mark string, everywhere bool) []procStat {
	ps, ok := processes()
	if !ok {
		return nil
	}
	self := os.Getpid()
	if isSubreaper() && !everywhere {
		ps = descendants(ps, self)
	}
	var out []procStat
	for _, st := range ps {
		if st.pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(st.pid) + "/environ")
		if err == nil && hasEntry(env, mark) {
			out = append(out, st)
		}
	}
	return out
}

// descendants returns the processes of ps below pid.
func descendants(ps []procStat, pid int) []procStat {
	children := map[int][]procStat{}
	for _, p := range ps {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []procStat
	for next := []int{pid}; len(next) > 0; {
		p := next[len(next)-1]
		next = next[:len(next)-1]
		for _, c := range children[p] {
			out = append(out, c)
			next = append(next, c.pid)
		}
	}
	return out
}

// hasEntry reports whether the NUL-separated list holds the entry.
func hasEntry(list []byte, entry string) bool {
	for len(list) > 0 {
		i := bytes.IndexByte(list, 0)
		if i < 0 {
			i = len(list)
		}
		if string(list[:i]) == entry {
			return true
		}
		list = list[min(i+1, len(list)):]
	}
	return false
}

// groupAlive reports whether a process of the group is there and not a
// zombie: orphans that die are zombies until whoever adopted them reaps
// them, which in a container may be late, and they are gone all the same.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	ps, ok := processes()
	if !ok {
		return true
	}
	for _, p := range ps {
		if p.pgrp == pgid {
			return true
		}
	}
	return false
}

// Survives reports whether the process of the PID is there and carries
// the INVOCATION_ID of an activation: its main process, still running
// after the manager that started it stopped, and not another that took
// its number since.
func Survives(pid int, invocationID string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && pidAlive(pid) && hasEntry(env, "INVOCATION_ID="+invocationID)
}

// Leftovers reports whether a process that carries the INVOCATION_ID of
// an activation is there.
func Leftovers(invocationID string) bool { return len(marked("INVOCATION_ID="+invocationID, true)) > 0 }

// pidAlive is systemd's pid_is_alive: the process is there, and not a
// zombie.
func pidAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	st, ok := readStat(strconv.Itoa(pid))
	return !ok || !st.zombie
}

// parentPID returns the process's parent; ok is false if it is not known.
func parentPID(pid int) (ppid int, ok bool) {
	st, ok := readStat(strconv.Itoa(pid))
	return st.ppid, ok
}

// soleProcess returns the process of the groups that does not descend
// from another of them, when there is exactly one: a daemon, with its
// workers below it. 0 when there are none or several.
func soleProcess(pgids []int) int {
	ps, _ := processes()
	in := map[int]bool{}
	for _, p := range ps {
		for _, g := range pgids {
			if p.pgrp == g && p.pid != os.Getpid() {
				in[p.pid] = true
			}
		}
	}
	found := 0
	for _, p := range ps {
		if in[p.pid] && !in[p.ppid] {
			if found != 0 {
				return 0
			}
			found = p.pid
		}
	}
	return found
}
