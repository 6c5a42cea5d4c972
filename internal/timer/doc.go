// Package timer is the timer engine: it decides when each timer unit
// elapses, as systemd 254's timer.c and the event loop under it
// (sd-event) decide.
//
// The engine is pure: it reads no clock and starts no goroutine. Every
// call is given the current reading of the clocks ([Instant]), and the
// engine answers with what to arm ([Engine.Wakeup]) and, when woken, which
// timers fire ([Engine.Due], [Engine.Fire]). Randomness comes from a
// function it is given, so that every rule has a deterministic test.
//
// # Clocks
//
// Calendar values (OnCalendar=) run on the realtime clock; the other
// values on the monotonic clock, or the boot-time clock, which goes on
// during suspend, with WakeSystem=. All times are microseconds, as
// systemd keeps them: since the epoch for the realtime clock, since boot
// for the others; 0 means not set.
//
// WakeSystem= timers are coalesced apart from the others, as systemd's
// alarm clocks are. systemd fails such a timer (result resources) where
// it may not wake the machine; the engine cannot wake it anywhere, and so
// runs the timer all the same, on the clocks that count time asleep, and
// says so once ([Engine.CanWake]).
//
// # Coalescing
//
// As in sd-event, the timers of a clock are woken together: the wake-up
// is chosen within the window of the earliest elapse and the earliest
// elapse plus its AccuracySec=, at a position within the minute (else the
// 10 seconds, the second, the 250 ms) that is the same for every timer of
// the host, derived from its boot ID ([Perturbation]). Every timer whose
// elapse has come is then due, so no timer fires before its elapse or
// after its elapse plus its accuracy.
package timer
