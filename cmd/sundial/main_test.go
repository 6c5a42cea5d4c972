package main

import (
	"flag"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"sundial.dev/sundial/internal/oracle"
)

var update = flag.Bool("u", false, "update the expected output of the scripts")

// oraclePath is the real systemd-analyze, found before testscript puts our
// own systemd-analyze first on PATH.
var oraclePath string

func TestMain(m *testing.M) {
	oraclePath, _ = exec.LookPath("systemd-analyze")
	cmd := func() {
		// The scripts pin the clock that "From now" is relative to.
		if s := os.Getenv("SUNDIAL_TEST_NOW"); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				panic("SUNDIAL_TEST_NOW: " + err.Error())
			}
			testOnlyNow = func() time.Time { return t }
		}
		main()
	}
	testscript.Main(m, map[string]func(){
		"sundial":         cmd,
		"systemd-analyze": cmd,
	})
}

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TZ", "UTC")
			env.Setenv("LC_ALL", "C.UTF-8")
			env.Setenv("SUNDIAL_TEST_NOW", "2024-01-01T00:00:00Z")
			env.Setenv("ORACLE", oraclePath)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond != "oracle" {
				return false, nil
			}
			if oraclePath == "" && os.Getenv(oracle.RequireEnv) != "" {
				t.Fatalf("systemd-analyze is required (%s is set)", oracle.RequireEnv)
			}
			return oraclePath != "", nil
		},
	})
}
