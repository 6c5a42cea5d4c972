//go:build !amd64

package condition

// cpuid stands for the instruction where there is none: systemd's
// has_cpu_with_flag assumes no flags off x86, and its detect_vm finds no
// hypervisor by CPUID.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32) { return 0, 0, 0, 0 }

const hasCPUID = false
