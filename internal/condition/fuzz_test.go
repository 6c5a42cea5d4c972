package condition

import (
	"strings"
	"testing"

	"sundial.dev/sundial/unit"
)

// FuzzCondition reads a setting as a unit file's Condition…= or Assert…=
// line and tests what was kept: the kind is known, a path is absolute and
// normalized, and negation turns the result over, or the same error stays.
// Path kinds are read but not tested, so that the fuzzer walks no file
// system.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"ConditionPathExists=/etc", "AssertPathExists=|!/etc/", "ConditionPathExists=relative",
		"ConditionPathExists=/a/../b", "ConditionPathExists=/%Z", "ConditionHost= | ! %H",
		"ConditionKernelVersion=>= 6 <100", "ConditionKernelVersion='", "ConditionOSRelease=ID$=deb*",
		"ConditionMemory=<1.5E", "ConditionCPUs=0x2", "ConditionMemoryPressure=foo.slice:5%/10sec",
		"ConditionFirmware=smbios-field(product_name $= *)", "ConditionCapability=CAP_SYS_ADMIN",
		"ConditionControlGroupController=cpu io", "ConditionEnvironment=HOME=", "AssertFirmware=uefi",
		"ConditionSecurity=audit", "ConditionVirtualization=private-users", "ConditionUser=@system",
	} {
		f.Add(s)
	}
	loader := &unit.Loader{}
	f.Fuzz(func(t *testing.T, line string) {
		key, value, ok := strings.Cut(line, "=")
		kind, assert, known := Lookup(key)
		if !ok || !known {
			return
		}
		u := &unit.Unit{Name: "test.service", Type: unit.Service}
		loader.AddCondition(u, unit.Assignment{Section: "Unit", Key: key, Value: value}, TakesPath(kind))
		list := u.Unit.Conditions
		if assert {
			list = u.Unit.Asserts
		}
		if len(list) > 1 || value == "" && len(list) != 0 {
			t.Fatalf("%q kept %d conditions", line, len(list))
		}
		for _, c := range list {
			if c.Kind != kind {
				t.Fatalf("%q kept kind %q", line, c.Kind)
			}
			if TakesPath(kind) {
				if !strings.HasPrefix(c.Param, "/") || unit.SimplifyPath(c.Param) != c.Param {
					t.Fatalf("%q kept path %q", line, c.Param)
				}
				continue
			}
			r, err := Test(c, []string{"HOME=/root"})
			c.Negate = !c.Negate
			nr, nerr := Test(c, []string{"HOME=/root"})
			if (err == nil) != (nerr == nil) || err == nil && r == nr {
				t.Fatalf("%q: %v, %v; negated %v, %v", line, r, err, nr, nerr)
			}
		}
	})
}
