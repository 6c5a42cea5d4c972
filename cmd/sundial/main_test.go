package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/oracle"
)

var update = flag.Bool("u", false, "update the expected output of the scripts")

// oraclePath is the real systemd-analyze, found before testscript puts our
// own systemd-analyze first on PATH.
var oraclePath string

// testNowEnv pins the clock that "From now" lines are relative to, as an
// RFC 3339 time. Only the test binary reads it.
const testNowEnv = "SUNDIAL_TEST_NOW"

func TestMain(m *testing.M) {
	oraclePath, _ = exec.LookPath("systemd-analyze")
	cmd := func() {
		if s := os.Getenv(testNowEnv); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", testNowEnv, err)
				os.Exit(2)
			}
			testOnlyNow = func() time.Time { return t }
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
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"await": await},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Getuid() == 0, nil
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

// await waits, polling for up to 30 s, until a file exists ("await file
// PATH") or no longer does ("await gone PATH"), or the user's daemon has COUNT (default 1) journal entries of a
// unit whose messages match a regular expression ("await journal UNIT
// REGEXP [COUNT]"), so that scripts wait for the daemon without sleeping.
func await(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: await file|gone PATH | await journal UNIT REGEXP [COUNT]")
	}
	var ok func() bool
	switch args[0] {
	case "file":
		ok = func() bool { _, err := os.Stat(ts.MkAbs(args[1])); return err == nil }
	case "gone":
		ok = func() bool { _, err := os.Stat(ts.MkAbs(args[1])); return os.IsNotExist(err) }
	case "journal":
		if len(args) != 3 && len(args) != 4 {
			ts.Fatalf("usage: await journal UNIT REGEXP [COUNT]")
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
	default:
		ts.Fatalf("await: unknown condition %q", args[0])
	}
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.Fatalf("await %s: not within 30s", strings.Join(args, " "))
		}
	}
}
