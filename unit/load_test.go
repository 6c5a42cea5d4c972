package unit

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func link(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
}

var testPath = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system"}

func testLoader(files fstest.MapFS) *Loader {
	return &Loader{FS: files, Path: testPath}
}

func TestLoadOverride(t *testing.T) {
	l := testLoader(fstest.MapFS{
		"etc/systemd/system/a.timer":     file("[Timer]\nOnCalendar=daily\n"),
		"usr/lib/systemd/system/a.timer": file("[Timer]\nOnCalendar=weekly\n"),
		"usr/lib/systemd/system/b.timer": file("[Timer]\nOnCalendar=monthly\n"),
	})
	for name, want := range map[string]string{"a.timer": "/etc/systemd/system/a.timer", "b.timer": "/usr/lib/systemd/system/b.timer"} {
		u, err := l.Load(name)
		if err != nil || u.LoadState != Loaded || u.FragmentPath != want {
			t.Errorf("Load(%s) = %+v, %v; want fragment %s", name, u, err, want)
		}
	}
	u, _ := l.Load("c.timer")
	if u.LoadState != NotFound {
		t.Errorf("Load(c.timer) state %v, want not-found", u.LoadState)
	}
}

func TestLoadMaskAliasTemplate(t *testing.T) {
	l := testLoader(fstest.MapFS{
		"etc/systemd/system/masked.service":         link("/dev/null"),
		"usr/lib/systemd/system/masked.service":     file("[Service]\nExecStart=/bin/true\n"),
		"etc/systemd/system/empty.service":          file(""),
		"usr/lib/systemd/system/real.service":       file("[Service]\nExecStart=/bin/true\n"),
		"etc/systemd/system/alias.service":          link("../../../usr/lib/systemd/system/real.service"),
		"usr/lib/systemd/system/getty@.service":     file("[Service]\nExecStart=/sbin/agetty %I\n"),
		"usr/lib/systemd/system/getty@tty9.service": link("/dev/null"),
		"etc/systemd/system/tty@.service":           link("/usr/lib/systemd/system/getty@.service"),
		"opt/linked.service":                        file("[Service]\nExecStart=/bin/true\n"),
		"etc/systemd/system/linked.service":         link("/opt/linked.service"),
	})
	for _, tt := range []struct {
		name     string
		state    LoadState
		fragment string
		names    string
	}{
		{"masked.service", Masked, "/etc/systemd/system/masked.service", "masked.service"},
		{"empty.service", Masked, "/etc/systemd/system/empty.service", "empty.service"},
		{"alias.service", Loaded, "/usr/lib/systemd/system/real.service", "real.service alias.service"}, // known by its file's name
		{"real.service", Loaded, "/usr/lib/systemd/system/real.service", "real.service alias.service"},
		{"getty@tty1.service", Loaded, "/usr/lib/systemd/system/getty@.service", "getty@tty1.service tty@tty1.service"},
		{"getty@tty9.service", Masked, "/usr/lib/systemd/system/getty@tty9.service", "getty@tty9.service"},
		{"linked.service", Loaded, "/etc/systemd/system/linked.service", "linked.service"},
	} {
		u, err := l.Load(tt.name)
		if err != nil {
			t.Fatalf("Load(%s): %v", tt.name, err)
		}
		if u.LoadState != tt.state || u.FragmentPath != tt.fragment || strings.Join(u.Names, " ") != tt.names {
			t.Errorf("Load(%s) = %v %s %q; want %v %s %q", tt.name, u.LoadState, u.FragmentPath, u.Names, tt.state, tt.fragment, tt.names)
		}
	}
}

func TestLoadDropIns(t *testing.T) {
	l := testLoader(fstest.MapFS{
		"usr/lib/systemd/system/foo-bar-baz.service":           file("[Service]\nExecStart=/bin/true\n"),
		"usr/lib/systemd/system/foo-bar-baz.service.d/50.conf": file("[Unit]\nDescription=50\n"),
		"etc/systemd/system/foo-bar-baz.service.d/50.conf":     file("[Unit]\nDescription=etc 50\n"),
		"usr/lib/systemd/system/foo-bar-.service.d/20.conf":    file("[Unit]\nDescription=20\n"),
		"usr/lib/systemd/system/foo-.service.d/30.conf":        file("[Unit]\nDescription=30\n"),
		"run/systemd/system/service.d/40.conf":                 file("[Unit]\nDescription=40\n"),
		"run/systemd/system/foo-.service.d/60.conf":            link("/dev/null"),
		"usr/lib/systemd/system/foo-.service.d/60.conf":        file("[Unit]\nDescription=60\n"),
		"usr/lib/systemd/system/foo-.service.d/README":         file("not a drop-in"),
		"usr/lib/systemd/system/tpl-a@.service":                file("[Service]\nExecStart=/bin/true\n"),
		"usr/lib/systemd/system/tpl-a@.service.d/10.conf":      file("[Unit]\nDescription=template\n"),
		"usr/lib/systemd/system/tpl-a@x.service.d/20.conf":     file("[Unit]\nDescription=instance\n"),
		"usr/lib/systemd/system/tpl-@x.service.d/15.conf":      file("[Unit]\nDescription=prefix instance\n"),
		"usr/lib/systemd/system/tpl-@.service.d/16.conf":       file("[Unit]\nDescription=prefix template\n"),
	})
	for _, tt := range []struct{ name, want string }{
		{"foo-bar-baz.service", "20,30,40,etc 50"},
		{"tpl-a@x.service", "template,prefix instance,prefix template,instance,40"},
	} {
		u, err := l.Load(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		var descs []string
		for _, a := range u.Assignments {
			if a.Key == "Description" {
				descs = append(descs, a.Value)
			}
		}
		if got := strings.Join(descs, ","); got != tt.want {
			t.Errorf("%s: descriptions in order %s, want %s (drop-ins %q)", tt.name, got, tt.want, u.DropInPaths)
		}
	}
}

func TestLoadDiagnostics(t *testing.T) {
	l := testLoader(fstest.MapFS{
		"etc/systemd/system/foo.timer": file("[Unit]\nDescription=x\n\n[Timer]\nOnCalendar=daily\nFrobnicate=1\nX-Mine=1\n\n[Tmer]\nA=b\n[X-Ext]\nB=c\n[Service]\nExecStart=/bin/true\n"),
	})
	u, err := l.Load("foo.timer")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range u.Diagnostics {
		got = append(got, d.String())
	}
	want := []string{
		"/etc/systemd/system/foo.timer:6: Unknown key 'Frobnicate' in section [Timer], ignoring.",
		"/etc/systemd/system/foo.timer:9: Unknown section 'Tmer'. Ignoring.",
		"/etc/systemd/system/foo.timer:13: Unknown section 'Service'. Ignoring.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var keys []string
	for _, a := range u.Assignments {
		keys = append(keys, a.Section+"."+a.Key)
	}
	if got := strings.Join(keys, " "); got != "Unit.Description Timer.OnCalendar Timer.X-Mine X-Ext.B" {
		t.Errorf("assignments %s, want the known ones and the extensions", got)
	}
}

func TestSearchPath(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	sys := SearchPath(SystemScope, Dirs{Transient: "/run/sundial/transient", State: "/var/lib/sundial/units"}, env(nil))
	if strings.Join(sys, ":") != "/etc/systemd/system.control:/run/systemd/system.control:/run/sundial/transient:/var/lib/sundial/units:/etc/systemd/system:/run/systemd/system:/usr/local/lib/systemd/system:/usr/lib/systemd/system:/lib/systemd/system" {
		t.Errorf("system search path %q", sys)
	}
	if got := SearchPath(SystemScope, Dirs{}, env(map[string]string{"SYSTEMD_UNIT_PATH": "/a:/b"})); strings.Join(got, ":") != "/a:/b" {
		t.Errorf("SYSTEMD_UNIT_PATH=/a:/b gives %q", got)
	}
	if got := SearchPath(SystemScope, Dirs{}, env(map[string]string{"SYSTEMD_UNIT_PATH": "/a:"})); got[0] != "/a" || len(got) != 8 {
		t.Errorf("SYSTEMD_UNIT_PATH=/a: gives %q", got)
	}
	user := SearchPath(UserScope, Dirs{Transient: "/run/user/1000/sundial/transient", State: "/home/u/.local/state/sundial/units"}, env(map[string]string{"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000"}))
	wantUser := "/home/u/.config/systemd/user.control:/run/user/1000/systemd/user.control:/run/user/1000/sundial/transient:/home/u/.local/state/sundial/units:/home/u/.config/systemd/user:/etc/xdg/systemd/user:/etc/systemd/user:/run/user/1000/systemd/user:/run/systemd/user:/home/u/.local/share/systemd/user:/usr/local/share/systemd/user:/usr/share/systemd/user:/usr/local/lib/systemd/user:/usr/lib/systemd/user"
	if strings.Join(user, ":") != wantUser {
		t.Errorf("user search path\n%s\nwant\n%s", strings.Join(user, ":"), wantUser)
	}
}

// concurrentFS holds units of every kind Load tells apart: plain ones,
// instances of templates, aliases, masks, drop-ins of names, prefixes and
// types, dependency directories, linked files and files not found.
func concurrentFS() (fstest.MapFS, []string) {
	files := fstest.MapFS{
		"etc/systemd/system/timer.d/10-accuracy.conf":          file("[Timer]\nAccuracySec=1s\n"),
		"usr/lib/systemd/system/job-.service.d/10.conf":        file("[Service]\nEnvironment=GROUP=jobs\n"),
		"usr/lib/systemd/system/tpl@.service":                  file("[Unit]\nDescription=Template %i\n[Service]\nExecStart=/bin/echo %I %n\n"),
		"usr/lib/systemd/system/tpl@.timer":                    file("[Timer]\nOnCalendar=hourly\nUnit=tpl@%i.service\n"),
		"etc/systemd/system/masked.service":                    link("/dev/null"),
		"opt/linked.service":                                   file("[Service]\nExecStart=/bin/true\n"),
		"etc/systemd/system/linked.service":                    link("/opt/linked.service"),
		"etc/systemd/system/job-7.service.wants/a.service":     link("/usr/lib/systemd/system/a.service"),
		"etc/systemd/system/job-7.service.requires/b.target":   file(""),
		"etc/systemd/system/job-8.service.wants/plain.service": file("[Service]\n"),
		"etc/systemd/system/job-9.service.d/unreadable.conf":   link("/nowhere"),
		"etc/systemd/system/job-9.service.d/20-nice.conf":      file("[Service]\nNice=3\n"),
		"etc/systemd/system/empty.service":                     file(""),
	}
	names := []string{"masked.service", "linked.service", "missing.timer", "tpl@x.service", "tpl@y-z.timer", "empty.service"}
	for i := range 300 {
		timer := fmt.Sprintf("[Unit]\nDescription=Job %d on %%H\n[Timer]\nOnCalendar=*-*-* %02d:00\nOnCalendar=Mon %02d:30\nRandomizedDelaySec=%dmin\n[Install]\nWantedBy=timers.target\n", i, i%24, i%24, i%7)
		service := fmt.Sprintf("[Unit]\nAfter=network.target %%p-x.service\n[Service]\nType=oneshot\nExecStart=/usr/bin/job --id=%d \"%%n\" ; -/bin/false\nEnvironment=\"JOB=%d\" HOST=%%H\nNice=%d\nBad=1\n", i, i, i%40-20)
		files[fmt.Sprintf("usr/lib/systemd/system/job-%d.timer", i)] = file(timer)
		files[fmt.Sprintf("usr/lib/systemd/system/job-%d.service", i)] = file(service)
		if i%10 == 0 {
			files[fmt.Sprintf("etc/systemd/system/alias%d.service", i)] = link(fmt.Sprintf("job-%d.service", i))
			names = append(names, fmt.Sprintf("alias%d.service", i))
		}
		names = append(names, fmt.Sprintf("job-%d.timer", i), fmt.Sprintf("job-%d.service", i))
	}
	return files, names
}

// TestLoadConcurrent loads the same units with one Loader from several
// goroutines at once, each in an order of its own, from memory and from
// disk, and compares them with the units one Loader loads in turn.
func TestLoadConcurrent(t *testing.T) {
	files, names := concurrentFS()
	dir := t.TempDir()
	if err := os.CopyFS(dir, files); err != nil {
		t.Fatal(err)
	}
	host := testHost()
	for _, c := range []struct {
		name   string
		loader func() *Loader
	}{
		{"memory", func() *Loader { return &Loader{FS: files, Path: testPath, Host: host} }},
		{"disk", func() *Loader {
			return &Loader{Path: []string{dir + "/etc/systemd/system", dir + "/usr/lib/systemd/system"}, Host: host}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := map[string]*Unit{}
			l := c.loader()
			for _, n := range names {
				u, err := l.Load(n)
				if err != nil {
					t.Fatal(err)
				}
				want[n] = u
			}
			l = c.loader()
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range names {
						n := names[(i*(2*g+1)+g)%len(names)]
						u, err := l.Load(n)
						if err != nil {
							t.Error(err)
							return
						}
						if !reflect.DeepEqual(u, want[n]) {
							t.Errorf("goroutine %d: Load(%s) = %+v, want %+v", g, n, u, want[n])
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestSnapshot loads the units of concurrentFS with their snapshots, from
// memory and from disk, and parses the snapshots again, once the files on
// disk are gone: each gives its unit again.
func TestSnapshot(t *testing.T) {
	files, names := concurrentFS()
	dir := t.TempDir()
	if err := os.CopyFS(dir, files); err != nil {
		t.Fatal(err)
	}
	host := testHost()
	for _, l := range []*Loader{
		{FS: files, Path: testPath, Host: host},
		{Path: []string{dir + "/etc/systemd/system", dir + "/usr/lib/systemd/system"}, Host: host},
	} {
		units := map[string]*Unit{}
		snaps := map[string]*Snapshot{}
		for _, n := range names {
			u, snap, err := l.LoadSnapshot(n)
			if err != nil {
				t.Fatal(err)
			}
			units[n], snaps[n] = u, snap
		}
		// Inspect hands over the same units, in memory used again; its
		// snapshots are the same.
		for _, n := range names {
			var dump string
			snap, err := l.Inspect(n, func(u *Unit) {
				var b strings.Builder
				dumpUnit(&b, u)
				dump = b.String()
			})
			var want strings.Builder
			dumpUnit(&want, units[n])
			if err != nil || dump != want.String() || !reflect.DeepEqual(snap, snaps[n]) {
				t.Errorf("Inspect(%s) = %v:\n%s\nwant\n%s", n, err, dump, want.String())
			}
		}
		if l.FS == nil {
			os.RemoveAll(dir)
		}
		for _, n := range names {
			if again := snaps[n].Unit(); !reflect.DeepEqual(again, units[n]) || snaps[n].Name() != units[n].Name {
				t.Errorf("%s: from its snapshot (named %s):\n%s", n, snaps[n].Name(), diffUnits(units[n], again))
			}
		}
		if u := units["job-8.service"]; !strings.Contains(fmt.Sprint(u.Diagnostics), "is not a symlink") {
			t.Errorf("job-8.service: diagnostics %v", u.Diagnostics)
		}
		if u := units["job-9.service"]; u.Service.Nice != 3 || len(u.DropInPaths) != 2 {
			t.Errorf("job-9.service: Nice=%d, drop-ins %q", u.Service.Nice, u.DropInPaths)
		}
	}
}

// TestLoadRetainsNoFile checks that a unit does not keep its file's text,
// nor its Loader the buffers of a big file.
func TestLoadRetainsNoFile(t *testing.T) {
	text := "[Unit]\n" + strings.Repeat("# "+strings.Repeat("a comment ", 1<<10)+"\n", 1<<6) + "Description=x\n" + strings.Repeat("\n", 1<<16)
	l := testLoader(fstest.MapFS{"etc/systemd/system/big.service": file(text + "[Service]\nExecStart=/bin/true\n")})
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// A first Load builds what the package and the Loader keep for all.
	if _, err := l.Load("big.service"); err != nil {
		t.Fatal(err)
	}
	before := heap()
	u, err := l.Load("big.service")
	if err != nil || u.Unit.Description != "x" {
		t.Fatalf("Load: %v, description %q", err, u.Unit.Description)
	}
	if grown := int64(heap()) - int64(before); grown > 64<<10 {
		t.Errorf("a unit from a file of %d bytes holds %d bytes", len(text), grown)
	}
	runtime.KeepAlive(u)
	runtime.KeepAlive(l)
}

// TestManyWants loads a target that thousands of units want, some of the
// links masks, from memory and from disk: the masks, looked at on every
// core, are passed over, the others kept in their order.
func TestManyWants(t *testing.T) {
	files := fstest.MapFS{"etc/systemd/system/many.target": file("[Unit]\nDescription=Many\n")}
	var want []string
	for i := range 3000 {
		name := fmt.Sprintf("w%04d.service", i)
		files["etc/systemd/system/"+name] = file("[Service]\nExecStart=/bin/true\n")
		if i%997 == 5 {
			files["etc/systemd/system/many.target.wants/"+name] = link("/dev/null")
			continue
		}
		files["etc/systemd/system/many.target.wants/"+name] = link("../" + name)
		want = append(want, name)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*Loader{
		{FS: files, Path: testPath, Host: testHost()},
		{Path: []string{dir + "/etc/systemd/system"}, Host: testHost()},
	} {
		u, err := l.Load("many.target")
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Unit.Deps["Wants"]; !slices.Equal(got, want) {
			t.Errorf("FS %v: %d wanted, want %d", l.FS != nil, len(got), len(want))
		}
	}
}

// TestStamp loads a unit from disk again and again: its stamp stays while
// its files do, and changes when one is written, added or removed.
func TestStamp(t *testing.T) {
	dir := t.TempDir()
	unitFile := filepath.Join(dir, "x.service")
	dropIn := filepath.Join(dir, "x.service.d", "10.conf")
	os.WriteFile(unitFile, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	stamp := func() uint64 {
		t.Helper()
		u, err := (&Loader{Path: []string{dir}}).Load("x.service")
		if err != nil || u.LoadState != Loaded {
			t.Fatalf("Load: %v %v", err, u.LoadState)
		}
		return u.Stamp
	}
	first := stamp()
	if again := stamp(); again != first {
		t.Errorf("stamp %x, then %x of the same files", first, again)
	}
	last := first
	for _, change := range []struct {
		what string
		do   func() error
	}{
		{"unit file written", func() error {
			return os.Chtimes(unitFile, time.Time{}, time.Now().Add(time.Hour))
		}},
		{"drop-in added", func() error {
			os.Mkdir(filepath.Dir(dropIn), 0o755)
			return os.WriteFile(dropIn, []byte("[Service]\nNice=1\n"), 0o644)
		}},
		{"drop-in written", func() error {
			return os.Chtimes(dropIn, time.Time{}, time.Now().Add(2*time.Hour))
		}},
		{"drop-in removed", func() error { return os.Remove(dropIn) }},
	} {
		if err := change.do(); err != nil {
			t.Fatal(err)
		}
		if s := stamp(); s == last {
			t.Errorf("%s: stamp %x, as before", change.what, s)
		} else {
			last = s
		}
	}
}
