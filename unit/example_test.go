package unit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"

	"sundial.dev/sundial/unit"
)

func ExampleLoader_Load() {
	files := fstest.MapFS{
		"usr/lib/systemd/system/backup.timer": {Data: []byte(
			"[Unit]\nDescription=Nightly backup\n\n[Timer]\nOnCalendar=Mon..Fri 03:00\nPersistent=yes\nRandomizedDelaySec=soon\n")},
		"etc/systemd/system/backup.timer.d/later.conf": {Data: []byte(
			"[Timer]\nOnCalendar=\nOnCalendar=Mon..Fri 04:00\n")},
	}
	l := &unit.Loader{FS: files, Path: []string{"/etc/systemd/system", "/usr/lib/systemd/system"}}
	u, err := l.Load("backup.timer")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.LoadState, u.Unit.Description)
	for _, v := range u.Timer.Values {
		fmt.Println(v.Base, v.Calendar)
	}
	fmt.Println("persistent:", u.Timer.Persistent, "triggers:", u.Timer.Unit)
	for _, d := range u.Diagnostics {
		fmt.Println(d)
	}
	// Output:
	// loaded Nightly backup
	// OnCalendar Mon..Fri *-*-* 04:00:00
	// persistent: true triggers: backup.service
	// /usr/lib/systemd/system/backup.timer:7: Failed to parse sec value, ignoring: soon
}

func ExampleVerify() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "report.timer")
	os.WriteFile(file, []byte("[Timer]\nPersistent=maybe\n"), 0o644)

	ok := unit.Verify([]string{file}, unit.VerifyOptions{
		Log: func(line string) { fmt.Println(strings.ReplaceAll(line, dir, "DIR")) },
	})
	fmt.Println("ok:", ok)
	// Output:
	// DIR/report.timer:2: Failed to parse boolean value, ignoring: maybe
	// report.timer: Timer unit lacks value setting. Refusing.
	// Unit report.timer has a bad unit file setting.
	// ok: false
}

func ExampleParseName() {
	n, err := unit.ParseName("getty@tty1.service")
	if err != nil {
		panic(err)
	}
	fmt.Println(n.Prefix, n.Instance, n.Type)
	// Output: getty tty1 service
}

func ExampleSearchPath() {
	env := map[string]string{"SYSTEMD_UNIT_PATH": "/srv/units:"}
	for _, dir := range unit.SearchPath(unit.SystemScope, unit.Dirs{}, func(k string) string { return env[k] }) {
		fmt.Println(dir)
	}
	// Output:
	// /srv/units
	// /etc/systemd/system.control
	// /run/systemd/system.control
	// /etc/systemd/system
	// /run/systemd/system
	// /usr/local/lib/systemd/system
	// /usr/lib/systemd/system
	// /lib/systemd/system
}
