//go:build !linux && !darwin

package clock

import "time"

// start stands in for boot where the system tells no time since boot.
var start = time.Now()

func sinceBoot() (mono, boot uint64) {
	d := uint64(time.Since(start).Microseconds()) + 1
	return d, d
}
