package unit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/oracle"
)

// The specifiers of unit_full_printf and of unit_name_printf.
const (
	fullLetters = "aAbBcCdEfgGhHiIjJlLmMnNopPqrRsStTuUvVwWyY"
	nameLetters = "ijnNpaAbBHlqmMovwWgGuU"
)

// TestSpecifierOracle expands every specifier of units of both managers
// on this machine, with a Host left to read it, and compares with what
// systemd-analyze verify loads: Documentation= for unit_full_printf,
// Environment= for unit_env_printf and Wants= for unit_name_printf.
//
// The installed systemd may be 252, which differs from 254:
//   - 252 aborts on %I of a unit without an instance (unit_name_unescape of
//     a null pointer); 254 gives "". Plain units are not asked for %I.
//   - 252's user manager takes %S from $XDG_CONFIG_HOME (~/.config) and
//     %L from there plus "/log"; 254 from $XDG_STATE_HOME
//     (~/.local/state). For the user manager %S and %L are checked to be
//     252's, derived from %E.
//
// Both abort on %J where the prefix ends in a dash ("foo-.service"),
// which is not asked either.
//
// Run as root, the managers are also run as daemon (1) and nobody (65534)
// without $HOME and $SHELL, for the user database and the names systemd
// gives nobody. Debian builds systemd with nobody's group named "nogroup"
// (the meson option nobody-group), where 254's default is "nobody".
func TestSpecifierOracle(t *testing.T) {
	bin := oracle.Path(t)
	runs := []struct {
		scope    RuntimeScope
		uid, gid int // -1: as this process
	}{
		{SystemScope, -1, -1},
		{UserScope, -1, -1},
		{UserScope, 1, 1},
		{UserScope, uidNobody, uidNobody},
		{SystemScope, uidNobody, uidNobody},
	}
	for _, run := range runs {
		t.Run(fmt.Sprintf("%s/%d", run.scope, run.uid), func(t *testing.T) {
			scope := run.scope
			var setpriv string
			if run.uid >= 0 {
				var err error
				if setpriv, err = exec.LookPath("setpriv"); err != nil || os.Getuid() != 0 {
					t.Skip("needs root and setpriv to run as another user")
				}
				defer setIDs(run.uid, run.gid)()
			}
			dir := t.TempDir()
			if run.uid >= 0 {
				// For the other user to read.
				for _, d := range []string{filepath.Dir(dir), dir} {
					if err := os.Chmod(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			units := filepath.Join(dir, "units")
			elsewhere := filepath.Join(dir, "elsewhere")
			for _, d := range []string{units, elsewhere} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{
				"PATH":              os.Getenv("PATH"),
				"LC_ALL":            "C.UTF-8",
				"SYSTEMD_LOG_LEVEL": "debug",
				"SYSTEMD_COLORS":    "0",
				"SYSTEMD_PAGER":     "",
			}
			for _, k := range []string{"HOME", "SHELL"} {
				if v, ok := os.LookupEnv(k); ok && run.uid < 0 {
					env[k] = v
				}
			}
			args := []string{"verify"}
			if scope == UserScope {
				args = []string{"--user", "verify"}
				env["XDG_RUNTIME_DIR"] = filepath.Join(dir, "run")
				if err := os.Mkdir(env["XDG_RUNTIME_DIR"], 0o700); err != nil {
					t.Fatal(err)
				}
				if run.uid >= 0 {
					if err := os.Chown(env["XDG_RUNTIME_DIR"], run.uid, run.gid); err != nil {
						t.Fatal(err)
					}
				}
			}
			names := []string{`o-a\x2db@x\x2dy-z.service`, "o-dev-sda1.service", "o-lnk.service", "o-lnk@i.service"}
			for _, name := range names {
				full := fullLetters
				if !strings.Contains(name, "@") {
					full = strings.ReplaceAll(full, "I", "")
				}
				p := filepath.Join(units, name)
				if strings.HasPrefix(name, "o-lnk") {
					// A linked unit file: %y and %Y are the target's.
					p = filepath.Join(elsewhere, name)
					if err := os.Symlink(p, filepath.Join(units, name)); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(p, []byte(oracleUnit(full, nameLetters)), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, filepath.Join(units, name))
			}
			cmd := exec.Command(bin, args...)
			if run.uid >= 0 {
				cmd = exec.Command(setpriv, append([]string{fmt.Sprintf("--reuid=%d", run.uid), fmt.Sprintf("--regid=%d", run.gid), "--clear-groups", bin}, args...)...)
			}
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				if _, ok := err.(*exec.ExitError); !ok {
					t.Fatal(err)
				}
			}
			failed := oracleFailures(stderr.String())

			h := &Host{Getenv: envFunc(env)}
			l := &Loader{Scope: scope, Host: h}
			for _, name := range names {
				dump := oracleDump(stdout.String(), name)
				if dump == nil || len(dump["Fragment Path"]) == 0 {
					t.Errorf("%s: not in the dump; stderr:\n%s", name, lastLines(stderr.String(), 20))
					continue
				}
				n, _ := ParseName(name)
				u := &Unit{Name: name, Type: n.Type, Instance: n.Instance, FragmentPath: dump["Fragment Path"][0]}
				x := l.specifiers(u)
				fns := map[string]func(string) (string, error){"full": x.full, "env": x.env, "name": x.name}
				check := func(what string, c rune, in, want string) {
					t.Helper()
					g := result(fns[what](in))
					if scope == UserScope && what != "name" && (c == 'S' || c == 'L') {
						// systemd 252's: under $XDG_CONFIG_HOME.
						e := result(x.full("%E"))
						if c == 'L' {
							e += "/log"
						}
						g = bracketed(in, e)
					}
					if run.gid == uidNobody && c == 'g' && scope == UserScope && strings.Contains(want, "nogroup") {
						g = strings.Replace(g, nobodyGroup, "nogroup", 1) // Debian's name
					}
					if g != want {
						t.Errorf("%s %s: %s(%q) = %q, systemd-analyze: %q", scope, name, what, in, g, want)
					}
				}
				docs := setOf(dump["Documentation"])
				envs := setOf(dump["Environment"])
				wants := setOf(dump["Wants"])
				for _, c := range fullLetters {
					if c == 'I' && !strings.Contains(name, "@") {
						continue
					}
					in := fmt.Sprintf("info:%c[%%%c]", c, c)
					check("full", c, in, oracleValue(in, docs, failed))
					in = fmt.Sprintf("X_%c=[%%%c]", c, c)
					check("env", c, in, oracleValue(in, envs, failed))
				}
				for _, c := range nameLetters + "IfPy" {
					in := fmt.Sprintf("s-%%%c-m%c.service", c, c)
					want := oracleValue(in, wants, failed)
					if want == "" {
						// Expanded, but not to a name a unit may have.
						if v, err := x.name(in); err == nil && !ValidName(v, Plain|Instance) {
							continue
						}
					}
					check("name", c, in, want)
				}
			}
		})
	}
}

// bracketed is what the input in, "...[%X]", gives where %X gives v.
func bracketed(in, v string) string {
	i := strings.IndexByte(in, '[')
	return in[:i] + "[" + v + "]"
}

// oracleUnit is a service with each specifier in its own Documentation=,
// Environment= and (the name ones) Wants=.
func oracleUnit(full, name string) string {
	var b strings.Builder
	b.WriteString("[Unit]\n")
	for _, c := range full {
		fmt.Fprintf(&b, "Documentation=info:%c[%%%c]\n", c, c)
	}
	for _, c := range name + "IfPy" {
		fmt.Fprintf(&b, "Wants=s-%%%c-m%c.service\n", c, c)
	}
	b.WriteString("[Service]\nExecStart=/bin/true\n")
	for _, c := range full {
		fmt.Fprintf(&b, "Environment=\"X_%c=[%%%c]\"\n", c, c)
	}
	return b.String()
}

// oracleFailures maps the values systemd could not expand to the error.
func oracleFailures(stderr string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(stderr, "\n") {
		for _, pre := range []string{": Failed to resolve unit specifiers in '", ": Failed to resolve specifiers in "} {
			i := strings.Index(line, pre)
			if i < 0 {
				continue
			}
			rest := line[i+len(pre):]
			j := strings.LastIndex(rest, ", ignoring: ")
			if j < 0 {
				continue
			}
			m[strings.TrimSuffix(rest[:j], "'")] = "!" + rest[j+len(", ignoring: "):]
		}
	}
	return m
}

// oracleDump returns the settings of a unit in the dump, by name.
func oracleDump(stdout, name string) map[string][]string {
	var m map[string][]string
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "\t-> Unit "); ok {
			if m != nil {
				return m
			}
			if rest == name+":" {
				m = map[string][]string{}
			}
			continue
		}
		if m == nil || !strings.HasPrefix(line, "\t\t") {
			continue
		}
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "\t\t"), ": ")
		m[k] = append(m[k], v)
	}
	return m
}

func setOf(list []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range list {
		m[strings.TrimSuffix(s, " (origin-file)")] = true
	}
	return m
}

// oracleValue finds what systemd made of the input in: an error, or the
// value in set that starts and ends as in does around its specifier.
// Each input's text around the specifier is its own.
func oracleValue(in string, set map[string]bool, failed map[string]string) string {
	if e, ok := failed[in]; ok {
		return e
	}
	pct := strings.IndexByte(in, '%')
	head, tail := in[:pct], in[pct+2:]
	for v := range set {
		if strings.HasPrefix(v, head) && strings.HasSuffix(v, tail) && len(v) >= len(head)+len(tail) {
			return v
		}
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
