package service

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResourceAttrs(t *testing.T) {
	all := func(string) bool { return true }
	for _, c := range []struct {
		text     string
		honoured func(string) bool
		want     []cgroupAttr
	}{
		{"MemoryMax=64M\nMemoryHigh=50%", all, []cgroupAttr{{"memory.high", "1000"}, {"memory.max", "67108864"}}},
		{"MemoryMax=infinity", all, []cgroupAttr{{"memory.max", "max"}}},
		{"CPUQuota=20%", all, []cgroupAttr{{"cpu.max", "20000 100000"}}},
		{"CPUQuota=0.5%", all, []cgroupAttr{{"cpu.max", "1000 100000"}}},
		{"CPUQuota=250%", all, []cgroupAttr{{"cpu.max", "250000 100000"}}},
		{"CPUWeight=500", all, []cgroupAttr{{"cpu.weight", "500"}}},
		{"CPUWeight=idle", all, []cgroupAttr{{"cpu.idle", "1"}}},
		{"TasksMax=32", all, []cgroupAttr{{"pids.max", "32"}}},
		{"IOWeight=20", all, []cgroupAttr{{"io.weight", "default 20"}}},
		{"MemoryMax=64M\nIOWeight=20", func(k string) bool { return k == "IOWeight" }, []cgroupAttr{{"io.weight", "default 20"}}},
		{"", all, nil},
	} {
		s := loadService(t, c.text+"\nExecStart=/bin/true")
		if got := resourceAttrs(&s.Confinement, 2000, c.honoured); !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.text, got, c.want)
		}
	}
}

// TestResourceUnhonoured: a resource setting is named as not honoured,
// with its reason, where its controller is not there for the manager's
// groups (as on a hybrid hierarchy, whose cgroup v2 part has none).
func TestResourceUnhonoured(t *testing.T) {
	if os.Geteuid() != 0 || cgroupMount() == "" {
		t.Skip("needs root and a cgroup v2 hierarchy")
	}
	b, err := os.ReadFile(filepath.Join(cgroupMount(), "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	have := strings.Fields(string(b))
	for key, controller := range map[string]string{"MemoryMax": "memory", "MemoryHigh": "memory", "CPUQuota": "cpu", "CPUWeight": "cpu", "TasksMax": "pids", "IOWeight": "io"} {
		want := "the " + controller + " controller is not available in the cgroup v2 hierarchy"
		if slices.Contains(have, controller) {
			want = ""
		}
		if got := Unhonoured(key); got != want {
			t.Errorf("Unhonoured(%s) = %q, want %q", key, got, want)
		}
	}
}

// TestCGroupResources runs a service with MemoryMax= and TasksMax=
// where the controllers are there: it finds its group's limits set.
func TestCGroupResources(t *testing.T) {
	root := testCGroupRoot(t)
	if Unhonoured("MemoryMax") != "" || Unhonoured("TasksMax") != "" {
		t.Skip("the memory and pids controllers are not available here")
	}
	text := "Type=oneshot\nMemoryMax=64M\nTasksMax=32\nExecStart=/bin/sh -c 'g=" + cgroupMount() + "$$(cut -d: -f3 /proc/self/cgroup); cat $$g/memory.max $$g/pids.max'"
	tr := &trace{}
	spec := tr.spec(loadService(t, text))
	spec.CGroup = filepath.Join(root, "x.service")
	Begin(spec).Wait()
	checkList(t, "output", tr.lines, []string{"67108864", "32"})
}
