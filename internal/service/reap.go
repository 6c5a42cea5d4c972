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
	pids map[int]bool
}

// noteChild notes a process that its waiter reaps; forgetChild forgets it
// once reaped.
func noteChild(pid int) {
	children.mu.Lock()
	defer children.mu.Unlock()
	if children.pids == nil {
		children.pids = map[int]bool{}
	}
	children.pids[pid] = true
}

func forgetChild(pid int) {
	children.mu.Lock()
	defer children.mu.Unlock()
	delete(children.pids, pid)
}

func isNoted(pid int) bool {
	children.mu.Lock()
	defer children.mu.Unlock()
	return children.pids[pid]
}
