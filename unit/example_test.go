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

func ExampleLoader_LoadSnapshot() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "report.service")
	os.WriteFile(file, []byte("[Service]\nExecStart=/usr/bin/report --daily\n"), 0o644)

	l := &unit.Loader{Path: []string{dir}}
	_, snap, err := l.LoadSnapshot("report.service")
	if err != nil {
		panic(err)
	}
	// Changed on disk: the snapshot keeps the text it was loaded from.
	os.WriteFile(file, []byte("[Service]\nExecStart=/usr/bin/report --weekly\n"), 0o644)
	u := snap.Unit()
	fmt.Println(snap.Name(), u.Service.ExecStart[0].Argv)
	// Output:
	// report.service [/usr/bin/report --daily]
}

func ExampleLoader_Inspect() {
	files := fstest.MapFS{}
	for _, name := range []string{"a", "b", "c"} {
		files["etc/systemd/system/"+name+".timer"] = &fstest.MapFile{Data: []byte("[Unit]\nDescription=Job " + name + "\n[Timer]\nOnCalendar=daily\n")}
	}
	l := &unit.Loader{FS: files, Path: []string{"/etc/systemd/system"}}
	kept := map[string]*unit.Snapshot{}
	for _, name := range []string{"a.timer", "b.timer", "c.timer"} {
		snap, err := l.Inspect(name, func(u *unit.Unit) {
			// The unit is good only here: what is printed is copied.
			fmt.Println(u.Name, u.LoadState, u.Unit.Description)
		})
		if err != nil {
			panic(err)
		}
		kept[name] = snap
	}
	fmt.Println(kept["b.timer"].Unit().Timer.Values[0].Calendar)
	// Output:
	// a.timer loaded Job a
	// b.timer loaded Job b
	// c.timer loaded Job c
	// *-*-* 00:00:00
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

func ExampleExecCommand() {
	files := fstest.MapFS{
		"etc/systemd/system/report@.service": {Data: []byte(
			"[Service]\nType=oneshot\nExecStart=-/usr/bin/report --for=%i \"two words\" $OPTS ; :/bin/echo \\; done\n")},
	}
	l := &unit.Loader{FS: files, Path: []string{"/etc/systemd/system"}}
	u, err := l.Load("report@daily.service")
	if err != nil {
		panic(err)
	}
	for _, c := range u.Service.ExecStart {
		fmt.Printf("%s %q ignore-failure=%v no-env=%v\n", c.Path, c.Argv, c.Flags&unit.ExecIgnoreFailure != 0, c.Flags&unit.ExecNoEnvExpand != 0)
		fmt.Println("  as written:", c)
		fmt.Println("  as shown:  ", c.CommandLine())
	}
	// Output:
	// /usr/bin/report ["/usr/bin/report" "--for=daily" "two words" "$OPTS"] ignore-failure=true no-env=false
	//   as written: -/usr/bin/report --for=daily "two words" $OPTS
	//   as shown:   /usr/bin/report --for=daily "two words" "\$OPTS"
	// /bin/echo ["/bin/echo" ";" "done"] ignore-failure=false no-env=true
	//   as written: :/bin/echo \; done
	//   as shown:   /bin/echo ";" done
}

func ExampleExpandArgv() {
	argv := []string{"/usr/bin/report", "$OPTS", "--user=${USER}", "$$HOME", "$UNSET"}
	env := []string{"OPTS=-v --color", "USER=backup"}
	args, unset, _ := unit.ExpandArgv(argv, env)
	fmt.Printf("%q\n", args)
	fmt.Println("unset:", unset)
	// Output:
	// ["/usr/bin/report" "-v" "--color" "--user=backup" "$HOME"]
	// unset: [UNSET]
}

func ExampleFindExecutable() {
	path, err := unit.FindExecutable("sh", []string{"/nonexistent", "/bin"})
	fmt.Println(path, err)
	_, err = unit.FindExecutable("/etc", nil)
	fmt.Println(err)
	// Output:
	// /bin/sh <nil>
	// Is a directory
}

func ExampleExitStatusName() {
	for _, status := range []int{0, 1, 203, 42} {
		fmt.Printf("%d/%s\n", status, unit.ExitStatusName(status))
	}
	// Output:
	// 0/SUCCESS
	// 1/FAILURE
	// 203/EXEC
	// 42/
}

func ExampleSignalName() {
	fmt.Println(unit.SignalName(15), unit.SignalName(9), unit.SignalName(36))
	// Output: TERM KILL RTMIN+2
}

func ExampleReadEnvironmentFile() {
	env, err := unit.ReadEnvironmentFile([]byte("# defaults\nOPTS=\"-v --color\"\nHOME_DIR=/srv/x  \nOPTS='-q'\n"))
	fmt.Printf("%q %v\n", env, err)
	// Output: ["OPTS=-q" "HOME_DIR=/srv/x"] <nil>
}

func ExampleMergeEnv() {
	env := unit.MergeEnv([]string{"PATH=/usr/bin", "LANG=C"}, "LANG=C.UTF-8", "JOB=1")
	fmt.Println(env, unit.ValidEnvAssignment("1X=y"))
	// Output: [PATH=/usr/bin LANG=C.UTF-8 JOB=1] false
}

func ExampleSplitWords() {
	words, err := unit.SplitWords(`A=1 "B=two words" C=\x41`)
	fmt.Printf("%q %v\n", words, err)
	_, err = unit.SplitWords(`"unbalanced`)
	fmt.Println(err != nil)
	// Output:
	// ["A=1" "B=two words" "C=A"] <nil>
	// true
}

func ExampleParseSize() {
	n, err := unit.ParseSize("1G 512M", 1024)
	fmt.Println(n, err)
	_, err = unit.ParseSize("12Q", 1024)
	fmt.Println(err)
	// Output:
	// 1610612736 <nil>
	// Invalid argument
}

func ExampleParseBoolean() {
	for _, s := range []string{"yes", "Off", "t", "sometimes"} {
		v, ok := unit.ParseBoolean(s)
		fmt.Println(s, v, ok)
	}
	// Output:
	// yes true true
	// Off false true
	// t true true
	// sometimes false false
}

func ExampleParsePermyriad() {
	for _, s := range []string{"12.5%", "5‰", "7‱", "101%"} {
		n, err := unit.ParsePermyriad(s)
		fmt.Println(n, err)
	}
	// Output:
	// 1250 <nil>
	// 50 <nil>
	// 7 <nil>
	// 0 Numerical result out of range
}

func ExampleSafeAtoi() {
	for _, s := range []string{"10", "010", "0x10", " -5", "09"} {
		n, err := unit.SafeAtoi(s)
		fmt.Println(n, err)
	}
	// Output:
	// 10 <nil>
	// 8 <nil>
	// 16 <nil>
	// -5 <nil>
	// 0 Invalid argument
}

func ExampleSafeAtou() {
	for _, s := range []string{"10", " 0b101", "-0", "-1", "4294967296"} {
		n, err := unit.SafeAtou(s)
		fmt.Println(n, err)
	}
	// Output:
	// 10 <nil>
	// 5 <nil>
	// 0 <nil>
	// 0 Numerical result out of range
	// 0 Numerical result out of range
}
