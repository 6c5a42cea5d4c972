package timer

import (
	"encoding/binary"
	"math/bits"
)

// siphash24 is SipHash-2-4 with the 128-bit key k0, k1, as systemd's
// siphash24.c.
func siphash24(k0, k1 uint64, msg []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(msg)
	for ; len(msg) >= 8; msg = msg[8:] {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	last := uint64(n) << 56
	for i, c := range msg {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// The key of timer_get_fixed_delay_hash.
var fixedDelayKey = [16]byte{0x51, 0x0a, 0xdb, 0x76, 0x29, 0x51, 0x42, 0xc2, 0x80, 0x35, 0xea, 0xe6, 0x8e, 0x3a, 0x37, 0xbd}

// fixedDelayHash is systemd's timer_get_fixed_delay_hash: SipHash-2-4 of
// the machine ID, whether the manager is the system's, its UID and the
// timer's name.
func fixedDelayHash(machineID [16]byte, system bool, uid uint32, name string) uint64 {
	msg := make([]byte, 0, 16+1+4+len(name))
	msg = append(msg, machineID[:]...)
	if system {
		msg = append(msg, 1)
	} else {
		msg = append(msg, 0)
	}
	msg = binary.LittleEndian.AppendUint32(msg, uid)
	msg = append(msg, name...)
	return siphash24(binary.LittleEndian.Uint64(fixedDelayKey[:8]), binary.LittleEndian.Uint64(fixedDelayKey[8:]), msg)
}

// Perturbation is the host's position for coalesced wake-ups, in µs
// within the minute, as sd-event's initialize_perturb derives it from the
// boot ID (or, without one, the machine ID): the two halves of the ID,
// read little-endian, exclusive-or'ed, modulo a minute.
func Perturbation(id [16]byte) uint64 {
	return (binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])) % uint64(usecPerMinute)
}
