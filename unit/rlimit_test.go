package unit

import "testing"

// rlimitTests were confirmed with systemd-analyze verify's dump of the
// loaded unit.
var rlimitTests = []struct {
	key, value string
	want       Rlimit
}{
	{"LimitCPU", "1.5s:1min", Rlimit{2, 60}}, // seconds, rounded up
	{"LimitFSIZE", "1G 512M", Rlimit{1610612736, 1610612736}},
	{"LimitNOFILE", "0x10:0o20", Rlimit{16, 16}},
	{"LimitNICE", "+5", Rlimit{15, 15}},
	{"LimitRTTIME", "1.5", Rlimit{1, 1}}, // microseconds
	{"LimitAS", "1.5K:infinity", Rlimit{1536, RlimitInfinity}},
	{"LimitDATA", "10.M", Rlimit{10485760, 10485760}},
	{"LimitSTACK", "1E 17B", Rlimit{1152921504606846993, 1152921504606846993}},
	{"LimitCORE", " 7 K", Rlimit{7168, 7168}},
}

func TestRlimit(t *testing.T) {
	for _, tt := range rlimitTests {
		u := loadText(t, "r.service", "[Service]\nExecStart=/bin/true\n"+tt.key+"="+tt.value+"\n")
		if len(u.Diagnostics) > 0 {
			t.Errorf("%s=%s: %v", tt.key, tt.value, u.Diagnostics)
		}
		if got := u.Service.Limits[tt.key[len("Limit"):]]; got != tt.want {
			t.Errorf("%s=%s: %+v, want %+v", tt.key, tt.value, got, tt.want)
		}
	}
}

// rlimitErrors are values systemd refuses, with the message it gives.
var rlimitErrors = []struct{ key, value, msg string }{
	{"LimitNOFILE", "5:3", "Soft resource limit chosen higher than hard limit, ignoring: 5:3"},
	{"LimitNOFILE", "1:2:3", "Failed to parse resource value, ignoring: 1:2:3"},
	{"LimitNOFILE", "18446744073709551615", "Failed to parse resource value, ignoring: 18446744073709551615"},
	{"LimitNICE", "-21", "Failed to parse resource value, ignoring: -21"},
	{"LimitNICE", "infinity", "Failed to parse resource value, ignoring: infinity"},
	{"LimitAS", "1K 1G", "Failed to parse resource value, ignoring: 1K 1G"},
	{"LimitCPU", "", "Failed to parse resource value, ignoring: "},
}

func TestRlimitErrors(t *testing.T) {
	for _, tt := range rlimitErrors {
		u := loadText(t, "r.service", "[Service]\nExecStart=/bin/true\n"+tt.key+"="+tt.value+"\n")
		if len(u.Diagnostics) != 1 || u.Diagnostics[0].Msg != tt.msg {
			t.Errorf("%s=%s: %v, want %q", tt.key, tt.value, u.Diagnostics, tt.msg)
		}
	}
}
