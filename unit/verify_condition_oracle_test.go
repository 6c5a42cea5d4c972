package unit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sundial.dev/sundial/internal/oracle"
)

// conditionKinds are the condition types of systemd 254's unit files,
// path-taking first, and names systemd does not read in unit files.
var (
	conditionPathKinds = []string{"PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink",
		"PathIsMountPoint", "PathIsReadWrite", "PathIsEncrypted", "DirectoryNotEmpty", "FileNotEmpty",
		"FileIsExecutable", "NeedsUpdate"}
	conditionStringKinds = []string{"Architecture", "Firmware", "Virtualization", "Host", "KernelCommandLine",
		"KernelVersion", "Credential", "Environment", "Security", "Capability", "ACPower", "FirstBoot", "User",
		"Group", "ControlGroupController", "CPUs", "Memory", "CPUFeature", "OSRelease", "MemoryPressure",
		"CPUPressure", "IOPressure", "Foo", "Version"}
	conditionValues = []string{"", "/etc", "/etc/", "//etc//x", "/a/../b", "/a/./b", "relative", "./x", "|/etc", "!/etc",
		"|!/etc", "!|/etc", "| /etc", "! /etc", " /etc", "/%n", "/%Z", "%H", "%Z", "/%%", "/x%", "foo", ">= 6", "lots",
		"ID=debian", "yes", "cap_chown", "x:y", "/e*", "/tmp/\u00e9", "/tmp/\xff"}
)

// addressFamilyValues are values of RestrictAddressFamilies=.
var addressFamilyValues = []string{"", "none", "~none", "~", "AF_UNIX AF_INET", "~AF_INET6", "af_inet", "AF_FILE AF_ROUTE",
	"AF_LOCAL", "AF_FOO", "AF_UNSPEC", "AF_MAX", "A", "\"AF_UNIX", "'AF_INET AF_INET6'", "AF_UNIX\tAF_XDP", "~AF_MCTP AF_BAR"}

// TestVerifyOracleConditions verifies services with generated Condition…=
// and Assert…= settings, RequiresMountsFor= paths and RestrictAddressFamilies=: the same messages as systemd-analyze verify, and
// the same conditions kept, in the order systemd's debug dump lists them
// (newest first).
func TestVerifyOracleConditions(t *testing.T) {
	oracle.Path(t)
	rng := rand.New(rand.NewPCG(oracle.Seed(t), 15))
	dir := t.TempDir()
	var files []string
	for i := range 400 {
		var b strings.Builder
		b.WriteString("[Unit]\n")
		for range 1 + rng.IntN(4) {
			prefix := pick(rng, []string{"Condition", "Assert"})
			kind := pick(rng, conditionStringKinds)
			if rng.IntN(2) == 0 {
				kind = pick(rng, conditionPathKinds)
			}
			fmt.Fprintf(&b, "%s%s=%s\n", prefix, kind, pick(rng, conditionValues))
		}
		if rng.IntN(3) == 0 {
			// Paths, as RequiresMountsFor= takes them.
			fmt.Fprintf(&b, "RequiresMountsFor=%s %s\n", pick(rng, conditionValues), pick(rng, conditionValues))
		}
		b.WriteString("[Service]\nExecStart=/bin/true\n")
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, "RestrictAddressFamilies=%s\n", pick(rng, addressFamilyValues))
		}
		name := fmt.Sprintf("c%d.service", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	l := &Loader{Path: []string{dir}}
	for len(files) > 0 {
		n := min(len(files), 100)
		batch := files[:n]
		files = files[n:]
		compareVerify(t, SystemScope, dir, batch, "SYSTEMD_UNIT_PATH="+dir+":")
		stdout, _ := oracle.Verify(t, dir, []string{"SYSTEMD_UNIT_PATH=" + dir + ":", "SYSTEMD_LOG_LEVEL=debug"}, append([]string{"verify", "--man=no"}, batch...)...)
		dumps := conditionDumps(stdout)
		for _, f := range batch {
			u, err := l.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if u.LoadState != Loaded {
				// Not dumped; the messages above say why.
				continue
			}
			var ours []string
			for _, list := range []struct {
				prefix string
				conds  []Condition
			}{{"Condition", u.Unit.Conditions}, {"Assert", u.Unit.Asserts}} {
				for i := len(list.conds) - 1; i >= 0; i-- {
					c := list.conds[i]
					mods := ""
					if c.Trigger {
						mods = "|"
					}
					if c.Negate {
						mods += "!"
					}
					ours = append(ours, fmt.Sprintf("%s%s: %s%s untested", list.prefix, c.Kind, mods, c.Param))
				}
			}
			if !slices.Equal(ours, dumps[u.Name]) {
				data, _ := os.ReadFile(filepath.Join(dir, f))
				t.Errorf("%s:\n%s\nours:\n  %s\nsystemd:\n  %s", f, data, strings.Join(ours, "\n  "), strings.Join(dumps[u.Name], "\n  "))
			}
		}
	}
}

// conditionDumps reads the conditions and asserts of each unit of
// systemd's debug dump.
func conditionDumps(stdout string) map[string][]string {
	dumps := map[string][]string{}
	unit := ""
	for _, l := range strings.Split(stdout, "\n") {
		t := strings.TrimLeft(l, "\t")
		switch {
		case strings.HasPrefix(t, "-> Unit "):
			unit = strings.TrimSuffix(strings.TrimPrefix(t, "-> Unit "), ":")
		case strings.HasPrefix(l, "\t\t") && !strings.HasPrefix(l, "\t\t\t") &&
			(strings.HasPrefix(t, "Condition") || strings.HasPrefix(t, "Assert")) && strings.HasSuffix(t, " untested"):
			dumps[unit] = append(dumps[unit], t)
		}
	}
	return dumps
}
