package timer

import (
	"testing"
)

func TestSiphash24(t *testing.T) {
	// The test vector of the SipHash paper: key 00..0f, message 00..0e.
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	if got := siphash24(0x0706050403020100, 0x0f0e0d0c0b0a0908, msg); got != 0xa129ca6149be45e5 {
		t.Errorf("siphash24 = %#x, want 0xa129ca6149be45e5", got)
	}
	// The empty message, from the reference implementation's vectors.
	if got := siphash24(0x0706050403020100, 0x0f0e0d0c0b0a0908, nil); got != 0x726fdb47dd0e0e31 {
		t.Errorf("siphash24(empty) = %#x, want 0x726fdb47dd0e0e31", got)
	}
}

func TestFixedDelayHash(t *testing.T) {
	id := mustID(t, "0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		system bool
		uid    uint32
		want   uint64
	}{
		{true, 0, 144873041088774685},
		{false, 1000, 12087527704308603430},
	} {
		if got := fixedDelayHash(id, tc.system, tc.uid, "foo.timer"); got != tc.want {
			t.Errorf("fixedDelayHash(system=%v, uid=%d) = %d, want %d", tc.system, tc.uid, got, tc.want)
		}
	}
}

func TestPerturbation(t *testing.T) {
	// 31d70fe6-eea2-4876-a0eb-d19de68d7418 gives 39.118225 s.
	if got := Perturbation(mustID(t, "31d70fe6eea24876a0ebd19de68d7418")); got != 39118225 {
		t.Errorf("Perturbation = %d, want 39118225", got)
	}
}

func mustID(t *testing.T, s string) [16]byte {
	t.Helper()
	id, err := ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
