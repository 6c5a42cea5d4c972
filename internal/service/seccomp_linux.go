package service

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// statusSeccomp is exec_child's exit status of a filter not loaded.
const statusSeccomp = 228

// A scCond is a test of a system call's argument (its low 32 bits,
// which hold the flags, modes and numbers tested).
type scCond struct {
	arg  int
	op   scOp
	mask uint32 // of scMaskedEq
	val  uint32
}

type scOp int

const (
	scEq        scOp = iota // arg == val
	scBitsSet               // arg & val != 0
	scMaskedEq              // arg & mask == val
	scGreater               // arg > val
	scNotEqBoth             // arg != val and arg != mask
)

// A scRule is a system call, the tests of its arguments that must all
// hold, and the action then.
type scRule struct {
	name   string
	conds  []scCond
	action uint32
	only   *arch.Info // the architecture the rule is of, if only one
}

// A scFilter is one filter: its rules, in order, and the action for
// the calls no rule takes.
type scFilter struct {
	rules []scRule
	def   uint32
}

func errnoAction(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }

// seccompFilters are the filters the settings make, as exec_child's
// apply_* functions each load one: the kernel takes, of all, the action
// that denies most.
func seccompFilters(x *unit.Confinement, persona uint32) []scFilter {
	var fs []scFilter
	deny := func(action uint32, names ...string) {
		f := scFilter{def: unix.SECCOMP_RET_ALLOW}
		for _, n := range unit.ExpandSyscalls(names...) {
			f.rules = append(f.rules, scRule{name: n, action: action})
		}
		fs = append(fs, f)
	}
	if x.RestrictAddressFamilies != nil || x.AddressFamiliesAllowList {
		// seccomp_restrict_address_families: socket() of a family not
		// allowed fails with EAFNOSUPPORT. socketpair() makes sockets
		// of a family too, and is held to the same; socketcall() of
		// i386 has the family in memory, out of the filter's reach,
		// and makes no socket at all (systemd leaves both open, and
		// i386 unfiltered). io_uring makes sockets no filter sees: it
		// is not there (systemd leaves it open too).
		refuse := errnoAction(unix.EAFNOSUPPORT)
		f := scFilter{def: unix.SECCOMP_RET_ALLOW}
		for _, call := range []string{"socket", "socketpair"} {
			for _, name := range x.RestrictAddressFamilies {
				action := refuse
				if x.AddressFamiliesAllowList {
					action = unix.SECCOMP_RET_ALLOW
				}
				if af, ok := addressFamilyNumbers[name]; ok {
					f.rules = append(f.rules, scRule{name: call, conds: []scCond{{arg: 0, op: scEq, val: af}}, action: action})
				}
			}
			if x.AddressFamiliesAllowList {
				f.rules = append(f.rules, scRule{name: call, action: refuse})
			}
		}
		for _, op := range []uint32{sysSocket, sysSocketpair} {
			f.rules = append(f.rules, scRule{name: "socketcall", conds: []scCond{{arg: 0, op: scEq, val: op}}, action: refuse})
		}
		f.rules = append(f.rules, ioURingRefused)
		fs = append(fs, f)
	}
	if x.RestrictNS != unit.NamespacesUnset && x.RestrictNS&unit.NamespaceFlagsAll != unit.NamespaceFlagsAll {
		// seccomp_restrict_namespaces: unshare(), clone() and setns()
		// of a namespace not allowed fail with EPERM; clone3(), whose
		// flags are out of reach, with ENOSYS, for clone() to be used.
		f := scFilter{def: unix.SECCOMP_RET_ALLOW}
		eperm := errnoAction(unix.EPERM)
		f.rules = append(f.rules, scRule{name: "clone3", action: errnoAction(unix.ENOSYS)})
		if x.RestrictNS == 0 {
			f.rules = append(f.rules, scRule{name: "setns", action: eperm})
		} else {
			f.rules = append(f.rules, scRule{name: "setns", conds: []scCond{{arg: 1, op: scEq, val: 0}}, action: eperm})
		}
		cloneFlags := 0
		if runtime.GOARCH == "s390x" {
			cloneFlags = 1 // its clone() takes the stack first
		}
		for _, n := range unit.NamespaceFlags {
			flag := n.Flag
			if x.RestrictNS&flag != 0 {
				continue
			}
			f.rules = append(f.rules,
				scRule{name: "unshare", conds: []scCond{{arg: 0, op: scBitsSet, val: uint32(flag)}}, action: eperm},
				scRule{name: "clone", conds: []scCond{{arg: cloneFlags, op: scBitsSet, val: uint32(flag)}}, action: eperm},
				// With a pidfd, setns() enters several at once.
				scRule{name: "setns", conds: []scCond{{arg: 1, op: scBitsSet, val: uint32(flag)}}, action: eperm})
		}
		fs = append(fs, f)
	}
	if x.RestrictRealtime {
		// seccomp_restrict_realtime: the policies of real time, FIFO,
		// RR and what is above IDLE (DEADLINE), refused; sched_setattr(),
		// whose policy is out of reach, too.
		eperm := errnoAction(unix.EPERM)
		fs = append(fs, scFilter{def: unix.SECCOMP_RET_ALLOW, rules: []scRule{
			{name: "sched_setscheduler", conds: []scCond{{arg: 1, op: scEq, val: unix.SCHED_FIFO}}, action: eperm},
			{name: "sched_setscheduler", conds: []scCond{{arg: 1, op: scEq, val: unix.SCHED_RR}}, action: eperm},
			{name: "sched_setscheduler", conds: []scCond{{arg: 1, op: scGreater, val: unix.SCHED_IDLE}}, action: eperm},
			{name: "sched_setattr", action: eperm},
		}})
	}
	if x.RestrictSUIDSGID {
		// seccomp_restrict_suid_sgid: no file made or changed to be
		// set-user-ID or set-group-ID. open() and openat() take the
		// mode with O_TMPFILE too, which makes a file to link later;
		// openat2(), whose mode is in memory, is refused whole, and
		// io_uring, whose opening of files no filter sees, is not
		// there (systemd leaves it open).
		const suid = unix.S_ISUID | unix.S_ISGID
		const creating = unix.O_CREAT | unix.O_TMPFILE&^unix.O_DIRECTORY
		eperm := errnoAction(unix.EPERM)
		f := scFilter{def: unix.SECCOMP_RET_ALLOW}
		for name, arg := range map[string]int{"chmod": 1, "fchmod": 1, "fchmodat": 2, "fchmodat2": 2, "mkdir": 1, "mkdirat": 2, "mknod": 1, "mknodat": 2, "creat": 1} {
			f.rules = append(f.rules, scRule{name: name, conds: []scCond{{arg: arg, op: scBitsSet, val: suid}}, action: eperm})
		}
		f.rules = append(f.rules,
			scRule{name: "open", conds: []scCond{{arg: 1, op: scBitsSet, val: creating}, {arg: 2, op: scBitsSet, val: suid}}, action: eperm},
			scRule{name: "openat", conds: []scCond{{arg: 2, op: scBitsSet, val: creating}, {arg: 3, op: scBitsSet, val: suid}}, action: eperm},
			scRule{name: "openat2", action: eperm}, ioURingRefused)
		slices.SortFunc(f.rules, func(a, b scRule) int { return strings.Compare(a.name, b.name) })
		fs = append(fs, f)
	}
	if x.LockPersonality {
		// seccomp_lock_personality: the personality may be asked for,
		// not changed.
		fs = append(fs, scFilter{def: unix.SECCOMP_RET_ALLOW, rules: []scRule{
			{name: "personality", conds: []scCond{{arg: 0, op: scNotEqBoth, val: persona, mask: math.MaxUint32}}, action: errnoAction(unix.EPERM)},
		}})
	}
	if x.MemoryDenyWriteExecute {
		// seccomp_memory_deny_write_execute: no mapping both writable
		// and executable, nor made executable after. The old mmap() of
		// i386 takes its arguments in memory, out of the filter's
		// reach: it is refused whole, mmap2() being what is used. Its
		// ipc() makes the calls of shmat() (SHMAT, the flags third),
		// which systemd leaves open.
		const wx = unix.PROT_WRITE | unix.PROT_EXEC
		eperm := errnoAction(unix.EPERM)
		fs = append(fs, scFilter{def: unix.SECCOMP_RET_ALLOW, rules: []scRule{
			{name: "mmap", action: eperm, only: arch.I386},
			{name: "mmap", conds: []scCond{{arg: 2, op: scMaskedEq, mask: wx, val: wx}}, action: eperm},
			{name: "mmap2", conds: []scCond{{arg: 2, op: scMaskedEq, mask: wx, val: wx}}, action: eperm},
			{name: "mprotect", conds: []scCond{{arg: 2, op: scBitsSet, val: unix.PROT_EXEC}}, action: eperm},
			{name: "pkey_mprotect", conds: []scCond{{arg: 2, op: scBitsSet, val: unix.PROT_EXEC}}, action: eperm},
			{name: "shmat", conds: []scCond{{arg: 2, op: scBitsSet, val: shmExec}}, action: eperm},
			{name: "ipc", conds: []scCond{{arg: 0, op: scMaskedEq, mask: 0xffff, val: ipcShmat}, {arg: 2, op: scBitsSet, val: shmExec}}, action: eperm},
		}})
	}
	eperm := errnoAction(unix.EPERM)
	if x.PrivateDevices {
		deny(eperm, "@raw-io")
	}
	if x.ProtectKernelModules {
		deny(eperm, "@module")
	}
	if x.ProtectKernelLogs {
		deny(eperm, "syslog")
	}
	if x.ProtectClock {
		deny(eperm, "@clock")
	}
	if x.ProtectHostname {
		deny(eperm, "sethostname", "setdomainname")
	}
	// SystemCallFilter= last, as apply_syscall_filter comes last: what it
	// does not allow may include loading the others.
	if calls := x.SystemCalls(); calls != nil {
		negative := uint32(unix.SECCOMP_RET_KILL_PROCESS)
		if n := x.SyscallErrno; n > 0 {
			negative = errnoAction(unix.Errno(n))
		}
		f := scFilter{def: unix.SECCOMP_RET_ALLOW}
		if x.SyscallAllowList {
			f.def = negative
		}
		for _, name := range slices.Sorted(maps.Keys(calls)) {
			action := uint32(unix.SECCOMP_RET_ALLOW)
			if !x.SyscallAllowList {
				switch n := calls[name]; {
				case n == unit.SyscallKill:
					action = unix.SECCOMP_RET_KILL_PROCESS
				case n >= 0:
					action = errnoAction(unix.Errno(n))
				default:
					action = negative
				}
			}
			f.rules = append(f.rules, scRule{name: name, action: action})
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 && len(x.SyscallArchs) > 0 {
		fs = append(fs, scFilter{def: unix.SECCOMP_RET_ALLOW})
	}
	return fs
}

// filterArches are the architectures the filters apply to: the native
// one, which seccomp_restrict_archs never removes (the command is to be
// executed), with those of SystemCallArchitectures= that the manager's
// kernel runs, or with its secondary one, as systemd adds it; a call of
// another is killed.
func filterArches(x *unit.Confinement) []*arch.Info {
	native, err := arch.GetInfo("")
	if err != nil {
		return nil
	}
	secondary := map[*arch.Info]*arch.Info{arch.X86_64: arch.I386, arch.AARCH64: arch.ARM}[native]
	out := []*arch.Info{native}
	if len(x.SyscallArchs) == 0 {
		if secondary != nil {
			out = append(out, secondary)
		}
		return out
	}
	byName := map[string]*arch.Info{"x86": arch.I386, "arm": arch.ARM}
	for _, name := range x.SyscallArchs {
		if a := byName[name]; a != nil && a == secondary && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// assemble makes one BPF program of the filters, in their order, for
// the architectures, which acts as they would loaded one after the
// other: the kernel runs each and takes, of their actions, the one
// that denies most, and of two that deny as much the last loaded's
// (seccomp_run_filters). Each filter's block keeps its rules' order;
// its action, where it allows nothing more than the best so far,
// replaces the best (in scratch memory, with its rank, scRank); a
// kill of the process is final. Loading one program costs the kernel
// a check and a translation, as loading each did.
func assemble(fs []scFilter, arches []*arch.Info) ([]bpf.RawInstruction, error) {
	const archOff, nrOff, argsOff = 4, 0, 16
	// The best action so far and its rank, in scratch memory.
	const best, bestRank = 0, 1
	hiFirst := binary.NativeEndian.Uint16([]byte{0, 1}) == 1 // big-endian: the high word first
	argOff := func(i int) uint32 {
		off := uint32(argsOff + 8*i)
		if hiFirst {
			off += 4
		}
		return off
	}
	var prog []bpf.Instruction
	labels := map[scLabel]int{}
	// The dispatch on the architecture: each a test and a jump to its
	// block, then the kill of a call of another.
	prog = append(prog, bpf.LoadAbsolute{Off: archOff, Size: 4})
	for i, a := range arches {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(a.ID), SkipFalse: 1}, scJump{scLabel{arch: i, filter: -1}})
	}
	prog = append(prog, bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS})
	for ai, a := range arches {
		labels[scLabel{arch: ai, filter: -1}] = len(prog)
		if a == arch.X86_64 {
			// The x32 ABI's calls, which these numbers do not cover.
			prog = append(prog, bpf.LoadAbsolute{Off: nrOff, Size: 4},
				bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(arch.X32.SeccompMask), SkipFalse: 1},
				bpf.RetConstant{Val: errnoAction(unix.ENOSYS)})
		}
		prog = append(prog, bpf.LoadConstant{Dst: bpf.RegA, Val: unix.SECCOMP_RET_ALLOW}, bpf.StoreScratch{Src: bpf.RegA, N: best},
			bpf.LoadConstant{Dst: bpf.RegA, Val: scRank(unix.SECCOMP_RET_ALLOW)}, bpf.StoreScratch{Src: bpf.RegA, N: bestRank})
		for fi, f := range fs {
			next := scLabel{arch: ai, filter: fi + 1}
			// Where an action leads: a kill of the process ends it
			// all, an allowing goes on to the next filter, the others
			// to their block below.
			var actions []uint32
			act := func(action uint32) bpf.Instruction {
				switch action {
				case unix.SECCOMP_RET_KILL_PROCESS:
					return bpf.RetConstant{Val: action}
				case unix.SECCOMP_RET_ALLOW:
					return scJump{next}
				}
				if !slices.Contains(actions, action) {
					actions = append(actions, action)
				}
				return scJump{scLabel{arch: ai, filter: fi, onAction: true, action: action}}
			}
			prog = append(prog, bpf.LoadAbsolute{Off: nrOff, Size: 4})
			for _, r := range f.rules {
				nr, ok := a.SyscallNames[r.name]
				if !ok || r.only != nil && r.only != a {
					continue // not on this architecture
				}
				body := condsCode(r.conds, argOff)
				// The rule: its number, its tests (each failing to the
				// next rule), its action; after tests, nr again.
				skip := len(body) + 1
				if len(r.conds) > 0 {
					skip++ // the reload of nr is the next rule's start
				}
				prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: uint8(min(skip, 255))})
				prog = append(prog, body...)
				prog = append(prog, act(r.action))
				if len(r.conds) > 0 {
					prog = append(prog, bpf.LoadAbsolute{Off: nrOff, Size: 4})
				}
			}
			prog = append(prog, act(f.def))
			for _, action := range actions {
				labels[scLabel{arch: ai, filter: fi, onAction: true, action: action}] = len(prog)
				// Unless the best so far denies more.
				prog = append(prog, bpf.LoadScratch{Dst: bpf.RegA, N: bestRank},
					bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: scRank(action), SkipFalse: 4},
					bpf.LoadConstant{Dst: bpf.RegA, Val: action}, bpf.StoreScratch{Src: bpf.RegA, N: best},
					bpf.LoadConstant{Dst: bpf.RegA, Val: scRank(action)}, bpf.StoreScratch{Src: bpf.RegA, N: bestRank},
					scJump{next})
			}
			labels[next] = len(prog)
		}
		prog = append(prog, bpf.LoadScratch{Dst: bpf.RegA, N: best}, bpf.RetA{})
	}
	for i, in := range prog {
		if j, ok := in.(scJump); ok {
			prog[i] = bpf.Jump{Skip: uint32(labels[j.to] - i - 1)}
		}
	}
	return bpf.Assemble(prog)
}

// An scLabel is a place in a program: the block of an architecture
// (filter -1), the start of a filter's there (or, past the last, the
// end), or, with onAction, the block of one of its actions (which may
// be 0, SECCOMP_RET_KILL_THREAD).
type scLabel struct {
	arch, filter int
	onAction     bool
	action       uint32
}

// An scJump is a jump to a label, made a bpf.Jump once all are placed.
type scJump struct{ to scLabel }

func (j scJump) Assemble() (bpf.RawInstruction, error) {
	return bpf.RawInstruction{}, errors.New("service: a jump of a seccomp program not placed")
}

// scRank orders actions as the kernel does, the one that denies most
// lowest: by their action's bits (SECCOMP_RET_ACTION_FULL) read as
// signed, made unsigned for BPF's comparisons.
func scRank(action uint32) uint32 {
	return action&unix.SECCOMP_RET_ACTION_FULL ^ 1<<31
}

// condsCode is the code of the tests of a rule: each test jumps, when
// it fails, past the rest and the rule's action, to the reload of nr.
func condsCode(conds []scCond, argOff func(int) uint32) []bpf.Instruction {
	// Each test's length, to count the jumps.
	size := func(c scCond) int {
		switch c.op {
		case scMaskedEq, scNotEqBoth:
			return 3
		}
		return 2
	}
	total := 0
	for _, c := range conds {
		total += size(c)
	}
	var code []bpf.Instruction
	done := 0
	for _, c := range conds {
		done += size(c)
		// From the test's last instruction: the rest, the action.
		fail := uint8(total - done + 1)
		code = append(code, bpf.LoadAbsolute{Off: argOff(c.arg), Size: 4})
		switch c.op {
		case scEq:
			code = append(code, bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.val, SkipFalse: fail})
		case scBitsSet:
			code = append(code, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: c.val, SkipFalse: fail})
		case scGreater:
			code = append(code, bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: c.val, SkipFalse: fail})
		case scMaskedEq:
			code = append(code, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: c.mask}, bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.val, SkipFalse: fail})
		case scNotEqBoth:
			code = append(code, bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.val, SkipTrue: fail + 1},
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.mask, SkipTrue: fail})
		}
	}
	return code
}

// assembleSeccomp assembles the filters the settings of c ask for,
// for its helper: each a program of struct sock_filter, as the kernel
// takes it. The manager assembles them as the helper starts, which then
// only loads them (loadSeccomp), for a start held up the less. They are
// for the personality the command will have, Personality= or the
// manager's, which the helper inherits.
func assembleSeccomp(c Command) ([][]byte, *setupError) {
	x := c.Exec
	if x == nil || !seccompWanted(x) {
		return nil, nil
	}
	persona, _, _ := unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if x.Personality != "" {
		p, _ := unit.PersonalityOf(x.Personality)
		persona = uintptr(p)
	}
	raws, err := assembleAll(seccompFilters(x, uint32(persona)), filterArches(x))
	if err != nil {
		return nil, &setupError{statusSeccomp, "SECCOMP", "Failed to apply system call filters", errnoOf(err)}
	}
	var progs [][]byte
	for _, raw := range raws {
		b := make([]byte, 0, 8*len(raw))
		for _, in := range raw {
			b = binary.NativeEndian.AppendUint16(b, in.Op)
			b = append(b, in.Jt, in.Jf)
			b = binary.NativeEndian.AppendUint32(b, in.K)
		}
		progs = append(progs, b)
	}
	return progs, nil
}

// assembleAll makes as few programs of the filters as the kernel's
// limit of a program's length (BPF_MAXINSNS) allows: each of a run of
// them, in their order, which the kernel then takes as it would each.
func assembleAll(fs []scFilter, arches []*arch.Info) ([][]bpf.RawInstruction, error) {
	var progs [][]bpf.RawInstruction
	for len(fs) > 0 {
		n := len(fs)
		raw, err := assemble(fs[:n], arches)
		for err == nil && len(raw) > bpfMaxInsns && n > 1 {
			n--
			raw, err = assemble(fs[:n], arches)
		}
		if err != nil {
			return nil, err
		}
		progs = append(progs, raw)
		fs = fs[n:]
	}
	return progs, nil
}

// bpfMaxInsns is the kernel's limit of a program's length.
const bpfMaxInsns = 4096

// loadSeccomp loads the filters assembled, as seccomp_load with the
// flags systemd gives none of.
func loadSeccomp(progs [][]byte) *setupError {
	for _, b := range progs {
		prog := unix.SockFprog{Len: uint16(len(b) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&b[0]))}
		_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog)))
		runtime.KeepAlive(b)
		if e != 0 {
			return &setupError{statusSeccomp, "SECCOMP", "Failed to apply system call filters", e}
		}
	}
	return nil
}

// ioURingRefused makes io_uring_setup() fail as on a kernel without
// io_uring, for a program to do without it.
var ioURingRefused = scRule{name: "io_uring_setup", action: errnoAction(unix.ENOSYS)}

// shmExec is SHM_EXEC of shmat(); ipcShmat the call of ipc() that is
// shmat(), SHMAT of linux/ipc.h (ipc() takes a version above it).
const (
	shmExec  = 0o100000
	ipcShmat = 21
)

// The calls of socketcall() that make sockets, SYS_SOCKET and
// SYS_SOCKETPAIR of linux/net.h.
const (
	sysSocket     = 1
	sysSocketpair = 8
)

// addressFamilyNumbers are the socket address families by name.
var addressFamilyNumbers = map[string]uint32{
	"AF_UNIX": unix.AF_UNIX, "AF_LOCAL": unix.AF_UNIX, "AF_FILE": unix.AF_UNIX, "AF_INET": unix.AF_INET, "AF_INET6": unix.AF_INET6,
	"AF_NETLINK": unix.AF_NETLINK, "AF_ROUTE": unix.AF_NETLINK, "AF_PACKET": unix.AF_PACKET, "AF_BLUETOOTH": unix.AF_BLUETOOTH,
	"AF_ALG": unix.AF_ALG, "AF_APPLETALK": unix.AF_APPLETALK, "AF_ASH": unix.AF_ASH, "AF_ATMPVC": unix.AF_ATMPVC,
	"AF_ATMSVC": unix.AF_ATMSVC, "AF_AX25": unix.AF_AX25, "AF_BRIDGE": unix.AF_BRIDGE, "AF_CAIF": unix.AF_CAIF, "AF_CAN": unix.AF_CAN,
	"AF_DECnet": unix.AF_DECnet, "AF_ECONET": unix.AF_ECONET, "AF_IB": unix.AF_IB, "AF_IEEE802154": unix.AF_IEEE802154,
	"AF_IPX": unix.AF_IPX, "AF_IRDA": unix.AF_IRDA, "AF_ISDN": unix.AF_ISDN, "AF_IUCV": unix.AF_IUCV, "AF_KCM": unix.AF_KCM,
	"AF_KEY": unix.AF_KEY, "AF_LLC": unix.AF_LLC, "AF_MCTP": unix.AF_MCTP, "AF_MPLS": unix.AF_MPLS, "AF_NETROM": unix.AF_NETROM,
	"AF_NFC": unix.AF_NFC, "AF_PHONET": unix.AF_PHONET, "AF_PPPOX": unix.AF_PPPOX, "AF_QIPCRTR": unix.AF_QIPCRTR, "AF_RDS": unix.AF_RDS,
	"AF_ROSE": unix.AF_ROSE, "AF_RXRPC": unix.AF_RXRPC, "AF_SECURITY": unix.AF_SECURITY, "AF_SMC": unix.AF_SMC, "AF_SNA": unix.AF_SNA,
	"AF_TIPC": unix.AF_TIPC, "AF_VSOCK": unix.AF_VSOCK, "AF_WANPIPE": unix.AF_WANPIPE, "AF_X25": unix.AF_X25, "AF_XDP": unix.AF_XDP,
	"AF_NETBEUI": unix.AF_NETBEUI,
}
