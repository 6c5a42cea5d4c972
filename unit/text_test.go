package unit

import (
	"slices"
	"testing"
)

func TestParseText(t *testing.T) {
	u, err := ParseText("t.service", "[Service]\nExecStart=/bin/true\nRestart=sometimes\nKillSignal=SIGFOO\n", UserScope)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, d := range u.Diagnostics {
		if d.Severity >= Warning {
			lines = append(lines, d.Pos.Line)
		}
	}
	if u.LoadState != Loaded || !slices.Equal(lines, []int{3, 4}) || u.Service.Restart != "no" {
		t.Errorf("%v %v %q", u.LoadState, u.Diagnostics, u.Service.Restart)
	}
	if SettingParser("Service", "ExecStart") != "exec" || SettingParser("Timer", "ExecStart") != "" {
		t.Error("SettingParser")
	}
}
