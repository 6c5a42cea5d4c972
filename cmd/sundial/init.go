package main

import (
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// initChildEnv marks the daemon that runs under sundial as PID 1.
const initChildEnv = "SUNDIAL_INIT_CHILD=1"

// asInit runs the daemon as a child when sundial is PID 1 (a container's
// init), and reaps every process orphaned to it meanwhile, as an init
// must, while the daemon goes on waiting for its own children only; the
// signals that stop it are passed on. It reports whether it did, with the
// daemon's exit status.
func asInit(c *cli) (int, bool) {
	if os.Getpid() != 1 || os.Getenv(strings.TrimSuffix(initChildEnv, "=1")) != "" {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	child, err := os.StartProcess(exe, os.Args, &os.ProcAttr{
		Env:   append(os.Environ(), initChildEnv),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		c.errorf("Failed to start the daemon: %v", err)
		return 1, true
	}
	go func() {
		// Lives as long as the process: it passes each signal on.
		for sig := range signals {
			child.Signal(sig)
		}
	}()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 1, true
		}
		if pid != child.Pid {
			continue // an orphan, reaped
		}
		switch {
		case ws.Exited():
			return ws.ExitStatus(), true
		case ws.Signaled():
			return 128 + int(ws.Signal()), true
		}
	}
}
