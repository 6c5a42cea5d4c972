package condition

import (
	"os/exec"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/oracle"
)

// TestOracleDetectVirt compares what the machine is found to run in with
// systemd-detect-virt: the container, the virtual machine, and both.
func TestOracleDetectVirt(t *testing.T) {
	tool := oracle.Tool(t, "systemd-detect-virt")
	for _, c := range []struct {
		flag string
		ours string
	}{{"--container", detectContainer()}, {"--vm", detectVM()}, {"", detectVirtualization()}} {
		args := []string{}
		if c.flag != "" {
			args = append(args, c.flag)
		}
		out, _ := exec.Command(tool, args...).Output() // exits 1 for "none"
		if want := strings.TrimSpace(string(out)); want != c.ours {
			t.Errorf("systemd-detect-virt %s: %q, ours %q", c.flag, want, c.ours)
		}
	}
}
