package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/service"
)

// TestCGroupUsage reads the files of a control group, made up, and
// writes the Tasks: and Memory: lines as systemctl status does: each
// left out where its controller's files are not there.
func TestCGroupUsage(t *testing.T) {
	const unlimited = "memory.min=0 memory.low=0 memory.high=max memory.max=max memory.swap.max=max"
	for _, tc := range []struct{ name, files, want string }{
		{"no controllers", "", ""},
		{"pids only", "pids.current=3 pids.max=max", "      Tasks: 3\n"},
		{"no limits", "pids.current=3 pids.max=max memory.current=1572864 " + unlimited,
			"      Tasks: 3\n     Memory: 1.5M\n"},
		{"limits", "pids.current=12 pids.max=100 memory.current=1572864 memory.min=0 memory.low=0 memory.high=52428800 memory.max=104857600 memory.swap.max=max",
			"      Tasks: 12 (limit: 100)\n     Memory: 1.5M (high: 50.0M max: 100.0M available: 48.5M)\n"},
		{"over the limit", "memory.current=2097152 memory.min=0 memory.low=0 memory.high=max memory.max=1048576 memory.swap.max=0",
			"     Memory: 2.0M (max: 1.0M swap max: 0B available: 0B)\n"},
		{"protections", "memory.current=4096 memory.min=8192 memory.low=max memory.high=max memory.max=max memory.swap.max=max",
			"     Memory: 4.0K (min: 8.0K low: infinity)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range strings.Fields(tc.files) {
				name, value, _ := strings.Cut(f, "=")
				if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var b strings.Builder
			writeCGroupUsage(&b, service.ReadCGroupUsage(dir))
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
