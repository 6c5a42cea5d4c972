package unit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/oracle"
)

// libsystemd builds testdata/libsystemd.c against the installed
// libsystemd-shared, which exports systemd's own load_env_file and
// replace_env_argv, and returns the program; it skips (or, in CI, fails)
// where either is missing.
func libsystemd(t *testing.T) string {
	t.Helper()
	cc := oracle.Tool(t, "cc")
	libs, _ := filepath.Glob("/usr/lib/*/systemd/libsystemd-shared-*.so")
	if len(libs) == 0 {
		libs, _ = filepath.Glob("/usr/lib/systemd/libsystemd-shared-*.so")
	}
	if len(libs) == 0 {
		if os.Getenv(oracle.RequireEnv) != "" {
			t.Fatalf("libsystemd-shared is required (%s is set) but not installed", oracle.RequireEnv)
		}
		t.Skip("libsystemd-shared not installed")
	}
	bin := filepath.Join(t.TempDir(), "libsystemd")
	out, err := exec.Command(cc, "-O1", "-o", bin, "testdata/libsystemd.c", libs[0], "-Wl,-rpath,"+filepath.Dir(libs[0])).CombinedOutput()
	if err != nil {
		t.Fatalf("building the harness: %v\n%s", err, out)
	}
	return bin
}

// A libResult is one answer of the harness: a list, or an errno.
type libResult struct {
	list  []string
	errno int
}

func runLibsystemd(t *testing.T, bin, mode string, files []string) []libResult {
	t.Helper()
	out, err := exec.Command(bin, append([]string{mode}, files...)...).Output()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	r := bufio.NewReader(bytes.NewReader(out))
	var res []libResult
	for range files {
		var head string
		var n int
		if _, err := fmt.Fscanf(r, "%s %d\n", &head, &n); err != nil {
			t.Fatalf("harness output: %v", err)
		}
		if head == "err" {
			res = append(res, libResult{errno: n})
			continue
		}
		var list []string
		for range n {
			num, err := r.ReadString(' ')
			if err != nil {
				t.Fatalf("harness output: %v", err)
			}
			size, err := strconv.Atoi(num[:len(num)-1])
			if err != nil {
				t.Fatalf("harness output: %v", err)
			}
			b := make([]byte, size+1) // and the newline
			if _, err := io.ReadFull(r, b); err != nil {
				t.Fatalf("harness output: %v", err)
			}
			list = append(list, string(b[:size]))
		}
		res = append(res, libResult{list: list})
	}
	return res
}

// TestEnvironmentFileOracle compares ReadEnvironmentFile with systemd's
// load_env_file on generated files.
//
// systemd 252 (installed) and 254 differ on a comment line that ends in a
// backslash: 252 goes on with the comment on the next line, 254 does not.
// Files that may have such a line are left out.
func TestEnvironmentFileOracle(t *testing.T) {
	bin := libsystemd(t)
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 6))
	dir := t.TempDir()
	pieces := []string{"A", "B_2", "=", "==", " ", "\t", "\n", "\r\n", "\r", "#", ";", "'", "\"", "\\", "\\\n", "x y",
		"é", "\xff", "$A", "${A}", "`x`", "\\\"", "\\$", "\\n", "export ", "1X", "a-b", "\x01", "\x00", "'q'", "\"q\""}
	const n = 3000
	files := make([]string, n)
	inputs := make([][]byte, n)
	for i := range files {
		var b []byte
		for range 1 + rng.IntN(8) {
			// A line, mostly an assignment.
			if rng.IntN(4) > 0 {
				b = append(b, pieces[rng.IntN(3)]...)
				b = append(b, '=')
			}
			for range rng.IntN(6) {
				b = append(b, pieces[rng.IntN(len(pieces))]...)
			}
			b = append(b, '\n')
		}
		inputs[i] = b
		files[i] = filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(files[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := runLibsystemd(t, bin, "env", files)
	mismatches, skipped := 0, 0
	for i, in := range inputs {
		if differs252(in) {
			skipped++
			continue
		}
		got, err := ReadEnvironmentFile(in)
		ok := (err != nil) == (want[i].errno != 0) && (err != nil || slices.Equal(got, want[i].list))
		if !ok && mismatches < 20 {
			t.Errorf("ReadEnvironmentFile(%q) = %q, %v; systemd: %q, errno %d", in, got, err, want[i].list, want[i].errno)
		}
		if !ok {
			mismatches++
		}
	}
	t.Logf("%d files (%d left out), %d mismatches", n, skipped, mismatches)
}

// TestExpandArgvOracle compares ExpandArgv with systemd's
// replace_env_argv on generated arguments and environments.
func TestExpandArgvOracle(t *testing.T) {
	bin := libsystemd(t)
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 7))
	dir := t.TempDir()
	words := []string{"$FOO", "${FOO}", "$BAR", "${BAR}", "$$", "$", "${", "}", "x", "${BAR:-y}", "${A-B}", "${}", "$EMPTY",
		"${EMPTY}", "$NONE", "${NONE}", "$1", "${1X}", "a$FOO", "$FOO$BAR", "${FOO}${BAR}", "$$$", "${FOO", ":", "-"}
	values := []string{"", "a", "a b", " a  b ", "'a b' c", `"q r" s`, "\\", "\t x", "$FOO", "${BAR}"}
	const n = 3000
	type tcase struct{ argv, env []string }
	cases := make([]tcase, n)
	files := make([]string, n)
	for i := range cases {
		var c tcase
		for range 1 + rng.IntN(5) {
			var w string
			for range 1 + rng.IntN(3) {
				w += words[rng.IntN(len(words))]
			}
			c.argv = append(c.argv, w)
		}
		for _, name := range []string{"FOO", "BAR", "EMPTY", "FOO"} {
			if rng.IntN(3) > 0 {
				c.env = append(c.env, name+"="+values[rng.IntN(len(values))])
			}
		}
		cases[i] = c
		var b []byte
		for _, l := range [][]string{c.argv, c.env} {
			for _, s := range l {
				b = append(append(b, s...), 0)
			}
			b = append(b, 0)
		}
		files[i] = filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(files[i], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := runLibsystemd(t, bin, "argv", files)
	mismatches := 0
	for i, c := range cases {
		got, _, _ := ExpandArgv(c.argv, c.env)
		if !slices.Equal(got, want[i].list) {
			if mismatches < 20 {
				t.Errorf("ExpandArgv(%q, %q) = %q; systemd: %q", c.argv, c.env, got, want[i].list)
			}
			mismatches++
		}
	}
	t.Logf("%d cases, %d mismatches", n, mismatches)
}

// differs252 reports whether the file has a line that may be a comment
// ending in a backslash, which systemd 252 reads otherwise than 254.
func differs252(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.ContainsAny(l, "#;") && bytes.HasSuffix(l, []byte("\\")) {
			return true
		}
	}
	return false
}

// TestNamesOracle compares ExitStatusName and SignalName with systemd's
// exit_status_to_string (with EXIT_STATUS_FULL) and signal_to_string.
// systemd 252 lacks 245/KSM, which 254 has.
func TestNamesOracle(t *testing.T) {
	bin := libsystemd(t)
	out, err := exec.Command(bin, "names").Output()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		num, want, _ := strings.Cut(rest, " ")
		n, _ := strconv.Atoi(num)
		var got string
		if kind == "exit" {
			if got = ExitStatusName(n); n == 245 {
				continue
			}
		} else {
			got = SignalName(n)
		}
		if want == "(null)" {
			want = ""
		}
		if got != want {
			t.Errorf("%s %d: %q, systemd %q", kind, n, got, want)
		}
	}
}
