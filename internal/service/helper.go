package service

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// The execution environment (UMask=, Nice=, Limit…=, the service's
// directories, namespaces, capabilities, seccomp filters) is set up in
// the child before it executes the command, as systemd's exec_child sets
// it up, by a helper: the running
// binary, started again with helperEnviron as its whole environment, which
// this package's init turns into the helper before main runs, whatever
// binary imports the package. The helper makes the settings, then
// executes the command in the same process, so that they hold from its
// first instruction. os/exec has no hook between fork and exec, and the
// other ways leave a window or touch the manager: prlimit or setpriority
// on the PID after the start race the command; the umask cannot be set
// from outside at all; setting the manager's own umask or limits around
// the fork changes them for all of the manager meanwhile, and a hard limit
// lowered cannot be raised again without privilege. Commands that need
// none of this are started directly.

// helperEnv marks the helper; helperEnviron is all of the helper's
// environment: with it, the helper's runtime starts on one processor,
// making fewer threads than a process that runs for a moment and
// does one thing at a time needs, for a start held up the less.
const helperEnv = "SUNDIAL_SERVICE_HELPER=1"

var helperEnviron = []string{helperEnv, "GOMAXPROCS=1"}

func init() {
	if slices.Equal(os.Environ(), helperEnviron) {
		os.Exit(runHelper(os.NewFile(3, "setup"), os.NewFile(4, "report")))
	}
}

// A helperSetup is what the helper reads: the command, and the settings.
type helperSetup struct {
	Path       string
	Argv, Env  []string
	Dir        string
	UMask      *uint32
	Nice       *int
	Limits     map[string]unit.Rlimit
	Credential *syscall.Credential
	Dirs       []execDirs
	Exec       *unit.Confinement
	// PrivateTmp are the directories bound on /tmp and /var/tmp with
	// PrivateTmp=; WritableDirs the service's own, kept writable in its
	// mount namespace.
	PrivateTmp   [2]string
	WritableDirs []string
	PrivateRoots []string // of DynamicUser=: see mountEntries
	// SharedNamespaces: the helper was started in the activation's
	// network and IPC namespaces (see sharedNamespaces).
	SharedNamespaces bool
	// Scheduled: the manager has made the scheduling settings (see
	// managerSchedules). ProcInstance: it has made the instance of
	// procfs that is to be /proc, at procFD (see procInstance).
	Scheduled, ProcInstance bool
	// Seccomp are the filters to load, assembled (see assembleSeccomp):
	// sent after the rest, as they are (see writePrograms).
	Seccomp [][]byte `json:"-"`
	// Unprivileged: the manager is not root, and its services have no
	// capabilities to bound or keep; their namespaces are made in a
	// user namespace.
	Unprivileged bool
	// The runtime catches SIGPIPE in the helper, and execve resets it to
	// the default action, unless it is ignored here.
	IgnoreSIGPIPE bool

	warn  func(string) // tells the parent a warning
	leave func(string) // tells the parent a directory to remove
}

// A setupError is a step of the child's setup that failed, as exec_child
// reports it: the exit status the child ends with, the step's name, what
// it was doing.
type setupError struct {
	Status int
	Step   string
	What   string // "Failed to adjust resource limit RLIMIT_NOFILE"; "" when the step says it all
	Errno  syscall.Errno
}

func (e *setupError) Error() string { return fmt.Sprintf("step %s: %v", e.Step, e.Errno) }
func (e *setupError) Unwrap() error { return e.Errno }

// The exit statuses of exec_child's steps, besides EXEC and CHDIR.
const (
	statusNice   = 201
	statusFDs    = 202
	statusLimits = 205
	statusGroup  = 216
	statusUser   = 217
)

// needsHelper reports whether the command has settings that only the
// helper can make. A command started directly has SIGPIPE ignored if the
// manager ignores it (SIG_IGN is kept across execve), and the default
// action if not (a handler is reset by execve).
func (c Command) needsHelper() bool {
	return c.NiceSet || len(c.Dirs) > 0 || c.Exec != nil && execNeedsHelper(c.Exec) || len(c.Limits) > 0 || c.UMask != nil && int(*c.UMask) != currentUmask() ||
		c.IgnoreSIGPIPE != signal.Ignored(syscall.SIGPIPE)
}

// execNeedsHelper reports whether the settings of x need the helper.
func execNeedsHelper(x *unit.Confinement) bool {
	return x.OOMScoreAdjustSet || x.CPUSchedulingSet || len(x.CPUAffinity) > 0 || x.IOSchedulingSet || x.TimerSlackNSec != math.MaxUint64 || x.Personality != "" ||
		x.NoNewPrivileges || x.CapabilityBoundingSet != unit.CapMaskUnset || x.AmbientCapabilities != 0 || x.SecureBits != 0 ||
		namespaceNeeded(x) || x.ProtectHostname || x.PrivateUsers || seccompWanted(x)
}

// seccompWanted reports whether the settings ask for a seccomp filter,
// as context_has_syscall_filters and the settings exec_child applies
// with one.
func seccompWanted(x *unit.Confinement) bool {
	return x.SyscallFilter != nil || len(x.SyscallArchs) > 0 || x.RestrictAddressFamilies != nil || x.AddressFamiliesAllowList ||
		x.RestrictNS != unit.NamespacesUnset || x.RestrictRealtime || x.RestrictSUIDSGID || x.LockPersonality || x.MemoryDenyWriteExecute ||
		x.ProtectClock || x.ProtectKernelModules || x.ProtectKernelLogs || x.PrivateDevices || x.ProtectHostname
}

// A helper is the parent's side of the helper's two pipes.
type helper struct {
	setup, setupChild   *os.File // the helper reads the setup from setupChild
	report, reportChild *os.File // and writes a failure to reportChild
	proc                *os.File // see procInstance
}

// newHelper turns cmd into a start of the helper, which makes c's
// settings: its credentials among them, as the limits are set before
// the user is changed (a hard limit may then be raised).
func newHelper(cmd *exec.Cmd, c Command) (*helper, error) {
	self, err := executable()
	if err != nil {
		return nil, err
	}
	h := &helper{}
	if h.setupChild, h.setup, err = os.Pipe(); err != nil {
		return nil, err
	}
	if h.report, h.reportChild, err = os.Pipe(); err != nil {
		h.close()
		return nil, err
	}
	cmd.Path, cmd.Args, cmd.Env, cmd.Dir = self, c.Argv[:1], helperEnviron, ""
	cmd.SysProcAttr.Credential = nil
	if c.Exec != nil && namespacesAllowed() {
		userNamespace(cmd.SysProcAttr, c.Exec, c.Credential)
	}
	cmd.ExtraFiles = []*os.File{h.setupChild, h.reportChild}
	if h.proc = procInstance(c); h.proc != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, h.proc)
	}
	return h, nil
}

// setUp hands the started helper, pid, the command and its settings,
// and waits until it has executed the command, or failed to.
func (h *helper) setUp(c Command, pid int) error {
	h.setupChild.Close()
	h.reportChild.Close()
	s := helperSetup{Path: c.Path, Argv: c.Argv, Env: c.Env, Dir: c.Dir, UMask: c.UMask, Limits: c.Limits, Credential: c.Credential,
		Dirs: c.Dirs, Exec: c.Exec, ProcInstance: h.proc != nil, PrivateTmp: c.PrivateTmp, WritableDirs: c.WritableDirs, PrivateRoots: c.PrivateRoots, SharedNamespaces: c.namespaces != nil, Unprivileged: os.Geteuid() != 0, IgnoreSIGPIPE: c.IgnoreSIGPIPE}
	if c.NiceSet {
		s.Nice = &c.Nice
	}
	var e *setupError
	if s.Seccomp, e = assembleSeccomp(c); e != nil {
		h.setup.Close()
		return e
	}
	if managerSchedules(c) {
		// The helper, waiting for its setup, goes on without one.
		if e := s.applyScheduling(pid); e != nil {
			h.setup.Close()
			return e
		}
		s.Scheduled = true
	}
	b, werr := json.Marshal(&s)
	if werr == nil {
		_, werr = h.setup.Write(writePrograms(b, s.Seccomp))
	}
	h.setup.Close()
	// Notes until the command's execution closes the pipe: warnings,
	// directories to remove then, a failure, if any.
	var remove []string
	defer func() {
		for _, d := range remove {
			os.Remove(d)
		}
	}()
	dec := json.NewDecoder(h.report)
	for {
		var n helperNote
		err := dec.Decode(&n)
		switch {
		case err == io.EOF && werr != nil:
			return werr
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("service: helper: %w", err)
		case n.Fail != nil:
			return n.Fail
		case n.Remove != "":
			remove = append(remove, n.Remove)
		case c.Warn != nil && n.Warning != "":
			c.Warn(n.Warning)
		}
	}
}

// writePrograms appends the programs to b, their number, then each its
// length and its bytes: read so, not as JSON's base64, they cost the
// helper less to decode; counted, a setup cut short between two is not
// taken for one with fewer filters.
func writePrograms(b []byte, progs [][]byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(len(progs)))
	for _, p := range progs {
		b = binary.NativeEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// readPrograms reads what writePrograms wrote.
func readPrograms(r io.Reader) ([][]byte, error) {
	var count uint32
	if err := binary.Read(r, binary.NativeEndian, &count); err != nil {
		return nil, err
	}
	var progs [][]byte
	for range count {
		var n uint32
		if err := binary.Read(r, binary.NativeEndian, &n); err != nil {
			return nil, noEOF(err)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, noEOF(err)
		}
		progs = append(progs, p)
	}
	return progs, nil
}

// noEOF is err, an end met where more was to come unexpected.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// A helperNote is what the helper tells: a warning, a directory to
// remove, or the failure that ends it.
type helperNote struct {
	Warning string      `json:",omitempty"`
	Remove  string      `json:",omitempty"` // a directory to remove once it is done
	Fail    *setupError `json:",omitempty"`
}

func (h *helper) close() {
	for _, f := range []*os.File{h.setup, h.setupChild, h.report, h.reportChild, h.proc} {
		if f != nil {
			f.Close()
		}
	}
}

// runHelper is the helper: it makes the settings read from in, then
// executes the command; on failure it writes what failed to out and
// returns the exit status to end with.
func runHelper(in, out *os.File) int {
	// The nice level is the thread's on Linux, and execve keeps the
	// calling thread's.
	runtime.LockOSThread()
	var s helperSetup
	dec := json.NewDecoder(in)
	err := dec.Decode(&s)
	if err == nil {
		s.Seccomp, err = readPrograms(io.MultiReader(dec.Buffered(), in))
	}
	in.Close()
	// The report's pipe too, closed as the command is executed; and
	// the instance of procfs.
	ferr := closeOthersOnExec()
	enc := json.NewEncoder(out)
	s.warn = func(msg string) { enc.Encode(helperNote{Warning: msg}) }
	s.leave = func(dir string) { enc.Encode(helperNote{Remove: dir}) }
	e := &setupError{Status: statusExec, Step: "EXEC", Errno: syscall.EINVAL}
	if ferr != nil {
		e = &setupError{statusFDs, "FDS", "Failed to close unwanted file descriptors", errnoOf(ferr)}
	} else if err == nil {
		if e = s.apply(); e == nil {
			err := syscall.Exec(s.Path, s.Argv, s.Env)
			e = &setupError{Status: statusExec, Step: "EXEC", Errno: errnoOf(err)}
		}
	}
	enc.Encode(helperNote{Fail: e})
	return e.Status
}

// apply makes the settings in exec_child's order: the scheduling
// settings, the service's directories, the limits, the umask, the
// namespaces, the groups, the bounding and ambient capabilities, the user, the working
// directory, the secure bits and no_new_privs.
func (s *helperSetup) apply() *setupError {
	if !s.Scheduled {
		if e := s.applyScheduling(0); e != nil {
			return e
		}
	}
	if e := s.applyPersonality(); e != nil {
		return e
	}
	uid, gid := os.Getuid(), os.Getgid()
	if c := s.Credential; c != nil {
		uid, gid = int(c.Uid), int(c.Gid)
	}
	for _, d := range s.Dirs {
		// Ownership is the system manager's to give.
		if e := setUpExecDirs(d, os.Getuid() == 0, uid, gid, s.warn); e != nil {
			return e
		}
	}
	names := slices.SortedFunc(maps.Keys(s.Limits), func(a, b string) int { return rlimitResources[a] - rlimitResources[b] })
	for _, name := range names {
		res, ok := rlimitResources[name]
		if !ok {
			continue // not on this system
		}
		if err := setrlimitClosest(res, s.Limits[name]); err != nil {
			return &setupError{statusLimits, "LIMITS", "Failed to adjust resource limit RLIMIT_" + name, errnoOf(err)}
		}
	}
	if s.UMask != nil {
		syscall.Umask(int(*s.UMask))
	}
	if s.IgnoreSIGPIPE {
		signal.Ignore(syscall.SIGPIPE)
	}
	if e := s.setUpNamespaces(); e != nil {
		return e
	}
	if c := s.Credential; c != nil {
		if !c.NoSetGroups {
			groups := make([]int, len(c.Groups))
			for i, g := range c.Groups {
				groups[i] = int(g)
			}
			if err := syscall.Setgroups(groups); err != nil {
				return &setupError{statusGroup, "GROUP", "Changing group credentials failed", errnoOf(err)}
			}
		}
		if err := syscall.Setgid(int(c.Gid)); err != nil {
			return &setupError{statusGroup, "GROUP", "Changing group credentials failed", errnoOf(err)}
		}
	}
	if e := s.beforeUser(); e != nil {
		return e
	}
	if c := s.Credential; c != nil {
		if err := syscall.Setuid(int(c.Uid)); err != nil {
			return &setupError{statusUser, "USER", fmt.Sprintf("Failed to change UID to %d", c.Uid), errnoOf(err)}
		}
		if e := s.afterUser(); e != nil {
			return e
		}
	}
	if s.Dir != "" {
		if err := syscall.Chdir(s.Dir); err != nil {
			return &setupError{statusChdir, "CHDIR", "Changing to the requested working directory failed", errnoOf(err)}
		}
	}
	return s.lockDown()
}

func errnoOf(err error) syscall.Errno {
	if e, ok := errors.AsType[syscall.Errno](err); ok {
		return e
	}
	return syscall.EINVAL
}

// setrlimitClosest is systemd's setrlimit_closest: the limit asked for,
// or, when it is not permitted, the closest the hard limit allows.
func setrlimitClosest(res int, l unit.Rlimit) error {
	var want unix.Rlimit
	setRlim(&want.Cur, l.Soft)
	setRlim(&want.Max, l.Hard)
	err := unix.Setrlimit(res, &want)
	if err != unix.EPERM {
		return err
	}
	var highest unix.Rlimit
	if err := unix.Getrlimit(res, &highest); err != nil {
		return err
	}
	if highest.Max == unix.RLIM_INFINITY {
		return unix.EPERM
	}
	fixed := unix.Rlimit{Cur: min(want.Cur, highest.Max), Max: min(want.Max, highest.Max)}
	if fixed == highest {
		return nil
	}
	return unix.Setrlimit(res, &fixed)
}

// setRlim sets a field of unix.Rlimit, unsigned on most systems and
// signed on FreeBSD, to a limit: infinity, and on a signed system any
// value beyond the largest, is RLIM_INFINITY, as the kernel reads it.
func setRlim[T int64 | uint64](field *T, v uint64) {
	*field = T(min(v, uint64(unix.RLIM_INFINITY)))
}
