package condition

// cpuid runs the CPUID instruction.
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// hasCPUID is true where there is a CPUID instruction.
const hasCPUID = true
