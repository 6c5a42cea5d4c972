package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/unit"
)

// prepareRun reads a systemd-run command line and makes its units, as
// runMain does before it asks the daemon; stderr is what it said.
func prepareRun(args ...string) (o *runOptions, stderr string, err error) {
	var out, errs bytes.Buffer
	c := &cli{prog: "systemd-run", argv0: "systemd-run", usage: runUsage, systemd: true, stdout: &out, stderr: &errs}
	o, ok, _ := parseRun(c, args)
	if ok {
		err = o.prepare(c)
	}
	return o, errs.String(), err
}

func TestRunRefusals(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Command line to execute required."},
		{[]string{"--unit=foo"}, "Command line to execute required."},
		{[]string{"--on-active=5"}, "Command line to execute required."},
		{[]string{"--wait", "--no-block", "/bin/sh"}, "--wait may not be combined with --no-block."},
		{[]string{"--wait", "--on-active=5", "/bin/sh"}, "--wait may not be combined with path, socket or timer operations."},
		{[]string{"--on-calendar=daily", "--pipe", "/bin/sh"}, "--pty/--pipe is not compatible in timer or --scope mode."},
		{[]string{"-P", "--no-block", "/bin/sh"}, "--pty/--pipe is not compatible with --no-block."},
		{[]string{"--timer-property=AccuracySec=1s", "/bin/sh"}, "--timer-property= has no effect without any other timer options."},
		{[]string{"--path-property=PathExists=/x", "--on-boot=1h", "/bin/sh"}, "Only single trigger (path, socket, timer) unit can be created."},
		{[]string{"--path-property=PathExists=/x", "/bin/sh"}, "--path-property= and --socket-property= are not supported: sundial runs no path or socket units."},
		{[]string{"-t", "/bin/sh"}, "--pty is not supported: the sundial daemon cannot give a service a terminal. Use --pipe or --wait."},
		{[]string{"--scope", "/bin/sh"}, "--scope is not supported: sundial runs no scope units."},
		{[]string{"-S"}, "--shell is not supported: the sundial daemon cannot give a service a terminal."},
		{[]string{"--slice-inherit", "/bin/sh"}, "--slice-inherit is not supported: sundial puts no processes in slices."},
		{[]string{"-M", "box", "/bin/sh"}, "--machine= is not supported: sundial talks to the daemon on this machine only."},
		{[]string{"-H", "root@host", "/bin/sh"}, "--host= is not supported: sundial talks to the daemon on this machine only."},
		{[]string{"--slice=", "-u", "s", "/bin/sh"}, ""},
		{[]string{"--slice=" + strings.Repeat("x", 250), "-u", "s", "/bin/sh"}, "Failed to mangle name '" + strings.Repeat("x", 250) + "': Invalid argument"},
		// Refused as the options are read, the first mistake first.
		{[]string{"--on-calendar=Mon 25:00", "--wait", "--no-block", "/bin/sh"}, "Failed to parse calendar event specification: Invalid argument"},
		{[]string{"--nice=20", "/bin/sh"}, "Failed to parse nice value: 20"},
		{[]string{"--nice=x", "/bin/sh"}, "Failed to parse nice value: x"},
		{[]string{"--nice=1_0", "/bin/sh"}, "Failed to parse nice value: 1_0"},
		{[]string{"--nice=0b1", "/bin/sh"}, "Failed to parse nice value: 0b1"},
		{[]string{"--nice=-0o7", "/bin/sh"}, "Failed to parse nice value: -0o7"},
		{[]string{"-E", "1A=b", "/bin/sh"}, "Cannot assign environment variable 1A=b: Invalid argument"},
		{[]string{"-E", "A-B", "/bin/sh"}, "Cannot assign environment variable A-B: Invalid argument"},
		{[]string{"--expand-environment=maybe", "/bin/sh"}, "Failed to parse boolean argument to --expand-environment=: maybe."},
		{[]string{"--bogus", "/bin/sh"}, "systemd-run: unrecognized option '--bogus'"},
		{[]string{"-x"}, "systemd-run: invalid option -- 'x'"},
		{[]string{"-u"}, "systemd-run: option requires an argument -- 'u'"},
		{[]string{"--wait=yes", "/bin/sh"}, "systemd-run: option '--wait' doesn't allow an argument"},
		// After the combinations: the executable, then the properties.
		{[]string{"/nonexistent/x"}, "Failed to find executable /nonexistent/x: No such file or directory"},
		{[]string{"--on-active=5", "-p", "Foo=bar", "/nonexistent/x"}, "Failed to find executable /nonexistent/x: No such file or directory"},
		{[]string{"-p", "Foo=bar", "/bin/sh"}, "Unknown assignment: Foo=bar"},
		{[]string{"-p", "WantedBy=x.target", "/bin/sh"}, "Unknown assignment: WantedBy=x.target"},
		{[]string{"-p", "OnCalendar=daily", "/bin/sh"}, "Unknown assignment: OnCalendar=daily"},
		{[]string{"-p", "Foo", "/bin/sh"}, "Not an assignment: Foo"},
		{[]string{"-p", "RemainAfterExit=maybe", "/bin/sh"}, "Failed to parse RemainAfterExit: maybe"},
		{[]string{"-p", "RestartSec=soon", "/bin/sh"}, "Failed to parse RestartSec=soon: Invalid argument"},
		{[]string{"-p", "Nice=99", "/bin/sh"}, "Failed to parse Nice=99: Numerical result out of range"},
		{[]string{"-p", `Environment="A=1`, "/bin/sh"}, "Failed to parse Environment: Invalid argument"},
		{[]string{"-p", "Environment=A=1 1A=b", "/bin/sh"}, "Failed to start transient service unit: Invalid environment block."},
		{[]string{"--on-active=soon", "/bin/sh"}, "Failed to parse OnActiveSec=soon: Invalid argument"},
		{[]string{"--on-active=-1", "/bin/sh"}, "Failed to parse OnActiveSec=-1: Numerical result out of range"},
		{[]string{"--on-active=1", "--timer-property=Foo=1", "/bin/sh"}, "Unknown assignment: Foo=1"},
		{[]string{"--on-active=1", "--timer-property=ExecStart=/bin/sh", "/bin/sh"}, "Unknown assignment: ExecStart=/bin/sh"},
		// What the manager refuses, after all the client checks.
		{[]string{"--service-type=bogus", "/bin/sh"}, "Failed to start transient service unit: Invalid Type setting: bogus"},
		{[]string{"--timer-property=OnCalendar=bogus", "/bin/sh"}, "Failed to start transient timer unit: Invalid calendar spec"},
		{[]string{"--on-active=1", "--service-type=bogus", "/bin/sh"}, "Failed to start transient timer unit: Invalid Type setting: bogus"},
		{[]string{"-u", "foo.target", "/bin/sh"}, "Failed to start transient service unit: Unit type target does not support transient units."},
		{[]string{"-u", "foo.timer", "/bin/sh"}, "Failed to start transient service unit: Cannot set property ExecStart, or unknown property."},
		{[]string{"-u", "foo.timer", "-r", "/bin/sh"}, "Failed to start transient service unit: Cannot set property RemainAfterExit, or unknown property."},
		{[]string{"-u", "foo.path", "--on-active=1", "/bin/sh"}, "Failed to start transient timer unit: Cannot set property TimersMonotonic, or unknown property."},
		{[]string{"--description=a\n[Service]", "/bin/sh"}, `Failed to start transient service unit: Invalid Description setting: a\n[Service]`},
		{[]string{"--description=a\\", "/bin/sh"}, `Failed to start transient service unit: Invalid Description setting: a\\`},
		{[]string{"-p", "User=me\rExecStartPre=/bin/x", "/bin/sh"}, `Failed to start transient service unit: Invalid User setting: me\rExecStartPre=/bin/x`},
		{[]string{"--working-directory=/a\nb", "/bin/sh"}, `Failed to start transient service unit: Invalid WorkingDirectory setting: /a\nb`},
		{[]string{"-p", "WorkingDirectory=a", "/bin/sh"}, "Failed to start transient service unit: WorkingDirectory= expects an absolute path or '~'"},
		{[]string{"--working-directory=/tmp/../var", "/bin/sh"}, "Failed to start transient service unit: WorkingDirectory= expects a normalized path or '~'"},
		// A relative PIDFile= is below the runtime directory.
		{[]string{"-p", "PIDFile=run/x.pid", "/bin/sh"}, ""},
		{[]string{"-p", "RequiresMountsFor=/a /b/../c", "/bin/sh"}, "Failed to start transient service unit: Path specified in RequiresMountsFor is not normalized: /b/../c"},
		{[]string{"-p", "RequiresMountsFor=/a rel", "/bin/sh"}, "Failed to start transient service unit: Path specified in RequiresMountsFor is not absolute: rel"},
		{[]string{"-p", `RequiresMountsFor="/a b"`, "/bin/sh"}, "Failed to start transient service unit: Path specified in RequiresMountsFor is not valid: /a b"},
		{[]string{"-p", "Documentation=http://a notaurl", "/bin/sh"}, "Failed to start transient service unit: Invalid URL in Documentation: notaurl"},
		{[]string{"-p", `Documentation="http://a b"`, "/bin/sh"}, "Failed to start transient service unit: Invalid URL in Documentation: http://a b"},
		{[]string{"-p", "ExecStartPre=+!/bin/x", "/bin/sh"}, `Failed to start transient service unit: "!/bin/x" is neither a valid executable name nor an absolute path`},
		{[]string{"-p", "Slice=a.service", "/bin/sh"}, "Failed to start transient service unit: Unit name 'a.service' is not a slice"},
		{[]string{"-p", "Slice=a@b.slice", "/bin/sh"}, "Failed to start transient service unit: Invalid unit name 'a@b.slice'"},
		{[]string{"-p", "After=a.service\nb.service", "/bin/sh"}, ""},
		{[]string{"-p", `Wants=a\x20b.service`, "/bin/sh"}, ""},
		{[]string{"-p", "Wants=a\\", "/bin/sh"}, `Failed to start transient service unit: Invalid unit name a\\`},
		// What systemd takes for a service, sundial takes, checked by the
		// loader's parser of it, and refused in systemd's words.
		{[]string{"-p", "CPUQuota=20%", "/bin/sh"}, ""},
		{[]string{"-p", "SuccessExitStatus=3 SIGUSR1", "-p", "RestartPreventExitStatus=4", "-p", "RestartForceExitStatus=5", "/bin/sh"}, ""},
		{[]string{"-p", "EnvironmentFile=-/etc/x", "-p", "PassEnvironment=A", "-p", "UnsetEnvironment=B", "/bin/sh"}, ""},
		{[]string{"-p", "StartLimitBurst=3", "-p", "FinalKillSignal=SIGTERM", "-p", "RestartKillSignal=2", "-p", "WatchdogSignal=SIGABRT", "/bin/sh"}, ""},
		{[]string{"-p", "ReloadSignal=SIGUSR2", "-p", "RestartSteps=3", "-p", "TimeoutStartFailureMode=abort", "-p", "TimeoutStopFailureMode=kill", "/bin/sh"}, ""},
		{[]string{"-p", "FailureActionExitStatus=3", "-p", "SuccessActionExitStatus=4", "-p", "BusName=org.example.X", "/bin/sh"}, ""},
		{[]string{"-p", "PrivateNetwork=yes", "-p", "LimitNOFILE=100", "/bin/sh"}, ""},
		{[]string{"-p", "CollectMode=bogus", "/bin/sh"}, "Failed to start transient service unit: Invalid CollectMode setting: bogus"},
		{[]string{"-p", "Restart=sometimes", "/bin/sh"}, "Failed to start transient service unit: Invalid Restart setting: sometimes"},
		{[]string{"-p", "KillSignal=SIGFOO", "/bin/sh"}, "Failed to start transient service unit: Invalid KillSignal setting: SIGFOO"},
		{[]string{"-p", "UMask=9999", "/bin/sh"}, "Failed to start transient service unit: Invalid UMask setting: 9999"},
		{[]string{"-p", "StandardOutput=file:relative", "/bin/sh"}, "Failed to start transient service unit: Invalid StandardOutput setting: file:relative"},
		{[]string{"-p", "SuccessExitStatus=bogus", "/bin/sh"}, "Failed to start transient service unit: Invalid SuccessExitStatus setting: bogus"},
		{[]string{"-p", "LimitNOFILE=lots", "/bin/sh"}, "Failed to start transient service unit: Invalid LimitNOFILE setting: lots"},
		{[]string{"--uid=.", "/bin/sh"}, "Failed to start transient service unit: Invalid User setting: ."},
		{[]string{"-p", "ExecStartPre=/.", "/bin/sh"}, "Failed to start transient service unit: Executable path specifies a directory: /"},
		{[]string{"-p", "ConditionPathExists=rel", "/bin/sh"}, "Failed to start transient service unit: Path in condition ConditionPathExists is not absolute: rel"},
		{[]string{"-p", "SourcePath=/x", "/bin/sh"}, "Failed to start transient service unit: Cannot set property SourcePath, or unknown property."},
		{[]string{"-p", "Capabilities=x", "/bin/sh"}, "Failed to start transient service unit: Cannot set property Capabilities, or unknown property."},
		{[]string{"-p", "CPUQuota=x\nA", "/bin/sh"}, `Failed to start transient service unit: Invalid CPUQuota setting: x\nA`},
		{[]string{"-p", `ExecStartPre=/bin/echo "a`, "/bin/sh"}, "Failed to parse command line: Invalid argument"},
		{[]string{"-p", `ExecStartPre=@"/bin/echo`, "/bin/sh"}, "Failed to parse path: Invalid argument"},
		{[]string{"-p", `ExecStartPre=@"/bin/e'x" e`, "/bin/sh"}, `Failed to start transient service unit: Executable name contains special characters: /bin/e\'x`},
		{[]string{"-p", `ExecStartPre="/bin/e\\x"`, "/bin/sh"}, `Failed to start transient service unit: Executable name contains special characters: /bin/e\\x`},
		{[]string{"-p", "ExecStartPre=x/y", "/bin/sh"}, `Failed to start transient service unit: "x/y" is neither a valid executable name nor an absolute path`},
		{[]string{"-u", "", "/bin/sh"}, "Failed to mangle unit name: Invalid argument"},
		// Text that is not UTF-8, which sd-bus would not send.
		{[]string{"/bin/sh", "-c", "x", "x", "\xff"}, "Failed to create bus message: Invalid argument"},
		{[]string{"--description=d\xff", "/bin/sh"}, "Failed to create bus message: Invalid argument"},
		{[]string{"-p", "Environment=A=\xff", "/bin/sh"}, "Failed to create bus message: Invalid argument"},
		{[]string{"-E", "A=\xff", "/bin/sh"}, "Cannot assign environment variable A=\xff: Invalid argument"},
		{[]string{"-u", strings.Repeat("x", 249) + ".timer", "--on-active=1", "/bin/sh"}, "Failed to change unit suffix: Invalid argument"},
	}
	for _, tt := range tests {
		o, stderr, err := prepareRun(tt.args...)
		got := strings.TrimSuffix(stderr, "\n")
		if err != nil {
			got += err.Error()
		} else if r := managerRefusal(o); r != "" {
			got += r
		}
		if got != tt.want {
			t.Errorf("systemd-run %q:\n got %q\nwant %q", tt.args, got, tt.want)
		}
	}
}

// managerRefusal is what systemd-run would print of the first refusal the
// daemon makes of the units' properties, were their names free.
func managerRefusal(o *runOptions) string {
	for _, u := range o.units() {
		if u.Name == "" {
			// Refused before the units were named.
			return ""
		}
		if _, _, err := manager.TransientFile(u, unit.UserScope); err != nil {
			return fmt.Sprintf("Failed to start transient %s unit: %s", o.mainType(), err)
		}
	}
	return ""
}

// exe makes an executable file in a temporary directory.
func exe(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// transientFiles renders units as the daemon writes their files, less
// the header comment, each after a "-- name --" line.
func transientFiles(units []api.TransientUnit) (string, error) {
	var b strings.Builder
	for _, u := range units {
		text, _, err := manager.TransientFile(u, unit.UserScope)
		if err != nil {
			return "", err
		}
		b.WriteString("-- " + u.Name + " --\n" + text)
	}
	return b.String(), nil
}

func TestRunTransientFiles(t *testing.T) {
	echo := exe(t, "echo")
	dir := filepath.Dir(echo)
	t.Setenv("RUN_TEST_VALUE", "from the caller")
	tests := []struct {
		args []string
		want string
	}{{
		// systemd's own example (systemd-run(1), testsuite-74).
		[]string{"--unit=ex", "--on-calendar=*:0/15", echo, "hello"},
		`-- ex.timer --
[Unit]
Description=DIR/echo hello

[Timer]
OnCalendar=*:0/15
RemainAfterElapse=no
-- ex.service --
[Unit]
Description=DIR/echo hello

[Service]
ExecStart=
ExecStart="DIR/echo" "hello"
`,
	}, {
		// Time spans to the microsecond, as systemd keeps them (format_timespan
		// exact).
		[]string{"--unit=span", "--on-active=2.5ms", "-p", "RuntimeMaxSec=1500us", "--timer-property=AccuracySec=1us", echo},
		`-- span.timer --
[Unit]
Description=DIR/echo

[Timer]
OnActiveSec=2.500ms
AccuracySec=1us
RemainAfterElapse=no
-- span.service --
[Unit]
Description=DIR/echo

[Service]
RuntimeMaxSec=1.500ms
ExecStart=
ExecStart="DIR/echo"
`,
	}, {
		// The tutorial's backup timer.
		[]string{"--user", "--on-calendar", "Mon,Tue,Wed,Thu,Fri 03:00", "--unit", "backup-home.timer", "--description", "Daily home directory backup", echo},
		`-- backup-home.timer --
[Unit]
Description=Daily home directory backup

[Timer]
OnCalendar=Mon,Tue,Wed,Thu,Fri 03:00
RemainAfterElapse=no
-- backup-home.service --
[Unit]
Description=Daily home directory backup

[Service]
ExecStart=
ExecStart="DIR/echo"
`,
	}, {
		// The options of the service, in systemd-run's order, whatever
		// theirs on the command line; -p in theirs, each to its section.
		[]string{"--unit=all", "-E", "A=1", "--working-directory=/var//./tmp/", "-G", "-p", "After=a.service b.service",
			"--nice=-5", "--uid=me", "--gid=us", "-p", "RestartSec=90", "-r", "--service-type=exec", "-E", "B=%x y",
			"-E", "RUN_TEST_VALUE", "-E", "A=2", "-p", "Description=50%", "-p", "PrivateTmp=on", "-p", "TimeoutSec=1min",
			"-p", "Documentation=man:a(1) man:b(2)", "-p", "StandardOutput=journal", "--description=d", "--slice=batch",
			"--send-sighup", "--no-ask-password", echo, "x"},
		`-- all.service --
[Unit]
Description=d
CollectMode=inactive-or-failed
After=a.service
After=b.service

[Service]
RestartSec=1min 30s

[Unit]
Description=50%%

[Service]
PrivateTmp=yes
TimeoutStartSec=1min
TimeoutStopSec=1min

[Unit]
Documentation=man:a(1)
Documentation=man:b(2)

[Service]
StandardOutput=journal
SendSIGHUP=yes
Slice=batch.slice
RemainAfterExit=yes
Type=exec
User=me
Group=us
Nice=-5
WorkingDirectory=/var/tmp
Environment="A=2" "B=%%x y" "RUN_TEST_VALUE=from the caller"
ExecStart=
ExecStart="DIR/echo" "x"
`,
	}, {
		// Arguments quoted and escaped; the description the command
		// line quoted for a shell, each line break escaped in it.
		[]string{"--unit=esc", echo, `$HOME`, `100%`, `a "b" \c`, "tab\tnl\n", "\x01\x7f", "é", ""},
		"-- esc.service --\n[Unit]\n" + `Description=DIR/echo "\$HOME" 100%% "a \"b\" \\c" "tab\tnl\n" "\001\177" é ""` + "\n\n" +
			`[Service]
ExecStart=
ExecStart="DIR/echo" "$HOME" "100%%" "a \"b\" \\c" "tab\tnl\n" "\001\177" "é" ""
`,
	}, {
		// Not expanded: the ':' prefix, and '$' as it is.
		[]string{"--unit=noexp", "--expand-environment=no", echo, "$HOME", "%h"},
		`-- noexp.service --
[Unit]
Description=DIR/echo "\$HOME" %%h

[Service]
ExecStart=
ExecStart=:"DIR/echo" "$HOME" "%%h"
`,
	}, {
		// A path that is not as simple as it can be: "@" and the
		// simplified path, then the zeroth argument as given.
		[]string{"-u", "at", dir + "/./echo"},
		`-- at.service --
[Unit]
Description=DIR/./echo

[Service]
ExecStart=
ExecStart=@DIR/echo "DIR/./echo"
`,
	}, {
		// Timer options: spans written with 1 ms accuracy, the rest
		// as given; [Unit] settings in [Unit].
		[]string{"--unit=t.service", "--on-active=90", "--on-boot=1h", "--on-startup=2min", "--on-unit-active=3h20min",
			"--on-unit-inactive=1.5s", "--on-clock-change", "--on-timezone-change", "--timer-property=AccuracySec=1us",
			"--timer-property=Persistent=true", "--timer-property=RandomizedDelaySec=5min", "--timer-property=After=x.service",
			"--timer-property=OnActiveSec=", "--timer-property=OnCalendar=", "-G", echo},
		`-- t.timer --
[Unit]
Description=DIR/echo
CollectMode=inactive-or-failed

[Timer]
OnActiveSec=1min 30s
OnBootSec=1h
OnStartupSec=2min
OnUnitActiveSec=3h 20min
OnUnitInactiveSec=1.500000s
OnClockChange=yes
OnTimezoneChange=yes
AccuracySec=1us
Persistent=yes
RandomizedDelaySec=5min

[Unit]
After=x.service

[Timer]
OnActiveSec=
OnCalendar=
RemainAfterElapse=no
-- t.service --
[Unit]
Description=DIR/echo
CollectMode=inactive-or-failed

[Service]
ExecStart=
ExecStart="DIR/echo"
`,
	}, {
		// A timer for a unit there is already: no command, no service;
		// the unit's name describes the timer.
		[]string{"--unit=backup", "--on-active=1h"},
		`-- backup.timer --
[Unit]
Description=backup

[Timer]
OnActiveSec=1h
RemainAfterElapse=no
`,
	}, {
		// -p Environment= split by the client and quoted by the manager;
		// empty, it resets the list.
		[]string{"-u", "env", "-p", `Environment=C=4 "D=a b" E=\x41%`, "-p", "Environment=", "-p", "Environment=F=$HOME", echo},
		`-- env.service --
[Unit]
Description=DIR/echo

[Service]
Environment="C=4" "D=a b" "E=A%%"
Environment=
Environment="F=$HOME"
ExecStart=
ExecStart="DIR/echo"
`,
	}, {
		// -p commands: prefixes and words read by the client, each
		// argument written quoted; empty, the list reset.
		[]string{"-u", "pre", "-p", `ExecStartPre=-@/bin/echo x "a b\n"`, "-p", "ExecStopPost=", "-p", `ExecStopPost=:!!echo $X %n`, echo},
		`-- pre.service --
[Unit]
Description=DIR/echo

[Service]
ExecStartPre=-@/bin/echo "x" "a b\n"
ExecStopPost=
ExecStopPost=!!:"echo" "$X" "%%n"
ExecStart=
ExecStart="DIR/echo"
`,
	}, {
		// What follows the command is the command's, options or not.
		[]string{"-u", "args", "--", echo, "--wait", "--no-block", "-t"},
		`-- args.service --
[Unit]
Description=DIR/echo --wait --no-block -t

[Service]
ExecStart=
ExecStart="DIR/echo" "--wait" "--no-block" "-t"
`,
	}}
	for _, tt := range tests {
		o, stderr, err := prepareRun(tt.args...)
		if err != nil || stderr != "" {
			t.Errorf("systemd-run %q: %s%v", tt.args, stderr, err)
			continue
		}
		want := strings.ReplaceAll(tt.want, "DIR", dir)
		if got, err := transientFiles(o.units()); got != want || err != nil {
			t.Errorf("systemd-run %q:\n got:\n%s%v\nwant:\n%s", tt.args, got, err, want)
		}
	}
}

func TestRunExecutable(t *testing.T) {
	bin := filepath.Dir(exe(t, "tool"))
	t.Setenv("PATH", "relative:"+bin)
	o, _, err := prepareRun("tool", "-l")
	if err != nil || o.command[0] != bin+"/tool" || o.description != bin+"/tool -l" {
		t.Errorf("tool -l: %q, %q, %v; want %s/tool", o.command, o.description, err, bin)
	}
	t.Chdir(bin)
	o, _, err = prepareRun("./tool")
	if err != nil || o.command[0] != bin+"/./tool" {
		t.Errorf("./tool: %q, %v; want %s/./tool", o.command, err, bin)
	}
	if _, _, err := prepareRun("nope"); err == nil || err.Error() != "Failed to find executable nope: No such file or directory" {
		t.Errorf("nope: %v", err)
	}
	// The service looks it up itself, in the root or path it is given.
	o, _, err = prepareRun("-p", "ExecSearchPath=/opt/bin", "nope")
	if err != nil || o.command[0] != "nope" {
		t.Errorf("ExecSearchPath=: %q, %v", o.command, err)
	}
	o, _, err = prepareRun("-d", "./tool")
	if err != nil || o.workingDirectory != bin {
		t.Errorf("-d: %q, %v; want %s", o.workingDirectory, err, bin)
	}
}

func TestRunNames(t *testing.T) {
	random := `run-r[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}`
	tests := []struct {
		args             []string
		service, timer   string
		notice           string
		serviceIsPattern bool
	}{
		{[]string{"/bin/sh"}, random + `\.service`, "", "", true},
		{[]string{"--on-active=1", "/bin/sh"}, random + `\.service`, "", "", true},
		{[]string{"-u", "foo", "/bin/sh"}, "foo.service", "", "", false},
		{[]string{"-u", "foo.service", "/bin/sh"}, "foo.service", "", "", false},
		{[]string{"-u", "foo@bar", "/bin/sh"}, "foo@bar.service", "", "", false},
		{[]string{"-u", "foo", "--on-active=1", "/bin/sh"}, "foo.service", "foo.timer", "", false},
		{[]string{"-u", "foo.service", "--on-active=1", "/bin/sh"}, "foo.service", "foo.timer", "", false},
		{[]string{"-u", "foo.timer", "--on-active=1", "/bin/sh"}, "foo.service", "foo.timer", "", false},
		{[]string{"-u", "a b", "/bin/sh"}, `a\x20b.service`, "",
			`Invalid unit name "a b" escaped as "a\x20b" (maybe you should use systemd-escape?).` + "\n", false},
		{[]string{"-q", "-u", "a b", "/bin/sh"}, `a\x20b.service`, "", "", false},
		{[]string{"-u", "a/b", "--on-active=1", "/bin/sh"}, "a-b.service", "a-b.timer",
			`Invalid unit name "a/b" escaped as "a-b" (maybe you should use systemd-escape?).` + "\n" +
				`Invalid unit name "a/b" escaped as "a-b" (maybe you should use systemd-escape?).` + "\n", false},
		{[]string{"-u", "foo*", "/bin/sh"}, `foo\x2a.service`, "",
			"Glob pattern passed as unit, but globs are not supported for this.\n" +
				`Invalid unit name "foo*" escaped as "foo\x2a".` + "\n", false},
		{[]string{"-u", "/dev/sda1", "/bin/sh"}, "dev-sda1.device", "", "", false},
		{[]string{"-u", "//dev/./sda1", "/bin/sh"}, "dev-sda1.device", "", "", false},
		{[]string{"-u", "/sys", "/bin/sh"}, "sys.device", "", "", false},
		{[]string{"-u", "/home/me/", "/bin/sh"}, "home-me.mount", "", "", false},
	}
	for _, tt := range tests {
		o, stderr, _ := prepareRun(tt.args...)
		if ok, _ := regexp.MatchString("^"+tt.service+"$", o.serviceName); tt.serviceIsPattern && !ok || !tt.serviceIsPattern && o.serviceName != tt.service {
			t.Errorf("systemd-run %q: service %q, want %q", tt.args, o.serviceName, tt.service)
		}
		if tt.serviceIsPattern && o.withTimer && o.timerName != strings.TrimSuffix(o.serviceName, ".service")+".timer" {
			t.Errorf("systemd-run %q: timer %q for service %q", tt.args, o.timerName, o.serviceName)
		}
		if !tt.serviceIsPattern && o.timerName != tt.timer {
			t.Errorf("systemd-run %q: timer %q, want %q", tt.args, o.timerName, tt.timer)
		}
		if stderr != tt.notice {
			t.Errorf("systemd-run %q: said %q, want %q", tt.args, stderr, tt.notice)
		}
	}
}

func TestRunCalendarInThePast(t *testing.T) {
	_, stderr, err := prepareRun("--on-calendar=2000-01-01", "/bin/sh")
	if err != nil || stderr != "Specified calendar expression is in the past, proceeding anyway.\n" {
		t.Errorf("got %q, %v", stderr, err)
	}
}

func TestRunFinished(t *testing.T) {
	tests := []struct {
		u      api.Unit
		status int
		want   string
	}{
		{api.Unit{Result: "success", MainCode: "exited", InactiveExit: 1_000_000, InactiveEnter: 2_234_567, CPU: 12_345}, 0,
			"Finished with result: success\nMain processes terminated with: code=exited/status=0\nService runtime: 1.234s\nCPU time consumed: 12ms\n"},
		{api.Unit{Result: "success", MainCode: "exited", InactiveExit: 1_000_000, InactiveEnter: 1_000_100}, 0,
			"Finished with result: success\nMain processes terminated with: code=exited/status=0\nService runtime: 100us\nCPU time consumed: 0\n"},
		{api.Unit{Result: "exit-code", MainCode: "exited", MainStatus: 3}, 3,
			"Finished with result: exit-code\nMain processes terminated with: code=exited/status=3\n"},
		{api.Unit{Result: "signal", MainCode: "killed", MainStatus: 9}, exitException,
			"Finished with result: signal\nMain processes terminated with: code=killed/status=KILL\n"},
		{api.Unit{Result: "core-dump", MainCode: "dumped", MainStatus: 11}, 1,
			"Finished with result: core-dump\nMain processes terminated with: code=dumped/status=SEGV\n"},
		// A command that could not be started has no exit of its own.
		{api.Unit{Result: "exit-code"}, 1, "Finished with result: exit-code\n"},
		{api.Unit{Result: "resources"}, 1, "Finished with result: resources\n"},
	}
	for _, tt := range tests {
		var errs bytes.Buffer
		c := &cli{stderr: &errs}
		o := &runOptions{wait: true}
		if got := o.finished(c, tt.u); got != tt.status || errs.String() != tt.want {
			t.Errorf("%+v: %d %q, want %d %q", tt.u, got, errs.String(), tt.status, tt.want)
		}
		errs.Reset()
		o.quiet = true
		if got := o.finished(c, tt.u); got != tt.status || errs.Len() != 0 {
			t.Errorf("%+v with -q: %d %q", tt.u, got, errs.String())
		}
	}
}

// TestParseNice: strtol's base 0, as parse_nice reads a level.
func TestParseNice(t *testing.T) {
	for s, want := range map[string]int{"7": 7, " -20": -20, "+19": 19, "010": 8, "0x5": 5, "-0x0a": -10} {
		if n, err := parseNice(s); err != nil || n != want {
			t.Errorf("parseNice(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
}
