package service

import "sync"

// children are the processes of ours that their own waiters reap: those
// started, and the adopted main processes that became ours. A reaper
// (see Reap) leaves them alone. Starting holds gate for reading from
// before the fork until the process is noted; the reaper holds it for
// writing while it looks, so that it never takes a child just started
// for an orphan.
var children struct {
	gate sync.RWMutex
	mu   sync.Mutex
	pids map[int]int // how many wait for the process of the PID
}

// noteChild notes a process that its waiter reaps; forgetChild forgets it
// once reaped.
func noteChild(pid int) {
	children.mu.Lock()
	defer children.mu.Unlock()
	if children.pids == nil {
		children.pids = map[int]int{}
	}
	children.pids[pid]++
}

func forgetChild(pid int) {
	children.mu.Lock()
	defer children.mu.Unlock()
	// A PID used again may be noted again before the waiter of its
	// last process forgets it.
	if children.pids[pid]--; children.pids[pid] <= 0 {
		delete(children.pids, pid)
	}
}

func isNoted(pid int) bool {
	children.mu.Lock()
	defer children.mu.Unlock()
	return children.pids[pid] > 0
}
