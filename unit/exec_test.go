package unit

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// execCommands loads a oneshot service with the value as its ExecStart=.
func execCommands(t testing.TB, value string) (*Unit, []ExecCommand) {
	t.Helper()
	u := loadText(t, "x.service", "[Service]\nType=oneshot\nExecStart="+value+"\n")
	return u, u.Service.ExecStart
}

func TestExecCommandString(t *testing.T) {
	for _, tc := range []struct {
		value string // as written
		want  string // as String writes it back
	}{
		{"/bin/echo hello", "/bin/echo hello"},
		{`/bin/echo "a b" 'c d' e\x41f`, `/bin/echo "a b" "c d" eAf`},
		{`-/bin/false`, `-/bin/false`},
		{`@/bin/busybox sh -c "echo $1"`, `@/bin/busybox sh -c "echo $1"`},
		{`:+/bin/env $X`, `:+/bin/env $X`},
		{`!!/bin/id`, `!!/bin/id`},
		{`!/bin/id`, `!/bin/id`},
		{`/bin/echo \; x`, `/bin/echo \; x`},
		{`/bin/echo "%%" 100%%`, `/bin/echo %% 100%%`},
		{`/bin/echo ""`, `/bin/echo ""`},
		{`/bin/echo "a\"b" "c\\d" "tab\there"`, `/bin/echo "a\"b" "c\\d" "tab\there"`},
		{`//usr//bin//env x`, `//usr//bin//env x`},
		{`@//usr/bin/env env x`, `@/usr/bin/env env x`},
		{`@@x @x`, `@@x @x`},
		{`/bin/echo \xff`, `/bin/echo "\xff"`},
	} {
		_, cmds := execCommands(t, tc.value)
		if len(cmds) != 1 {
			t.Errorf("ExecStart=%s: %d commands, want 1", tc.value, len(cmds))
			continue
		}
		if got := cmds[0].String(); got != tc.want {
			t.Errorf("ExecStart=%s: String() = %s, want %s", tc.value, got, tc.want)
		}
	}
}

func TestExecCommandLine(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"/bin/echo", "hello"}, `/bin/echo hello`},
		{[]string{"/bin/echo", "a b", ""}, `/bin/echo "a b" ""`},
		{[]string{"sh", "-c", `echo "$1"`}, `sh -c "echo \"\$1\""`},
		{[]string{"x", "a*b", "(y)", "a;b", "!"}, `x "a*b" "(y)" "a;b" "!"`},
		{[]string{"x", "tab\there", "\x01", "\xff", "é"}, `x "tab\there" "\001" "\377" é`},
		{[]string{"x", "ab`c`"}, "x \"ab\\`c\\`\""},
	} {
		if got := (ExecCommand{Argv: tc.argv}).CommandLine(); got != tc.want {
			t.Errorf("CommandLine(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestExpandArgv(t *testing.T) {
	env := []string{"FOO=BAR BAR", "BAR=waldo", "EMPTY=", "QUOTED='a b' c", "FOO=last wins"}
	for _, tc := range []struct {
		argv             []string
		want, unset, bad []string
	}{
		{argv: []string{"$FOO"}, want: []string{"last", "wins"}},
		{argv: []string{"${FOO}"}, want: []string{"last wins"}},
		{argv: []string{"x${BAR}y", "${BAR}${BAR}"}, want: []string{"xwaldoy", "waldowaldo"}},
		{argv: []string{"$QUOTED"}, want: []string{"a b", "c"}},
		{argv: []string{"$EMPTY", "${EMPTY}"}, want: []string{""}},
		{argv: []string{"$NONE", "${NONE}x"}, want: []string{"x"}, unset: []string{"NONE", "NONE"}},
		{argv: []string{"FOO$BAR", "$BAR$BAR", "$BAR-x"}, want: []string{"FOO$BAR"}, bad: []string{"BAR$BAR", "BAR-x"}},
		{argv: []string{"$$BAR", "a$$b", "$$", "$"}, want: []string{"$BAR", "a$b", "$"}, bad: []string{""}},
		{argv: []string{"${BAR", "${BAR:-x}", "${BAR:-${BAR}}"}, want: []string{"${BAR", "${BAR:-x}", "${BAR:-waldo}"}},
		{argv: []string{"${A-B}", "${}"}, want: []string{"", ""}, bad: []string{"A-B", ""}},
	} {
		got, unset, bad := ExpandArgv(tc.argv, env)
		if !slices.Equal(got, tc.want) || !slices.Equal(unset, tc.unset) || !slices.Equal(bad, tc.bad) {
			t.Errorf("ExpandArgv(%q) = %q, %q, %q; want %q, %q, %q", tc.argv, got, unset, bad, tc.want, tc.unset, tc.bad)
		}
	}
}

func FuzzExec(f *testing.F) {
	for _, seed := range []string{
		"/bin/echo hello", `-@:+/bin/f zeroth "a b" 'c' \x41 \; ; /bin/true %n %%`,
		`!!/bin/e ${X} $Y`, `/bin/"unbalanced`, `//usr//bin//env`, `--x`, `"-/bin/a b" c`,
		`/bin/echo \xff \u00e9 "\t"`, `; ; /bin/x ;`, `::x`, `!+/bin/g`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if strings.ContainsAny(value, "\n\r\x00") || strings.HasSuffix(value, `\`) {
			return // not one line of a unit file
		}
		u, cmds := execCommands(t, value)
		if u.LoadState == LoadError {
			return
		}
		for _, c := range cmds {
			if len(c.Argv) == 0 || c.Path == "" {
				t.Fatalf("ExecStart=%s: empty command %+v", value, c)
			}
			if unwritable(c) {
				continue
			}
			// What String writes reads back to the same command.
			_, again := execCommands(t, c.String())
			if len(again) != 1 || !reflect.DeepEqual(again[0], c) {
				t.Fatalf("ExecStart=%s: %+v written as %s reads back as %+v", value, c, c.String(), again)
			}
		}
	})
}

// unwritable reports whether the command's executable starts with a
// prefix character that reading it back would take as a prefix.
func unwritable(c ExecCommand) bool {
	f := c.Flags
	if c.Path == ";" && f == 0 {
		return true // a separator
	}
	if c.Path == "/" && simplifyPath(c.Argv[0]) != "/" {
		return true // written "/." or the like, with "@"
	}
	switch c.Path[0] {
	case '-':
		return f&ExecIgnoreFailure == 0
	case ':':
		return f&ExecNoEnvExpand == 0
	case '+':
		return f&(ExecFullyPrivileged|ExecNoSetuid|ExecAmbientMagic) == 0
	case '!':
		return f&(ExecFullyPrivileged|ExecAmbientMagic) == 0
	}
	return false
}
