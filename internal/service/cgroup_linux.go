package service

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// cgroupMount is where the cgroup v2 hierarchy is mounted, as
// /proc/self/mountinfo tells it (on a hybrid system it is not
// /sys/fs/cgroup but /sys/fs/cgroup/unified); "" where there is none.
var cgroupMount = sync.OnceValue(func() string {
	mps, _ := mountPoints()
	for _, mp := range mps {
		if mp.fstype == "cgroup2" && mp.root == "/" {
			return mp.path
		}
	}
	return ""
})

// CGroupRoot returns the directory of the control group under which
// the manager makes one for each of its services, and its name in the
// hierarchy ("/sundial"). As root, it is the group of the name given,
// made under the cgroup v2 mount if need be. Otherwise it is the
// manager's own group, if it may write there (delegated to it, as
// systemd delegates a user's manager its user@.service): the manager
// then moves itself into a group below it, init.scope, as systemd's user
// manager sits, so that the group holding its services' groups holds no
// process itself, which the kernel asks of a group whose controllers
// its children use. Both are "" where there is none; the services'
// processes are then followed by their process groups.
func CGroupRoot(name string) (dir, path string) {
	mount := cgroupMount()
	if mount == "" {
		return "", ""
	}
	if os.Geteuid() == 0 {
		path = "/" + name
	} else if path = delegatedCGroup(); path == "" {
		return "", ""
	}
	dir = filepath.Join(mount, path)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", ""
	}
	if unix.Access(dir, unix.W_OK) != nil || unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK) != nil {
		return "", ""
	}
	if os.Geteuid() != 0 {
		self := filepath.Join(dir, "init.scope")
		if err := os.Mkdir(self, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return "", ""
		}
		if os.WriteFile(filepath.Join(self, "cgroup.procs"), []byte("0"), 0) != nil {
			return "", ""
		}
	}
	return dir, path
}

// ownCGroup is the manager's group in the cgroup v2 hierarchy, from the
// "0::" line of /proc/self/cgroup; "" if not told.
func ownCGroup() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok && strings.HasPrefix(p, "/") {
			return strings.TrimSuffix(p, " (deleted)")
		}
	}
	return ""
}

// delegatedCGroup is the group a manager that is not root may have
// delegated to it: its own, or the one above it where it sits in
// init.scope, moved there by CGroupRoot (of this manager, or of one
// before it); "" if not told.
func delegatedCGroup() string {
	path := ownCGroup()
	if filepath.Base(path) == "init.scope" {
		return filepath.Dir(path)
	}
	return path
}

// cgroupReserved are the names a group's directory may not take, as
// cg_escape in basic/cgroup-util.c lists them, besides those that begin
// with a controller's name and a dot.
var cgroupReserved = []string{"notify_on_release", "release_agent", "tasks"}

// cgroupControllers are the controllers whose files a group's
// directory holds ("memory.max"), and "cgroup" itself.
var cgroupControllers = []string{"cgroup", "cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids", "bpf-firewall", "bpf-devices",
	"bpf-foreign", "bpf-socket-bind", "bpf-restrict-network-interfaces", "freezer", "hugetlb", "misc", "net_cls", "net_prio", "perf_event", "rdma"}

// CGroupEscape is cg_escape: a unit's name as the name of its group,
// with "_" before it where it could be taken for one of the
// hierarchy's own files.
func CGroupEscape(name string) string {
	if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		return "_" + name
	}
	for _, r := range cgroupReserved {
		if name == r {
			return "_" + name
		}
	}
	if prefix, _, ok := strings.Cut(name, "."); ok {
		for _, c := range cgroupControllers {
			if prefix == c {
				return "_" + name
			}
		}
	}
	return name
}

// A cgroup is the control group of an activation: every process it
// starts begins there, and every process they start stays there,
// whatever group or session it makes, whatever environment it clears.
type cgroup struct {
	dir string
	fd  *os.File // the directory, for CLONE_INTO_CGROUP
	// events has a value when cgroup.events has changed since it was
	// last taken, as inotify tells, which watch, if set, watches; nil
	// where inotify is not had.
	events chan struct{}
	watch  *os.File
}

// openCGroup makes the group's directory, if it is not there, and opens
// it.
func openCGroup(dir string) (*cgroup, error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	fd, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	g := &cgroup{dir: dir, fd: fd}
	g.watchEvents()
	return g, nil
}

// watchEvents has inotify tell the changes of cgroup.events, as
// systemd's manager watches it (unit_watch_cgroup): "populated 0" is
// the group emptied.
func (g *cgroup) watchEvents() {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(g.dir, "cgroup.events"), unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return
	}
	// Nonblocking, the file is the runtime poller's, and closing it
	// ends the read.
	g.watch, g.events = os.NewFile(uintptr(fd), "inotify"), make(chan struct{}, 1)
	go func() {
		// Owned by the group: it ends when close closes the file.
		buf := make([]byte, 4096)
		for {
			if _, err := g.watch.Read(buf); err != nil {
				return
			}
			select {
			case g.events <- struct{}{}:
			default:
			}
		}
	}()
}

// changes returns a channel that has a value when cgroup.events may
// have changed since it was last taken; nil where that is not told.
func (g *cgroup) changes() <-chan struct{} { return g.events }

// intoCGroup has the process cmd starts begin in g, as exec_child puts
// its process in the unit's group before anything else (cg_attach),
// though without the moment where it is outside: the kernel makes it
// there (clone3 with CLONE_INTO_CGROUP, Linux 5.7).
func intoCGroup(attr *syscall.SysProcAttr, g *cgroup) {
	if g == nil {
		return
	}
	attr.UseCgroupFD = true
	attr.CgroupFD = int(g.fd.Fd())
}

// procs returns the processes in the group, as cg_read_pid; nil for a
// group not there.
func (g *cgroup) procs() []int {
	b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	for f := range bytes.FieldsSeq(b) {
		if pid, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// members returns the processes in the group, zombies left out.
func (g *cgroup) members() []procStat {
	var out []procStat
	for _, pid := range g.procs() {
		if st, ok := readStat(strconv.Itoa(pid)); ok && !st.zombie {
			out = append(out, st)
		}
	}
	return out
}

// populated reports whether a process is in the group or a group below
// it, as cgroup.events tells ("populated 1"): a zombie is not, the
// kernel takes it out as it exits.
func (g *cgroup) populated() bool {
	b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.events"))
	if err != nil {
		return false
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "populated "); ok {
			return v != "0"
		}
	}
	return false
}

// signal sends sig to every process in the group, and SIGCONT after it
// with cont, as cg_kill in basic/cgroup-util.c: pass after pass, by PID,
// until one finds none not signalled yet, so that a process forked
// meanwhile, or one that left its process group, is not missed. SIGKILL
// goes through cgroup.kill, where the kernel has it (Linux 5.14), which
// misses none.
func (g *cgroup) signal(sig syscall.Signal, cont bool) {
	if sig == syscall.SIGKILL && os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0) == nil {
		return
	}
	done := map[int]bool{os.Getpid(): true}
	for more := true; more; {
		more = false
		for _, pid := range g.procs() {
			if done[pid] {
				continue
			}
			done[pid], more = true, true
			syscall.Kill(pid, sig)
			if cont && sig != syscall.SIGCONT && sig != syscall.SIGKILL {
				syscall.Kill(pid, syscall.SIGCONT)
			}
		}
	}
}

// close lets the group go, and removes it once empty, as
// unit_prune_cgroup: one that processes left running (KillMode=none)
// still hold is kept.
func (g *cgroup) close() {
	g.fd.Close()
	if g.watch != nil {
		g.watch.Close()
	}
	if !g.populated() {
		os.Remove(g.dir)
	}
}

// CGroupProcesses returns the processes in the control group of the
// directory, in the order of their PIDs, as systemctl status lists them
// (show_cgroup_by_path).
func CGroupProcesses(dir string) []int {
	pids := (&cgroup{dir: dir}).procs()
	slices.Sort(pids)
	return pids
}

// CGroupMemory returns the memory the control group of the directory
// uses, as memory.current tells it; ok is false where the memory
// controller is not enabled for it.
func CGroupMemory(dir string) (n uint64, ok bool) {
	return cgroupValue(dir, "memory.current")
}

// cgroupValue reads a number from a file of the control group of the
// directory; "max" is [unit.CGroupLimitMax]. ok is false where the file is
// not there, its controller not enabled for the group.
func cgroupValue(dir, file string) (n uint64, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return unit.CGroupLimitMax, true
	}
	n, err = strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// CGroupDir returns the directory of the control group that the
// hierarchy names path ("/sundial/foo.service"), where the hierarchy is
// mounted here; "" where there is none.
func CGroupDir(path string) string {
	mount := cgroupMount()
	if mount == "" {
		return ""
	}
	return filepath.Join(mount, path)
}

// ReadCGroupUsage reads what the control group of the directory holds
// and may hold, from the files of the pids and memory controllers; of
// dir "", nothing.
func ReadCGroupUsage(dir string) CGroupUsage {
	u := noCGroupUsage
	if dir == "" {
		return u
	}
	u.Tasks, u.TasksKnown = cgroupValue(dir, "pids.current")
	u.Memory, u.MemoryKnown = cgroupValue(dir, "memory.current")
	u.MemoryMin, _ = cgroupValue(dir, "memory.min")
	u.MemoryLow, _ = cgroupValue(dir, "memory.low")
	for _, l := range []struct {
		v    *uint64
		file string
	}{{&u.TasksMax, "pids.max"}, {&u.MemoryHigh, "memory.high"}, {&u.MemoryMax, "memory.max"}, {&u.MemorySwapMax, "memory.swap.max"}} {
		if v, ok := cgroupValue(dir, l.file); ok {
			*l.v = v
		}
	}
	return u
}
