package service

import (
	"fmt"
	"syscall"
)

// Kill sends sig to the activation's processes, as systemctl kill does:
// whom is "main" (the main process), "control" (the control process
// running) or "all" (every process of its process groups, and those that
// left them carrying its INVOCATION_ID). It fails in systemd's words when
// there is no such process.
func (r *Run) Kill(sig syscall.Signal, whom string) error {
	if whom == "all" || whom == "" {
		r.adoptStrays()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	one := func(pid int, what string) error {
		if pid == 0 {
			//lint:ignore ST1005 systemd's words
			return fmt.Errorf("No %s process to kill", what)
		}
		return syscall.Kill(pid, sig)
	}
	switch whom {
	case "main":
		return one(r.mainPID, "main")
	case "control":
		return one(r.controlPID, "control")
	case "all", "":
		for _, p := range r.groups {
			if !p.reaped() || p.groupAlive() {
				p.signal(sig, true)
			}
		}
		if r.cg != nil {
			r.cg.signal(sig, false)
		}
		return nil
	}
	//lint:ignore ST1005 systemd's words
	return fmt.Errorf("Invalid who argument: %s", whom)
}
