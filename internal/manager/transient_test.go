package manager

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
)

// serve runs a daemon with a control socket and a transient directory
// until the returned function stops it; configure, if given, sees the
// Manager before it runs.
func serve(t *testing.T, dir, state, run string, configure ...func(*Manager)) (*api.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	transient := filepath.Join(run, "transient")
	m := &Manager{UnitPath: []string{transient, dir}, StateDir: state, Env: []string{"PATH=/usr/bin:/bin"},
		Socket: filepath.Join(run, "control"), TransientDir: transient}
	for _, f := range configure {
		f(m)
	}
	ended := make(chan error)
	go func() { ended <- m.Run(ctx) }()
	await.Until(t, func() bool {
		select {
		case err := <-ended:
			t.Fatalf("the daemon ended before it listened: %v", err)
		default:
		}
		_, err := os.Stat(m.Socket)
		return err == nil
	}, "the control socket %s", m.Socket)
	return &api.Client{Socket: m.Socket}, func() {
		cancel()
		if err := <-ended; err != nil {
			t.Error(err)
		}
	}
}

func setting(section, key, value string) api.Setting {
	return api.Setting{Section: section, Key: key, Value: value}
}

// execStart is the property of a command line: its executable, the
// zeroth argument.
func execStart(argv ...string) api.Setting {
	return api.Setting{Section: "Service", Key: "ExecStart", Value: argv[0], List: argv}
}

// TestTransient makes a transient service, which runs and is collected,
// and a transient timer with its service, which fires once and is
// collected with it, files and all; one that is refused leaves nothing.
func TestTransient(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()

	res, err := c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{{Name: "once.service", Settings: []api.Setting{
		setting("Unit", "Description", "Once"), setting("Service", "Type", "oneshot"), execStart("/bin/echo", "hi")}}}})
	if err != nil || res.Result != "done" {
		t.Fatalf("Transient: %+v, %v", res, err)
	}
	u, err := c.WaitInactive(ctx, "once.service")
	if err != nil || u.Result != "success" || u.MainCode != "exited" || !u.Transient {
		t.Errorf("WaitInactive: %+v, %v", u, err)
	}
	if _, err := os.Stat(filepath.Join(run, "transient", "once.service")); !os.IsNotExist(err) {
		t.Errorf("once.service's file left: %v", err)
	}

	res, err = c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{
		{Name: "soon.timer", Settings: []api.Setting{setting("Unit", "Description", "Soon"), setting("Timer", "OnActiveSec", "100ms"),
			setting("Timer", "AccuracySec", "1us"), setting("Timer", "RemainAfterElapse", "no")}},
		{Name: "soon.service", Settings: []api.Setting{execStart("/bin/true")}},
	}})
	if err != nil || res.Result != "done" {
		t.Fatalf("Transient timer: %+v, %v", res, err)
	}
	data, err := os.ReadFile(filepath.Join(run, "transient", "soon.timer"))
	want := transientHeader + "[Unit]\nDescription=Soon\n\n[Timer]\nOnActiveSec=100ms\nAccuracySec=1us\nRemainAfterElapse=no\n"
	if err != nil || string(data) != want {
		t.Errorf("soon.timer:\n%s\nwant:\n%s", data, want)
	}
	await.Until(t, func() bool {
		units, _ := c.Units(ctx, nil, false)
		return !slices.ContainsFunc(units, func(u api.Unit) bool { return u.Name == "soon.timer" || u.Name == "soon.service" })
	}, "soon.timer and soon.service to be collected")
	runs, err := c.Runs(ctx, "soon.service", 0)
	if err != nil || len(runs) != 1 || runs[0].Result != "success" {
		t.Errorf("runs of soon.service: %+v, %v", runs, err)
	}
	if files, _ := os.ReadDir(filepath.Join(run, "transient")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}

	res, err = c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{{Name: "bad.service", Settings: []api.Setting{
		execStart("relative/path")}}}})
	if err != nil || res.Error == "" || res.Code != "invalid" {
		t.Errorf("bad.service: %+v, %v", res, err)
	}
	if files, _ := os.ReadDir(filepath.Join(run, "transient")); len(files) != 0 {
		t.Errorf("files left of a refused unit: %v", files)
	}
	writeUnits(t, dir, map[string]string{"file.service": "[Service]\nExecStart=/bin/true\n"})
	if res, err := c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{{Name: "file.service"}}}); err != nil ||
		res.Error != "Unit file.service was already loaded or has a fragment file." {
		t.Errorf("file.service: %+v, %v", res, err)
	}
}

// TestTransientSurvives: a transient timer is there after daemon-reload
// and after the daemon starts again in the same runtime directory.
func TestTransientSurvives(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	ctx := context.Background()
	res, err := c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{
		{Name: "late.timer", Settings: []api.Setting{setting("Timer", "OnCalendar", "2099-01-01"), setting("Timer", "RemainAfterElapse", "no")}},
		{Name: "late.service", Settings: []api.Setting{execStart("/bin/true")}},
	}})
	if err != nil || res.Result != "done" {
		t.Fatalf("Transient: %+v, %v", res, err)
	}
	check := func(when string) {
		t.Helper()
		units, err := c.Units(ctx, []string{"late.timer"}, false)
		if err != nil || len(units) != 1 || units[0].Active != "active" || units[0].FileState != "transient" {
			t.Errorf("%s: %+v, %v", when, units, err)
		}
	}
	check("made")
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	check("after daemon-reload")
	stop()
	c, stop = serve(t, dir, state, run)
	defer stop()
	check("after a restart")
}

// TestMissingUnit asks for a unit that is not there, twice, then writes
// its file: it is found at once, as systemd finds a unit whose directory
// changed.
func TestMissingUnit(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	for range 2 {
		if units, err := c.Units(ctx, []string{"late.service"}, false); err != nil || len(units) != 1 || units[0].Load != "not-found" {
			t.Fatalf("Units: %+v, %v", units, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "late.service"), []byte("[Unit]\nDescription=Late\n[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if units, err := c.Units(ctx, []string{"late.service"}, false); err != nil || len(units) != 1 || units[0].Load != "loaded" || units[0].Description != "Late" {
		t.Fatalf("Units after the file came: %+v, %v", units, err)
	}
}

// TestTransientLongName makes a service whose name is as long as
// systemd's unit_name_is_valid allows: 255 characters.
func TestTransientLongName(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	for _, n := range []int{252, 255} {
		name := strings.Repeat("x", n-len(".service")) + ".service"
		res, err := c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{{Name: name, Settings: []api.Setting{
			setting("Service", "Type", "oneshot"), execStart("/bin/true")}}}})
		if err != nil || res.Result != "done" {
			t.Errorf("a name of %d characters: %+v, %v", n, res, err)
			continue
		}
		if u, err := c.WaitInactive(ctx, name); err != nil || u.Result != "success" {
			t.Errorf("a name of %d characters: %+v, %v", n, u, err)
		}
	}
	if files, _ := os.ReadDir(filepath.Join(run, "transient")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestTransientInjection sends the daemon properties whose values hold
// what would be lines of their own in a unit file: each is refused in
// systemd's words, or written so that it reads back as it was sent, and
// no command slipped into them runs.
func TestTransientInjection(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	defer stop()
	ctx := context.Background()
	pwned := filepath.Join(t.TempDir(), "pwned")
	inject := "\n[Service]\nExecStartPre=/bin/touch " + pwned + "\n"
	tests := []struct {
		settings []api.Setting
		want     string // the refusal, "" if it is made
	}{
		{[]api.Setting{setting("Unit", "Description", "x"+inject)},
			`Invalid Description setting: x\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Unit", "Description", "x\rExecStartPre=/bin/touch "+pwned)},
			`Invalid Description setting: x\rExecStartPre=/bin/touch ` + pwned},
		{[]api.Setting{setting("Unit", "Description", `x\`), setting("Unit", "Documentation", "ExecStartPre=/bin/touch "+pwned)},
			`Invalid Description setting: x\\`},
		{[]api.Setting{setting("Service", "WorkingDirectory", "/tmp"+inject)},
			`Invalid WorkingDirectory setting: /tmp\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Service", "User", "root"+inject)}, `Invalid User setting: root\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Service", "Type", "oneshot"+inject)}, `Invalid Type setting: oneshot\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Unit", "After", "a.service"+inject)}, `Invalid unit name a.service\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Service", "RemainAfterExit", "yes"+inject)}, `Invalid RemainAfterExit setting: yes\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Service", "RestartSec", "1s"+inject)}, `Invalid RestartSec setting: 1s\n[Service]\nExecStartPre=/bin/touch ` + pwned + `\n`},
		{[]api.Setting{setting("Service]\nExecStartPre=/bin/touch "+pwned+"\n[Service", "Description", "x")},
			"Cannot set property Description, or unknown property."},
		{[]api.Setting{setting("Service", "ExecStartPre=/bin/touch "+pwned+"\nX", "x")},
			"Cannot set property ExecStartPre=/bin/touch " + pwned + "\nX, or unknown property."},
		{[]api.Setting{setting("Service", "ExecStartPre", "/bin/touch "+pwned)},
			`"ExecStartPre" argv cannot be empty`},
		{[]api.Setting{{Section: "Service", Key: "Environment", List: []string{"A=1", "B=2" + inject}}}, ""},
		{[]api.Setting{execStart("/bin/true", "a"+inject, `b\`, "%n", "$HOME", `"`, "\xff")}, ""},
		{[]api.Setting{execStart("/bin/true\nExecStartPre=/bin/touch " + pwned)},
			`"/bin/true\nExecStartPre=/bin/touch ` + pwned + `" is neither a valid executable name nor an absolute path`},
	}
	for i, tt := range tests {
		name := fmt.Sprintf("inject%d.service", i)
		settings := append([]api.Setting{setting("Service", "Type", "oneshot")}, tt.settings...)
		if !slices.ContainsFunc(settings, func(s api.Setting) bool { return s.Key == "ExecStart" }) {
			settings = append(settings, execStart("/bin/true"))
		}
		res, err := c.Transient(ctx, api.TransientRequest{Units: []api.TransientUnit{{Name: name, Settings: settings}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Error != tt.want || tt.want != "" && res.Code != "invalid" {
			t.Errorf("%d: %q (%s), want %q", i, res.Error, res.Code, tt.want)
		}
		if tt.want == "" {
			if _, err := c.WaitInactive(ctx, name); err != nil {
				t.Errorf("%d: %v", i, err)
			}
		}
		if _, err := os.Stat(pwned); err == nil {
			t.Fatalf("%d: the command slipped into a value ran", i)
		}
	}
	if files, _ := os.ReadDir(filepath.Join(run, "transient")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestTransientSameName: a request naming a unit twice is refused, and
// makes nothing, as systemd refuses the second unit of the name.
func TestTransientSameName(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	defer stop()
	res, err := c.Transient(context.Background(), api.TransientRequest{Units: []api.TransientUnit{
		{Name: "dup.service", Settings: []api.Setting{setting("Service", "Type", "oneshot"), execStart("/bin/true")}},
		{Name: "dup.service", Settings: []api.Setting{setting("Service", "Type", "oneshot"), execStart("/bin/false")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Unit dup.service was already loaded or has a fragment file."; res.Error != want || res.Code != "exists" {
		t.Errorf("%q (%s), want %q", res.Error, res.Code, want)
	}
	if files, _ := os.ReadDir(filepath.Join(run, "transient")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestTransientTypeNotRun: a transient unit of a type sundial does not
// run is refused with a message, and nothing is made.
func TestTransientTypeNotRun(t *testing.T) {
	dir, state, run := t.TempDir(), t.TempDir(), t.TempDir()
	writeUnits(t, dir, map[string]string{})
	c, stop := serve(t, dir, state, run)
	defer stop()
	for _, name := range []string{"x.mount", "x.path", "x.slice"} {
		res, err := c.Transient(context.Background(), api.TransientRequest{Units: []api.TransientUnit{
			{Name: name, Settings: []api.Setting{setting("Unit", "Description", "d")}}}})
		if err != nil {
			t.Fatal(err)
		}
		typ := strings.TrimPrefix(filepath.Ext(name), ".")
		if want := "Unit type " + typ + " is not supported by sundial; not starting it."; res.Error != want || res.Code != "invalid" {
			t.Errorf("%s: %+v, want %q", name, res, want)
		}
	}
	if files, _ := os.ReadDir(filepath.Join(run, "transient")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}
