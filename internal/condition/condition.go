// Package condition tests a unit's Condition…= and Assert…= settings on
// this machine, as systemd 254's condition_test() and
// condition_test_list() do (src/shared/condition.c).
//
// The unit package reads the settings (config_parse_unit_condition_path and
// config_parse_unit_condition_string); this package reads the machine:
// /proc, /sys, os-release, the process's credentials, file systems and
// CPU. It is internal because it does that I/O itself, with system calls
// (access, statx, statfs, sched_getaffinity, CPUID) that a handed file
// system cannot stand in for. Off Linux, or where a facility is missing
// (no PSI, no cgroup controllers, no TPM, no DMI), a test answers as
// systemd's does when it finds the facility missing.
package condition

import (
	"errors"
	"strings"
	"syscall"

	"sundial.dev/sundial/unit"
)

// A kind is one type of condition: its test, and whether it takes a path.
type kind struct {
	test func(param string, env []string) (bool, error)
	path bool
}

// kinds are systemd 254's condition types, by the name that follows
// "Condition" or "Assert".
var kinds = map[string]kind{
	"Architecture":           {test: testArchitecture},
	"Firmware":               {test: testFirmware},
	"Virtualization":         {test: testVirtualization},
	"Host":                   {test: testHost},
	"KernelCommandLine":      {test: testKernelCommandLine},
	"KernelVersion":          {test: testKernelVersion},
	"Credential":             {test: testCredential},
	"Environment":            {test: testEnvironment},
	"Security":               {test: testSecurity},
	"Capability":             {test: testCapability},
	"ACPower":                {test: testACPower},
	"NeedsUpdate":            {test: testNeedsUpdate, path: true},
	"FirstBoot":              {test: testFirstBoot},
	"PathExists":             {test: testPathExists, path: true},
	"PathExistsGlob":         {test: testPathExistsGlob, path: true},
	"PathIsDirectory":        {test: testPathIsDirectory, path: true},
	"PathIsSymbolicLink":     {test: testPathIsSymbolicLink, path: true},
	"PathIsMountPoint":       {test: testPathIsMountPoint, path: true},
	"PathIsReadWrite":        {test: testPathIsReadWrite, path: true},
	"PathIsEncrypted":        {test: testPathIsEncrypted, path: true},
	"DirectoryNotEmpty":      {test: testDirectoryNotEmpty, path: true},
	"FileNotEmpty":           {test: testFileNotEmpty, path: true},
	"FileIsExecutable":       {test: testFileIsExecutable, path: true},
	"User":                   {test: testUser},
	"Group":                  {test: testGroup},
	"ControlGroupController": {test: testControlGroupController},
	"CPUs":                   {test: testCPUs},
	"Memory":                 {test: testMemory},
	"CPUFeature":             {test: testCPUFeature},
	"OSRelease":              {test: testOSRelease},
	"MemoryPressure":         {test: testPressure("memory")},
	"CPUPressure":            {test: testPressure("cpu")},
	"IOPressure":             {test: testPressure("io")},
}

// Lookup reads a setting's name as condition_type_from_string and
// assert_type_from_string do: "ConditionPathExists" is the kind
// "PathExists", not an assert. Names are case-sensitive.
func Lookup(name string) (kindName string, assert, ok bool) {
	k, found := strings.CutPrefix(name, "Condition")
	if !found {
		if k, found = strings.CutPrefix(name, "Assert"); !found {
			return "", false, false
		}
		assert = true
	}
	_, ok = kinds[k]
	return k, assert, ok
}

// TakesPath reports whether conditions of the kind take an absolute path,
// as systemd's condition_takes_path: their values are read with
// config_parse_unit_condition_path.
func TakesPath(kindName string) bool { return kinds[kindName].path }

// Test tests one condition, as condition_test: whether it holds, its
// negation applied. env is the environment ConditionEnvironment= looks
// in, the manager's. An error means the result could not be determined;
// systemd then takes the condition as failed.
func Test(c unit.Condition, env []string) (bool, error) {
	k, ok := kinds[c.Kind]
	if !ok {
		return false, syscall.EINVAL
	}
	r, err := k.test(c.Param, env)
	if err != nil {
		return false, err
	}
	return r != c.Negate, nil
}

// A Tested is one condition as condition_test_list tested it.
type Tested struct {
	unit.Condition
	OK  bool  // it held
	Err error // its result could not be determined, and it failed
}

// Format writes a condition as systemd's logs and status name it:
// prefix, kind, "=", then "|" and "!" where set, then the parameter.
func Format(prefix string, c unit.Condition) string {
	var b strings.Builder
	b.WriteString(prefix + c.Kind + "=")
	if c.Trigger {
		b.WriteByte('|')
	}
	if c.Negate {
		b.WriteByte('!')
	}
	b.WriteString(c.Param)
	return b.String()
}

// List tests a unit's conditions (or asserts) as condition_test_list:
// systemd keeps them newest first, so they are tested from the last read
// to the first; the first failing one that is not triggering ends the
// test, and when there are triggering ones, one of them must hold. An
// empty list holds. It returns the outcome and the conditions tested, in
// the order tested.
func List(conds []unit.Condition, env []string) (bool, []Tested) {
	var tested []Tested
	triggered := -1
	for i := len(conds) - 1; i >= 0; i-- {
		c := conds[i]
		if c.Kind == "CPUFeature" {
			// condition_test_cpufeature lowers the parameter in place,
			// and so it is logged.
			c.Param = asciiLower(c.Param)
		}
		ok, err := Test(c, env)
		tested = append(tested, Tested{Condition: c, OK: ok, Err: err})
		if !c.Trigger && !ok {
			return false, tested
		}
		if c.Trigger && triggered <= 0 {
			triggered = 0
			if ok {
				triggered = 1
			}
		}
	}
	return triggered != 0, tested
}

// Failed returns the condition that made List fail: the last tested that
// failed, not triggering; or, where only triggering ones were left
// wanting, the first of them tested.
func Failed(tested []Tested) (Tested, bool) {
	for i := len(tested) - 1; i >= 0; i-- {
		if t := tested[i]; !t.OK && !t.Trigger {
			return t, true
		}
	}
	for _, t := range tested {
		if !t.OK {
			return t, true
		}
	}
	return Tested{}, false
}

// Strerror is the text systemd's %m prints for a test's error.
func Strerror(err error) string {
	if e, ok := errors.AsType[syscall.Errno](err); ok {
		// Go's texts are the C library's, less the capital.
		s := e.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// asciiLower is systemd's ascii_strlower.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
