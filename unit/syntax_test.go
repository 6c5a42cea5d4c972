package unit

import (
	"errors"
	"strings"
	"testing"
)

// recorder collects what a syntaxParser reports, with a fixed list of known
// sections, as systemd's config_parse with a section list.
type recorder struct {
	known []string
	out   []string
}

func (r *recorder) section(name string, pos Pos) bool {
	for _, k := range r.known {
		if k == name {
			return true
		}
	}
	if !strings.HasPrefix(name, "X-") {
		r.diagnose(Diagnostic{pos, Warning, "Unknown section '" + name + "'. Ignoring."})
	}
	return false
}

func (r *recorder) assignment(a Assignment, _ *settingKey) error {
	r.out = append(r.out, a.Pos.String()+" ["+a.Section+"] "+a.Key+"="+a.Value)
	return nil
}

func (r *recorder) diagnose(d Diagnostic) {
	r.out = append(r.out, d.Pos.String()+" "+d.Msg)
}

// syntaxTests were checked with systemd-analyze verify.
var syntaxTests = []struct {
	in   string
	want []string
	err  error
}{
	{"[Unit]\nDescription=a b \n", []string{"f:2:1 [Unit] Description=a b"}, nil},
	{"  # comment\n;comment\n[Unit]\n  A = b  \n", []string{"f:4:3 [Unit] A=b"}, nil},
	// Comments are dropped even inside a continuation; the line is the last.
	{"[Timer]\nOnCalendar=daily\\\n#comment\n ;c2\nUnit=a.service\n", []string{"f:5:1 [Timer] OnCalendar=daily Unit=a.service"}, nil},
	// A continuation at the end of the file counts one line more.
	{"[Timer]\nOnCalendar=weekly\\\n", []string{"f:3:1 [Timer] OnCalendar=weekly"}, nil},
	{"[Timer]\nA=x\\\\\nB=y\n", []string{`f:2:1 [Timer] A=x\\`, "f:3:1 [Timer] B=y"}, nil},
	{"Foo=1\n[X-Bar]\nA=1\n[Timer]\nfoo\n=bar\n  \\\n[Timer]\nX-Y=1\n", []string{
		"f:1:1 Assignment outside of section. Ignoring.",
		"f:5:1 Missing '=', ignoring line.",
		"f:6:1 Missing key name before '=', ignoring line.",
		"f:9:1 [Timer] X-Y=1",
	}, nil},
	{"[Tmer]\nA=b\n[Timer]\nA=c\n", []string{"f:1:1 Unknown section 'Tmer'. Ignoring.", "f:4:1 [Timer] A=c"}, nil},
	// A byte order mark is dropped once only.
	{"\xef\xbb\xbf[Timer]\nA=1\n\xef\xbb\xbfB=1\n", []string{"f:2:1 [Timer] A=1", "f:3:1 [Timer] \ufeffB=1"}, nil},
	// Lines end with \r, \n, \0 and pairs of them.
	{"[Timer]\r\nA=1\rB=2\n\rC=3\x00D=4\n\n\nE=5", []string{"f:2:1 [Timer] A=1", "f:3:1 [Timer] B=2", "f:4:1 [Timer] C=3", "f:5:1 [Timer] D=4", "f:8:1 [Timer] E=5"}, nil},
	{"[Unit]\n[Timer\nA=1\n", []string{"f:2:1 Invalid section header '[Timer'"}, ErrBadMessage},
	{"[Un\"it]\n", []string{"f:1:1 Bad characters in section header '[Un\"it]'"}, ErrBadMessage},
	{"[Unit]\nDescription=\xff\xfe\n", []string{"f:2:1 String is not UTF-8 clean, ignoring assignment: Description=\ufffd\ufffd"}, ErrInvalid},
	{"[Unit]\nDescription=\uFDD0\n", []string{"f:2:1 String is not UTF-8 clean, ignoring assignment: Description=\ufffd\ufffd\ufffd"}, ErrInvalid},
	{"[Unit]\nA=" + strings.Repeat("x", MaxLineLength) + "\n", nil, ErrTooLong},
}

func TestSyntax(t *testing.T) {
	for _, tt := range syntaxTests {
		r := &recorder{known: []string{"Unit", "Timer"}}
		err := new(syntaxParser).parse([]byte(tt.in), "f", r)
		if !errors.Is(err, tt.err) {
			t.Errorf("parse(%.40q) error %v, want %v", tt.in, err, tt.err)
		}
		if strings.Join(r.out, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("parse(%.40q):\n got %q\nwant %q", tt.in, r.out, tt.want)
		}
	}
}

func FuzzSyntax(f *testing.F) {
	for _, tt := range syntaxTests {
		if len(tt.in) < 1000 {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := &recorder{known: []string{"Unit", "Timer"}}
		err := new(syntaxParser).parse([]byte(in), "f", r)
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %T, want *SyntaxError", err)
		}
	})
}
