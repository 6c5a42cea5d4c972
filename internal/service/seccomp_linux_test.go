package service

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// scData is the struct seccomp_data of a call, laid out for bpf.VM,
// which reads words big-endian: each word where the kernel has it.
func scData(a *arch.Info, nr uint32, args [6]uint32) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], uint32(a.ID))
	off := 16
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		off += 4
	}
	for i, v := range args {
		binary.BigEndian.PutUint32(b[off+8*i:], v)
	}
	return b
}

// eval is what a filter does with a call, read from its rules: the
// first that holds, or its default.
func (f scFilter) eval(arches []*arch.Info, a *arch.Info, nr uint32, args [6]uint32) uint32 {
	if !slices.Contains(arches, a) {
		return unix.SECCOMP_RET_KILL_PROCESS
	}
	if a == arch.X86_64 && nr >= uint32(arch.X32.SeccompMask) {
		return errnoAction(unix.ENOSYS)
	}
	for _, r := range f.rules {
		if n, ok := a.SyscallNames[r.name]; !ok || uint32(n) != nr || r.only != nil && r.only != a {
			continue
		}
		holds := true
		for _, c := range r.conds {
			v := args[c.arg]
			switch c.op {
			case scEq:
				holds = holds && v == c.val
			case scBitsSet:
				holds = holds && v&c.val != 0
			case scMaskedEq:
				holds = holds && v&c.mask == c.val
			case scGreater:
				holds = holds && v > c.val
			case scNotEqBoth:
				holds = holds && v != c.val && v != c.mask
			}
		}
		if holds {
			return r.action
		}
	}
	return f.def
}

// kernelTakes is the action the kernel takes of those of filters, in
// the order they were loaded, as seccomp_run_filters: the one that
// denies most, of equals the last loaded's.
func kernelTakes(actions []uint32) uint32 {
	ret := uint32(unix.SECCOMP_RET_ALLOW)
	for _, a := range slices.Backward(actions) {
		if int32(a&unix.SECCOMP_RET_ACTION_FULL) < int32(ret&unix.SECCOMP_RET_ACTION_FULL) {
			ret = a
		}
	}
	return ret
}

func runProgram(t *testing.T, vm *bpf.VM, data []byte) uint32 {
	t.Helper()
	n, err := vm.Run(data)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

func newVM(t *testing.T, raw []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("a program that does not disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// TestSeccompMerged: the programs assembled of a unit's filters act,
// taken together as the kernel takes them, as the filters loaded one
// by one: for every call of each architecture, and of one not
// allowed, with the arguments the rules test for, the action is the
// rules' own and the separate programs'.
func TestSeccompMerged(t *testing.T) {
	native, err := arch.GetInfo("")
	if err != nil {
		t.Skip(err)
	}
	foreign := arch.AARCH64
	if native == arch.AARCH64 {
		foreign = arch.X86_64
	}
	for _, tc := range []struct{ name, text string }{
		{"fully confined", fullyConfined},
		{"the same calls denied twice", "ProtectClock=yes\nSystemCallFilter=~@clock mkdir:EROFS\nSystemCallErrorNumber=EACCES\n" +
			"RestrictRealtime=yes\nMemoryDenyWriteExecute=yes\nLockPersonality=yes\nRestrictNamespaces=net ipc\n" +
			"RestrictAddressFamilies=~AF_INET6\nRestrictSUIDSGID=yes\nPrivateDevices=yes\nProtectKernelModules=yes\nProtectKernelLogs=yes\nProtectHostname=yes"},
		{"allowed, and killed", "SystemCallFilter=@system-service\nSystemCallFilter=~settimeofday:kill\nProtectClock=yes\nRestrictAddressFamilies=AF_UNIX AF_INET"},
		{"architectures only", "SystemCallArchitectures=native"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &loadService(t, "ExecStart=/bin/true\n"+tc.text).Confinement
			fs := seccompFilters(x, 0)
			arches := filterArches(x)
			merged, err := assembleAll(fs, arches)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d filters in %d programs", len(fs), len(merged))
			if len(fs) > 1 && len(merged) >= len(fs) {
				t.Errorf("%d filters not merged: %d programs", len(fs), len(merged))
			}
			var mergedVMs, separate []*bpf.VM
			for _, raw := range merged {
				mergedVMs = append(mergedVMs, newVM(t, raw))
			}
			for _, f := range fs {
				raw, err := assemble([]scFilter{f}, arches)
				if err != nil {
					t.Fatal(err)
				}
				separate = append(separate, newVM(t, raw))
			}
			// The arguments the rules test for, and about them.
			argSets := [][6]uint32{{}}
			tested := map[string]bool{}
			for _, f := range fs {
				for _, r := range f.rules {
					for _, c := range r.conds {
						tested[r.name] = true
						for _, v := range []uint32{c.val, c.val | c.mask, c.val + 1, c.val - 1, c.mask, ^c.val, 0xffffffff} {
							argSets = append(argSets, [6]uint32{v, v, v, v, v, v})
						}
					}
				}
			}
			for _, a := range append(slices.Clone(arches), foreign) {
				nrs := []uint32{uint32(arch.X32.SeccompMask) | 1, 9999}
				names := map[uint32]string{}
				for name, nr := range a.SyscallNames {
					nrs = append(nrs, uint32(nr))
					names[uint32(nr)] = name
				}
				for _, nr := range nrs {
					sets := argSets[:1]
					if tested[names[nr]] {
						sets = argSets
					}
					for _, args := range sets {
						data := scData(a, nr, args)
						var byRules, bySeparate, byMerged []uint32
						for i, f := range fs {
							byRules = append(byRules, f.eval(arches, a, nr, args))
							bySeparate = append(bySeparate, runProgram(t, separate[i], data))
						}
						for _, vm := range mergedVMs {
							byMerged = append(byMerged, runProgram(t, vm, data))
						}
						want, sep, got := kernelTakes(byRules), kernelTakes(bySeparate), kernelTakes(byMerged)
						if got != want || sep != want {
							t.Fatalf("%s %s(%d) %x: merged %#x, separate %#x, rules %#x (%x)", a.Name, names[nr], nr, args, got, sep, want, byRules)
						}
					}
				}
			}
		})
	}
}

// TestSeccompMergedRandom: filters of any rules and actions, made at
// random, act merged as they do loaded one by one, however many
// programs they take.
func TestSeccompMergedRandom(t *testing.T) {
	native, err := arch.GetInfo("")
	if err != nil {
		t.Skip(err)
	}
	arches := filterArches(&unit.Confinement{})
	names := []string{"read", "write", "openat", "socket", "personality", "mprotect", "clone", "setns", "unshare", "mmap"}
	vals := []uint32{0, 1, 2, 4, 6, 0x80000000, 0xffffffff}
	actions := []uint32{unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_KILL_PROCESS, unix.SECCOMP_RET_KILL_THREAD, unix.SECCOMP_RET_TRAP,
		unix.SECCOMP_RET_LOG, errnoAction(unix.EPERM), errnoAction(unix.EACCES), unix.SECCOMP_RET_TRACE | 7}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []uint32) uint32 { return s[rng.IntN(len(s))] }
	for round := range 300 {
		// Every tenth round, filters too long for one program.
		rules := 1 + rng.IntN(6)
		if round%10 == 9 {
			rules = 150
		}
		var fs []scFilter
		for range 1 + rng.IntN(8) {
			f := scFilter{def: pick(actions)}
			for range rng.IntN(rules) {
				r := scRule{name: names[rng.IntN(len(names))], action: pick(actions)}
				for range rng.IntN(3) {
					r.conds = append(r.conds, scCond{arg: rng.IntN(6), op: scOp(rng.IntN(5)), mask: pick(vals), val: pick(vals)})
				}
				f.rules = append(f.rules, r)
			}
			fs = append(fs, f)
		}
		raws, err := assembleAll(fs, arches)
		if err != nil {
			t.Fatal(err)
		}
		var vms []*bpf.VM
		for _, raw := range raws {
			if len(raw) > bpfMaxInsns {
				t.Fatalf("round %d: a program of %d instructions", round, len(raw))
			}
			vms = append(vms, newVM(t, raw))
		}
		for range 200 {
			a := arches[rng.IntN(len(arches))]
			nr := uint32(a.SyscallNames[names[rng.IntN(len(names))]])
			if a == native && rng.IntN(20) == 0 {
				nr |= uint32(arch.X32.SeccompMask)
			}
			var args [6]uint32
			for i := range args {
				args[i] = pick(vals)
			}
			data := scData(a, nr, args)
			var byRules, byMerged []uint32
			for _, f := range fs {
				byRules = append(byRules, f.eval(arches, a, nr, args))
			}
			for _, vm := range vms {
				byMerged = append(byMerged, runProgram(t, vm, data))
			}
			if want, got := kernelTakes(byRules), kernelTakes(byMerged); got != want {
				t.Fatalf("round %d: %s %d %x: merged %#x, rules %#x (%x)", round, a.Name, nr, args, got, want, byRules)
			}
		}
	}
}

// TestSeccompCalls: what the programs of a unit's settings do with a
// call, of the native architecture, and its arguments.
func TestSeccompCalls(t *testing.T) {
	native, err := arch.GetInfo("")
	if err != nil {
		t.Skip(err)
	}
	eperm := errnoAction(unix.EPERM)
	for _, tc := range []struct {
		name, text, call string
		args             [6]uint32
		want             uint32
	}{
		{"setns of a namespace allowed", "RestrictNamespaces=uts", "setns", [6]uint32{3, unix.CLONE_NEWUTS}, unix.SECCOMP_RET_ALLOW},
		{"setns of any", "RestrictNamespaces=uts", "setns", [6]uint32{3, 0}, eperm},
		{"setns of one denied", "RestrictNamespaces=uts", "setns", [6]uint32{3, unix.CLONE_NEWNET}, eperm},
		// A pidfd's namespaces are entered several at once.
		{"setns of one denied with one allowed", "RestrictNamespaces=uts", "setns", [6]uint32{3, unix.CLONE_NEWNET | unix.CLONE_NEWUTS}, eperm},
		{"unshare of one denied with one allowed", "RestrictNamespaces=uts", "unshare", [6]uint32{unix.CLONE_NEWNET | unix.CLONE_NEWUTS}, eperm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &loadService(t, "ExecStart=/bin/true\n"+tc.text).Confinement
			raws, err := assembleAll(seccompFilters(x, 0), filterArches(x))
			if err != nil {
				t.Fatal(err)
			}
			nr, ok := native.SyscallNames[tc.call]
			if !ok {
				t.Fatalf("no %s on %s", tc.call, native.Name)
			}
			var actions []uint32
			for _, raw := range raws {
				actions = append(actions, runProgram(t, newVM(t, raw), scData(native, uint32(nr), tc.args)))
			}
			if got := kernelTakes(actions); got != tc.want {
				t.Errorf("%s(%x): %#x, want %#x", tc.call, tc.args, got, tc.want)
			}
		})
	}
}
