package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/oracle"
)

var update = flag.Bool("u", false, "update the expected output of the scripts")

// oraclePath is the real systemd-analyze, found before testscript puts our
// own systemd-analyze first on PATH; systemctlOracle the real systemctl.
var oraclePath, systemctlOracle string

// testNowEnv pins the clock that "From now" lines are relative to, as an
// RFC 3339 time. Only the test binary reads it.
const testNowEnv = "SUNDIAL_TEST_NOW"

func TestMain(m *testing.M) {
	oraclePath, _ = exec.LookPath("systemd-analyze")
	systemctlOracle, _ = exec.LookPath("systemctl")
	cmd := func() {
		if s := os.Getenv(testNowEnv); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", testNowEnv, err)
				os.Exit(2)
			}
			testOnlyNow = func() time.Time { return t }
		}
		if err := setTestDaemon(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		main()
	}
	testscript.Main(m, map[string]func(){
		"sundial":         cmd,
		"systemd-analyze": cmd,
		"systemctl":       cmd,
		"journalctl":      cmd,
		"systemd-run":     cmd,
	})
}

// TestScript runs the scripts in testdata/script. There, systemd-analyze is
// our own; the installed one is $ORACLE, under the condition [oracle], which
// is false where it is missing or under -short, unless SUNDIAL_REQUIRE_ORACLE
// is set, which makes a missing oracle fail the script.
func TestScript(t *testing.T) {
	required := os.Getenv(oracle.RequireEnv) != ""
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			// The script environment is minimal: it inherits neither TZ
			// nor the locale.
			env.Setenv("TZ", "UTC")
			env.Setenv("LC_ALL", "C.UTF-8")
			env.Setenv(testNowEnv, "2024-01-01T00:00:00Z")
			env.Setenv("ORACLE", oraclePath)
			env.Setenv("SYSTEMCTL_ORACLE", systemctlOracle)
			env.Setenv("LOOPBACK", loopbackNetwork())
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"await": awaitCmd},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Getuid() == 0, nil
			}
			if cond == "cgroup2" {
				// As root, the daemon keeps its services' control groups
				// in the cgroup v2 hierarchy, wherever it is mounted.
				info, err := os.ReadFile("/proc/self/mountinfo")
				return os.Getuid() == 0 && err == nil && strings.Contains(string(info), " - cgroup2 "), nil
			}
			if cond == "completion" {
				return completionPresent("bash", bashCompletion, required)
			}
			if cond == "zshcompletion" {
				return completionPresent("zsh", zshCompletion, required)
			}
			if cond != "oracle" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			switch {
			case oraclePath == "" && required:
				return false, fmt.Errorf("systemd-analyze is required (%s is set) but not installed", oracle.RequireEnv)
			case testing.Short() && !required:
				return false, nil
			}
			return oraclePath != "", nil
		},
	})
}

// loopbackNetwork is a loopback network of a script's or a test's own,
// 127.X.Y (a /24), for daemons that listen on fixed ports (etcd
// members), so that they never meet those of another run at the same
// time.
func loopbackNetwork() string { return fmt.Sprintf("127.%d.%d", 1+rand.IntN(254), rand.IntN(256)) }

// bashCompletion is the bash completion of systemctl that systemd ships.
const bashCompletion = "/usr/share/bash-completion/completions/systemctl"

// zshCompletion is the zsh completion of systemctl that systemd ships.
const zshCompletion = "/usr/share/zsh/vendor-completions/_systemctl"

// completionPresent reports whether shell and systemd's completion script
// of systemctl for it are there, for the conditions [completion] (bash)
// and [zshcompletion]; with required, their absence is an error.
func completionPresent(shell, script string, required bool) (bool, error) {
	_, errShell := exec.LookPath(shell)
	_, errScript := os.Stat(script)
	switch {
	case errShell == nil && errScript == nil:
		return true, nil
	case required:
		return false, fmt.Errorf("%s and %s are required (%s is set): %v", shell, script, oracle.RequireEnv, errors.Join(errShell, errScript))
	}
	return false, nil
}

// awaitUsage is how the command await is used.
const awaitUsage = "usage: await file|gone PATH | await match PATH REGEXP | await journal UNIT REGEXP [COUNT] | await success COMMAND [ARG...] | await elapse CALENDAR"

// awaitCmd is the command await: it waits, failing the script after a
// deadline, until a file exists ("await file PATH") or no longer does
// ("await gone PATH"), or its contents match a regular expression
// ("await match PATH REGEXP"), until the user's daemon has COUNT
// (default 1) journal entries of a unit whose messages match a regular
// expression ("await journal UNIT REGEXP [COUNT]"), until a command
// succeeds ("await success COMMAND [ARG...]"), or until the clock has
// passed the next elapse of a calendar event after now ("await elapse
// CALENDAR"), so that scripts wait for what they need without sleeping.
func awaitCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf(awaitUsage)
	}
	var ok func() bool
	switch args[0] {
	case "file":
		ok = func() bool { _, err := os.Stat(ts.MkAbs(args[1])); return err == nil }
	case "gone":
		ok = func() bool { _, err := os.Stat(ts.MkAbs(args[1])); return os.IsNotExist(err) }
	case "match":
		if len(args) != 3 {
			ts.Fatalf(awaitUsage)
		}
		re := regexp.MustCompile(args[2])
		ok = func() bool { data, err := os.ReadFile(ts.MkAbs(args[1])); return err == nil && re.Match(data) }
	case "journal":
		if len(args) != 3 && len(args) != 4 {
			ts.Fatalf(awaitUsage)
		}
		re := regexp.MustCompile(args[2])
		count := 1
		if len(args) == 4 {
			count, _ = strconv.Atoi(args[3])
		}
		socket := filepath.Join(ts.Getenv("XDG_RUNTIME_DIR"), "sundial", "control")
		ok = func() bool {
			c := &api.Client{Socket: socket}
			entries, _ := c.Journal(context.Background(), api.JournalQuery{Units: []string{args[1]}})
			n := 0
			for _, e := range entries {
				if re.MatchString(e.Message) {
					n++
				}
			}
			return n >= count
		}
	case "success":
		ok = func() bool { return ts.Exec(args[1], args[2:]...) == nil }
	case "elapse":
		spec, err := calendar.Parse(args[1])
		ts.Check(err)
		next, found := spec.Next(time.Now())
		if !found {
			ts.Fatalf("await elapse %s: it never elapses", args[1])
		}
		ok = func() bool { return time.Now().After(next) }
	default:
		ts.Fatalf("await: unknown condition %q", args[0])
	}
	await.Until(ts, ok, "%s", strings.Join(args, " "))
}
