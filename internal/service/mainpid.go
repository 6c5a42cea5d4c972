package service

import (
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sundial.dev/sundial/unit"
)

// pollInterval is how often what cannot be waited on is looked at: a PID
// file to appear, a group to empty, a process not a child of ours to go
// where there is no pidfd.
const pollInterval = 100 * time.Millisecond

// startForking runs ExecStart= of a Type=forking service, as its control
// process, until it exits, then finds the main process: from PIDFile=
// (waiting for the file if ExecStartPost= is not there to write it), or
// guessed. ok is false when the start is over.
func (r *Run) startForking(c unit.ExecCommand) (n next, ok bool) {
	s := r.spec.Service
	deadline := r.deadline(s.TimeoutStartSec)
	p, e, started := r.spawn("ExecStart", c)
	if started {
		select {
		case <-p.exited:
			r.record("ExecStart", c, p)
			e = p.exit
		case <-deadline:
			r.timedOut()
			return enterSignal, false
		case <-r.stop:
			return enterSignal, false
		}
		r.setControl(0)
		// MAINPID= it sent (NotifyAccess=exec, all) comes first.
		r.syncNotify()
		r.takeNotes()
	}
	if !e.Clean(false, s.SuccessExitStatus) && c.Flags&unit.ExecIgnoreFailure == 0 {
		r.logExit("Control process", "ExecStart", e, false)
		r.fail(resultOf(e))
		return enterSignal, false
	}
	if s.PIDFile == "" {
		r.searchMainPID()
		return 0, true
	}
	// ExecStartPost= may write the file.
	post := len(s.ExecStartPost) > 0
	if ok, _ := r.loadPIDFile(!post); ok || post {
		return 0, true
	}
	return r.demandPIDFile(deadline, enterSignal)
}

// mainAfterStartPost looks for the main process of a Type=forking service
// again once ExecStartPost= has run.
func (r *Run) mainAfterStartPost() (n next, ok bool) {
	s := r.spec.Service
	if s.PIDFile == "" {
		r.searchMainPID()
		return 0, true
	}
	if ok, _ := r.loadPIDFile(true); ok {
		return 0, true
	}
	return r.demandPIDFile(r.deadline(s.TimeoutStartSec), enterStop)
}

// demandPIDFile waits for the PID file to name a main process, as
// service_demand_pid_file, until the start's time runs out or no process
// of the service is left; fail is how the stop begins then.
func (r *Run) demandPIDFile(deadline <-chan time.Time, fail next) (n next, ok bool) {
	if !r.groupsAlive() {
		r.fail(Protocol)
		return fail, false
	}
	for {
		tick, stop := r.clk.After(pollInterval)
		select {
		case <-tick:
		case <-deadline:
			stop()
			r.timedOut()
			return enterSignal, false
		case <-r.stop:
			stop()
			return enterSignal, false
		}
		if _, err := os.Stat(r.spec.Service.PIDFile); err == nil {
			if ok, _ := r.loadPIDFile(false); ok {
				return 0, true
			}
		}
		if !r.groupsAlive() {
			r.log(slog.LevelWarn, "Daemon never wrote its PID file. Failing.")
			r.fail(Protocol)
			return fail, false
		}
	}
}

// loadPIDFile is service_load_pid_file: it makes the process the PID file
// names the main process, if it may be. ok is false when the file names
// none that may; changed tells whether the main process is another now.
// Failures are logged at info level if warn, else at debug level.
func (r *Run) loadPIDFile(warn bool) (ok, changed bool) {
	path := r.spec.Service.PIDFile
	level := slog.LevelDebug
	if warn {
		level = slog.LevelInfo
	}
	f, err := os.Open(path)
	if err != nil {
		r.log(level, "Can't open PID file %s (yet?) after %s: %s", path, r.state, ErrnoText(err))
		return false, false
	}
	defer f.Close()
	var b [64]byte
	n, _ := f.Read(b[:])
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	pid, err := parsePID(line)
	if err != nil {
		r.log(level, "Failed to parse PID from file %s: %s", path, ErrnoText(err))
		return false, false
	}
	if r.main != nil && r.main.pid == pid && !r.main.reaped() {
		return true, false
	}
	r.mu.Lock()
	var logs []func()
	suitable := r.suitableMainPID(pid, level, func(level slog.Level, format string, args ...any) {
		logs = append(logs, func() { r.log(level, format, args...) })
	})
	r.mu.Unlock()
	for _, l := range logs {
		l()
	}
	switch suitable {
	case -1:
		return false, false
	case 0:
		// Not of the service's groups: the file's owner vouches for it
		// if it is the manager's user, root for a system manager.
		info, err := f.Stat()
		if err != nil {
			r.log(slog.LevelError, "Failed to fstat() PID file O_PATH fd: %s", ErrnoText(err))
			return false, false
		}
		owner := int(info.Sys().(*syscall.Stat_t).Uid)
		switch uid := os.Getuid(); {
		case owner != uid && uid == 0:
			r.log(slog.LevelError, "New main PID %d does not belong to service, and PID file is not owned by root. Refusing.", pid)
			return false, false
		case owner != uid:
			r.log(slog.LevelError, "New main PID %d from PID file does not belong to service, and PID file is owned by %d (must be owned by %d). Refusing.", pid, owner, uid)
			return false, false
		}
		r.log(slog.LevelDebug, "New main PID %d does not belong to service, but we'll accept it since PID file is owned by root.", pid)
	}
	r.log(slog.LevelDebug, "Main PID loaded: %d", pid)
	r.setMain(r.adopt(pid))
	return true, true
}

// parsePID is systemd's parse_pid.
func parsePID(s string) (int, error) {
	pid, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || pid <= 0 {
		return 0, syscall.EINVAL
	}
	return int(pid), nil
}

// searchMainPID is service_search_main_pid: with GuessMainPID=, the main
// process is guessed as the one process left of the service's groups
// that is not a child of another.
func (r *Run) searchMainPID() {
	if r.main != nil || !r.spec.Service.GuessMainPID {
		return
	}
	r.mu.Lock()
	var pgids []int
	for _, p := range r.groups {
		if p.pgid > 0 {
			pgids = append(pgids, p.pgid)
		}
	}
	r.mu.Unlock()
	pid := soleProcess(pgids)
	if pid == 0 {
		return
	}
	r.log(slog.LevelDebug, "Main PID guessed: %d", pid)
	r.setMain(r.adopt(pid))
}

// suitableMainPID is service_is_suitable_main_pid: -1 if the process
// cannot be the main process, 1 if it is of the service (of one of its
// groups, as systemd asks whether it is of its cgroup), 0 if it is not
// but may be if whoever names it is trusted. r.mu is held; say logs.
func (r *Run) suitableMainPID(pid int, level slog.Level, say func(slog.Level, string, ...any)) int {
	switch {
	case pid == os.Getpid() || pid == 1:
		say(level, "New main PID %d is the manager itself, refusing.", pid)
		return -1
	case pid == r.controlPID:
		say(level, "New main PID %d is the control process, refusing.", pid)
		return -1
	case !pidAlive(pid):
		say(level, "New main PID %d does not exist or is a zombie.", pid)
		return -1
	}
	pgid, err := syscall.Getpgid(pid)
	if err == nil && slices.ContainsFunc(r.groups, func(p *process) bool { return p.pgid > 0 && p.pgid == pgid }) {
		say(slog.LevelDebug, "New main PID %d belongs to service, we are happy.", pid)
		return 1
	}
	return 0
}

// setMain makes p the main process, as service_set_main_pid.
func (r *Run) setMain(p *process) {
	r.main = p
	r.out.MainPID, r.out.Main = p.pid, Exit{}
	r.mu.Lock()
	r.mainPID = p.pid
	if !slices.Contains(r.groups, p) {
		r.groups = append(r.groups, p)
	}
	r.mu.Unlock()
	if r.spec.MainPID != nil {
		r.spec.MainPID(p.pid)
	}
}

// adopt returns the process with the PID, to be the main process: one
// started, or one to watch. A child of ours (when the manager reaps
// orphans) is waited for; how any other ends is not known, and it is
// watched until it is gone.
func (r *Run) adopt(pid int) *process { return r.adoptHandle(pid, nil) }

// adoptHandle is adopt with the process held already by h, if not nil.
func (r *Run) adoptHandle(pid int, h *os.Process) *process {
	r.mu.Lock()
	for _, p := range r.groups {
		if p.pid == pid && !p.reaped() {
			r.mu.Unlock()
			return p
		}
	}
	r.mu.Unlock()
	p := &process{pid: pid, proc: h, output: make(chan struct{}), exited: make(chan struct{})}
	close(p.output)
	if p.proc == nil {
		p.proc, _ = os.FindProcess(pid)
	}
	children.gate.RLock()
	ppid, known := parentPID(pid)
	ours := known && ppid == os.Getpid()
	if ours {
		noteChild(pid) // before a reaper takes it
	}
	children.gate.RUnlock()
	if ours {
		go func() {
			// Owned by the process: it ends when the process is reaped.
			defer forgetChild(pid)
			if st, err := p.proc.Wait(); err == nil {
				p.exit = exitOf(st.Sys().(syscall.WaitStatus))
			} else {
				p.alien = true
				if !r.pollGone(p) {
					return
				}
			}
			close(p.exited)
		}()
		return p
	}
	if known && !r.resumed {
		r.log(slog.LevelWarn, "Supervising process %d which is not our child. We'll most likely not notice when it exits.", pid)
	}
	p.alien = true
	noteChild(pid) // it may be, as a subreaper's orphan, by its end
	r.watch.Go(func() {
		defer forgetChild(pid)
		if r.awaitGone(p) {
			if ppid, ok := parentPID(pid); ok && ppid == os.Getpid() {
				// Adopted since, and reaped here: how it ended is known.
				var ws syscall.WaitStatus
				if got, err := syscall.Wait4(pid, &ws, 0, nil); err == nil && got == pid {
					p.exit, p.alien = exitOf(ws), false
				}
			}
			close(p.exited)
		}
	})
	return p
}

// pollGone waits until the process is gone, looking at it every
// pollInterval; it reports false if the activation ended first.
func (r *Run) pollGone(p *process) bool {
	for pidAlive(p.pid) {
		tick, stop := r.clk.After(pollInterval)
		select {
		case <-tick:
		case <-r.quit:
			stop()
			return false
		}
	}
	return true
}

// closeAtEnd has f closed when the activation ends; it reports false,
// having closed it, if it has ended.
func (r *Run) closeAtEnd(f *os.File) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended() {
		f.Close()
		return false
	}
	r.endFiles = append(r.endFiles, f)
	return true
}

// ended reports whether the activation has ended.
func (r *Run) ended() bool { return closed(r.quit) }

// groupsAlive reports whether a process of the service is left: one it
// started or adopted, one of their groups, or one in its control group,
// which is what systemd asks.
func (r *Run) groupsAlive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.groups, func(p *process) bool { return !p.reaped() || p.groupAlive() }) || r.cg != nil && r.cg.populated()
}

// waitGroups waits in the running state while processes of a service
// whose main process is not known are left, as systemd waits for its
// cgroup to empty: told by the group, where it tells, else polled.
func (r *Run) waitGroups() next {
	runtime := r.deadline(r.spec.Service.RuntimeMaxSec)
	for {
		emptied := r.emptied()
		if !r.groupsAlive() {
			break
		}
		var tick <-chan time.Time
		stop := func() bool { return false }
		if emptied == nil {
			tick, stop = r.clk.After(pollInterval)
		}
		select {
		case <-emptied:
		case <-tick:
		case <-runtime:
			stop()
			r.log(slog.LevelWarn, "Service reached runtime time limit. Stopping.")
			r.fail(Timeout)
			return enterStop
		case <-r.stop:
			stop()
			return enterStop
		}
	}
	return enterStop
}

func (r *Run) setControl(pid int) {
	r.mu.Lock()
	r.controlPID = pid
	r.mu.Unlock()
}
