package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"testing"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
)

// TestOptionalArguments: -n's and -b's optional arguments are read as
// getopt reads journalctl's "n::" and "b::", and other options'
// arguments are left alone.
func TestOptionalArguments(t *testing.T) {
	c := &cli{argv0: "journalctl", stdout: io.Discard, stderr: io.Discard}
	for _, tc := range []struct{ args, want []string }{
		{[]string{"-n5"}, []string{"--lines=5"}},
		{[]string{"-n", "5"}, []string{"--lines=5"}},
		{[]string{"-n", "+5"}, []string{"--lines=+5"}},
		{[]string{"-n", "all"}, []string{"--lines=all"}},
		{[]string{"-n", "-1"}, []string{"--lines", "-1"}},
		{[]string{"-n", "hello"}, []string{"--lines", "hello"}},
		{[]string{"-n", "0x10"}, []string{"--lines=0x10"}},
		{[]string{"-n", "09"}, []string{"--lines", "09"}},
		{[]string{"--lines", "7"}, []string{"--lines=7"}},
		{[]string{"-xen3"}, []string{"-xe", "--lines=3"}},
		{[]string{"-xen", "3"}, []string{"-xe", "--lines=3"}},
		{[]string{"-nu"}, []string{"--lines=u"}},
		{[]string{"-xeu", "-n5"}, []string{"-xeu", "-n5"}},
		{[]string{"-uhello", "-n5"}, []string{"-uhello", "--lines=5"}},
		{[]string{"--unit", "-n5"}, []string{"--unit", "-n5"}},
		{[]string{"--", "-n5"}, []string{"--", "-n5"}},
		{[]string{"-n"}, []string{"--lines"}},
		{[]string{"-b", "-1"}, []string{"--boot=-1"}},
		{[]string{"-b-1"}, []string{"--boot=-1"}},
		{[]string{"-b", "all", "-n", "3"}, []string{"--boot=all", "--lines=3"}},
		{[]string{"-b", "-u", "x"}, []string{"--boot", "-u", "x"}},
		{[]string{"-eb", "0123456789abcdef0123456789abcdef-1"}, []string{"-e", "--boot=0123456789abcdef0123456789abcdef-1"}},
		{[]string{"--boot", "+2"}, []string{"--boot=+2"}},
		{[]string{"-xb"}, []string{"-x", "--boot"}},
	} {
		fs := c.flags()
		o := &journalOptions{}
		o.declareAll(fs)
		if got := optionalArguments(fs, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("optionalArguments(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestSetLines: -n's numbers are safe_atoi's, octal after a leading 0
// and hexadecimal after 0x, as journalctl's parse_lines reads them.
func TestSetLines(t *testing.T) {
	for _, tc := range []struct {
		value  string
		lines  int
		oldest bool
		ok     bool
	}{
		{"10", 10, false, true},
		{"010", 8, false, true},
		{"+010", 8, true, true},
		{"0x10", 16, false, true},
		{"09", 0, false, false},
		{"-1", 0, false, false},
	} {
		o := &journalOptions{}
		err := o.setLines(tc.value)
		if (err == nil) != tc.ok || tc.ok && (o.lines != tc.lines || o.oldest != tc.oldest) {
			t.Errorf("setLines(%q) = %v: lines %d, oldest %v; want %d, %v", tc.value, err, o.lines, o.oldest, tc.lines, tc.oldest)
		}
	}
}

// TestParsePriorities: -p's levels, numbers and ranges, as journalctl's
// parse_argv makes its mask of them.
func TestParsePriorities(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want uint8
		err  string
	}{
		{"emerg", 0b1, ""},
		{"err", 0b1111, ""},
		{"3", 0b1111, ""},
		{"debug", 0xff, ""},
		{"err..warning", 0b11000, ""},
		{"warning..err", 0b11000, ""},
		{"0..7", 0xff, ""},
		{"info..info", 0b1000000, ""},
		{"error", 0, "Unknown log level error"},
		{"8", 0, "Unknown log level 8"},
		{"err..", 0, "Failed to parse log level range err.."},
		{"..err", 0, "Failed to parse log level range ..err"},
	} {
		got, err := parsePriorities(tc.arg)
		if msg := errText(err); got != tc.want || msg != tc.err {
			t.Errorf("parsePriorities(%q) = %08b, %q; want %08b, %q", tc.arg, got, msg, tc.want, tc.err)
		}
	}
}

// TestCompilePattern: -g is case-insensitive unless it has capitals or
// --case-sensitive says otherwise; mistakes are in PCRE2's words.
func TestCompilePattern(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		pattern string
		cs      *bool
		text    string
		match   bool
		err     string
	}{
		{"error", nil, "An ERROR", true, ""},
		{"Error", nil, "an error", false, ""},
		{"Error", nil, "an Error", true, ""},
		{"Error", &no, "an ERROR", true, ""},
		{"error", &yes, "an ERROR", false, ""},
		{"fail(ed)?$", nil, "Failed", true, ""},
		{"(", nil, "", false, `Bad pattern "(": missing closing parenthesis`},
		{"a[", nil, "", false, `Bad pattern "a[": missing terminating ] for character class`},
		{"*a", nil, "", false, `Bad pattern "*a": quantifier does not follow a repeatable item`},
	} {
		re, err := compilePattern(tc.pattern, tc.cs)
		if msg := errText(err); msg != tc.err || err == nil && re.MatchString(tc.text) != tc.match {
			t.Errorf("compilePattern(%q, %v) on %q: %v, %q", tc.pattern, tc.cs, tc.text, re, msg)
		}
	}
}

// TestFnmatch: unit patterns match as fnmatch(3) with FNM_NOESCAPE.
func TestFnmatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"backup-*", "backup-home.service", true},
		{"backup-*", "backup-", true},
		{"backup-*", "my-backup-home.service", false},
		{"*.timer", "a.timer", true},
		{"?.service", "a.service", true},
		{"?.service", "ab.service", false},
		{"[ab].service", "b.service", true},
		{"[!ab].service", "b.service", false},
		{"[^ab].service", "c.service", true},
		{"[a-c]x", "bx", true},
		{"[]]x", "]x", true},
		{"[x", "[x", true},
		{`a\x2db.service`, `a\x2db.service`, true},
		{`a\*`, `a\b`, true},
		{"*", "", true},
	} {
		if got := fnmatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("fnmatch(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}

// TestMangleGlob: names for -u are mangled as unit_name_mangle() with
// UNIT_NAME_MANGLE_GLOB: a type added, characters escaped, patterns kept.
func TestMangleGlob(t *testing.T) {
	for _, tc := range []struct{ name, want, notice string }{
		{"hello", "hello.service", ""},
		{"hello.timer", "hello.timer", ""},
		{"backup-*", "backup-*", ""},
		{"foo@", "foo@.service", ""},
		{"a b", `a\x20b.service`, `Invalid unit name "a b" escaped as "a\x20b" (maybe you should use systemd-escape?).`},
		{"x/y", "x-y.service", `Invalid unit name "x/y" escaped as "x-y" (maybe you should use systemd-escape?).`},
		{"a b*", `a\x20b*`, `Invalid unit name "a b*" escaped as "a\x20b*" (maybe you should use systemd-escape?).`},
		{"/dev/sda", "dev-sda.device", ""},
	} {
		got, notice, ok := mangleUnitName(tc.name, "", ".service", true)
		if got != tc.want || notice != tc.notice || !ok {
			t.Errorf("mangleUnitName(%q) = %q, %q, %v; want %q, %q", tc.name, got, notice, ok, tc.want, tc.notice)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestJournalOutput: messages that are not plain text come out as
// journalctl shows them: tabs expanded and colours taken out in the
// short modes, "[N blob data]" for what is not printable (unless -a),
// byte arrays in json, binary fields in export, JSON escaped as
// systemd's, not as HTML.
func TestJournalOutput(t *testing.T) {
	long := strings.Repeat("x", 4096)
	for _, tc := range []struct {
		output, message string
		all             bool
		fields          []string
		want            string
	}{
		{"short", "tab\there", false, nil, "tab        here\n"},
		{"short", "\x1b[1;31mred\x1b[0m plain", false, nil, "red plain\n"},
		{"short", "\x1b]8;;http://x\x07link\x1b]8;;\x1b\\ end", false, nil, "link end\n"},
		{"short", "\x1b[2Jclear", false, nil, "[9B blob data]\n"},
		{"short", "cr\r\r", false, nil, "cr\n"},
		{"short", "bin\x01ary", false, nil, "[7B blob data]\n"},
		{"short", "\xff\xfe latin", false, nil, "[8B blob data]\n"},
		{"short", "bin\x01ary", true, nil, "bin\x01ary\n"},
		{"short", "tab\there", true, nil, "tab\there\n"},
		{"short", "two\nlines", false, nil, "two\n" + strings.Repeat(" ", len("Jan 01 00:00:00 x[1]: ")) + "lines\n"},
		{"cat", "bin\x01ary", false, nil, "bin\x01ary\n"},
		{"cat", "two", false, []string{"PRIORITY", "NONE", "MESSAGE"}, "6\ntwo\n"},
		{"json", "a <b> & \"c\" \\ \t", false, []string{"MESSAGE"}, `"MESSAGE":"a <b> & \"c\" \\ \t"}`},
		{"json", "bin\x01ary", false, []string{"MESSAGE"}, `"MESSAGE":[98,105,110,1,97,114,121]}`},
		{"json", "\xff", false, []string{"MESSAGE"}, `"MESSAGE":[255]}`},
		{"json", long, false, []string{"MESSAGE"}, `"MESSAGE":null}`},
		{"json", "\xff", true, []string{"MESSAGE"}, `"MESSAGE":[255]}`},
		{"json", long, true, []string{"MESSAGE"}, `"MESSAGE":"` + long + `"}`},
		{"json-pretty", "\x01\x02", false, []string{"MESSAGE"}, "\"MESSAGE\" : [\n\t\t1,\n\t\t2\n\t]\n}"},
		{"export", "tab\there", false, []string{"MESSAGE"}, "MESSAGE=tab\there\n\n"},
		{"export", "two\nlines", false, []string{"MESSAGE"}, "MESSAGE\n\x09\x00\x00\x00\x00\x00\x00\x00two\nlines\n\n"},
		{"export", "\u0085", false, []string{"MESSAGE"}, "MESSAGE\n\x02\x00\x00\x00\x00\x00\x00\x00\u0085\n\n"},
		{"verbose", "bin\x01ary", false, []string{"MESSAGE"}, "    MESSAGE=[7B blob data]\n"},
		{"verbose", "two\nlines", false, []string{"MESSAGE"}, "    MESSAGE=two\n            lines\n"},
		{"verbose", "bin\x01ary", true, []string{"MESSAGE"}, "    MESSAGE=bin\x01ary\n"},
	} {
		var out bytes.Buffer
		c := &cli{argv0: "journalctl", stdout: &out, stderr: io.Discard}
		o := &journalOptions{output: tc.output, all: tc.all, fields: tc.fields, utc: true, noHostname: true}
		o.printer(c).print([]api.Entry{{Cursor: 1, Realtime: 1, Monotonic: 1, Boot: "b", PID: 1, Identifier: "x", Priority: 6, Message: tc.message}})
		got := out.String()
		if tc.output == "short" {
			got = strings.TrimPrefix(got, "Jan 01 00:00:00 x[1]: ")
		} else if strings.HasPrefix(tc.output, "json") {
			got = strings.TrimSuffix(got, "\n")
		}
		if !strings.HasSuffix(got, tc.want) {
			t.Errorf("-o %s, all %v, of %q:\n%q\nwant it to end in\n%q", tc.output, tc.all, tc.message, got, tc.want)
		}
	}
}

// TestSelectBootDirectory: with -D, -b (and -e, -f, which imply it) is
// the last boot of the directory's journal, not the running one, as
// journalctl takes it; an empty journal has none.
func TestSelectBootDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, manager.StorePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("ab", 16)
	if err := st.Append(ctx, store.Entry{Realtime: 1, Boot: other, Unit: "a.service", Message: "before"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	o := &journalOptions{dir: dir, boot: true}
	o.user = true
	if got, err := o.selectBoot(ctx, o.source()); got != other || err != nil {
		t.Errorf("-b -D: boot %q, %v; want the journal's last, %s", got, err, other)
	}
	empty := t.TempDir()
	st, err = store.Open(ctx, manager.StorePath(empty))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	o.dir = empty
	want := "Data from the specified boot (+0) is not available: No such boot ID in journal"
	if got, err := o.selectBoot(ctx, o.source()); errText(err) != want {
		t.Errorf("-b -D of an empty journal: boot %q, %v; want %q", got, err, want)
	}
}

// TestSourceFailed: a state directory or database that cannot be opened
// is said so as journalctl says it of its directory.
func TestSourceFailed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errStore{fmt.Errorf("store: %w", &fs.PathError{Op: "open", Path: "/s/sundial.db", Err: syscall.EACCES})},
			"Failed to open /s/sundial.db: Permission denied\n"},
		{errStore{&fs.PathError{Op: "stat", Path: "/nowhere", Err: syscall.ENOENT}},
			"Failed to open /nowhere: No such file or directory\n"},
	} {
		var out bytes.Buffer
		c := &cli{prog: "journalctl", argv0: "journalctl", stdout: io.Discard, stderr: &out}
		src := newSource(&daemonOptions{}, "/s")
		if status := src.failed(c, "read the journal", tc.err); status != 1 || out.String() != tc.want {
			t.Errorf("failed(%v) = %d, %q; want %q", tc.err, status, out.String(), tc.want)
		}
	}
}
