package clock

import "golang.org/x/sys/unix"

func sinceBoot() (mono, boot uint64) {
	return read(unix.CLOCK_MONOTONIC), read(unix.CLOCK_BOOTTIME)
}
