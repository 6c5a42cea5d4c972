package condition

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// containers are the names detect_container knows; others are
// "container-other".
var containers = map[string]bool{
	"lxc": true, "lxc-libvirt": true, "systemd-nspawn": true, "docker": true,
	"podman": true, "rkt": true, "wsl": true, "proot": true, "pouch": true,
}

// detectContainer is detect_container: the container manager this runs
// under, in systemd's names, or "none". It is read once, as systemd
// caches it.
var detectContainer = sync.OnceValue(func() string {
	if exists("/proc/vz") && !exists("/proc/bc") {
		return "openvz"
	}
	if o, err := readLine("/proc/sys/kernel/osrelease"); err == nil && (strings.Contains(o, "Microsoft") || strings.Contains(o, "WSL")) {
		return "wsl"
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.SplitSeq(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
				if v = strings.TrimSpace(v); v != "0" {
					if comm, err := readLine("/proc/" + v + "/comm"); err == nil && strings.HasPrefix(comm, "proot") {
						return "proot"
					}
				}
			}
		}
	}
	if m, err := readLine("/run/host/container-manager"); err == nil && m != "" {
		return containerName(m)
	}
	if os.Getpid() == 1 {
		if e, ok := os.LookupEnv("container"); ok {
			if e == "" {
				return "none"
			}
			return containerName(e)
		}
	} else {
		if m, err := readLine("/run/systemd/container"); err == nil && m != "" {
			return containerName(m)
		}
		if env, err := os.ReadFile("/proc/1/environ"); err == nil {
			for kv := range strings.SplitSeq(string(env), "\x00") {
				if v, ok := strings.CutPrefix(kv, "container="); ok && v != "" {
					return containerName(v)
				}
			}
		}
	}
	if c := containerFiles(); c != "none" {
		return c
	}
	if runningInCgroupNS() {
		return "container-other"
	}
	return "none"
})

// containerFiles is detect_container_files.
func containerFiles() string {
	switch {
	case exists("/run/.containerenv"):
		return "podman"
	case exists("/.dockerenv"):
		return "docker"
	}
	return "none"
}

// containerName is detect_container's translate_name.
func containerName(e string) string {
	if e == "oci" {
		if c := containerFiles(); c != "none" {
			return c
		}
		return "container-other"
	}
	if containers[e] {
		return e
	}
	return "container-other"
}

// runningInCgroupNS is running_in_cgroupns.
func runningInCgroupNS() bool {
	if !exists("/proc/self/ns/cgroup") {
		return false
	}
	unified, err := cgroupUnified()
	if err != nil {
		return false
	}
	if unified {
		if !exists("/sys/fs/cgroup/cgroup.events") {
			return false
		}
		return exists("/sys/fs/cgroup/cgroup.type") || !exists("/sys/kernel/cgroup/features")
	}
	return exists("/sys/fs/cgroup/systemd") && !exists("/sys/fs/cgroup/systemd/release_agent")
}

// hypervisors are the vendors of CPUID leaf 0x40000000, as detect_vm_cpuid
// names them.
var hypervisors = map[string]string{
	"XenVMMXenVMM": "xen", "KVMKVMKVM": "kvm", "Linux KVM Hv": "kvm",
	"TCGTCGTCGTCG": "qemu", "VMwareVMware": "vmware", "Microsoft Hv": "microsoft",
	"bhyve bhyve ": "bhyve", "QNXQVMBSQG": "qnx", "ACRNACRNACRN": "acrn",
	"SRESRESRESRE": "sre", "Apple VZ": "apple",
}

// dmiVendors are the vendors of detect_vm_dmi_vendor, by prefix.
var dmiVendors = []struct{ prefix, id string }{
	{"KVM", "kvm"}, {"OpenStack", "kvm"}, {"KubeVirt", "kvm"}, {"Amazon EC2", "amazon"},
	{"QEMU", "qemu"}, {"VMware", "vmware"}, {"VMW", "vmware"}, {"innotek GmbH", "oracle"},
	{"VirtualBox", "oracle"}, {"Xen", "xen"}, {"Bochs", "bochs"}, {"Parallels", "parallels"},
	{"BHYVE", "bhyve"}, {"Hyper-V", "microsoft"}, {"Apple Virtualization", "apple"},
}

// detectVM is a reduced detect_vm, in its order: DMI for the hypervisors
// that also use KVM, User Mode Linux, Xen (not its dom0), CPUID, DMI,
// the hypervisor node of sysfs, device trees of hypervisors.
func detectVM() string {
	dmi := dmiVendor()
	if dmi == "oracle" || dmi == "xen" || dmi == "amazon" || dmi == "parallels" {
		return dmi
	}
	if cpuinfo, err := os.ReadFile("/proc/cpuinfo"); err == nil && strings.Contains(string(cpuinfo), "\nvendor_id\t: User Mode Linux") {
		return "uml"
	}
	if exists("/proc/xen") && !xenDom0() {
		return "xen"
	}
	other := false
	if regs, ok := cpuidLeaf(1); ok && regs[1]&(1<<31) != 0 {
		_, b, c, d := cpuid(0x40000000, 0)
		var sig [12]byte
		binary.LittleEndian.PutUint32(sig[0:], b)
		binary.LittleEndian.PutUint32(sig[4:], c)
		binary.LittleEndian.PutUint32(sig[8:], d)
		// Compared as a C string.
		if id, ok := hypervisors[strings.TrimRight(string(sig[:]), "\x00")]; ok {
			return id
		}
		other = true
	}
	if dmi != "none" {
		return dmi
	}
	if t, err := readLine("/sys/hypervisor/type"); err == nil {
		if t == "xen" {
			return "xen"
		}
		return "vm-other"
	}
	if exists("/proc/device-tree/hypervisor/compatible") {
		return "vm-other"
	}
	if other {
		return "vm-other"
	}
	return "none"
}

// dmiVendor is detect_vm_dmi_vendor: the first of the DMI fields that
// names a hypervisor.
func dmiVendor() string {
	for _, f := range []string{"product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version"} {
		s, err := readLine("/sys/class/dmi/id/" + f)
		if err != nil {
			continue
		}
		for _, v := range dmiVendors {
			if strings.HasPrefix(s, v.prefix) {
				return v.id
			}
		}
	}
	return "none"
}

// xenDom0 is detect_vm_xen_dom0: Xen's control domain, which is no VM.
func xenDom0() bool {
	f, err := readLine("/sys/hypervisor/properties/features")
	if err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(f), 16, 64); err == nil {
			return n&(1<<11) != 0 // XENFEAT_dom0
		}
	}
	caps, err := readLine("/proc/xen/capabilities")
	return err == nil && strings.Contains(caps, "control_d")
}

// detectVirtualization is detect_virtualization: a container first, then
// a virtual machine.
var detectVirtualization = sync.OnceValue(func() string {
	if c := detectContainer(); c != "none" {
		return c
	}
	return detectVM()
})

// userNSMapping is userns_has_mapping: whether the map is not the full
// one of the initial namespace.
func userNSMapping(name string) (bool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		if errnoOf(err) == syscall.ENOENT {
			return false, nil
		}
		return false, errnoOf(err)
	}
	if len(b) == 0 {
		return true, nil
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return false, syscall.EINVAL
	}
	return !(f[0] == "0" && f[1] == "0" && f[2] == strconv.FormatUint(1<<32-1, 10)), nil
}

// runningInUserNS is running_in_userns.
func runningInUserNS() (bool, error) {
	for _, m := range []string{"/proc/self/uid_map", "/proc/self/gid_map"} {
		if r, err := userNSMapping(m); r || err != nil {
			return r, err
		}
	}
	line, err := readLine("/proc/self/setgroups")
	if err != nil {
		if err == syscall.ENOENT {
			return false, nil
		}
		return false, err
	}
	return line == "deny", nil
}

// isContainer is VIRTUALIZATION_IS_CONTAINER; any other virtualization
// is a VM.
func isContainer(v string) bool { return containers[v] || v == "openvz" || v == "container-other" }

// testVirtualization is condition_test_virtualization.
func testVirtualization(param string, _ []string) (bool, error) {
	if param == "private-users" {
		return runningInUserNS()
	}
	v := detectVirtualization()
	if b, err := parseBoolean(param); err == nil {
		return b == (v != "none"), nil
	}
	switch param {
	case "vm":
		return v != "none" && !isContainer(v), nil
	case "container":
		return isContainer(v), nil
	}
	return v != "none" && param == v, nil
}

// confidentialVM is a reduced detect_confidential_virtualization: Intel
// TDX, as its CPUID leaf names it.
func confidentialVM() bool {
	regs, ok := cpuidLeaf(0x21)
	if !ok {
		return false
	}
	var sig [12]byte
	binary.LittleEndian.PutUint32(sig[0:], regs[0])
	binary.LittleEndian.PutUint32(sig[4:], regs[2])
	binary.LittleEndian.PutUint32(sig[8:], regs[1])
	return string(sig[:]) == "IntelTDX    "
}
