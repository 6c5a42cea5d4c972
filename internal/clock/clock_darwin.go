package clock

import "golang.org/x/sys/unix"

// On macOS CLOCK_UPTIME_RAW stops during sleep and CLOCK_MONOTONIC does
// not.
func sinceBoot() (mono, boot uint64) {
	return read(unix.CLOCK_UPTIME_RAW), read(unix.CLOCK_MONOTONIC)
}
