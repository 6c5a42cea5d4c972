package unit

import "testing"

func TestValidName(t *testing.T) {
	for _, tt := range []struct {
		name  string
		kinds NameKind
		want  bool
	}{
		{"foo.service", Plain, true},
		{"foo.service", Instance | Template, false},
		{"foo@bar.service", Instance, true},
		{"foo@bar.service", Plain | Template, false},
		{"foo@.service", Template, true},
		{"foo@.service", Instance, false},
		{"foo@bar@baz.timer", Instance, true},
		{"@bar.service", AnyName, false},
		{"foo.frob", AnyName, false},
		{".service", AnyName, false},
		{"service", AnyName, false},
		{"foo bar.service", AnyName, false},
		{`a:b-c_d.e\x2d.mount`, AnyName, true},
		{"foo/bar.service", AnyName, false},
		{string(make([]byte, 248)) + ".service", AnyName, false},
		{"", AnyName, false},
	} {
		if got := ValidName(tt.name, tt.kinds); got != tt.want {
			t.Errorf("ValidName(%q, %d) = %v, want %v", tt.name, tt.kinds, got, tt.want)
		}
	}
}

func TestParseName(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Name
	}{
		{"foo.timer", Name{Prefix: "foo", Type: Timer}},
		{"foo@bar.service", Name{Prefix: "foo", Instance: "bar", Type: Service}},
		{"foo@.service", Name{Prefix: "foo", Template: true, Type: Service}},
		{"a.b.c.socket", Name{Prefix: "a.b.c", Type: Socket}},
	} {
		got, err := ParseName(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseName(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseName(%q).String() = %q", tt.in, got.String())
		}
	}
	if tpl, ok := TemplateName("getty@tty1.service"); !ok || tpl != "getty@.service" {
		t.Errorf("TemplateName = %q, %v", tpl, ok)
	}
	if _, ok := TemplateName("getty.service"); ok {
		t.Error("TemplateName of a plain name")
	}
}

func TestEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/dev/sda1", "-dev-sda1"},
		{"foo-bar/baz", `foo\x2dbar-baz`},
		{".hidden/x y", `\x2ehidden-x\x20y`},
		{`a\b`, `a\x5cb`},
		{"é", `\xc3\xa9`},
	} {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := Unescape(tt.want); err != nil || back != tt.in {
			t.Errorf("Unescape(%q) = %q, %v, want %q", tt.want, back, err, tt.in)
		}
	}
	for _, bad := range []string{`\x`, `\x4`, `\y41`, `\xzz`} {
		if _, err := Unescape(bad); err == nil {
			t.Errorf("Unescape(%q) succeeded", bad)
		}
	}
}

func TestParseType(t *testing.T) {
	for i, s := range typeNames {
		if typ, ok := ParseType(s); !ok || typ != Type(i) {
			t.Errorf("ParseType(%q) = %v, %v; want %v", s, typ, ok, Type(i))
		}
	}
	if _, ok := ParseType("timers"); ok {
		t.Error(`ParseType("timers") is a type`)
	}
}
