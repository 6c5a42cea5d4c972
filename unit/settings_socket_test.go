package unit

import (
	"fmt"
	"slices"
	"testing"
)

// TestSocketSettings254 checks the messages of sockets' settings where
// systemd 254, whose parsers these are, differs from 252, the oracle of
// TestVerifyOracleSettings: settings 252 lacks, values it reads
// otherwise, and what verify there does not show.
func TestSocketSettings254(t *testing.T) {
	for _, tt := range []struct {
		name, section, lines string
		diags                []string
	}{
		// 252 takes VMADDR_PORT_ANY for a port.
		{"a.socket", "Socket", "ListenStream=vsock:2:4294967295\nListenStream=vsock:2:4294967294", []string{
			"1: Failed to parse address value in 'vsock:2:4294967295', ignoring: Invalid argument"}},
		// Units below /etc are told of /var/run.
		{"a.socket", "Socket", "ListenFIFO=/var/run/f\nListenStream=/var/run/s\nListenSpecial=/var/run/x", []string{
			"1: ListenFIFO= references a path below legacy directory /var/run/, updating /var/run/f → /run/f; please update the unit file accordingly.",
			"2: ListenStream= references a path below legacy directory /var/run/, updating /var/run/s → /run/s; please update the unit file accordingly."}},
		// 252 has no DelegateSubgroup=.
		{"a.socket", "Socket", "DelegateSubgroup=x", []string{"1: DelegateSubgroup= setting not supported for this unit type, ignoring."}},
		// verify --recursive-errors=no does not look at the units named.
		{"a.service", "Service", "ExecStart=/bin/true\nSockets=@.socket a@.socket ok.socket", []string{
			"2: Failed to add dependency on @.socket, ignoring: Invalid argument",
			"2: Failed to add dependency on @.socket, ignoring: Invalid argument"}},
	} {
		u := loadText(t, tt.name, "["+tt.section+"]\nExecStartPre=/bin/true\n"+tt.lines+"\n")
		var diags []string
		for _, d := range u.Diagnostics {
			diags = append(diags, fmt.Sprintf("%d: %s", d.Pos.Line-2, d.Msg))
		}
		if !slices.Equal(diags, tt.diags) {
			t.Errorf("%s %q: diagnostics %q, want %q", tt.name, tt.lines, diags, tt.diags)
		}
	}
}
