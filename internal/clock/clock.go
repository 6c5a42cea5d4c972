// Package clock is the daemon's access to time: readings of the realtime,
// monotonic and boot-time clocks, as the timer engine counts them, and
// timers. Everything below the daemon is handed a Clock, so that tests can
// give another; the zero Real is the machine's.
package clock

import (
	"encoding/hex"
	"os"
	"time"

	"sundial.dev/sundial/internal/timer"
)

// A Clock reads the clocks and makes timers.
type Clock interface {
	// Now reads the three clocks.
	Now() timer.Instant
	// After returns a channel that receives once d has passed on the
	// monotonic clock, and a function that stops it.
	After(d time.Duration) (<-chan time.Time, func() bool)
}

// Real is the machine's clock.
type Real struct{}

// Now reads the realtime clock, and the clocks since boot that stop and
// that go on during suspend (CLOCK_MONOTONIC and CLOCK_BOOTTIME on Linux).
func (Real) Now() timer.Instant {
	mono, boot := sinceBoot()
	return timer.Instant{Realtime: uint64(max(time.Now().UnixMicro(), 0)), Monotonic: mono, Boottime: boot}
}

// After is time.NewTimer.
func (Real) After(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Or returns c, or Real if c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// BootID returns this boot's ID, 32 hexadecimal digits, or "" where the
// system tells none.
func BootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	id, err := timer.ParseID(string(data))
	if err != nil {
		return ""
	}
	return hex.EncodeToString(id[:])
}
