package service

import (
	"fmt"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestIgnoreSIGPIPE starts commands with SIGPIPE ignored, as
// IgnoreSIGPIPE=yes (the default) has exec_child do, or with its default
// action, whether the manager ignores SIGPIPE or not, and whether the
// command is started directly or by the helper (Nice=).
func TestIgnoreSIGPIPE(t *testing.T) {
	for _, managerIgnores := range []bool{false, true} {
		for _, tc := range []struct {
			settings string
			ignored  bool
		}{
			{"", true},
			{"IgnoreSIGPIPE=yes", true},
			{"IgnoreSIGPIPE=no", false},
			{"Nice=1", true},
			{"Nice=1\nIgnoreSIGPIPE=no", false},
		} {
			t.Run(fmt.Sprintf("manager ignores %v, %q", managerIgnores, tc.settings), func(t *testing.T) {
				if managerIgnores {
					signal.Ignore(syscall.SIGPIPE)
					t.Cleanup(func() { signal.Reset(syscall.SIGPIPE) })
				}
				tr := &trace{}
				r := Begin(tr.spec(loadService(t, "Type=oneshot\nExecStart=/bin/grep ^SigIgn: /proc/self/status\n"+tc.settings)))
				if out := r.Wait(); out.Result != Success {
					t.Fatalf("result %s: %v", out.Result, tr.logs)
				}
				tr.mu.Lock()
				defer tr.mu.Unlock()
				if len(tr.lines) != 1 {
					t.Fatalf("output: %q", tr.lines)
				}
				mask, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(tr.lines[0], "SigIgn:")), 16, 64)
				if err != nil {
					t.Fatal(err)
				}
				if got := mask&(1<<(syscall.SIGPIPE-1)) != 0; got != tc.ignored {
					t.Errorf("SIGPIPE ignored: %v, want %v (SigIgn %x)", got, tc.ignored, mask)
				}
			})
		}
	}
}
