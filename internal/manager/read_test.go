package manager

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
)

// TestJournalPriorities: a service's lines have the priority of
// SyslogLevel=, or of the "<N>" they begin with unless
// SyslogLevelPrefix=no; the manager's messages have the priorities,
// MESSAGE_IDs and fields systemd logs them with.
func TestJournalPriorities(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{
		"say.service":    "[Service]\nType=oneshot\nSyslogLevel=notice\nExecStart=/bin/sh -c 'echo plain; echo \"<3>bad\"; echo \"<03>padded\"; echo \"<8>kept\"; echo \"<2\" >&2'\n",
		"raw.service":    "[Service]\nType=oneshot\nSyslogLevelPrefix=no\nExecStart=/bin/echo <3>raw\n",
		"fail.service":   "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 3'\n",
		"pre.service":    "[Service]\nType=oneshot\nExecStartPre=/bin/sh -c 'kill -KILL $$$$'\nExecStart=/bin/true\n",
		"killed.service": "[Service]\nExecStart=/bin/sh -c 'kill -KILL $$$$'\n",
	})
	started := false
	s := runDaemon(t, dir, state, func(c *api.Client) bool {
		if !started {
			started = true
			c.Jobs(context.Background(), api.JobRequest{Verb: "start", Units: []string{"say.service", "raw.service", "fail.service", "killed.service", "pre.service"}})
		}
		for _, u := range []string{"say.service", "raw.service", "fail.service", "killed.service", "pre.service"} {
			if r, _ := c.Runs(context.Background(), u, 1); len(r) == 0 || r[0].State != "ended" {
				return false
			}
		}
		return true
	})
	got := map[string][]string{}
	for e, err := range s.Query(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got[e.Unit] = append(got[e.Unit], fmt.Sprintf("%d %s %s %q", e.Priority, e.MessageID, e.Message, e.Fields))
	}
	for unit, want := range map[string][]string{
		"say.service": {
			`6 ` + service.MessageUnitStarting + ` Starting say.service... "UNIT=say.service\nJOB_TYPE=start\n"`,
			`5  plain ""`, `3  bad ""`, `3  padded ""`, `5  <8>kept ""`, `5  <2 ""`,
			`6 ` + service.MessageUnitSuccess + ` say.service: Deactivated successfully. "UNIT=say.service\n"`,
			`6 ` + service.MessageUnitStarted + ` Finished say.service. "UNIT=say.service\nJOB_TYPE=start\nJOB_RESULT=done\n"`,
		},
		"raw.service": {`6  <3>raw ""`},
		"fail.service": {
			`5 ` + service.MessageUnitProcessExit + ` fail.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED "UNIT=fail.service\nEXIT_CODE=exited\nEXIT_STATUS=3\nCOMMAND=ExecStart\n"`,
			`4 ` + service.MessageUnitFailureResult + ` fail.service: Failed with result 'exit-code'. "UNIT=fail.service\nUNIT_RESULT=exit-code\n"`,
			`3 ` + service.MessageUnitFailed + ` Failed to start fail.service. "UNIT=fail.service\nJOB_TYPE=start\nJOB_RESULT=failed\n"`,
		},
		"pre.service": {
			`4 ` + service.MessageUnitProcessExit + ` pre.service: Control process exited, code=killed, status=9/KILL "UNIT=pre.service\nEXIT_CODE=killed\nEXIT_STATUS=9\nCOMMAND=ExecStartPre\n"`,
		},
		"killed.service": {
			`4 ` + service.MessageUnitProcessExit + ` killed.service: Main process exited, code=killed, status=9/KILL "UNIT=killed.service\nEXIT_CODE=killed\nEXIT_STATUS=9\nCOMMAND=ExecStart\n"`,
		},
	} {
		for _, w := range want {
			if !slices.Contains(got[unit], w) {
				t.Errorf("%s: no entry %s in\n  %s", unit, w, strings.Join(got[unit], "\n  "))
			}
		}
	}
}

// TestResourcesPriority: the CPU time a unit consumed is told as
// unit_log_resources tells it.
func TestResourcesPriority(t *testing.T) {
	for _, tc := range []struct {
		cpu  time.Duration
		want int
	}{{time.Second, 7}, {time.Second + 1, 6}, {10 * time.Minute, 6}, {10*time.Minute + 1, 5}} {
		if got := resourcesPriority(tc.cpu); got != tc.want {
			t.Errorf("resourcesPriority(%v) = %d, want %d", tc.cpu, got, tc.want)
		}
	}
}
