package unit

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/oracle"
)

// The differential tests of verify: systemd-analyze verify and Verify
// are run on the same files, and what they log must be the same lines.
// Lines about settings this package keeps without checking them (see
// uncheckedLines) are left out on both sides.
//
// The installed systemd may be 252, which differs from 254 in ways that
// do not show here: 252's table of system calls lacks newer ones
// (SystemCallFilter=, unchecked), and both check only the first command
// of each Exec…= list for an executable.

// TestVerifyOracleShipped verifies every unit file installed on the
// machine, of the system and of the user manager.
func TestVerifyOracleShipped(t *testing.T) {
	oracle.Path(t)
	for _, c := range []struct {
		scope RuntimeScope
		dir   string
	}{
		{SystemScope, "/usr/lib/systemd/system"},
		{UserScope, "/usr/lib/systemd/user"},
	} {
		t.Run(c.scope.String(), func(t *testing.T) {
			files := unitFiles(t, c.dir)
			if len(files) == 0 {
				t.Skipf("no unit files in %s", c.dir)
			}
			compareVerify(t, c.scope, c.dir, files)
			t.Logf("%d files", len(files))
		})
	}
}

// TestVerifyOracleBroken verifies broken variants of the timers,
// services and targets installed: bad values for the settings of each
// file, unknown keys and sections, broken continuations and stray text.
// Each file is verified alone (--recursive-errors=no): what systemd's
// transactions say of the units a broken unit brings in is the manager's
// business.
func TestVerifyOracleBroken(t *testing.T) {
	oracle.Path(t)
	const src = "/usr/lib/systemd/system"
	originals := slices.DeleteFunc(unitFiles(t, src), func(f string) bool {
		n, _ := ParseName(f)
		return n.Type != Timer && n.Type != Service && n.Type != Target
	})
	if len(originals) == 0 {
		t.Skipf("no unit files in %s", src)
	}
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 4))
	// Each round's variants keep their names, in a directory of their
	// own, which comes first in the search path.
	for round := range 4 {
		dir := t.TempDir()
		for _, f := range originals {
			data, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), []byte(breakUnit(rng, string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Batches keep a mismatch's report short.
		for files := originals; len(files) > 0; {
			n := min(len(files), 50)
			compareVerify(t, SystemScope, dir, files[:n], "--recursive-errors=no")
			files = files[n:]
		}
		t.Logf("round %d: %d files", round, len(originals))
	}
}

// TestVerifyOracleExec verifies services with generated command lines
// and environment assignments, and compares the commands and the
// environment systemd loaded (its debug dump) with ours.
func TestVerifyOracleExec(t *testing.T) {
	oracle.Path(t)
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 5))
	dir := t.TempDir()
	var files []string
	for i := range 1500 {
		var b strings.Builder
		b.WriteString("[Service]\nType=oneshot\n")
		for range 1 + rng.IntN(3) {
			fmt.Fprintf(&b, "%s=%s\n", pick(rng, []string{"ExecStart", "ExecStartPre", "ExecStop", "ExecStopPost"}), genCommandLine(rng))
		}
		fmt.Fprintf(&b, "Environment=%s\n", genEnvironment(rng))
		name := fmt.Sprintf("x%d@y.service", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	l := &Loader{Path: []string{dir}}
	for len(files) > 0 {
		n := min(len(files), 250)
		batch := files[:n]
		files = files[n:]
		compareVerify(t, SystemScope, dir, batch, "SYSTEMD_UNIT_PATH="+dir)
		stdout, _ := oracle.Verify(t, dir, []string{"SYSTEMD_UNIT_PATH=" + dir, "SYSTEMD_LOG_LEVEL=debug"}, append([]string{"verify", "--man=no"}, batch...)...)
		dumps := parseDumps(stdout)
		for _, f := range batch {
			u, err := l.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			want, loaded := dumps[u.Name]
			if loaded != (u.LoadState == Loaded) {
				t.Errorf("%s: systemd loaded it: %v, we: %v", f, loaded, u.LoadState)
				continue
			}
			if !loaded {
				continue
			}
			if got := ourDump(u); !slices.Equal(got, want) {
				data, _ := os.ReadFile(filepath.Join(dir, f))
				t.Errorf("%s:\n%s\nours:\n  %s\nsystemd:\n  %s", f, data, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		}
	}
}

// unitFiles lists the regular unit files of dir, templates included.
func unitFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && ValidName(e.Name(), Plain|Template) {
			files = append(files, e.Name())
		}
	}
	return files
}

// compareVerify verifies files (names in dir) with both and compares
// the lines logged, less those about settings kept unchecked. Extra
// arguments are a --recursive-errors= option or NAME=value environment
// variables.
func compareVerify(t *testing.T, scope RuntimeScope, dir string, files []string, extra ...string) {
	t.Helper()
	args := []string{"verify", "--man=no"}
	var env []string
	recursive := ""
	for _, e := range extra {
		if r, ok := strings.CutPrefix(e, "--recursive-errors="); ok {
			args = append(args, e)
			recursive = r
		} else {
			env = append(env, e)
		}
	}
	if scope == UserScope {
		args = append([]string{"--user"}, args...)
		if _, ok := os.LookupEnv("XDG_RUNTIME_DIR"); !ok {
			t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // for both
		}
	}
	_, lines := oracle.Verify(t, dir, env, append(args, files...)...)
	// The ordering cycles of start jobs, which Verify does not look for.
	sys := slices.DeleteFunc(messages(lines), orderingCycle.MatchString)
	var ours []string
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	lookup := func(k string) (string, bool) {
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, k+"="); ok {
				return v, true
			}
		}
		return os.LookupEnv(k)
	}
	Verify(paths, VerifyOptions{Scope: scope, Recursive: recursive, LookupEnv: lookup, Log: func(l string) { ours = append(ours, l) }})
	ours = messages(ours)
	skip := uncheckedLines(t, append(sys, ours...))
	clean := func(lines []string) []string {
		lines = slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return skip[l] })
		slices.Sort(lines)
		return lines
	}
	sys, ours = clean(sys), clean(ours)
	if !slices.Equal(sys, ours) {
		diff := lineDiff(sys, ours)
		// The files the differences name, to see why.
		for _, f := range files {
			n, _ := ParseName(f)
			if n.Template {
				n.Instance = "i"
			}
			if strings.Contains(diff, "/"+f+":") || strings.Contains(diff, n.String()+":") || strings.Contains(diff, " "+n.String()+" ") {
				data, _ := os.ReadFile(filepath.Join(dir, f))
				diff += fmt.Sprintf("-- %s --\n%s\n", f, data)
			}
		}
		t.Errorf("verify %s in %s:\n%s", strings.Join(files, " "), dir, diff)
	}
}

// messages groups the lines logged into messages: a line that does not
// start one goes on the message before it. Lines before the first
// message (systemd's debug messages) are dropped.
func messages(lines []string) []string {
	var msgs []string
	for _, l := range lines {
		switch {
		case verifyMessage.MatchString(l):
			msgs = append(msgs, l)
		case len(msgs) > 0:
			msgs[len(msgs)-1] += "\n" + l
		}
	}
	return msgs
}

// verifyMessage matches the lines of systemd-analyze verify that are not
// debug messages: those about a file's line, a unit, or a unit's state.
var verifyMessage = regexp.MustCompile(`^(/[^:]*:\d+: |[^ /:]+\.[a-z]+: |Unit |Failed to |Couldn't |Accepting )`)

// orderingCycle matches the messages of systemd's transactions about
// ordering cycles.
var orderingCycle = regexp.MustCompile(`: (Found ordering cycle on |Found dependency on |Unable to break cycle |Job .* deleted to break ordering cycle |Failed to create .*: Transaction order is cyclic)`)

// fileLine is a file:line: message.
var fileLine = regexp.MustCompile(`^(/[^:]*):(\d+): (.*)$`)

// uncheckedLines returns the lines that are about settings this package
// keeps without checking them: a file:line: message whose line holds such
// a setting, and the unit-prefixed copy of that message.
func uncheckedLines(t *testing.T, lines []string) map[string]bool {
	skip := map[string]bool{}
	keys := map[string]map[int]string{} // file → line → Section.Key
	var msgs []string
	for _, l := range lines {
		m := fileLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if keys[m[1]] == nil {
			keys[m[1]] = fileKeys(m[1])
		}
		var line int
		fmt.Sscan(m[2], &line)
		if key, ok := keys[m[1]][line]; ok && unchecked(key) {
			skip[l] = true
			msgs = append(msgs, m[3])
		}
	}
	for _, l := range lines {
		if _, msg, ok := strings.Cut(l, ": "); ok && slices.Contains(msgs, msg) {
			skip[l] = true
		}
	}
	return skip
}

// fileKeys reads a unit file's assignments: the key of each line.
func fileKeys(file string) map[int]string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	c := &keyCollector{keys: map[int]string{}}
	new(syntaxParser).parse(data, file, c)
	return c.keys
}

// unchecked reports whether the setting "Section.Key" is one systemd
// does not know, or one kept unchecked.
func unchecked(setting string) bool {
	section, key, _ := strings.Cut(setting, ".")
	k, id := settingKeys()[key], sectionOf(section)
	return k == nil || id < 0 || k.in[id].set == nil
}

type keyCollector struct{ keys map[int]string }

func (c *keyCollector) section(string, Pos) bool { return true }
func (c *keyCollector) diagnose(Diagnostic)      {}
func (c *keyCollector) assignment(a Assignment, _ *settingKey) error {
	c.keys[a.Pos.Line] = a.Section + "." + a.Key
	return nil
}

// lineDiff shows the lines only one side logged.
func lineDiff(sys, ours []string) string {
	var b strings.Builder
	for _, l := range sys {
		if !slices.Contains(ours, l) {
			b.WriteString("  systemd only: " + l + "\n")
		}
	}
	for _, l := range ours {
		if !slices.Contains(sys, l) {
			b.WriteString("  ours only:    " + l + "\n")
		}
	}
	return b.String()
}

// parseDumps reads systemd's debug dump of the units verified: for each
// unit loaded, its command lines and environment, as ourDump writes them.
func parseDumps(stdout string) map[string][]string {
	dumps := map[string][]string{}
	var unit, list string
	for _, l := range strings.Split(stdout, "\n") {
		switch t := strings.TrimLeft(l, "\t"); {
		case strings.HasPrefix(t, "-> Unit "):
			unit = strings.TrimSuffix(strings.TrimPrefix(t, "-> Unit "), ":")
			dumps[unit] = []string{}
			list = ""
		case strings.HasPrefix(t, "-> Exec"):
			list = strings.TrimSuffix(strings.TrimPrefix(t, "-> "), ":")
		case list != "" && strings.HasPrefix(t, "Command Line: "):
			dumps[unit] = append(dumps[unit], list+": "+strings.TrimPrefix(t, "Command Line: "))
		case strings.HasPrefix(t, "Environment: "):
			dumps[unit] = append(dumps[unit], t)
		case unit != "" && l != "" && !strings.HasPrefix(l, "\t") && len(dumps[unit]) > 0:
			// A value with a newline goes on.
			dumps[unit][len(dumps[unit])-1] += "\n" + l
		case strings.HasPrefix(l, "\t\t") && !strings.HasPrefix(l, "\t\t\t"):
			list = ""
		}
	}
	return dumps
}

// ourDump writes a service's command lines and environment as systemd's
// dump shows them, in its order.
func ourDump(u *Unit) []string {
	s := u.Service
	var d []string
	for _, e := range s.Environment {
		d = append(d, "Environment: "+e)
	}
	for _, l := range []struct {
		name string
		cmds []ExecCommand
	}{
		{"ExecCondition", s.ExecCondition}, {"ExecStartPre", s.ExecStartPre}, {"ExecStart", s.ExecStart},
		{"ExecStartPost", s.ExecStartPost}, {"ExecReload", s.ExecReload}, {"ExecStop", s.ExecStop},
		{"ExecStopPost", s.ExecStopPost},
	} {
		for _, c := range l.cmds {
			d = append(d, l.name+": "+c.CommandLine())
		}
	}
	return d
}

func pick(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }

// The pieces command lines are made of.
var (
	execPrefixes = []string{"", "", "", "-", "@", ":", "+", "!", "!!", "-@", "@-", "+!", "!+", "!!!", "--", "::", "-:+", "@@"}
	execPaths    = []string{"/bin/echo", "/usr/bin/env", "/bin/true", "echo", "true", "nonesuch", "//bin//echo", "/bin/./echo",
		"/bin/../bin/echo", "/tmp/", "/", "", "a b", `"/bin/a b"`, `x"y`, "/bin/%n", "%p", "/bin/%Z", "/bin/%i", "/bin/%I",
		"relative/path", `/bin/e\x41cho`, `'/bin/echo'`, `/bin/a\qb`, `"/bin/echo`, ";", `\;`, "/bin/\u00e9", "/%%", "/bin/echo%",
		"/" + strings.Repeat("a", 256), "/etc/passwd", "/sbin/nologin"}
	execArgs = []string{"a", `"a b"`, "'c d'", `\;`, ";", "x;", ";x", "$FOO", "${BAR}", "$$", "%n", "%%", "%Z", "%i", `\x41`,
		`\q`, `"unbal`, `\\`, `""`, "''", "\u00e9", `\t`, `a\ b`, `"a\"b"`, `'a"b'`, `\u00e9`, `\101`, `"%%"`, "-x", "--",
		`"$HOME"`, "a*b", "(x)", "a|b", "&", "!", "`x`", "~", "#", "a=b", `\x01`, `\xff`, `\n`, `"\\;"`, "@", "%"}
)

// genCommandLine makes an Exec…= value: one or more command lines.
func genCommandLine(rng *rand.Rand) string {
	var b strings.Builder
	for i := range 1 + rng.IntN(2) {
		if i > 0 {
			b.WriteString(pick(rng, []string{" ; ", " ;", "; ", " \\; "}))
		}
		b.WriteString(pick(rng, execPrefixes) + pick(rng, execPaths))
		for range rng.IntN(5) {
			b.WriteString(pick(rng, []string{" ", "  ", "\t"}) + pick(rng, execArgs))
		}
	}
	if rng.IntN(20) == 0 {
		return ""
	}
	return b.String()
}

// The pieces Environment= values are made of.
var envWords = []string{"A=1", "B=2", "A=3", `"C=x y"`, "'D=z'", "E=", "=x", "1A=x", "A-B=x", "F", `G=\t`, `H=a\nb`,
	`"I=\x01"`, "J=%n", "K=%Z", "L=%%", `"M=unbal`, `N=\q`, "O=\u00e9", `P="q"`, "Q=$A", "_R=1", "S=a=b"}

func genEnvironment(rng *rand.Rand) string {
	var w []string
	for range rng.IntN(4) {
		w = append(w, pick(rng, envWords))
	}
	return strings.Join(w, " ")
}

// breakUnit returns the text with one to three mistakes made in it.
func breakUnit(rng *rand.Rand, text string) string {
	lines := strings.Split(text, "\n")
	for range 1 + rng.IntN(3) {
		var assignments []int
		for i, l := range lines {
			if strings.Contains(l, "=") && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ";") {
				assignments = append(assignments, i)
			}
		}
		i := rng.IntN(len(lines))
		if len(assignments) > 0 {
			i = assignments[rng.IntN(len(assignments))]
		}
		key, _, isAssignment := strings.Cut(lines[i], "=")
		switch r := rng.IntN(10); {
		case r < 5 && isAssignment:
			lines[i] = key + "=" + pick(rng, badValues)
		case r < 6 && isAssignment:
			lines[i] = key + "x=" + strings.SplitN(lines[i], "=", 2)[1]
		case r < 7:
			for j, l := range lines {
				if strings.HasPrefix(l, "[") && rng.IntN(2) == 0 {
					lines[j] = strings.Replace(l, "e", "", 1)
				}
			}
		case r < 8 && isAssignment:
			lines[i] += " \\"
			if rng.IntN(2) == 0 {
				lines = slices.Insert(lines, i+1, "# a comment in the continuation")
			}
		case r < 9:
			lines = slices.Insert(lines, i, pick(rng, []string{"stray text", "=value", "[Unclosed", "[]", " = x", "Key", "[X-Mine]", "X-Key=1"}))
		default:
			lines = slices.Insert(lines, i, pick(rng, []string{"ExecStart=", "Environment=\"A", "Description=%Z", "Documentation=nope", "After=%Z.service", "OnCalendar=bogus", "Type=simple"}))
		}
	}
	return strings.Join(lines, "\n")
}

// badValues are values that are wrong for many kinds of setting, and
// some that are right.
var badValues = []string{"", "bogus", "-1", "0", "1x", "99999999999999999999", "yes please", "5min 3", "infinity", "%", "%Z",
	"%i", "%n.service", `"unbalanced`, `a\qb`, "/relative/../x", "relative", "/", "-", "@", "!!+", "man:nope(8)", "0x10",
	"1e3", "SIGBOGUS", "RTMIN+40", "0777", "07777", "1.5", "-0", " ", "ok.service", "bad..service", "a b c", "\u00e9", "256",
	"1:2:3", "daily", "Mon 25:00", "max", "~", "/dev/null", "-/x", "A=1 B", "1G", "50%", "unlimited"}

// TestVerifyOracleTypes verifies what systemd checks of mounts, sockets
// and PID files once their files are read: a mount's Where= against its
// name (mount_verify), a socket's service (socket_verify and verify's
// check that it loads), and the notice about a PIDFile= below /var/run,
// which Debian's systemd shows at the default level only for files below
// /etc (upstream 254 shows it for every file).
func TestVerifyOracleTypes(t *testing.T) {
	oracle.Path(t)
	// verify checks each file in a directory of its own, with the units
	// it names: a mount brings in the mounts of the paths above its own.
	check := func(t *testing.T, dir string, files map[string]string, verify ...string) {
		t.Helper()
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// The standard units after, for the sockets' sysinit.target.
		compareVerify(t, SystemScope, dir, verify, "SYSTEMD_UNIT_PATH="+dir+":")
	}
	for i, where := range []string{"", "/srv/data", "/srv//data/", "/srv/data2", "srv/rel", "/srv/a-b", "/srv/../data", "/srv/./data", "/", "/srv/" + strings.Repeat("x", 260), "/srv/" + strings.Repeat("y", 240), "/srv/" + strings.Repeat("y", 250)} {
		for _, name := range []string{"srv-data.mount", "srv-data2.mount", `srv-a\x2db.mount`, "srv-" + strings.Repeat("y", 240) + ".mount"} {
			text := "[Mount]\nWhat=/dev/null\n"
			if where != "" {
				text += "Where=" + where + "\n"
			}
			t.Run(fmt.Sprintf("%d/%.20s", i, name), func(t *testing.T) {
				check(t, t.TempDir(), map[string]string{name: text}, name)
			})
		}
	}
	// The other checks of mount_verify: API file systems, What=, PAM.
	for name, text := range map[string]string{
		"nowhat.mount":                         "[Mount]\nWhere=/nowhat\n",
		"emptywhat.mount":                      "[Mount]\nWhat=/dev/null\nWhat=\n",
		"-.mount":                              "[Mount]\nOptions=ro\n",
		"sys-fs-bpf.mount":                     "[Mount]\nWhat=bpf\n",
		"proc.mount":                           "[Mount]\nWhat=proc\nWhere=/proc\n",
		"sys-fs-cgroup-x.mount":                "[Mount]\nWhat=x\n",
		"run-host.mount":                       "[Mount]\nWhat=x\n",
		"run-host-a.mount":                     "[Mount]\nWhat=x\n",
		"run-hostx.mount":                      "[Mount]\nWhat=x\n",
		"proc-sys-kernel-random-boot_id.mount": "[Mount]\nWhat=x\n",
		"dev-console.mount":                    "[Mount]\nWhat=x\n",
		"sys-fs-smackfs.mount":                 "[Mount]\nWhat=x\n",
		"sys-fs-pstore.mount":                  "[Mount]\nWhat=x\n",
		"sys-firmware-efi-efivars.mount":       "[Mount]\nWhat=x\n",
		"dev-shm.mount":                        "[Mount]\nWhat=x\n",
		"pam.mount":                            "[Mount]\nWhat=x\nPAMName=login\nKillMode=mixed\n",
		"pamcg.mount":                          "[Mount]\nWhat=x\nPAMName=login\nKillMode=control-group\n",
		"pamnone.mount":                        "[Mount]\nWhat=x\nPAMName=login\nKillMode=process\nPAMName=\n",
		"pamdef.mount":                         "[Mount]\nWhat=x\nPAMName=login\n",
	} {
		t.Run(name, func(t *testing.T) {
			check(t, t.TempDir(), map[string]string{name: text}, name)
		})
	}
	service := "[Service]\nExecStart=/bin/true\n"
	for name, files := range map[string]map[string]string{
		"ok.socket":     {"ok.socket": "[Socket]\nListenStream=/run/ok.sock\n", "ok.service": service},
		"lonely.socket": {"lonely.socket": "[Socket]\nListenStream=/run/lonely.sock\n"},
		"named.socket":  {"named.socket": "[Socket]\nListenStream=/run/named.sock\nService=missing.service\n", "named.service": service},
		"other.socket":  {"other.socket": "[Socket]\nListenStream=/run/other.sock\nService=ok.service\n", "ok.service": service},
		"acc.socket":    {"acc.socket": "[Socket]\nListenStream=/run/acc.sock\nAccept=yes\n", "acc@.service": service},
		"accnot.socket": {"accnot.socket": "[Socket]\nListenStream=/run/acc.sock\nAccept=yes\n", "accnot.service": service},
	} {
		t.Run(name, func(t *testing.T) { check(t, t.TempDir(), files, name) })
	}
	pid := map[string]string{
		"pid.service":    "[Service]\nType=forking\nExecStart=/bin/true\nPIDFile=/var/run/x.pid\n",
		"pidrun.service": "[Service]\nType=forking\nExecStart=/bin/true\nPIDFile=/run/x.pid\n",
	}
	check(t, t.TempDir(), pid, "pid.service", "pidrun.service")
	// Below /etc, where the machine lets us write there.
	etc, err := os.MkdirTemp("/etc", "sundial-verify.")
	if err != nil {
		t.Skipf("no directory below /etc: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	check(t, etc, pid, "pid.service", "pidrun.service")
}

// settingValues are values for the settings of each of systemd's value
// parsers this package checks, good and bad, by setting. Where 252 and
// 254 differ they are left out, and tested in TestConfinement: 252 calls
// MountFlags= values "mount flag" where 254 says "mount propagation
// flag", does not know MemoryPressureWatch= or DefaultStartupMemoryLow=,
// its seccomp lacks loongarch64, and its RestrictNetworkInterfaces=
// takes no alternative interface names (16 bytes and more). The names of
// system calls are not checked (SystemCallFilter=, SystemCallLog=): they
// are libseccomp's, of the machine's version; none unknown is given.
var settingValues = map[string][]string{
	"IOSchedulingClass":             {"", "idle", "best-effort", "realtime", "none", "0", "3", "8", "9", "0x2", " 2", "-1", "Idle", "foo"},
	"IOSchedulingPriority":          {"", "0", "7", "8", "-1", "x", "0x3", " 4", "07"},
	"CPUSchedulingPolicy":           {"", "other", "batch", "idle", "fifo", "rr", "deadline", "4", "7", "2147483647", "2147483648", "-1", "FIFO"},
	"CPUSchedulingPriority":         {"", "0", "99", "100", "-1", "x", "0x10"},
	"OOMScoreAdjust":                {"", "0", "-1000", "1000", "1001", "-1001", "x", "99999999999", "0x10", " 5"},
	"TimerSlackNSec":                {"", "0", "5", "5ns", "10us", "1.5ms", "1s 5ns", "infinity", "x", "5 ns", "-1", "1.5"},
	"Personality":                   {"", "x86", "x86-64", "arm64", "ppc", "bogus", "X86"},
	"CapabilityBoundingSet":         {"", "~", "CAP_SYS_ADMIN", "~CAP_SYS_ADMIN cap_chown", "CAP_BOGUS", "\"CAP_", "40 63 64"},
	"AmbientCapabilities":           {"", "CAP_NET_RAW", "bogus"},
	"SecureBits":                    {"", "keep-caps noroot", "bogus", "\"keep"},
	"ProtectSystem":                 {"", "yes", "no", "full", "strict", "true", "0", "maybe", "Full"},
	"ProtectHome":                   {"", "yes", "read-only", "tmpfs", "off", "maybe"},
	"ProtectProc":                   {"", "default", "noaccess", "invisible", "ptraceable", "x"},
	"ProcSubset":                    {"", "all", "pid", "x"},
	"ReadWritePaths":                {"", "/a /b", "rel", "-rel +/ok -+/x", "+-/x", "/a/../b", "\"unbal", "/a \"unbal", "/%n", "-/", "//a//b/"},
	"ReadOnlyDirectories":           {"rel", "/ok"},
	"InaccessiblePaths":             {"-/nope", "x"},
	"ExecPaths":                     {"/usr", "usr"},
	"NoExecPaths":                   {"/", "."},
	"TemporaryFileSystem":           {"", "/tmp:ro,size=1M", "rel:ro", "/ok", "\"\"", ":ro", "/a/../b:x", "\"unbal"},
	"BindPaths":                     {"", "/a", "/a:/b", "/a:rel", "/b:", "/c:/d:bogus", "/c:/d:norbind", "/c:/d:rbind", "-/e", "rel", "/a:/b /c", "\"/a b\":/c", "/a:", "/a::", ":", "/a:/b:"},
	"BindReadOnlyPaths":             {"/a:/b:norbind", "x:/b"},
	"StateDirectory":                {"", "ok", "/abs", "private", "private/x", "privatex", "ok:private", "../x", "a:b", "a:/b", "a::b", "a:b:c", "\\q", "a\\:b", "\"\"", "a/./b", "."},
	"RuntimeDirectory":              {"x y:z"},
	"CacheDirectory":                {"c"},
	"LogsDirectory":                 {"l:m"},
	"ConfigurationDirectory":        {"a:b", "a"},
	"StateDirectoryMode":            {"0700", "999", "x"},
	"RestrictNamespaces":            {"", "yes", "no", "net", "~net time", "net bogus", "bogus", "~", "cgroup ipc mnt pid user uts"},
	"SystemCallErrorNumber":         {"", "kill", "EPERM", "EWOULDBLOCK", "0", "1", "4095", "4096", "EBOGUS", "eperm", "-1"},
	"SystemCallArchitectures":       {"", "native", "x86 x86-64", "bogus native", "\"unbal", "arm64 ppc64-le s390x mips64-le-n32"},
	"MemoryMax":                     {"", "infinity", "0", "1G", "50%", "100%", "101%", "0%", "x", "1.5G", "-1", "18446744073709551615", "10.5%", "10.555%"},
	"MemoryHigh":                    {"5%", "0"},
	"MemoryLow":                     {"", "0", "1M"},
	"MemoryMin":                     {"", "0"},
	"MemorySwapMax":                 {"0", "x"},
	"MemoryLimit":                   {"1G", "x", ""},
	"CPUQuota":                      {"", "0%", "50%", "250%", "1.5%", "x", "50", "5‰", "7‱", "-5%", "0x10%", "010%"},
	"CPUWeight":                     {"", "idle", "0", "1", "10000", "10001", "x"},
	"StartupCPUWeight":              {"idle", "5"},
	"IOWeight":                      {"", "idle", "1", "10001"},
	"CPUShares":                     {"1", "2", "262144", "262145", ""},
	"BlockIOWeight":                 {"5", "10", "1000", "1001"},
	"TasksMax":                      {"", "infinity", "0", "5", "5%", "x", "101%", "18446744073709551615"},
	"ManagedOOMSwap":                {"", "auto", "kill", "x"},
	"ManagedOOMMemoryPressureLimit": {"", "50%", "x", "101%"},
	"ManagedOOMPreference":          {"none", "avoid", "omit", "x", ""},
	"LogLevelMax":                   {"", "debug", "7", "8", "x", "err"},
	"SyslogLevel":                   {"info", "x", "0x3", "8", "07", "0b11", "-0"},
	"SyslogFacility":                {"", "local7", "daemon", "127", "128", "x"},
	"KeyringMode":                   {"", "inherit", "private", "shared", "x"},
	"UtmpMode":                      {"init", "x"},
	"DevicePolicy":                  {"auto", "closed", "strict", "x", ""},
	"MountAPIVFS":                   {"", "yes", "x"},
	"NUMAPolicy":                    {"", "default", "bind", "x"},
	"NUMAMask":                      {"", "all", "0-1", "x", "1-0"},
	"CPUAffinity":                   {"", "numa", "0", "0-1 3", "0,1", "x", "1-x", "3-1", "65536", "0-", "\"unbal"},
	"AllowedCPUs":                   {"0-1", "x"},
	"TTYRows":                       {"", "24", "x"},
	"CoredumpFilter":                {"", "default", "all private-dax", "0x33", "33", "x", "elf-headers bogus"},
}

// socketValues are settingValues for sockets.
var socketValues = map[string][]string{
	"IPTTL":                   {"64", "-1", "x", "2147483648"},
	"MessageQueueMaxMessages": {"5", "x", "9223372036854775808", "-9223372036854775808"},
	"PipeSize":                {"64K", "x", "1.5M"},
	"IPTOS":                   {"", "low-delay", "throughput", "16", "255", "256", "x"},
	"TCPCongestion":           {"anything"},
}

// TestVerifyOracleSettings verifies services, sockets and mounts that
// give each setting of settingValues and socketValues each of its
// values, one file a setting.
func TestVerifyOracleSettings(t *testing.T) {
	settingValues, socketValues := allSettingValues()
	for key := range settingValues {
		if unchecked("Service." + key) {
			t.Errorf("%s= is kept unchecked", key)
		}
	}
	for key := range socketValues {
		if unchecked("Socket." + key) {
			t.Errorf("%s= is kept unchecked", key)
		}
	}
	if unchecked("Path.PathExists") {
		t.Errorf("PathExists= is kept unchecked")
	}
	oracle.Path(t)
	dir := t.TempDir()
	var files []string
	write := func(name, head string, key string, values []string) {
		var b strings.Builder
		b.WriteString(head)
		for _, v := range values {
			fmt.Fprintf(&b, "%s=%s\n", key, v)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	for key, values := range settingValues {
		write(strings.ToLower(key)+".service", "[Service]\nExecStart=/bin/true\n", key, values)
	}
	for key, values := range socketValues {
		write(strings.ToLower(key)+".socket", "[Socket]\nListenStream=/run/x.sock\n", key, values)
	}
	write("p.path", "[Path]\n", "PathExists", pathValues)
	write("dev-sdz.swap", "[Swap]\nWhat=/dev/sdz\n", "Priority", []string{"", "x", "-1", "-2", "32767", "32768", "0x10"})
	write("reboot.service", "[Service]\nExecStart=/bin/true\n[Unit]\n", "RebootArgument", []string{"ok", "\u00e9", "%Z", "%n", strings.Repeat("r", 256)})
	// A mount may not have the managed OOM settings.
	for _, key := range []string{"ManagedOOMSwap", "ManagedOOMMemoryPressureLimit"} {
		write("srv-"+strings.ToLower(key)+".mount", "[Mount]\nWhat=/dev/null\nWhere=/srv/"+strings.ToLower(key)+"\n", key, []string{"kill", "x"})
	}
	slices.Sort(files)
	for len(files) > 0 {
		n := min(len(files), 40)
		compareVerify(t, SystemScope, dir, files[:n], "--recursive-errors=no", "SYSTEMD_UNIT_PATH="+dir+":")
		files = files[n:]
	}
}

// moreSettingValues are settingValues for the parsers of labels,
// devices, paths and interfaces.
var moreSettingValues = map[string][]string{
	"SELinuxContext":            {"", "-x", "%Z", "-%Z", "ok"},
	"AppArmorProfile":           {"-%Z", "p"},
	"SmackProcessLabel":         {"l", ""},
	"IODeviceWeight":            {"", "/dev/sda 100", "/dev/sda", "/dev/sda 0", "/dev/sda 10001", "/dev/sda x", "\"/dev/sda", "rel 5", "/dev/sda 5 6", "/dev/../x 5", "%Z 5"},
	"IODeviceLatencyTargetSec":  {"/dev/sda 5ms", "/dev/sda x", "/dev/sda"},
	"IOReadBandwidthMax":        {"/dev/sda 1M", "/dev/sda infinity", "/dev/sda 0", "/dev/sda x", "x"},
	"IOWriteIOPSMax":            {"/dev/sda 5"},
	"BlockIODeviceWeight":       {"", "/dev/sda 500", "/dev/sda 5", "/dev/sda"},
	"BlockIOReadBandwidth":      {"/dev/sda 1M", "/dev/sda 0", "x"},
	"DeviceAllow":               {"", "/dev/null rw", "/dev/null", "char-pts rwm", "block-loop r", "/dev/null x", "/tmp/x r", "/dev/ r", "rel r", "/dev/../x r", "\"/dev/null", "/run/systemd/inaccessible/chr r"},
	"ExecSearchPath":            {"", "/bin:/usr/bin", "/bin:rel:/usr", "/bin::/usr", ":", "/a/../b"},
	"LogExtraFields":            {"", "A=1 B=2", "a=1", "A", "_A=1", "1A=1", "\"A=1 2\"", "\"A", strings.Repeat("A", 65) + "=1", "A_B9=x"},
	"RestrictNetworkInterfaces": {"", "eth0", "~lo eth0", "123", "a/b", "\"x", "~\"x", strings.Repeat("a", 130), ".", "a:b", "all", "a%%b"},
	"DisableControllers":        {"", "cpu io", "bogus", "cpu bogus", "\"cpu"},
	"IPIngressFilterPath":       {"", "/sys/fs/bpf/x", "rel", "%Z", "/a/../b"},
	"Slice":                     {"a b", "a@.slice", "%Z.slice", "", "-.slice", "x", "x.service", "ok.slice", "a@b.slice", "system-%n.slice"},
	"StandardInputData":         {"", "aGVsbG8=", "aGVsbG8", "aGVsbG8==", "aGVs bG8=", "!!", "a", "aGVsbG9=", "aGVsbA==", "aGVsbB=="},
	"RootHash":                  {"", "/x", "00112233445566778899aabbccddeeff", "0011", "xyz", "0011223344556677889", "00112233445566778899AABBCCDDEEFF00"},
	"RootHashSignature":         {"", "/x", "abc", "base64:aGVsbG8=", "base64:!!", "base64:"},
	"BPFProgram":                {"", "sock_ops:/sys/fs/bpf/x", "bogus:/x", "device", "device:", "device:rel", "device:%Z", ":/x", "device:/a/../b", "egress:/x", "cgroup_device:/x"},
	"SystemCallFilter":          {"", "@system-service", "~@mount @swap", "@bogus", "~@clock:EPERM", "@clock:EPERM", "~uname:EBOGUS", "~:EPERM", "~uname:", "~uname:kill", "uname:0", "~@debug:0 @obsolete", "@default @basic-io", "~bogus uname", "bogus:EPERM", "~bogus:EPERM", "read _llseek riscv_flush_icache", "~socketcall ipc"},
	"SystemCallLog":             {"", "@bogus", "~@clock", "nope", "~uname nope"},
	"IPAddressAllow":            {"", "any", "localhost link-local multicast", "10.0.0.0/8 ::1", "bogus", "10.0.0.1/33", "10.0.0.1 x 10.0.0.2", "\"unbal", "fe80::/129", "1.2.3.4/", "1.2.3", "::ffff:1.2.3.4/96", "10.0.0.0/08", "0x1.2.3.4", "010.0.0.1", "fe80::1%eth0", "1.2.3.4/0x10", "1.2.3.4/-1", "1.2.3.4/+8", "::/0"},
	"IPAddressDeny":             {"any", "x"},
	"LogNamespace":              {"", "ok", "a/b", "%Z", "a@b", "a b", ".", strings.Repeat("n", 222), strings.Repeat("n", 223), "a.b-c_d"},
	"SetCredential":             {"", "x", "a:b", "a/b:c", "a:", ":b", "%Z:x", "a:\\x41", "a:b:c", ".:x"},
	"LoadCredential":            {"", "a", "a:/x", "a:rel/x", "a:rel", "a/b:/x", "a:/x/../y", "a:/x//y", "a:", "%Z", "a:%Z"},
	"Delegate":                  {"", "yes", "no", "cpu io", "bogus", "cpu bogus", "\"cpu"},
	"Sockets":                   {"", "a.socket", "a.socket b.socket", "a.service", "%Z.socket", "@.socket", "a@.socket", "\"a.socket", "x", "%n.socket"},
	"SocketBindAllow":           {"tcp:22", "udp:x"},
	"RestrictFileSystems":       {"", "ext4", "~@network tmpfs", "@bogus", "bogus", "\"ext4", "@known @basic-api @application @auxiliary-api @common-block", "@historical-block @network @privileged-api @security @temporary", "~\"x", "~@bogus"},
	"StandardInputText":         {"", "hello", "a\\tb", "a\\qb", "a\\x00b", "%Z", "%n \\x41", "\\u00e9", "\\ud800%Z", "\\xff%Z"},
	"RootImageOptions":          {"", "ro", "root:ro usr:nosuid", "bogus:ro", "a:b:c", "\"ro", "root:%Z", "%Z", "home:ro,nodev :", "usr\\x3aro"},
	"MountImages":               {"", "/a.raw:/mnt", "-/a.raw:/mnt:root:ro:usr:nosuid", "/a.raw", "/a.raw:", "rel:/mnt", "/a.raw:rel", "/a.raw:/mnt:bogus:ro", "/a.raw:/mnt:ro", "%Z:/mnt", "/a.raw:%Z", "/a.raw:/mnt:%Z", "\"/a.raw", "/a/../b:/mnt", "/a.raw:/mnt /b.raw:/srv:home:ro"},
	"ExtensionImages":           {"", "/a.raw", "-/a.raw:root:ro", "rel", "/a.raw:bogus:ro", "/a.raw:ro", "%Z", "/a.raw:%Z", "\"/a.raw", "/a/../b", "/a.raw /b.raw:usr:ro:home:nodev"},
}

// allSettingValues returns the values of services' settings and of
// sockets', all in one map each.
func allSettingValues() (services, sockets map[string][]string) {
	services, sockets = maps.Clone(settingValues), maps.Clone(socketValues)
	maps.Copy(services, moreSettingValues)
	maps.Copy(sockets, moreSocketValues)
	return services, sockets
}

// moreSocketValues are socketValues for the same parsers.
var moreSocketValues = map[string][]string{
	"BindToDevice":       {"", "*", "eth0", "123", strings.Repeat("a", 16), strings.Repeat("a", 15), "a b", ".", "all", "default", "a%%b", "0"},
	"Symlinks":           {"", "/run/a /run/b", "rel /run/c", "/run/../x", "\"/run/x"},
	"SocketProtocol":     {"", "tcp", "sctp", "udplite", "SCTP", "132", "136", "6", "x"},
	"Timestamping":       {"", "x", "us", "usec", "off", "yes", "no", "ns", "nsec", "µs"},
	"FileDescriptorName": {"", "a:b", "%Z", "ok", "%n"},
	"BindIPv6Only":       {"", "x", "yes", "both", "default", "ipv6-only"},
	"Delegate":           {"yes", "cpu"},
	"ListenStream": {"", "/run/a.sock", "@abstract", "/", "@", "/" + strings.Repeat("s", 106), "/" + strings.Repeat("s", 107), "@" + strings.Repeat("s", 106), "@" + strings.Repeat("s", 107), "@" + strings.Repeat("s", 108),
		"80", "0", "70000", "0x50", " 80", "+80", "127.0.0.1:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:x", "010.0.0.1:80", "[::1]:80", "[::1]", "::1", "[::1:80", "[1.2.3.4]:80",
		"vsock:2:1234", "vsock::1234", "vsock:2", "vsock:x:1", "x", "%Z", "/run/%n", "rel", "1.2.3.4:80#x", "/var/run/a.sock"},
	"ListenDatagram":         {"53", "[::]:53", "/run/d"},
	"ListenSequentialPacket": {"/run/s", "@s", "80", "1.2.3.4:80", "vsock:2:5"},
	"ListenNetlink":          {"route", "route 5", "kobject-uevent 1", "bogus", "0", "31", "2147483647", "2147483648", "route x", "route 1 2", "audit -1", "%Z", "\"route", "route"},
	"ListenFIFO":             {"/run/f", "rel", "/var/run/f", "%Z", "/a/../b"},
	"ListenSpecial":          {"/dev/x", "rel"},
	"ListenMessageQueue":     {"/q", "q"},
	"ListenUSBFunction":      {"/dev/usb-ffs/x", "x"},
	"SocketBindAllow":        {"", "any", "80", "tcp:80", "ipv4:tcp:80", "ipv6:udp:1-1024", "ipv4", "tcp", "ipv4:tcp", "udp:ipv4:80", "80:tcp", "ipv4:ipv4", "0", "65536", "2-1", "1-65535", ":80", "tcp:", "tcp::80", "x", "ipv4:tcp:80:1", "ipv4:any", "any:tcp", "0x50", "tcp:80-", "-80"},
	"SocketBindDeny":         {"any", "bogus"},
}

// pathValues are values for a path unit's PathExists=.
var pathValues = []string{"", "/etc", "rel", "/a/../b", "%Z", "/%n"}
