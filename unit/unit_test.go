package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// render writes a unit's assignments back as a unit file, a section
// header before each change of section.
func render(u *Unit) string {
	var b strings.Builder
	section := ""
	for _, a := range u.Assignments {
		if a.Section != section {
			section = a.Section
			b.WriteString("[" + section + "]\n")
		}
		v := a.Value
		if endsEscaped(v) {
			// A trailing space keeps the backslash from continuing
			// the line; it is trimmed when read.
			v += " "
		}
		b.WriteString(a.Key + "=" + v + "\n")
	}
	return b.String()
}

// loadText loads the text as the unit called name.
func loadText(t testing.TB, name, text string) *Unit {
	t.Helper()
	l := testLoader(fstest.MapFS{"etc/systemd/system/" + name: file(text)})
	u, err := l.Load(name)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return u
}

func FuzzUnit(f *testing.F) {
	for _, seed := range []string{
		"[Unit]\nDescription=x\nAfter=a.service b.service\n[Timer]\nOnCalendar=daily\nOnBootSec=5min\nPersistent=yes\n",
		"[Timer]\nOnCalendar=\nOnCalendar=Mon *-*-* 03:00\nAccuracySec=1us\nUnit=x.service\n[Install]\nWantedBy=timers.target\n",
		"[Unit]\nConditionPathExists=|!/etc/x\nAssertHost=!a\nDocumentation=man:a(1) https://x\n",
		"[Timer]\nOnUnitActiveSec=1h \\\n# c\n 2min\nRandomizedDelaySec=maybe\n[Tmer]\nX=1\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		u := loadText(t, "f.timer", text)
		if u.LoadState == LoadError {
			return
		}
		// What was read, written back, reads the same; but an empty
		// file masks the unit.
		text = render(u)
		if text == "" {
			return
		}
		again := loadText(t, "f.timer", text)
		if !sameAssignments(again.Assignments, u.Assignments) {
			t.Fatalf("assignments differ after rendering:\n%+v\n%+v", u.Assignments, again.Assignments)
		}
		if !reflect.DeepEqual(u.Unit, again.Unit) || !reflect.DeepEqual(u.Timer, again.Timer) || !reflect.DeepEqual(u.Install, again.Install) {
			t.Fatalf("typed sections differ after rendering %q:\n%+v %+v %+v\n%+v %+v %+v", render(u), u.Unit, u.Timer, u.Install, again.Unit, again.Timer, again.Install)
		}
	})
}

// sameAssignments compares assignments less their positions.
func sameAssignments(a, b []Assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Section != b[i].Section || a[i].Key != b[i].Key || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

// BenchmarkLoadShipped loads every unit file installed on the machine
// from the system's search path, a new Loader each round.
func BenchmarkLoadShipped(b *testing.B) {
	var names []string
	entries, _ := os.ReadDir("/usr/lib/systemd/system")
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !ValidName(n, Plain|Template) {
			continue
		}
		names = append(names, instanceName(n, "i"))
	}
	if len(names) == 0 {
		b.Skip("no unit files installed")
	}
	b.ReportAllocs()
	loaded := 0
	for b.Loop() {
		l := &Loader{Path: SearchPath(SystemScope, Dirs{}, func(string) string { return "" })}
		for _, n := range names {
			if _, err := l.Load(n); err != nil {
				b.Fatal(err)
			}
			loaded++
		}
	}
	b.ReportMetric(float64(loaded)/b.Elapsed().Seconds(), "units/s")
}

// manyUnits writes 10,000 units, 5,000 timers and the services they
// trigger, of the kind a manager of scheduled jobs holds, to a directory
// and to a file system in memory (under /units), and returns their names.
func manyUnits(b *testing.B) (dir string, mem fstest.MapFS, names []string) {
	dir = b.TempDir()
	mem = fstest.MapFS{}
	for i := range 5000 {
		timer := fmt.Sprintf("[Unit]\nDescription=Job %d\n\n[Timer]\nOnCalendar=*-*-* %02d:%02d:00\nPersistent=yes\nRandomizedDelaySec=%dmin\n\n[Install]\nWantedBy=timers.target\n", i, i%24, i%60, i%30)
		service := fmt.Sprintf("[Unit]\nDescription=Job %d\nAfter=network-online.target\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/job --id=%d \"%%n\"\nEnvironment=JOB=%d\nNice=10\n", i, i, i)
		for name, text := range map[string]string{fmt.Sprintf("job%d.timer", i): timer, fmt.Sprintf("job%d.service", i): service} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
			mem["units/"+name] = file(text)
			names = append(names, name)
		}
	}
	return dir, mem, names
}

// BenchmarkLoadMany loads the units of manyUnits with one Loader, as a
// manager loads them at start: from disk, and from memory, which leaves
// out the kernel's share (opening and reading each file).
func BenchmarkLoadMany(b *testing.B) {
	dir, mem, names := manyUnits(b)
	for _, c := range []struct {
		name   string
		loader func() *Loader
	}{
		{"disk", func() *Loader { return &Loader{Path: []string{dir}} }},
		{"memory", func() *Loader { return &Loader{FS: mem, Path: []string{"/units"}} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			loaded := 0
			for b.Loop() {
				l := c.loader()
				for _, n := range names {
					u, err := l.Load(n)
					if err != nil || u.LoadState != Loaded {
						b.Fatal(n, err, u.LoadState)
					}
					loaded++
				}
			}
			b.ReportMetric(float64(loaded)/b.Elapsed().Seconds(), "units/s")
		})
	}
	// As a manager does on all its cores: one Loader, a goroutine for
	// each, the units shared out.
	b.Run("disk-parallel", func(b *testing.B) {
		b.ReportAllocs()
		workers := runtime.GOMAXPROCS(0)
		for b.Loop() {
			l := &Loader{Path: []string{dir}}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := w; i < len(names); i += workers {
						if u, err := l.Load(names[i]); err != nil || u.LoadState != Loaded {
							b.Error(names[i], err)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.N*len(names))/b.Elapsed().Seconds(), "units/s")
	})
}

// BenchmarkLoadRetained reports the heap that the units of manyUnits
// hold once loaded from disk, per unit: with their Loader, and without;
// and the heap their snapshots hold.
func BenchmarkLoadRetained(b *testing.B) {
	dir, _, names := manyUnits(b)
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var withLoader, alone, snapshots float64
	for b.Loop() {
		before := heap()
		l := &Loader{Path: []string{dir}}
		units := make([]*Unit, len(names))
		for i, n := range names {
			units[i], _ = l.Load(n)
		}
		withLoader = float64(heap()-before) / float64(len(units))
		runtime.KeepAlive(l)
		alone = float64(heap()-before) / float64(len(units))
		runtime.KeepAlive(units)
		units = nil
		before = heap()
		l = &Loader{Path: []string{dir}}
		snaps := make([]*Snapshot, len(names))
		for i, n := range names {
			snaps[i], _ = l.Inspect(n, func(*Unit) {})
		}
		l = nil
		snapshots = float64(heap()-before) / float64(len(snaps))
		runtime.KeepAlive(snaps)
	}
	b.ReportMetric(withLoader, "B/unit+loader")
	b.ReportMetric(alone, "B/unit")
	b.ReportMetric(snapshots, "B/snapshot")
}

func TestUnsupported(t *testing.T) {
	u := loadText(t, "x.service", "[Unit]\nDescription=x\nAfter=a.service\nConditionPathExists=/etc\n"+
		"[Service]\nExecStart=/bin/true\nKeyringMode=private\nMemorySwapMax=1G\nX-Mine=1\nNice=5\n")
	var got []string
	for _, a := range u.Unsupported() {
		got = append(got, a.Key)
	}
	if want := []string{"KeyringMode", "MemorySwapMax"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Unsupported() = %v, want %v", got, want)
	}
}
