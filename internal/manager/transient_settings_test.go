package manager

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// FuzzTransientFile writes a transient service of properties holding
// any text, and reads its file back with the unit loader: a unit the
// daemon does not refuse has exactly the settings sent, one line each,
// in their sections, with the values sent.
func FuzzTransientFile(f *testing.F) {
	f.Add("Once", "/tmp", "1", "/bin/echo", "hi", "a.service", uint8(0))
	f.Add("x\n[Service]\nExecStartPre=/bin/touch /tmp/pwned", "/tmp\nExecStartPre=/x", "a\nB=2", "/bin/true\n", "a\n[Service]\nExecStartPre=/x", "a.service\nb.service", uint8(1))
	f.Add("x\rExecStart=/x", "/a\r", "\r\n", "/bin/sh", "\r", "a.service\r", uint8(2))
	f.Add(`50% of %n and %%`, "/%h/x", "%n", "/bin/%n", "%", "%n.service", uint8(3))
	f.Add(`$HOME "quoted" 'single'`, `/a "b"`, `$X ${Y} "q" 'r'`, "/bin/e'x", `"$HOME" '\'`, "a'.service", uint8(4))
	f.Add(`ends with \`, `/a\`, `v\`, `/bin/x\`, `\`, `a\.service`, uint8(5))
	f.Add("#comment", ";semi", "#", "/#x", ";", "#a.service", uint8(6))
	f.Add("nul\x00byte", "/a\x00", "\x00", "/bin/\x00", "\x00", "a\x00.service", uint8(7))
	f.Add("\xff\xfe not UTF-8", "/\xff", "\xff", "/bin/\xff", "\xc3\x28", "\xff.service", uint8(8))
	f.Add("  padded  ", " /tmp ", "  ", "true", " ", " a.service ", uint8(9))
	f.Add("[Service]", "-/no/such/dir/../x", "A=B", "-x", "-", "@a.service", uint8(31))
	f.Fuzz(func(t *testing.T, desc, dir, env, path, arg, after string, flags uint8) {
		var fl []string
		for i, name := range []string{"ignore-failure", "no-env-expand", "privileged", "no-setuid", "ambient"} {
			if flags&(1<<i) != 0 {
				fl = append(fl, name)
			}
		}
		all := []api.Setting{
			setting("Unit", "Description", desc),
			setting("Unit", "After", after),
			{Section: "Unit", Key: "Documentation", List: []string{"https://example.com/" + arg, "man:sh(1)"}},
			{Section: "Unit", Key: "RequiresMountsFor", List: []string{dir, "/b"}},
			setting("Service", "WorkingDirectory", dir),
			{Section: "Service", Key: "Environment", List: []string{"A=" + env, "B=x"}},
			{Section: "Service", Key: "ExecStart", Value: path, List: []string{path, arg, "end"}, Flags: fl},
		}
		// Those the daemon takes, each alone: the others are refused
		// whatever comes with them.
		var sent []api.Setting
		has := map[string]bool{}
		for _, s := range all {
			if _, _, err := TransientFile(api.TransientUnit{Name: "f.service", Settings: []api.Setting{s}}, unit.UserScope); err == nil {
				sent = append(sent, s)
				has[s.Key] = true
			}
		}
		if !has["ExecStart"] {
			// A service has a command, or does not load.
			sent = append(sent, setting("Service", "RemainAfterExit", "yes"))
			sent = append(sent, api.Setting{Section: "Service", Key: "ExecStop", Value: "/bin/true", List: []string{"true"}})
		}
		text, _, err := TransientFile(api.TransientUnit{Name: "f.service", Settings: sent}, unit.UserScope)
		if err != nil {
			t.Fatalf("refused together what is taken alone: %v", err)
		}
		// One line to each setting, or to each item of a list of
		// Documentation= or RequiresMountsFor=, besides the sections'
		// headers.
		var want []string
		var keys [][2]string
		section := ""
		for _, s := range sent {
			if s.Section != section {
				if section != "" {
					want = append(want, "")
				}
				section = s.Section
				want = append(want, "["+section+"]")
			}
			n := 1
			if s.Key == "Documentation" || s.Key == "RequiresMountsFor" {
				n = max(len(s.List), 1)
			}
			for range n {
				want = append(want, s.Key+"=")
				keys = append(keys, [2]string{s.Section, s.Key})
			}
		}
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		if text == "" {
			lines = nil
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), text)
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, want[i]) || want[i] == "" && l != "" || strings.ContainsAny(l, "\r\x00") || strings.HasSuffix(l, `\`) {
				t.Fatalf("line %d is %q, want %q…:\n%s", i+1, l, want[i], text)
			}
		}

		l := unit.Loader{FS: fstest.MapFS{"u/f.service": {Data: []byte(transientHeader + text)}}, Path: []string{"/u"}}
		u, err := l.Load("f.service")
		if err != nil || u.LoadState != unit.Loaded {
			t.Fatalf("load: %v %v %v\n%s", err, u.LoadState, u.Diagnostics, text)
		}
		var got [][2]string
		for _, a := range u.Assignments {
			got = append(got, [2]string{a.Section, a.Key})
		}
		if !slices.Equal(got, keys) {
			t.Fatalf("settings read %v, want %v\n%s", got, keys, text)
		}
		for _, d := range u.Diagnostics {
			if d.Severity >= unit.Warning {
				t.Errorf("%s\n%s", d, text)
			}
		}

		// The values sent, as systemd reads them: white space around
		// them trimmed, a path simplified.
		if want := strings.Trim(desc, " "); has["Description"] && u.Unit.Description != want {
			t.Errorf("Description %q, want %q", u.Unit.Description, want)
		}
		if want := []string{"https://example.com/" + arg, "man:sh(1)"}; has["Documentation"] && !slices.Equal(u.Unit.Documentation, want) {
			t.Errorf("Documentation %q, want %q", u.Unit.Documentation, want)
		}
		var mounts []string
		for _, a := range u.Assignments {
			if a.Key == "RequiresMountsFor" {
				// Kept as written: the specifiers escaped.
				mounts = append(mounts, strings.ReplaceAll(a.Value, "%%", "%"))
			}
		}
		if want := []string{dir, "/b"}; has["RequiresMountsFor"] && !slices.Equal(mounts, want) {
			t.Errorf("RequiresMountsFor %q, want %q", mounts, want)
		}
		if a := u.Unit.Deps["After"]; has["After"] && (len(a) != 1 || a[0] != after) {
			t.Errorf("After %q, want %q", a, after)
		}
		s := u.Service
		wantDir, missingOK := strings.CutPrefix(strings.Trim(dir, " "), "-")
		if wantDir != "~" && wantDir != "" {
			wantDir = unit.SimplifyPath(wantDir)
		}
		if has["WorkingDirectory"] && (s.WorkingDirectory != wantDir || s.WorkingDirectoryMissingOK != missingOK) {
			t.Errorf("WorkingDirectory %q %v, want %q %v", s.WorkingDirectory, s.WorkingDirectoryMissingOK, wantDir, missingOK)
		}
		if want := []string{"A=" + env, "B=x"}; has["Environment"] && !slices.Equal(s.Environment, want) {
			t.Errorf("Environment %q, want %q", s.Environment, want)
		}
		if !has["ExecStart"] {
			return
		}
		if len(s.ExecStart) != 1 {
			t.Fatalf("ExecStart %+v", s.ExecStart)
		}
		c := s.ExecStart[0]
		wantPath := path
		if strings.HasPrefix(path, "/") {
			wantPath = unit.SimplifyPath(path)
		}
		var wantFlags unit.ExecFlags
		for i, f := range []unit.ExecFlags{unit.ExecIgnoreFailure, unit.ExecNoEnvExpand, unit.ExecFullyPrivileged, unit.ExecNoSetuid, unit.ExecAmbientMagic} {
			if flags&(1<<i) != 0 {
				wantFlags |= f
			}
		}
		if c.Path != wantPath || !slices.Equal(c.Argv, []string{path, arg, "end"}) || c.Flags != wantFlags {
			t.Errorf("ExecStart %q %q %b, want %q %q %b", c.Path, c.Argv, c.Flags, wantPath, []string{path, arg, "end"}, wantFlags)
		}
	})
}

// TestTransientNotes: the settings systemd takes that sundial does not
// act on are written, and named to the client as the loader names them.
func TestTransientNotes(t *testing.T) {
	text, notes, err := TransientFile(api.TransientUnit{Name: "n.service", Settings: []api.Setting{
		setting("Service", "KeyringMode", "private"),
		setting("Service", "MemorySwapMax", "1G"),
		setting("Service", "SuccessExitStatus", "3"),
		{Section: "Service", Key: "ExecStart", Value: "/bin/true", List: []string{"/bin/true"}},
	}}, unit.UserScope)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"KeyringMode= is not supported by sundial, ignoring.", "MemorySwapMax= is not supported by sundial, ignoring."}
	if !slices.Equal(notes, want) || !strings.Contains(text, "MemorySwapMax=1G\n") {
		t.Errorf("notes %q, want %q\n%s", notes, want, text)
	}
}

// TestTransientFileRefusals: what only a client other than systemd-run
// sends, refused in the daemon's words.
func TestTransientFileRefusals(t *testing.T) {
	tests := []struct {
		setting api.Setting
		want    string
	}{
		{api.Setting{Section: "Service", Key: "Environment", List: []string{"A=1"}, Flags: []string{"no-env-expand"}},
			"Invalid flags for Environment: no-env-expand"},
		{api.Setting{Section: "Service", Key: "User", Value: "me", Flags: []string{"privileged"}}, "Invalid flags for User: privileged"},
		{api.Setting{Section: "Unit", Key: "Documentation", List: []string{"man:a(1)"}, Flags: []string{"ignore-failure"}},
			"Invalid flags for Documentation: ignore-failure"},
		{api.Setting{Section: "Service", Key: "User", Value: "me", List: []string{"you"}}, "Invalid User setting: me"},
	}
	for _, tt := range tests {
		_, _, err := TransientFile(api.TransientUnit{Name: "r.service", Settings: []api.Setting{tt.setting}}, unit.UserScope)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%+v: %v, want %q", tt.setting, err, tt.want)
		}
	}
}

// TestConditionSettings: conditions and asserts of transient units,
// checked and written as bus_set_transient_conditions does.
func TestConditionSettings(t *testing.T) {
	for _, tt := range []struct{ key, value, want string }{
		{"ConditionPathExists", "|!/etc", "ConditionPathExists=|!/etc"},
		{"ConditionPathExists", "/%n", "ConditionPathExists=/%%n"},
		{"ConditionHost", "!%H", "ConditionHost=!%%H"},
		{"ConditionPathExists", "", "ConditionPathExists="},
		{"AssertHost", "", "AssertHost="},
		{"ConditionPathExists", "relative", "Path in condition ConditionPathExists is not absolute: relative"},
		{"ConditionPathExists", "|!", "Condition parameter in ConditionPathExists is empty"},
		{"AssertKernelCommandLine", "a\nb", `Invalid AssertKernelCommandLine setting: a\nb`},
	} {
		got, _, err := TransientFile(api.TransientUnit{Name: "c.service", Settings: []api.Setting{setting("Unit", tt.key, tt.value)}}, unit.UserScope)
		if err != nil {
			got = err.Error()
		} else {
			got = strings.TrimSuffix(strings.TrimPrefix(got, "[Unit]\n"), "\n")
		}
		if got != tt.want {
			t.Errorf("%s=%q: %q, want %q", tt.key, tt.value, got, tt.want)
		}
	}
}
