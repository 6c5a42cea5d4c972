package manager

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/unit"
)

// TestNotes: a unit is named with the settings it has that the daemon
// does not act on only when it loaded; one that failed to load is told
// with its errors alone, whatever its Type= would have been.
func TestNotes(t *testing.T) {
	const dir = "etc/systemd/system/"
	fsys := fstest.MapFS{
		dir + "good.service":    {Data: []byte("[Service]\nExecStart=/bin/true\nKeyringMode=private\n")},
		dir + "forking.service": {Data: []byte("[Service]\nType=dbus\nBusName=a.b\nExecStart=/bin/true\n")},
		dir + "bad.service":     {Data: []byte("[Service]\nKeyringMode=private\nExecStart=\n")},
		dir + "fatal.service":   {Data: []byte("[Service]\nKeyringMode=private\nExecStart=/bin/true\nUser=a/b:c\n")},
		dir + "bad.timer":       {Data: []byte("[Timer]\nPersistent=yes\n")},
	}
	l := &unit.Loader{FS: fsys, Path: []string{"/" + dir}}
	for _, tt := range []struct {
		name string
		load unit.LoadState
		want []string
	}{
		{"good.service", unit.Loaded, []string{"/" + dir + "good.service:3: KeyringMode= is not supported by sundial, ignoring."}},
		{"forking.service", unit.Loaded, []string{"forking.service: Type=dbus is not supported by sundial; the service runs as Type=simple."}},
		{"bad.service", unit.BadSetting, nil},
		{"fatal.service", unit.BadSetting, nil},
		{"bad.timer", unit.BadSetting, nil},
		{"missing.service", unit.NotFound, nil},
	} {
		u, err := l.Load(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if u.LoadState != tt.load {
			t.Fatalf("%s: load state %s, want %s", tt.name, u.LoadState, tt.load)
		}
		var got []string
		for _, n := range notes(u) {
			if !strings.Contains(n.msg, "not supported") {
				continue // the unit's own diagnostics
			}
			got = append(got, n.msg)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: notes %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestNotesResources: a resource setting the daemon cannot honour where
// it runs is named once per unit, with the reason, where it is first set.
func TestNotesResources(t *testing.T) {
	why := service.Unhonoured("MemoryMax")
	if why == "" {
		t.Skip("MemoryMax= is honoured here")
	}
	const dir = "etc/systemd/system/"
	fsys := fstest.MapFS{dir + "limited.service": {Data: []byte("[Service]\nExecStart=/bin/true\nMemoryMax=1G\nMemoryMax=2G\n")}}
	u, err := (&unit.Loader{FS: fsys, Path: []string{"/" + dir}}).Load("limited.service")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range notes(u) {
		got = append(got, n.msg)
	}
	want := []string{"/" + dir + "limited.service:3: MemoryMax= cannot be honoured here (" + why + "), ignoring."}
	if !slices.Equal(got, want) {
		t.Errorf("notes %q, want %q", got, want)
	}
}
