package service

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sundial.dev/sundial/unit"
)

// resourceControllers are the controllers each resource setting needs,
// as cgroup_context_get_mask in core/cgroup.c tells them.
var resourceControllers = map[string]string{
	"MemoryMax": "memory", "MemoryHigh": "memory",
	"CPUQuota": "cpu", "CPUWeight": "cpu",
	"TasksMax": "pids",
	"IOWeight": "io",
}

// resourceUnhonoured returns why the resource setting cannot be
// honoured where the manager runs, or "": it needs a cgroup v2
// hierarchy the manager may write to, with the setting's controller
// there for its services' groups.
func resourceUnhonoured(key string) string {
	controller, ok := resourceControllers[key]
	if !ok {
		return ""
	}
	mount := cgroupMount()
	if mount == "" {
		return "there is no cgroup v2 hierarchy"
	}
	dir := mount
	if os.Geteuid() != 0 {
		own := delegatedCGroup()
		if dir = filepath.Join(mount, own); own == "" || unix.Access(dir, unix.W_OK) != nil {
			return "no cgroup v2 hierarchy is delegated to the manager"
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if !slices.Contains(strings.Fields(string(b)), controller) {
		return "the " + controller + " controller is not available in the cgroup v2 hierarchy"
	}
	return ""
}

// A cgroupAttr is a file of a control group to write, and what.
type cgroupAttr struct{ file, value string }

// resourceAttrs are the files a service's group is given for its
// resource settings, as cgroup_context_apply writes them: memory.max
// and memory.high, cpu.max (the quota per period of 100 ms) and
// cpu.weight (cpu.idle for CPUWeight=idle), pids.max and io.weight.
// Settings not honoured are left out; memory is the
// machine's, for limits given as a share of it.
func resourceAttrs(x *unit.Confinement, memory uint64, honoured func(key string) bool) []cgroupAttr {
	var out []cgroupAttr
	for _, key := range []string{"MemoryHigh", "MemoryMax"} {
		l, ok := x.Memory[key]
		if !ok || !honoured(key) {
			continue
		}
		v := "max"
		switch {
		case l.Permyriad > 0:
			v = strconv.FormatUint(memory/10000*uint64(l.Permyriad)+memory%10000*uint64(l.Permyriad)/10000, 10)
		case l.Bytes != unit.CGroupLimitMax:
			v = strconv.FormatUint(l.Bytes, 10)
		}
		out = append(out, cgroupAttr{"memory." + strings.ToLower(strings.TrimPrefix(key, "Memory")), v})
	}
	if x.CPUQuota > 0 && honoured("CPUQuota") {
		// CPUQuota= is in ten-thousandths of a CPU; cpu.max in µs per
		// period, at least 1 ms, as cgroup_apply_unified_cpu_quota.
		const period = 100000
		quota := max(uint64(x.CPUQuota)*period/10000, 1000)
		out = append(out, cgroupAttr{"cpu.max", fmt.Sprintf("%d %d", quota, period)})
	}
	if w, ok := x.Weights["CPUWeight"]; ok && honoured("CPUWeight") {
		if w == 0 {
			out = append(out, cgroupAttr{"cpu.idle", "1"})
		} else {
			out = append(out, cgroupAttr{"cpu.weight", strconv.FormatUint(w, 10)})
		}
	}
	if x.TasksMaxSet && honoured("TasksMax") {
		n := x.TasksMax.Value
		if x.TasksMax.Scale > 0 {
			n = pidMax() * x.TasksMax.Value / x.TasksMax.Scale
		}
		out = append(out, cgroupAttr{"pids.max", strconv.FormatUint(n, 10)})
	}
	if w, ok := x.Weights["IOWeight"]; ok && honoured("IOWeight") {
		out = append(out, cgroupAttr{"io.weight", "default " + strconv.FormatUint(w, 10)})
	}
	return out
}

// pidMax is the system's maximum of tasks, as TasksMax= shares of it
// are of (system_tasks_max).
func pidMax() uint64 {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || perr != nil {
		return 4194304
	}
	return n
}

// physicalMemory is the machine's memory, in bytes.
func physicalMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// enableControllers turns on, in each group from the hierarchy's root
// down to the one that holds the service's, the controllers its
// attributes need, as unit_realize_cgroup does through
// cg_enable_everywhere.
func enableControllers(dir string, attrs []cgroupAttr) error {
	var want []string
	for _, a := range attrs {
		c, _, _ := strings.Cut(a.file, ".")
		if !slices.Contains(want, "+"+c) {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return nil
	}
	mount := cgroupMount()
	rel, err := filepath.Rel(mount, filepath.Dir(dir))
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s is not in the cgroup v2 hierarchy at %s", dir, mount)
	}
	parent := mount
	for _, step := range append([]string{""}, strings.Split(rel, "/")...) {
		if step == "." {
			continue
		}
		parent = filepath.Join(parent, step)
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte(strings.Join(want, " ")), 0); err != nil {
			return fmt.Errorf("enabling %s in %s: %w", strings.Join(want, " "), parent, err)
		}
	}
	return nil
}

// applyResources gives the group its resource settings; it reports
// each that fails in systemd's words.
func applyResources(dir string, x *unit.Confinement, warn func(string)) {
	name := "/" + strings.TrimPrefix(strings.TrimPrefix(dir, cgroupMount()), "/")
	attrs := resourceAttrs(x, physicalMemory(), func(key string) bool { return resourceUnhonoured(key) == "" })
	if err := enableControllers(dir, attrs); err != nil {
		warn(fmt.Sprintf("Failed to enable controllers on cgroup %s, ignoring: %v", name, err))
	}
	for _, a := range attrs {
		if err := os.WriteFile(filepath.Join(dir, a.file), []byte(a.value), 0); err != nil {
			warn(fmt.Sprintf("Failed to set '%s' attribute on '%s' to '%s': %s", a.file, name, a.value, ErrnoText(err)))
		}
	}
}
