package service

import (
	"bufio"
	"cmp"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// A mountMode is what a mount entry makes of its path, in the order of
// namespace.c's MountMode: of two entries for one path, the first in
// this order is kept.
type mountMode int

const (
	mountInaccessible mountMode = iota
	mountBind
	mountPrivateTmp
	mountPrivateDev
	mountProcfs
	mountReadOnly
	mountReadWrite
	mountNoExec
	mountExec
	mountTmpfs
	mountReadWriteImplicit // not made read-only by a read-only parent, but yields to any other
)

// A mountEntry is one mount of the service's namespace, as
// namespace.c's MountEntry.
type mountEntry struct {
	Path      string
	Mode      mountMode
	Ignore    bool   // a missing path is skipped
	Source    string // of a bind mount and the private /tmp
	Options   string // of a tmpfs; of /proc, those to have where the kernel takes them
	ReadOnly  bool   // made read-only with what is below
	NoExec    bool   // made noexec with what is below
	Exec      bool   // made to allow execution with what is below
	Recursive bool   // a bind mount takes the mounts below its source
	Made      bool   // of /proc: the manager made its instance (see procInstance)
}

// namespaceNeeded is exec_needs_mount_namespace, for the settings kept.
func namespaceNeeded(x *unit.Confinement) bool {
	return len(x.ReadWritePaths) > 0 || len(x.ReadOnlyPaths) > 0 || len(x.InaccessiblePaths) > 0 ||
		len(x.BindPaths) > 0 || len(x.TemporaryFileSystem) > 0 || x.PrivateTmp || x.PrivateDevices ||
		protects(x.ProtectSystem) || protects(x.ProtectHome) || x.ProtectKernelTunables || x.ProtectKernelModules ||
		x.ProtectKernelLogs || x.ProtectControlGroups || x.PrivateNetwork || x.PrivateIPC || x.DynamicUser ||
		len(x.ExecPaths) > 0 || len(x.NoExecPaths) > 0 || newProc(x)
}

// newProc reports whether the service gets a /proc of its own, for
// ProtectProc= or ProcSubset=, as namespace_info_mount_apivfs.
func newProc(x *unit.Confinement) bool {
	return x.ProtectProc != "default" && x.ProtectProc != "" || x.ProcSubset == "pid"
}

// procOptions are the options of the service's /proc, as mount_procfs
// asks for them: hidepid= always in its textual form, which kernels
// that keep it per instance (5.8 and later) alone take.
func procOptions(x *unit.Confinement) string {
	hide := x.ProtectProc
	if hide == "default" || hide == "" {
		hide = "off"
	}
	opts := "hidepid=" + hide
	if x.ProcSubset == "pid" {
		opts += ",subset=pid"
	}
	return opts
}

// protects reports whether ProtectSystem= or ProtectHome= asks for
// something: not "no", nor unset in a Confinement not loaded from a unit.
func protects(v string) bool { return v != "no" && v != "" }

// The tables of namespace.c for the Protect…= settings.
var (
	protectKernelTunables = []mountEntry{
		{Path: "/proc/acpi", Mode: mountReadOnly, Ignore: true}, {Path: "/proc/apm", Mode: mountReadOnly, Ignore: true},
		{Path: "/proc/asound", Mode: mountReadOnly, Ignore: true}, {Path: "/proc/bus", Mode: mountReadOnly, Ignore: true},
		{Path: "/proc/fs", Mode: mountReadOnly, Ignore: true}, {Path: "/proc/irq", Mode: mountReadOnly, Ignore: true},
		{Path: "/proc/kallsyms", Mode: mountInaccessible, Ignore: true}, {Path: "/proc/kcore", Mode: mountInaccessible, Ignore: true},
		{Path: "/proc/latency_stats", Mode: mountReadOnly, Ignore: true}, {Path: "/proc/mtrr", Mode: mountReadOnly, Ignore: true},
		{Path: "/proc/scsi", Mode: mountReadOnly, Ignore: true}, {Path: "/proc/sys", Mode: mountReadOnly, Ignore: true},
		{Path: "/proc/sysrq-trigger", Mode: mountReadOnly, Ignore: true}, {Path: "/proc/timer_list", Mode: mountReadOnly, Ignore: true},
		{Path: "/sys", Mode: mountReadOnly}, {Path: "/sys/fs/bpf", Mode: mountReadOnly, Ignore: true},
		{Path: "/sys/fs/cgroup", Mode: mountReadWriteImplicit}, {Path: "/sys/fs/selinux", Mode: mountReadWriteImplicit, Ignore: true},
		{Path: "/sys/kernel/debug", Mode: mountReadOnly, Ignore: true}, {Path: "/sys/kernel/tracing", Mode: mountReadOnly, Ignore: true},
	}
	protectKernelModules = []mountEntry{
		{Path: "/lib/modules", Mode: mountInaccessible, Ignore: true}, {Path: "/usr/lib/modules", Mode: mountInaccessible, Ignore: true},
	}
	protectKernelLogs = []mountEntry{
		{Path: "/proc/kmsg", Mode: mountInaccessible, Ignore: true}, {Path: "/dev/kmsg", Mode: mountInaccessible, Ignore: true},
	}
	protectSystem = map[string][]mountEntry{
		"yes":  {{Path: "/usr", Mode: mountReadOnly}, {Path: "/boot", Mode: mountReadOnly, Ignore: true}, {Path: "/efi", Mode: mountReadOnly, Ignore: true}},
		"full": {{Path: "/usr", Mode: mountReadOnly}, {Path: "/boot", Mode: mountReadOnly, Ignore: true}, {Path: "/efi", Mode: mountReadOnly, Ignore: true}, {Path: "/etc", Mode: mountReadOnly}},
		"strict": {{Path: "/", Mode: mountReadOnly}, {Path: "/proc", Mode: mountReadWriteImplicit}, {Path: "/sys", Mode: mountReadWriteImplicit},
			{Path: "/dev", Mode: mountReadWriteImplicit}, {Path: "/home", Mode: mountReadWriteImplicit, Ignore: true},
			{Path: "/run/user", Mode: mountReadWriteImplicit, Ignore: true}, {Path: "/root", Mode: mountReadWriteImplicit, Ignore: true}},
	}
	homes = []string{"/home", "/run/user", "/root"}
)

// mountEntries lists the mounts of the service's namespace, as
// setup_namespace gathers them; privateTmp are the directories bound on
// /tmp and /var/tmp, rw the service's own directories, kept writable,
// and roots the private directories of DynamicUser=, each made an
// empty tmpfs but for those of rw below it, bound in.
func mountEntries(x *unit.Confinement, privateTmp [2]string, rw, roots []string) []mountEntry {
	var m []mountEntry
	paths := func(list []string, mode mountMode) {
		for _, p := range list {
			ignore := false
			for strings.HasPrefix(p, "-") || strings.HasPrefix(p, "+") {
				ignore = ignore || p[0] == '-'
				p = p[1:]
			}
			m = append(m, mountEntry{Path: p, Mode: mode, Ignore: ignore, ReadOnly: mode == mountReadOnly})
		}
	}
	paths(x.ReadWritePaths, mountReadWrite)
	paths(x.ReadOnlyPaths, mountReadOnly)
	paths(x.InaccessiblePaths, mountInaccessible)
	paths(x.ExecPaths, mountExec)
	paths(x.NoExecPaths, mountNoExec)
	// The service's own directories, made before, may be out of sight
	// below another mount (a private /tmp).
	for _, p := range rw {
		if slices.ContainsFunc(roots, func(r string) bool { return below(p, r) }) {
			m = append(m, mountEntry{Path: p, Mode: mountBind, Source: p, Recursive: true})
			continue
		}
		m = append(m, mountEntry{Path: p, Mode: mountReadWrite, Ignore: true})
	}
	for _, r := range roots {
		m = append(m, mountEntry{Path: r, Mode: mountTmpfs, ReadOnly: true, Options: "mode=0755"})
	}
	for _, b := range x.BindPaths {
		m = append(m, mountEntry{Path: b.Destination, Mode: mountBind, Source: b.Source, Ignore: b.IgnoreMissing, ReadOnly: b.ReadOnly, Recursive: b.Recursive})
	}
	for _, t := range x.TemporaryFileSystem {
		e := mountEntry{Path: t.Path, Mode: mountTmpfs}
		e.Options, e.ReadOnly = tmpfsOptions(t.Options)
		m = append(m, e)
	}
	if x.PrivateTmp {
		m = append(m, mountEntry{Path: "/tmp", Mode: mountPrivateTmp, Source: privateTmp[0]},
			mountEntry{Path: "/var/tmp", Mode: mountPrivateTmp, Source: privateTmp[1]})
	}
	if x.PrivateDevices {
		m = append(m, mountEntry{Path: "/dev", Mode: mountPrivateDev})
	}
	if x.ProtectKernelTunables {
		m = append(m, protectKernelTunables...)
	}
	if x.ProtectKernelModules {
		m = append(m, protectKernelModules...)
	}
	if x.ProtectKernelLogs {
		m = append(m, protectKernelLogs...)
	}
	if x.ProtectControlGroups {
		m = append(m, mountEntry{Path: "/sys/fs/cgroup", Mode: mountReadOnly})
	}
	for _, h := range homes {
		switch x.ProtectHome {
		case "yes":
			m = append(m, mountEntry{Path: h, Mode: mountInaccessible, Ignore: true})
		case "read-only":
			m = append(m, mountEntry{Path: h, Mode: mountReadOnly, Ignore: true})
		case "tmpfs":
			m = append(m, mountEntry{Path: h, Mode: mountTmpfs, Ignore: true, ReadOnly: true, Options: "mode=0755"})
		}
	}
	m = append(m, protectSystem[x.ProtectSystem]...)
	if newProc(x) {
		m = append(m, mountEntry{Path: "/proc", Mode: mountProcfs, Options: procOptions(x)})
	}
	for i := range m {
		m[i].ReadOnly = m[i].ReadOnly || m[i].Mode == mountReadOnly
		m[i].NoExec = m[i].Mode == mountNoExec
		m[i].Exec = m[i].Mode == mountExec
	}
	// Sorted by path, parents first; of one path the first mode, given
	// what the others make read-only, noexec or exec, as
	// drop_duplicates keeps it. Below an inaccessible path, nothing.
	slices.SortStableFunc(m, func(a, b mountEntry) int {
		return cmp.Or(pathCompare(a.Path, b.Path), cmp.Compare(a.Mode, b.Mode))
	})
	var kept []mountEntry
	for _, e := range m {
		if n := len(kept); n > 0 && kept[n-1].Path == e.Path {
			p := &kept[n-1]
			p.ReadOnly, p.NoExec, p.Exec = p.ReadOnly || e.ReadOnly, p.NoExec || e.NoExec, p.Exec || e.Exec
			continue
		}
		kept = append(kept, e)
	}
	var out []mountEntry
	hidden := ""
	for _, e := range kept {
		if hidden != "" && below(e.Path, hidden) {
			continue
		}
		if e.Mode == mountInaccessible {
			hidden = e.Path
		}
		out = append(out, e)
	}
	return out
}

// pathCompare orders paths component by component, as path_compare, so
// that a parent comes before what is below it.
func pathCompare(a, b string) int {
	a, b = strings.Trim(a, "/"), strings.Trim(b, "/")
	for {
		ca, ra, moreA := strings.Cut(a, "/")
		cb, rb, moreB := strings.Cut(b, "/")
		if c := strings.Compare(ca, cb); c != 0 {
			return c
		}
		switch {
		case moreA && moreB:
		case moreA: // b is a's parent
			return 1
		case moreB:
			return -1
		default:
			return 0
		}
		a, b = ra, rb
	}
}

// below reports whether p is strictly below dir.
func below(p, dir string) bool {
	return p != dir && (dir == "/" || strings.HasPrefix(p, dir+"/"))
}

// tmpfsOptions reads TemporaryFileSystem='s options: "ro" makes it
// read-only, the rest go to the file system, after systemd's default
// mode=0755.
func tmpfsOptions(opts string) (string, bool) {
	out := []string{"mode=0755"}
	ro := false
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "":
		case "ro":
			ro = true
		case "rw":
			ro = false
		default:
			out = append(out, o)
		}
	}
	return strings.Join(out, ","), ro
}

// setUpNamespaces enters the namespaces the service asks for, as
// exec_child: the network's (with its loopback up), IPC's, UTS's and
// the mount namespace, made as setup_namespace does.
func (s *helperSetup) setUpNamespaces() *setupError {
	x := s.Exec
	if x == nil || !namespacesAllowed() {
		return nil
	}
	// The activation's own, entered as the helper was started.
	if !s.SharedNamespaces {
		if e := newNamespaces(x.PrivateNetwork, x.PrivateIPC); e != nil {
			return e
		}
	}
	if x.ProtectHostname {
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			return &setupError{statusNamespace, "NAMESPACE", "Failed to set up UTS namespacing", errnoOf(err)}
		}
	}
	// The user namespace, made first, owns no PID namespace: the
	// manager makes the instance of procfs, where the kernel lets it.
	if x.PrivateUsers && !s.Unprivileged && newProc(x) && !s.ProcInstance {
		s.warn("ProtectProc= and ProcSubset= cannot be honoured together with PrivateUsers= here; the host's /proc is kept.")
	}
	if !namespaceNeeded(x) || !x.PrivateNetwork && !x.PrivateIPC && len(mountEntries(x, s.PrivateTmp, nil, nil)) == 0 {
		return nil
	}
	entries := mountEntries(x, s.PrivateTmp, s.WritableDirs, s.PrivateRoots)
	for i := range entries {
		entries[i].Made = entries[i].Mode == mountProcfs && s.ProcInstance
	}
	if path, err := setUpMounts(entries, s.leave); err != nil {
		what := "Failed to set up mount namespacing"
		if path != "" {
			what += ": " + path
		}
		return &setupError{statusNamespace, "NAMESPACE", what, errnoOf(err)}
	}
	return nil
}

// newNamespaces makes the calling thread a network namespace, with its
// loopback up, and an IPC namespace, as asked.
func newNamespaces(network, ipc bool) *setupError {
	if network {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return &setupError{statusNetwork, "NETWORK", "Failed to set up network namespacing", errnoOf(err)}
		}
		if err := loopbackUp(); err != nil {
			return &setupError{statusNetwork, "NETWORK", "Failed to set up network namespacing", errnoOf(err)}
		}
	}
	if ipc {
		if err := unix.Unshare(unix.CLONE_NEWIPC); err != nil {
			return &setupError{statusNamespace, "NAMESPACE", "Failed to set up IPC namespacing", errnoOf(err)}
		}
	}
	return nil
}

// sharedNamespaces are the network and IPC namespaces of an
// activation, which all its commands share, as the exec runtime of
// systemd keeps them for a unit (setup_shareable_ns, with the netns and
// ipcns storage sockets): made for its first command, let go when it
// ends. A manager that is root makes them, so that they are the host
// user namespace's, and starts each command in them: one started in a
// user namespace of its own, for PrivateUsers=, could not enter them
// itself, as systemd's child enters them before it makes that one.
type sharedNamespaces struct{ net, ipc *os.File }

// sharesNamespaces reports whether the manager makes an activation's
// namespaces: as root. One that is not makes namespaces only in a user
// namespace of a command's own, which no other command can enter.
func sharesNamespaces() bool { return os.Geteuid() == 0 }

// makeSharedNamespaces makes the namespaces asked for, on a thread of
// their own.
func makeSharedNamespaces(network, ipc bool) (*sharedNamespaces, *setupError) {
	n := &sharedNamespaces{}
	err := onOwnThread(func() error {
		if e := newNamespaces(network, ipc); e != nil {
			return e
		}
		var err error
		if network {
			if n.net, err = os.Open("/proc/thread-self/ns/net"); err != nil {
				return &setupError{statusNetwork, "NETWORK", "Failed to set up network namespacing", errnoOf(err)}
			}
		}
		if ipc {
			if n.ipc, err = os.Open("/proc/thread-self/ns/ipc"); err != nil {
				return &setupError{statusNamespace, "NAMESPACE", "Failed to set up IPC namespacing", errnoOf(err)}
			}
		}
		return nil
	})
	if err != nil {
		n.close()
		return nil, err.(*setupError)
	}
	return n, nil
}

// in runs f on a thread of its own that has entered the namespaces, so
// that a process it starts begins in them.
func (n *sharedNamespaces) in(f func() error) error {
	return onOwnThread(func() error {
		if n.net != nil {
			if err := unix.Setns(int(n.net.Fd()), unix.CLONE_NEWNET); err != nil {
				return &setupError{statusNetwork, "NETWORK", "Failed to set up network namespacing", errnoOf(err)}
			}
		}
		if n.ipc != nil {
			if err := unix.Setns(int(n.ipc.Fd()), unix.CLONE_NEWIPC); err != nil {
				return &setupError{statusNamespace, "NAMESPACE", "Failed to set up IPC namespacing", errnoOf(err)}
			}
		}
		return f()
	})
}

func (n *sharedNamespaces) close() {
	for _, f := range []*os.File{n.net, n.ipc} {
		if f != nil {
			f.Close()
		}
	}
}

// onOwnThread runs f on a thread locked to it and never unlocked, so
// that the thread, its namespaces changed, ends with it, as the runtime
// ends a thread whose goroutine exits locked.
func onOwnThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- f()
	}()
	return <-done
}

// userNamespace starts the helper in a user namespace: for a manager
// that is not root, one where it may make the service's other
// namespaces (inUserNamespace); for root, with PrivateUsers=, one that
// maps root and the service's user and group to themselves and every
// other user to nobody, as setup_private_users. systemd makes it last,
// in a child forked to write the maps, once the other namespaces are
// made with the host's privileges; a process of several threads, as
// the helper is, can make no user namespace of its own, so it is made
// here, as the helper is started, and the helper's steps have root's
// privileges within it only. The groups of the service's user are
// mapped too, so that the helper may still give them to it, which
// takes setgroups "allow" where systemd, having set them before,
// writes "deny".
func userNamespace(attr *syscall.SysProcAttr, x *unit.Confinement, cred *syscall.Credential) {
	switch {
	case os.Geteuid() != 0:
		if namespaceNeeded(x) || x.ProtectHostname || x.PrivateUsers {
			inUserNamespace(attr)
		}
	case x.PrivateUsers:
		uids, gids := []uint32{0}, []uint32{0}
		if cred != nil {
			uids = append(uids, cred.Uid)
			gids = append(append(gids, cred.Gid), cred.Groups...)
		}
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings, attr.GidMappings = identityMap(uids), identityMap(gids)
		attr.GidMappingsEnableSetgroups = cred != nil && !cred.NoSetGroups
	}
}

// identityMap maps each of ids to itself, once.
func identityMap(ids []uint32) []syscall.SysProcIDMap {
	slices.Sort(ids)
	var m []syscall.SysProcIDMap
	for _, id := range slices.Compact(ids) {
		m = append(m, syscall.SysProcIDMap{ContainerID: int(id), HostID: int(id), Size: 1})
	}
	return m
}

// loopbackUp brings up lo in a new network namespace, as loopback_setup.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	req, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, req); err != nil {
		return err
	}
	req.SetUint16(req.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, req)
}

// setUpMounts makes a mount namespace of the calling thread, its mounts
// no longer propagating to the host (MS_SLAVE), then the entries'
// mounts, then their read-only flags, as apply_mounts; and / shared
// again within it. It returns the path that failed, if any.
func setUpMounts(entries []mountEntry, leave func(dir string)) (string, error) {
	// A directory for what the mounts are made from, left to the
	// manager to remove once the command is executed: here it is a
	// mount point, and unmounting it would wait for a grace period of
	// the kernel's.
	staging, err := os.MkdirTemp("", "namespace-")
	if err != nil {
		return "", err
	}
	leave(staging)
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return "", err
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return "/", err
	}
	// The empty, inaccessible file that hides files, as
	// /run/systemd/inaccessible/reg.
	if err := unix.Mount("tmpfs", staging, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755"); err != nil {
		return "", err
	}
	hide := filepath.Join(staging, "reg")
	if err := os.WriteFile(hide, nil, 0); err != nil {
		return "", err
	}
	// The mounts there are before: the entries' paths are all
	// different, and each of their mounts is made on its own path.
	before, err := mountPoints()
	if err != nil {
		return "", err
	}
	isMount := map[string]bool{}
	for _, m := range before {
		isMount[m.path] = true
	}
	// The sources of bind mounts, held open, as a mount made before
	// may hide them (the private directories of DynamicUser=).
	for i, e := range entries {
		if e.Mode != mountBind {
			continue
		}
		fd, err := unix.Open(e.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // applyMount tells
		}
		defer unix.Close(fd)
		entries[i].Source = "/proc/self/fd/" + strconv.Itoa(fd)
	}
	var done []mountEntry
	for _, e := range entries {
		ok, err := applyMount(e, hide, staging, isMount[e.Path])
		if err != nil {
			return e.Path, err
		}
		if ok {
			done = append(done, e)
		}
	}
	mps, err := mountPoints()
	if err != nil {
		return "", err
	}
	for _, e := range done {
		if !e.ReadOnly {
			continue
		}
		var deny []string
		for _, d := range done {
			if below(d.Path, e.Path) {
				deny = append(deny, d.Path)
			}
		}
		if err := remountFlags(mps, e.Path, deny, unix.MS_RDONLY, unix.MS_RDONLY); err != nil {
			return e.Path, err
		}
	}
	// Then noexec, or exec, as make_noexec: below, but for the paths
	// that say otherwise themselves.
	if slices.ContainsFunc(done, func(e mountEntry) bool { return e.NoExec || e.Exec }) {
		if mps, err = mountPoints(); err != nil {
			return "", err
		}
	}
	for _, e := range done {
		if !e.NoExec && !e.Exec {
			continue
		}
		var deny []string
		for _, d := range done {
			if (d.NoExec || d.Exec) && below(d.Path, e.Path) {
				deny = append(deny, d.Path)
			}
		}
		set := uintptr(0)
		if e.NoExec {
			set = unix.MS_NOEXEC
		}
		if err := remountFlags(mps, e.Path, deny, unix.MS_NOEXEC, set); err != nil {
			return e.Path, err
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return "/", err
	}
	return "", nil
}

// applyMount makes one entry's mount, as apply_one_mount; it reports
// whether it did (false for a missing path that may be missing).
func applyMount(e mountEntry, hide, staging string, isMount bool) (bool, error) {
	st, err := os.Stat(e.Path)
	missing := errors.Is(err, os.ErrNotExist)
	if err != nil && !missing {
		return false, err
	}
	switch e.Mode {
	case mountInaccessible:
		if missing {
			return false, ignoreMissing(e, err)
		}
		if st.IsDir() {
			return true, unix.Mount("tmpfs", e.Path, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=000")
		}
		return true, unix.Mount(hide, e.Path, "", unix.MS_BIND, "")
	case mountReadOnly, mountReadWrite, mountReadWriteImplicit, mountExec, mountNoExec:
		if missing {
			return false, ignoreMissing(e, err)
		}
		// Made a mount of its own, unless it is one.
		if isMount {
			return true, nil
		}
		return true, unix.Mount(e.Path, e.Path, "", unix.MS_BIND|unix.MS_REC, "")
	case mountTmpfs:
		if missing {
			if e.Ignore {
				return false, nil
			}
			if err := os.MkdirAll(e.Path, 0o755); err != nil {
				return false, err
			}
		}
		return true, unix.Mount("tmpfs", e.Path, "tmpfs", unix.MS_NODEV|unix.MS_STRICTATIME, e.Options)
	case mountBind, mountPrivateTmp:
		src, err := os.Stat(e.Source)
		if err != nil {
			return false, ignoreMissing(e, err)
		}
		if missing {
			if err := makeLike(e.Path, src.IsDir()); err != nil {
				return false, err
			}
		}
		flags := uintptr(unix.MS_BIND)
		if e.Recursive || e.Mode == mountPrivateTmp {
			flags |= unix.MS_REC
		}
		return true, unix.Mount(e.Source, e.Path, "", flags, "")
	case mountPrivateDev:
		return true, privateDev(staging)
	case mountProcfs:
		return true, mountProc(e.Path, e.Options, isMount, e.Made)
	}
	return false, nil
}

// mountProc mounts a new instance of procfs on p, with those of the
// options the kernel takes, as mount_procfs: what is mounted there is
// unmounted first. With made, the instance the manager made, at procFD,
// is put there (see procInstance). Without the privilege to mount one
// (a manager that is not root, whose user namespace does not own the
// PID namespace), the /proc there is kept, as systemd keeps it.
func mountProc(p, options string, isMount, made bool) error {
	os.MkdirAll(p, 0o755)
	n := unmountAll(p)
	if made {
		return unix.MoveMount(procFD, "", unix.AT_FDCWD, p, unix.MOVE_MOUNT_F_EMPTY_PATH)
	}
	var opts []string
	for _, o := range strings.Split(options, ",") {
		if k, v, _ := strings.Cut(o, "="); procOptionTaken(k, v) {
			opts = append(opts, o)
		}
	}
	const flags = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	err := unix.Mount("proc", p, "proc", flags, strings.Join(opts, ","))
	if err == unix.EINVAL && len(opts) > 0 {
		// A kernel that does not take hidepid= in its textual form
		// would apply it to the host's /proc too.
		err = unix.Mount("proc", p, "proc", flags, "")
	}
	if err == unix.EPERM {
		switch {
		case n > 0:
			return err // what was there is gone
		case isMount:
			return nil
		}
		return unix.Mount("/proc", p, "", unix.MS_BIND|unix.MS_REC, "")
	}
	return err
}

// procFD is where the helper has the instance of procfs the manager
// made for it.
const procFD = 5

// procInstance makes the new instance of procfs that is to be the /proc
// of c, as root, for a helper started in a user namespace of its own
// (PrivateUsers=): there it may not mount one, which takes privilege
// over the PID namespace, as systemd's child, making that namespace
// last, has when it mounts /proc. The helper puts it in place. It is
// nil when not needed, or where the kernel makes no detached mounts
// (before Linux 5.2).
func procInstance(c Command) *os.File {
	x := c.Exec
	if x == nil || !x.PrivateUsers || os.Geteuid() != 0 || !newProc(x) {
		return nil
	}
	fs, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil
	}
	defer unix.Close(fs)
	for _, o := range strings.Split(procOptions(x), ",") {
		// Those the kernel does not take are left out, as mount_procfs
		// leaves them.
		k, v, _ := strings.Cut(o, "=")
		unix.FsconfigSetString(fs, k, v)
	}
	if unix.FsconfigCreate(fs) != nil {
		return nil
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(m), "proc")
}

// procOptionTaken reports whether procfs takes the option, as
// mount_option_supported asks the kernel through fsconfig, without
// the noise a failed mount makes in its log; when it cannot tell, yes.
func procOptionTaken(key, value string) bool {
	fd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	err = unix.FsconfigSetString(fd, key, value)
	return err != unix.EINVAL && err != unix.EOPNOTSUPP
}

// unmountAll unmounts what is mounted at and below p, the last mounted
// first, as umount_recursive, and returns how many it unmounted.
func unmountAll(p string) int {
	mps, err := mountPoints()
	if err != nil {
		return 0
	}
	n := 0
	for _, m := range slices.Backward(mps) {
		if m.path == p || below(m.path, p) {
			if unix.Unmount(m.path, unix.MNT_DETACH) == nil {
				n++
			}
		}
	}
	return n
}

// ignoreMissing is nil for a missing path that may be missing, as
// "-" or the tables say, else err.
func ignoreMissing(e mountEntry, err error) error {
	if e.Ignore && errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// makeLike makes a missing mount point: a directory, or a file.
func makeLike(p string, dir bool) error {
	if dir {
		return os.MkdirAll(p, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// privateDev mounts a /dev of its own, as mount_private_dev: a tmpfs
// with the harmless devices of the host's bound on files, a devpts of
// its own, /dev/shm and /dev/mqueue, and the usual links; made in a
// directory of staging, then moved onto /dev.
func privateDev(staging string) error {
	dev := filepath.Join(staging, "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=0755"); err != nil {
		return err
	}
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		p := filepath.Join(dev, d)
		if err := makeLike(p, false); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+d, p, "", unix.MS_BIND, ""); err != nil {
			return err
		}
	}
	pts := filepath.Join(dev, "pts")
	os.Mkdir(pts, 0o755)
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return err
	}
	os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx"))
	for _, d := range []string{"shm", "mqueue", "hugepages"} {
		if st, err := os.Stat("/dev/" + d); err == nil && st.IsDir() {
			p := filepath.Join(dev, d)
			os.Mkdir(p, 0o755)
			if err := unix.Mount("/dev/"+d, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return err
			}
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "core": "/proc/kcore"} {
		os.Symlink(target, filepath.Join(dev, name))
	}
	if err := unix.Mount(dev, "/dev", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	return nil
}

// A mountPoint is a line of /proc/self/mountinfo: where, the per-mount
// flags to keep when it is remounted, the directory of its file system
// mounted there, and the file system's type.
type mountPoint struct {
	path         string
	flags        uintptr
	root, fstype string
}

// mountPoints reads /proc/self/mountinfo.
func mountPoints() ([]mountPoint, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readMountinfo(f)
}

// readMountinfo reads the lines of a mountinfo file: "ID parent
// major:minor root mount-point options optional… - type source
// super-options".
func readMountinfo(r io.Reader) ([]mountPoint, error) {
	var out []mountPoint
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		before, after, _ := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(before)
		if len(fields) < 6 {
			continue
		}
		mp := mountPoint{path: unescapeMountinfo(fields[4]), root: unescapeMountinfo(fields[3])}
		if tail := strings.Fields(after); len(tail) > 0 {
			mp.fstype = tail[0]
		}
		for o := range strings.SplitSeq(fields[5], ",") {
			mp.flags |= mountFlags[o]
		}
		out = append(out, mp)
	}
	return out, sc.Err()
}

// mountFlags are the per-mount flags of mountinfo's options.
var mountFlags = map[string]uintptr{"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
	"noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME, "relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// remountFlags gives the mount at p and those below it (of mps, the
// mounts there are) the flags set of mask, but for those at or below
// the paths of deny, as bind_remount_recursive_with_mountinfo: each
// keeps its other flags.
func remountFlags(mps []mountPoint, p string, deny []string, mask, set uintptr) error {
	seen := map[string]bool{}
	for _, m := range mps {
		if m.path != p && !below(m.path, p) || seen[m.path] {
			continue
		}
		if slices.ContainsFunc(deny, func(d string) bool { return m.path == d || below(m.path, d) }) {
			continue
		}
		seen[m.path] = true
		err := unix.Mount("", m.path, "", unix.MS_BIND|unix.MS_REMOUNT|m.flags&^mask|set, "")
		// Below p, a mount gone, hidden by another on the same path,
		// or out of reach of the user, who runs the service too.
		if err != nil && (m.path == p || !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EACCES)) {
			return err
		}
	}
	return nil
}

// haveNamespaces: the system has the namespaces.
const haveNamespaces = true
