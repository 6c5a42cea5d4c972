package unit

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/load/*.txtar")

// TestLoadGolden loads the units of each archive in testdata/load: its
// files form the file system (etc/systemd/system/…, usr/lib/systemd/system/…),
// a file named "NAME -> TARGET" is a symbolic link; its "load" section
// names the units, one a line, and its "want" section is what they load
// to.
func TestLoadGolden(t *testing.T) {
	archives, _ := filepath.Glob("testdata/load/*.txtar")
	if len(archives) == 0 {
		t.Fatal("no archives in testdata/load")
	}
	for _, path := range archives {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files := fstest.MapFS{}
			var load, want *txtar.File
			for i := range ar.Files {
				f := &ar.Files[i]
				switch {
				case f.Name == "load":
					load = f
				case f.Name == "want":
					want = f
				case strings.Contains(f.Name, " -> "):
					name, target, _ := strings.Cut(f.Name, " -> ")
					files[name] = link(target)
				default:
					files[f.Name] = file(string(f.Data))
				}
			}
			if load == nil {
				t.Fatal("no load section")
			}
			l := testLoader(files)
			var b strings.Builder
			for _, name := range strings.Fields(string(load.Data)) {
				u, snap, err := l.LoadSnapshot(name)
				if err != nil {
					fmt.Fprintf(&b, "%s: %v\n\n", name, err)
					continue
				}
				dumpUnit(&b, u)
				// The snapshot parses to the same unit again.
				if again := snap.Unit(); !reflect.DeepEqual(again, u) || snap.Name() != u.Name {
					t.Errorf("%s: from its snapshot (named %s):\n%s", name, snap.Name(), diffUnits(u, again))
				}
			}
			got := b.String()
			if *update {
				if want == nil {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					want = &ar.Files[len(ar.Files)-1]
				}
				want.Data = []byte(got)
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want == nil || string(want.Data) != got {
				t.Errorf("loaded (run with -update to accept):\n%s", got)
			}
		})
	}
}

// dumpUnit writes what a unit loaded to: its names and files, its state,
// the settings that differ from systemd's defaults, and the diagnostics.
func dumpUnit(b *strings.Builder, u *Unit) {
	fmt.Fprintf(b, "unit %s (%s)\n", u.Name, u.LoadState)
	if len(u.Names) > 1 {
		fmt.Fprintf(b, "  aliases: %s\n", strings.Join(u.Names[1:], " "))
	}
	if u.FragmentPath != "" {
		fmt.Fprintf(b, "  fragment: %s\n", u.FragmentPath)
	}
	for _, d := range u.DropInPaths {
		fmt.Fprintf(b, "  drop-in: %s\n", d)
	}
	if u.LoadError != nil {
		fmt.Fprintf(b, "  error: %s\n", strerror(u.LoadError))
	}
	if u.LoadState == Loaded || u.LoadState == BadSetting {
		defaults := newUnit(Name{Type: u.Type}, "", nil, "")
		dumpSection(b, "Unit", reflect.ValueOf(u.Unit), reflect.ValueOf(defaults.Unit))
		if u.Timer != nil {
			dumpSection(b, "Timer", reflect.ValueOf(*u.Timer), reflect.ValueOf(*defaults.Timer))
		}
		if u.Service != nil {
			dumpSection(b, "Service", reflect.ValueOf(*u.Service), reflect.ValueOf(*defaults.Service))
		}
		dumpSection(b, "Install", reflect.ValueOf(u.Install), reflect.ValueOf(defaults.Install))
	}
	for _, d := range u.Diagnostics {
		fmt.Fprintf(b, "  ! %s\n", d)
	}
	b.WriteString("\n")
}

func dumpSection(b *strings.Builder, name string, v, def reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || reflect.DeepEqual(v.Field(i).Interface(), def.Field(i).Interface()) {
			continue
		}
		fmt.Fprintf(b, "  [%s] %s=%s\n", name, f.Name, dumpValue(v.Field(i)))
	}
}

func dumpValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case []TimerValue:
		var s []string
		for _, tv := range x {
			if tv.Calendar != nil {
				s = append(s, fmt.Sprintf("%s %q", tv.Base, tv.Calendar.String()))
			} else {
				s = append(s, fmt.Sprintf("%s %s", tv.Base, tv.Span))
			}
		}
		return "[" + strings.Join(s, ", ") + "]"
	case []ExecCommand:
		var s []string
		for _, c := range x {
			s = append(s, fmt.Sprintf("{%s argv=%q flags=%b}", c.Path, c.Argv, c.Flags))
		}
		return "[" + strings.Join(s, ", ") + "]"
	case fmt.Stringer:
		return x.String()
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v", v.Interface())
}

// diffUnits shows where two units differ, as dumpUnit shows them.
func diffUnits(a, b *Unit) string {
	var x, y strings.Builder
	dumpUnit(&x, a)
	dumpUnit(&y, b)
	if x.String() == y.String() {
		return fmt.Sprintf("same dump, but\n%#v\n%#v", a, b)
	}
	return "loaded:\n" + x.String() + "again:\n" + y.String()
}
