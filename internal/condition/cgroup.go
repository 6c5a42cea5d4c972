package condition

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"sundial.dev/sundial/unit"
)

// A cgroup controller mask, as systemd's CGroupMask.
const (
	maskCPU = 1 << iota
	maskCPUAcct
	maskCPUSet
	maskIO
	maskBlkIO
	maskMemory
	maskDevices
	maskPids
	maskBPFFirewall
	maskBPFDevices
	maskBPFForeign
	maskBPFSocketBind
	maskBPFRestrictNetworkInterfaces

	// systemd uses cpuset on cgroup v2 only.
	maskV1 = maskCPU | maskCPUAcct | maskBlkIO | maskMemory | maskDevices | maskPids
	maskV2 = maskCPU | maskCPUSet | maskIO | maskMemory | maskPids
)

// controllers are cgroup_controller_table's names, in mask order.
var controllers = []string{"cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids",
	"bpf-firewall", "bpf-devices", "bpf-foreign", "bpf-socket-bind", "bpf-restrict-network-interfaces"}

// maskFromString is cg_mask_from_string: the controllers named, unknown
// names left out.
func maskFromString(s string) int {
	m := 0
	for _, w := range strings.Fields(s) {
		for i, c := range controllers {
			if w == c {
				m |= 1 << i
			}
		}
	}
	return m
}

// cgroupOf is cg_pid_get_path of systemd's hierarchy: the cgroup of a
// process ("self" or "1"), "" for the root.
func cgroupOf(pid string) (string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return "", errnoOf(err)
	}
	unified, err := cgroupUnified()
	if err != nil {
		return "", err
	}
	want := "name=systemd"
	if unified {
		want = ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		_, rest, _ := strings.Cut(line, ":")
		ctl, path, ok := strings.Cut(rest, ":")
		if ok && ctl == want {
			path = strings.TrimSuffix(path, "/init.scope")
			return strings.TrimSuffix(path, "/"), nil
		}
	}
	return "", errNoData
}

// cgroupRoot is cg_get_root_path: PID 1's cgroup, less its init.scope.
func cgroupRoot() string {
	root, _ := cgroupOf("1")
	root = strings.TrimSuffix(root, "/system.slice")
	return strings.TrimSuffix(root, "/system")
}

// maskSupported is cg_mask_supported: the controllers of the root cgroup
// on cgroup v2, those mounted on v1.
func maskSupported() (int, error) {
	unified, err := cgroupUnified()
	if err != nil {
		return 0, err
	}
	if unified {
		s, err := readLine("/sys/fs/cgroup" + cgroupRoot() + "/cgroup.controllers")
		if err != nil {
			return 0, err
		}
		return maskFromString(s) & maskV2, nil
	}
	m := 0
	for i, c := range controllers {
		if maskV1&(1<<i) != 0 && exists("/sys/fs/cgroup/"+c) {
			m |= 1 << i
		}
	}
	return m, nil
}

// testControlGroupController is condition_test_control_group_controller:
// "v1", "v2", or controllers all of which are available; names it does
// not know do not count, and none at all holds.
func testControlGroupController(param string, _ []string) (bool, error) {
	if param == "v1" || param == "v2" {
		unified, err := cgroupUnified()
		if err != nil {
			return false, err
		}
		return unified == (param == "v2"), nil
	}
	have, err := maskSupported()
	if err != nil {
		return false, err
	}
	want := maskFromString(param)
	if want == 0 {
		return true, nil
	}
	return have&want == want, nil
}

// splitTwo is extract_many_words with two words and flags 0: the first
// two words between separators sep.
func splitTwo(s string, sep byte) []string {
	var out []string
	for len(out) < 2 {
		s = strings.TrimLeft(s, string(sep))
		if s == "" {
			break
		}
		i := strings.IndexByte(s, sep)
		if i < 0 {
			i = len(s)
		}
		out = append(out, unescape(s[:i]))
		s = s[i:]
	}
	return out
}

// sliceToPath is cg_slice_to_path: "a-b.slice" is "a.slice/a-b.slice".
func sliceToPath(slice string) (string, error) {
	if slice == "-.slice" {
		return "", nil
	}
	prefix, ok := strings.CutSuffix(slice, ".slice")
	if !ok || !unit.ValidName(slice, unit.Plain) || prefix == "" || prefix[0] == '-' ||
		prefix[len(prefix)-1] == '-' || strings.Contains(prefix, "--") {
		return "", syscall.EINVAL
	}
	var parts []string
	for i := 0; i < len(prefix); i++ {
		if prefix[i] == '-' {
			parts = append(parts, prefix[:i]+".slice")
		}
	}
	return strings.Join(append(parts, slice), "/"), nil
}

// readPressure is read_resource_pressure: the averages of a line of a
// PSI file, in hundredths of a percent: avg10, avg60, avg300.
func readPressure(path, kind string) ([3]int, error) {
	var avg [3]int
	b, err := os.ReadFile(path)
	if err != nil {
		return avg, errnoOf(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, kind+" ")
		if !ok {
			continue
		}
		for i, key := range []string{"avg10=", "avg60=", "avg300="} {
			_, v, ok := strings.Cut(rest, key)
			if !ok {
				return avg, syscall.EINVAL
			}
			v, _, _ = strings.Cut(v, " ")
			whole, frac, _ := strings.Cut(v, ".")
			w, err1 := strconv.Atoi(whole)
			f, err2 := strconv.Atoi(frac)
			if err1 != nil || err2 != nil || f >= 100 {
				return avg, syscall.EINVAL
			}
			avg[i] = w*100 + f
		}
		return avg, nil
	}
	return avg, errNoData
}

// pressureSupported is is_pressure_supported.
func pressureSupported() bool {
	for _, r := range []string{"cpu", "io", "memory"} {
		if _, err := os.ReadFile("/proc/pressure/" + r); err != nil {
			return false
		}
	}
	return true
}

// testPressure is condition_test_psi for a resource: "[SLICE:]N%[/SPAN]",
// the average pressure over SPAN (10sec, 1min or 5min, the default) at
// most N, system-wide or in the slice. Without PSI, or without the
// slice's controller or cgroup, it holds.
func testPressure(resource string) func(string, []string) (bool, error) {
	return func(param string, _ []string) (bool, error) {
		if !pressureSupported() {
			return true, nil
		}
		words := splitTwo(param, ':')
		if len(words) == 0 {
			return false, syscall.EINVAL
		}
		kind, path, value := "full", "/proc/pressure/"+resource, words[0]
		if len(words) == 1 {
			if resource == "cpu" {
				kind = "some"
			}
		} else {
			// A slice's pressure is read on cgroup v2 only.
			unified, err := cgroupUnified()
			if err != nil {
				return false, err
			}
			if !unified {
				return true, nil
			}
			need := map[string]int{"memory": maskMemory, "cpu": maskCPU, "io": maskIO}[resource]
			have, err := maskSupported()
			if err != nil {
				return false, err
			}
			if have&need != need {
				return true, nil
			}
			slice, err := sliceToPath(strings.Trim(words[0], whitespace))
			if err != nil {
				return false, err
			}
			scope, err := cgroupOf("self")
			if err != nil {
				return false, err
			}
			if scope != "" {
				slice = strings.TrimSuffix(scope, "/") + "/" + slice
			}
			path = strings.TrimSuffix("/sys/fs/cgroup/"+strings.TrimPrefix(slice, "/"), "/") + "/" + resource + ".pressure"
			value = words[1]
		}
		parts := splitTwo(value, '/')
		if len(parts) == 0 {
			return false, syscall.EINVAL
		}
		span := 2
		if len(parts) == 2 {
			s := strings.TrimLeft(parts[1], whitespace)
			switch {
			case strings.HasPrefix(s, "10sec"):
				span = 0
			case strings.HasPrefix(s, "1min"):
				span = 1
			case strings.HasPrefix(s, "5min"):
				span = 2
			default:
				return false, syscall.EINVAL
			}
		}
		limit, err := unit.ParsePermyriad(strings.Trim(parts[0], whitespace))
		if err != nil {
			return false, err
		}
		avg, err := readPressure(path, kind)
		if err == errNoData && kind == "full" {
			avg, err = readPressure(path, "some")
		}
		if err == syscall.ENOENT {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return avg[span] <= limit, nil
	}
}
