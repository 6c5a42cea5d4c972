package unit

import (
	"fmt"
	"slices"
	"testing"
)

// TestImagePolicy checks RootImagePolicy= and its kin, which systemd 252
// (the oracle of TestVerifyOracleSettings) lacks: a policy systemd 254
// cannot read stops the unit from loading, with the error
// image_policy_from_string gives.
func TestImagePolicy(t *testing.T) {
	for _, tt := range []struct {
		value string
		err   error
		diag  string
	}{
		{"-", nil, ""},
		{"*", nil, ""},
		{"~", nil, ""},
		{"root=verity+signed:usr=encrypted:=unused+absent", nil, ""},
		{" root = verity + signed :=-:home=", nil, ""},
		{"root=read-only-on+growfs-off:swap=ignore:tmp=open", nil, ""},
		{"root=open:root=absent", eNOTUNIQ, "Duplicate rule in image policy, refusing: %s"},
		{"=open:=absent", eNOTUNIQ, "Duplicate rule in image policy, refusing: %s"},
		{"bogus=open", eBADSLT, "Unknown partition type in image policy, refusing: %s"},
		{"root=bogus", eBADRQC, "Unknown partition policy flag in image policy, refusing: %s"},
		{"root=open++absent", eBADRQC, "Unknown partition policy flag in image policy, refusing: %s"},
		{"root", eINVAL, "Failed to parse image policy, refusing: %s"},
		{"root=open::usr=open", eINVAL, "Failed to parse image policy, refusing: %s"},
		{"root=open:", eINVAL, "Failed to parse image policy, refusing: %s"},
	} {
		for _, key := range []string{"RootImagePolicy", "MountImagePolicy", "ExtensionImagePolicy"} {
			u := loadText(t, "p.service", "[Service]\nExecStart=/bin/true\n"+key+"="+tt.value+"\n")
			var diags []string
			for _, d := range u.Diagnostics {
				diags = append(diags, fmt.Sprintf("%d: %s", d.Pos.Line, d.Msg))
			}
			var want []string
			state := Loaded
			if tt.err != nil {
				want, state = []string{fmt.Sprintf("3: "+tt.diag, tt.value)}, LoadError
			}
			if !slices.Equal(diags, want) || u.LoadState != state || u.LoadError != tt.err {
				t.Errorf("%s=%s: diagnostics %q, state %v, error %v; want %q, %v, %v", key, tt.value, diags, u.LoadState, u.LoadError, want, state, tt.err)
			}
		}
	}
}
