package service

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/unit"
)

// A Line is one line a process wrote to its standard output or error,
// which share one stream, as they share one journal stream in systemd.
type Line struct {
	PID     int
	Command string // the executable's name, the journal's identifier
	Text    string
}

// lineMax is journald's LineMax=: longer lines are split.
const lineMax = 48 * 1024

// A Command is a process to start.
type Command struct {
	Path string   // the executable, found
	Argv []string // its arguments, the zeroth included
	Env  []string
	Dir  string
	// Credential, if set, is the user and groups to run as.
	Credential *syscall.Credential
	// Output receives each line of its output; it may be called from
	// another goroutine, one line at a time.
	Output func(Line)
	// Hold, if set, keeps the output from Output until it is closed: the
	// pipe holds what comes meanwhile.
	Hold <-chan struct{}
	// UMask, if set, is the file mode creation mask; Nice, if NiceSet,
	// the nice level; Limits are resource limits by name ("NOFILE").
	// They hold from the command's first instruction: a helper sets
	// them, as exec_child does, before it executes the command.
	UMask   *uint32
	Nice    int
	NiceSet bool
	Limits  map[string]unit.Rlimit
	// IgnoreSIGPIPE: the command starts with SIGPIPE ignored, as
	// exec_child sets it (IgnoreSIGPIPE=, default yes), so that a write
	// to its output whose reader, the manager, is gone fails instead of
	// killing it; otherwise with the default action.
	IgnoreSIGPIPE bool
	// Dirs are the service's own directories to make, as
	// RuntimeDirectory= and the others say.
	Dirs []execDirs
	// Exec, if set, are the settings of the execution environment:
	// scheduling, privileges, namespaces.
	Exec *unit.Confinement
	// PrivateTmp are the directories bound on /tmp and /var/tmp with
	// PrivateTmp=; WritableDirs the service's own directories, kept
	// writable in its mount namespace.
	PrivateTmp   [2]string
	WritableDirs []string
	PrivateRoots []string // of DynamicUser=: see mountEntries
	// Warn, if set, receives the warnings of the process's set-up.
	Warn func(string)
	// cgroup, if set, is the control group the process begins in;
	// namespaces, if set, the network and IPC namespaces.
	cgroup     *cgroup
	namespaces *sharedNamespaces
}

// A process is a started command, in a process group of its own, or a
// process adopted as the main process (from PIDFile=, MAINPID=), which
// may not be a child of ours.
type process struct {
	cmd     *exec.Cmd // nil for one adopted
	proc    *os.Process
	pid     int
	pgid    int           // the group it leads; 0 for one adopted, whose group is not ours to signal
	alien   bool          // not a child of ours: how it ended is not known
	stream  *os.File      // the read end of its output; nil for one adopted
	output  chan struct{} // closed when its output has been read to the end
	closing sync.Once
	exited  chan struct{} // closed when it has been reaped, or, if alien, is gone
	exit    Exit
	cpu     time.Duration // user and system time, once reaped
	waitErr error
}

// start starts the command. Its output is read until every process that
// holds the stream has closed it.
func start(c Command) (*process, error) {
	if c.namespaces == nil {
		return startHere(c)
	}
	var p *process
	err := c.namespaces.in(func() (err error) {
		p, err = startHere(c)
		return err
	})
	return p, err
}

// startHere starts the command from the calling thread, in its
// namespaces.
func startHere(c Command) (*process, error) {
	if err := closeOthersOnExec(); err != nil {
		return nil, &setupError{statusFDs, "FDS", "Failed to close unwanted file descriptors", errnoOf(err)}
	}
	cmd := &exec.Cmd{Path: c.Path, Args: c.Argv, Env: c.Env, Dir: c.Dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Credential}
	intoCGroup(cmd.SysProcAttr, c.cgroup)
	var h *helper
	if c.needsHelper() {
		var err error
		if h, err = newHelper(cmd, c); err != nil {
			return nil, err
		}
		defer h.close()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, w, w
	// Noted before a reaper can look, as its waiter below reaps it.
	children.gate.RLock()
	err = cmd.Start()
	if err == nil {
		noteChild(cmd.Process.Pid)
	}
	children.gate.RUnlock()
	w.Close()
	null.Close()
	if err == nil && h != nil {
		if err = h.setUp(c, cmd.Process.Pid); err != nil {
			cmd.Wait()
			forgetChild(cmd.Process.Pid)
		}
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	p := &process{cmd: cmd, proc: cmd.Process, pid: cmd.Process.Pid, pgid: cmd.Process.Pid, stream: r, output: make(chan struct{}), exited: make(chan struct{})}
	name := filepath.Base(c.Path)
	go func() {
		// Owned by the process: it ends at the end of the stream, or
		// when finishOutput closes it.
		defer close(p.output)
		readLines(r, func(s string) {
			if c.Hold != nil {
				<-c.Hold
			}
			if c.Output != nil {
				c.Output(Line{PID: p.pid, Command: name, Text: s})
			}
		})
	}()
	go func() {
		// Owned by the process: it ends when the process is reaped,
		// which wait waits for.
		p.waitErr = cmd.Wait()
		forgetChild(p.pid)
		if ps := cmd.ProcessState; ps != nil {
			p.cpu = ps.UserTime() + ps.SystemTime()
		}
		if ee, ok := errors.AsType[*exec.ExitError](p.waitErr); ok {
			p.exit = exitOf(ee.Sys().(syscall.WaitStatus))
			p.waitErr = nil
		} else if p.waitErr == nil {
			p.exit = Exit{CodeExited, 0}
		}
		close(p.exited)
	}()
	return p, nil
}

// closeOthersOnExec marks every file descriptor of the process above
// standard error close-on-exec, so that a command executed has its
// standard input, output and error and what it is handed (which
// os/exec gives it anew), no more, as exec_child's close_all_fds leaves
// it: a descriptor the process was started with, not close-on-exec, is
// no service's. They are marked rather than closed, as the process
// goes on with them (the manager; the helper's runtime).
func closeOthersOnExec() error {
	if closeRangeOnExec() == nil {
		return nil
	}
	return closeOnExecEach()
}

// closeOnExecEach marks the descriptors above standard error
// close-on-exec one by one, as the directory of the process's lists
// them.
func closeOnExecEach() error {
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return err
	}
	for _, f := range fds {
		// The directory's own among them, closed since.
		if fd, err := strconv.Atoi(f.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}

// lineBuffers are readLines' buffers, used again: a daemon may run
// hundreds of short services a second, each with its own stream.
var lineBuffers = sync.Pool{New: func() any { return new([lineMax]byte) }}

// readLines reads the stream into lines, as journald's
// stdout_stream_scan does: a newline or a NUL within the first lineMax
// bytes ends one, lineMax bytes without either are one, and what is left
// at the end is one too.
func readLines(r io.Reader, line func(string)) {
	b := lineBuffers.Get().(*[lineMax]byte)
	defer lineBuffers.Put(b)
	buf := b[:]
	n := 0
	for {
		m, err := r.Read(buf[n:])
		p := buf[:n+m]
		for len(p) > 0 {
			end := bytes.IndexByte(p, '\n')
			text := p
			if end >= 0 {
				text = p[:end]
			}
			if nul := bytes.IndexByte(text, 0); nul >= 0 {
				end = nul
			} else if end < 0 && len(p) < lineMax {
				break
			}
			if end < 0 {
				line(string(p))
				p = p[len(p):]
				continue
			}
			line(string(p[:end]))
			p = p[end+1:]
		}
		n = copy(buf, p)
		if err != nil {
			if n > 0 {
				line(string(buf[:n]))
			}
			return
		}
	}
}

// JournalMessage is what journald's stdout_stream_log makes of a line of
// a service's output: with levelPrefix (SyslogLevelPrefix=), a "<N>"
// before it, N a level 0 to 7, gives its priority, and is taken off
// (syslog_parse_priority); else its priority is level (SyslogLevel=).
// A line left empty is dropped: ok is false.
func JournalMessage(text string, levelPrefix bool, level int) (msg string, priority int, ok bool) {
	priority = level
	if levelPrefix && strings.HasPrefix(text, "<") {
		if end := strings.IndexByte(text, '>'); end >= 2 && end <= 4 {
			digits := text[1:end]
			n, err := strconv.Atoi(digits)
			if err == nil && strings.Trim(digits, "0123456789") == "" && n <= 7 {
				priority, text = n, text[end+1:]
			}
		}
	}
	return text, priority, text != ""
}

// signal sends sig to the process's group, or to the process alone
// (through os.Process, which will not signal a reaped process's number,
// nor, where it holds a pidfd, a number taken again).
func (p *process) signal(sig syscall.Signal, group bool) {
	if group && p.pgid > 0 {
		syscall.Kill(-p.pgid, sig)
	} else if p.proc != nil {
		p.proc.Signal(sig)
	}
}

// groupAlive reports whether a process of the group it leads is still
// there.
func (p *process) groupAlive() bool { return p.pgid > 0 && groupAlive(p.pgid) }

// reaped reports whether the process has been reaped.
func (p *process) reaped() bool { return closed(p.exited) }

// outputGrace is how long the rest of a process's output may take once
// nothing of its group is left, or it is given up.
const outputGrace = 100 * time.Millisecond

// settle waits, once the process has exited and no process of its group
// is left to hold the stream, for the rest of its output, so that its
// last lines come before what is said of its end.
func (p *process) settle(clk clock.Clock) {
	if !p.groupAlive() {
		p.waitOutput(clk)
	}
}

func (p *process) waitOutput(clk clock.Clock) {
	c, stop := clk.After(outputGrace)
	defer stop()
	select {
	case <-p.output:
	case <-c:
	}
}

// finishOutput reads the rest of the output, then closes the stream, so
// that a process that left the group holding it cannot keep the reader.
func (p *process) finishOutput(clk clock.Clock) {
	if p.stream == nil {
		return
	}
	p.waitOutput(clk)
	p.closing.Do(func() { p.stream.Close() })
	<-p.output
}
