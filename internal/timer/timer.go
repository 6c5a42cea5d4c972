package timer

import (
	"errors"
	"fmt"
	"log/slog"

	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// A State is a timer's sub-state, as systemctl shows it.
type State int

const (
	Dead    State = iota // inactive: stopped, or never started
	Waiting              // active: armed
	Running              // active: it fired, and its unit has not stopped yet
	Elapsed              // active: nothing left to elapse
	Failed               // failed
)

var stateNames = [...]string{"dead", "waiting", "running", "elapsed", "failed"}

func (s State) String() string { return stateNames[s] }

// Active reports whether the unit is active in the state: waiting,
// running or elapsed.
func (s State) Active() bool { return s == Waiting || s == Running || s == Elapsed }

// A Result is why a timer last stopped, as its Result property.
type Result int

const (
	Success   Result = iota // success
	Resources               // resources: the unit to trigger could not be started
)

var resultNames = [...]string{"success", "resources"}

func (r Result) String() string { return resultNames[r] }

// A Dual is a moment on the realtime and the monotonic clock, in µs; 0
// is not set.
type Dual struct {
	Realtime, Monotonic uint64
}

// IsSet reports whether either part is set, as dual_timestamp_is_set.
func (d Dual) IsSet() bool {
	return d.Realtime > 0 && d.Realtime != Infinity || d.Monotonic > 0 && d.Monotonic != Infinity
}

// A Timer is one timer unit in an engine.
type Timer struct {
	Name   string // "foo.timer"
	Config *unit.TimerSection

	State  State
	Result Result

	// LastTrigger is when the timer last fired (LastTriggerUSec), or,
	// with Persistent=, the stamp it was started with.
	LastTrigger Dual

	// NextRealtime and NextMonotonic are the next elapses on the
	// realtime and on the monotonic (or boot-time) clock, random delay
	// included (NextElapseUSecRealtime, NextElapseUSecMonotonic): 0 when
	// nothing is armed on the clock, Infinity when the timer is not
	// waiting.
	NextRealtime, NextMonotonic uint64

	// InactiveExit is when the timer last became active.
	InactiveExit Dual

	// What the timer knows of the unit it triggers: when it last became
	// active and inactive (monotonic).
	unitActive, unitInactive uint64

	values []value
	rt     source // the realtime elapse
	mono   source // the monotonic or boot-time elapse

	// Why the armed elapses were chosen, for the trigger's reason.
	rtReason, monoReason Reason

	// skipped is a calendar elapse skipped (realtime µs; 0 for none):
	// the calendar values elapse after it, until the timer fires.
	skipped uint64

	engine     *Engine
	seq        uint64 // the order it was added in
	due        bool
	toldNoWake bool // the bools side by side: 288 bytes, not 296
	dueClock   Clock
}

// A value is one OnCalendar= or On…Sec= setting, as timer.c's TimerValue.
type value struct {
	unit.TimerValue
	disabled bool
	next     uint64
}

// A Reason is why a timer fired.
type Reason struct {
	// Base is the setting whose elapse came: OnCalendar, OnBootSec, …;
	// for a clock or time zone change, OnClockChange or OnTimezoneChange.
	Base string
	// CatchUp is set when the elapse was missed: due already when it
	// was computed (a calendar event that passed while the timer was
	// stopped, the machine off or its unit still running; a monotonic
	// one in the past), or fired a second or more after its window (the
	// machine asleep).
	CatchUp bool
}

func (r Reason) String() string {
	if r.CatchUp {
		return r.Base + " (catch-up)"
	}
	return r.Base
}

// Add adds a timer to the engine, dead until it is started.
func (e *Engine) Add(name string, cfg *unit.TimerSection) *Timer {
	e.added++
	t := &Timer{Name: name, Config: cfg, engine: e, seq: e.added, NextRealtime: Infinity, NextMonotonic: Infinity}
	t.values = make([]value, len(cfg.Values))
	for i, v := range cfg.Values {
		t.values[i].TimerValue = v
	}
	t.rt = source{t: t, clock: Realtime}
	t.mono = source{t: t, clock: Monotonic}
	if cfg.WakeSystem {
		t.rt.clock, t.mono.clock = RealtimeAlarm, Boottime
	}
	acc := uint64(cfg.AccuracySec)
	if acc == 0 {
		acc = defaultAccuracy
	}
	t.rt.accuracy, t.mono.accuracy = acc, acc
	return t
}

// Remove takes a timer out of the engine.
func (e *Engine) Remove(t *Timer) {
	e.disarm(&t.rt)
	e.disarm(&t.mono)
}

// Replace gives a timer new settings, as daemon-reload does: the timer
// that takes its place keeps its state, its last trigger and what it knew
// of its unit, and if waiting, computes its next elapse from the new
// settings (timer_coldplug).
func (e *Engine) Replace(old *Timer, cfg *unit.TimerSection, now Instant) *Timer {
	e.Remove(old)
	t := e.Add(old.Name, cfg)
	t.State, t.Result, t.LastTrigger, t.InactiveExit = old.State, old.Result, old.LastTrigger, old.InactiveExit
	t.unitActive, t.unitInactive, t.toldNoWake = old.unitActive, old.unitInactive, old.toldNoWake
	if t.State == Waiting {
		t.enterWaiting(now, false)
	}
	return t
}

// monoClock is the clock of the timer's monotonic values.
func (t *Timer) monoClock() Clock { return t.mono.clock }

// Start starts the timer, as timer_start: its OnActiveSec= values are
// enabled again and its last trigger forgotten, or, with Persistent=,
// taken from stamp, the realtime of the last trigger before (0 for
// none); then its next elapse is computed. Starting an active timer does
// nothing.
func (t *Timer) Start(now Instant, stamp uint64) {
	if t.State.Active() {
		return
	}
	t.begin(Dual{})
	if t.Config.Persistent && stamp > 0 {
		if stamp < now.Realtime {
			t.LastTrigger.Realtime = stamp
		} else {
			t.engine.log(t, slog.LevelWarn, fmt.Sprintf("Not using persistent file timestamp %s as it is in the future.",
				timespan.FormatTimestamp(Instant{Realtime: stamp}.RealtimeTime(t.engine.location()), timespan.Pretty)))
		}
	}
	t.Result = Success
	t.enterWaiting(now, false)
}

// Resume starts the timer as a manager before this one left it, within
// the same boot: active since since, last triggered at last (zero for
// not since then), as timer_deserialize_item and timer_coldplug take a
// timer up after daemon-reexec. Its next elapse counts from those bases:
// an OnActiveSec= elapse is where it was, and one that passed meanwhile
// is due, or, if the timer fired since, done with. Resuming an active
// timer does nothing.
func (t *Timer) Resume(now Instant, since, last Dual) {
	if t.State.Active() {
		return
	}
	t.begin(last)
	// Active already, so that the state entered keeps since.
	t.InactiveExit, t.State, t.Result = since, Waiting, Success
	t.enterWaiting(now, false)
}

// ResumeRunning has a timer resumed wait for its unit, which its last
// trigger started and which runs still after the daemon's restart, as
// one that fired waits: timer_coldplug restores the running state.
func (t *Timer) ResumeRunning(now Instant) {
	if t.State == Waiting || t.State == Elapsed {
		t.setState(now, Running)
	}
}

// begin readies the timer to start, last triggered at last: its
// OnActiveSec= values enabled again.
func (t *Timer) begin(last Dual) {
	if t.Config.WakeSystem && !t.engine.CanWake && !t.toldNoWake {
		t.toldNoWake = true
		t.engine.log(t, slog.LevelWarn, "WakeSystem= is not supported here: elapses count time asleep, but do not wake the machine.")
	}
	t.LastTrigger = last
	for i := range t.values {
		if t.values[i].Base == unit.OnActive {
			t.values[i].disabled = false
		}
	}
}

// Stop stops the timer: it becomes dead and nothing is armed.
func (t *Timer) Stop(now Instant) {
	t.enterDead(now, Success)
}

// ResetFailed moves a failed timer to dead.
func (t *Timer) ResetFailed() {
	if t.State == Failed {
		t.State, t.Result = Dead, Success
	}
}

// setState changes the state, noting when the timer becomes active, and
// disarms what a state other than waiting has no use for.
func (t *Timer) setState(now Instant, s State) {
	if !t.State.Active() && s.Active() {
		t.InactiveExit = Dual{now.Realtime, now.Monotonic}
	}
	if s != Waiting {
		t.engine.disarm(&t.rt)
		t.engine.disarm(&t.mono)
		t.NextRealtime, t.NextMonotonic = Infinity, Infinity
	}
	t.State = s
}

func (t *Timer) enterDead(now Instant, r Result) {
	if t.Result == Success {
		t.Result = r
	}
	if t.Result != Success {
		// As unit_log_result tells it; a success only at debug level.
		t.engine.log(t, slog.LevelWarn, fmt.Sprintf("Failed with result '%s'.", t.Result))
		t.setState(now, Failed)
	} else {
		t.setState(now, Dead)
	}
}

// enterWaiting computes the next elapse and arms it, as
// timer_enter_waiting; a timer with nothing left to elapse is elapsed, or
// dead. timeChange is set when the realtime clock jumped.
func (t *Timer) enterWaiting(now Instant, timeChange bool) {
	e := t.engine
	foundMono, foundRT, leaveAround := false, false, false
	var nextRT, nextMono uint64
	monoNow := now.of(t.monoClock())
	// Last read first: systemd keeps the values in reverse, which shows
	// in which of two values due at once is the reason.
	for i := len(t.values) - 1; i >= 0; i-- {
		v := &t.values[i]
		if v.disabled {
			continue
		}
		if v.Base == unit.OnCalendar {
			var b uint64
			switch {
			case t.LastTrigger.IsSet():
				b = t.LastTrigger.Realtime
			case t.InactiveExit.IsSet():
				// The timer's previous activation: restarting a timer
				// can fire it at once (systemd 254's quirk).
				b = t.InactiveExit.Realtime
			default:
				b = now.Realtime
			}
			next, ok := v.Calendar.Next(Instant{Realtime: max(b, t.skipped)}.RealtimeTime(e.location()))
			if !ok {
				continue
			}
			v.next = uint64(next.UnixMicro())
			// No elapse before the manager started, so that a missed
			// run and its random delay come after it.
			if rebased := mapClock(e.Startup.Monotonic, now.Monotonic, now.Realtime); v.next < rebased {
				v.next = rebased
			}
			if !foundRT || v.next < nextRT {
				nextRT = v.next
				t.rtReason = Reason{Base: v.Base.String(), CatchUp: v.next <= now.Realtime}
			}
			foundRT = true
			continue
		}
		var base uint64
		switch v.Base {
		case unit.OnActive:
			if t.State.Active() {
				base = t.InactiveExit.Monotonic
			} else {
				base = now.Monotonic
			}
		case unit.OnBoot:
			if !e.InContainer {
				base = 0
			} else {
				base = e.Startup.Monotonic
			}
		case unit.OnStartup:
			base = e.Startup.Monotonic
		case unit.OnUnitActive:
			leaveAround = true
			base = max(t.unitActive, t.LastTrigger.Monotonic)
			if base == 0 {
				continue
			}
		case unit.OnUnitInactive:
			leaveAround = true
			base = max(t.unitInactive, t.LastTrigger.Monotonic)
			if base == 0 {
				continue
			}
		}
		if t.monoClock() != Monotonic {
			base = mapClock(base, now.Monotonic, now.of(t.monoClock()))
		}
		v.next = usecAdd(base, uint64(v.Span))
		if t.LastTrigger.IsSet() && !timeChange && v.next < monoNow &&
			(v.Base == unit.OnActive || v.Base == unit.OnBoot || v.Base == unit.OnStartup) {
			// A one-time elapse that has passed.
			v.disabled = true
			continue
		}
		if !foundMono || v.next < nextMono {
			nextMono = v.next
			t.monoReason = Reason{Base: v.Base.String(), CatchUp: v.next <= monoNow}
		}
		foundMono = true
	}
	if !foundMono && !foundRT && !t.Config.OnTimezoneChange && !t.Config.OnClockChange {
		e.log(t, slog.LevelDebug, "Timer is elapsed.")
		t.enterElapsed(now, leaveAround)
		return
	}
	t.NextRealtime, t.NextMonotonic = 0, 0
	if foundMono {
		t.NextMonotonic = t.addRandom(nextMono)
		e.logf(t, slog.LevelDebug, func() string {
			return "Monotonic timer elapses in " + timespan.Span(subSat(t.NextMonotonic, monoNow)).Format(0) + "."
		})
		e.arm(&t.mono, t.NextMonotonic)
	} else {
		e.disarm(&t.mono)
	}
	if foundRT {
		t.NextRealtime = t.addRandom(nextRT)
		e.logf(t, slog.LevelDebug, func() string {
			return "Realtime timer elapses at " + timespan.FormatTimestamp(Instant{Realtime: t.NextRealtime}.RealtimeTime(e.location()), timespan.Pretty) + "."
		})
		e.arm(&t.rt, t.NextRealtime)
	} else {
		e.disarm(&t.rt)
	}
	t.setState(now, Waiting)
}

// ValueElapses are the next elapses of the timer's values, in the order
// of its settings, without the random delay, as TimersCalendar and
// TimersMonotonic show them: realtime µs for OnCalendar=, µs on the
// monotonic clock for the others; 0 for one not computed. A one-time
// value that has elapsed keeps its last.
func (t *Timer) ValueElapses() []uint64 {
	out := make([]uint64, len(t.values))
	for i, v := range t.values {
		out[i] = v.next
	}
	return out
}

// NextElapse is when the timer elapses next as wall-clock time, as
// list-timers shows it: the earlier of the realtime next elapse and the
// monotonic one, moved onto the realtime clock; 0 for none, and for a
// timer that is not waiting.
func (t *Timer) NextElapse(now Instant) uint64 {
	if t.State != Waiting {
		return 0
	}
	next := uint64(0)
	if t.NextRealtime > 0 && t.NextRealtime != Infinity {
		next = t.NextRealtime
	}
	if m := t.NextMonotonic; m > 0 && m != Infinity {
		if rt := mapClock(m, now.of(t.monoClock()), now.Realtime); next == 0 || rt < next {
			next = rt
		}
	}
	return next
}

func subSat(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// addRandom adds the random delay, as timer.c's add_random: a fresh draw,
// or with FixedRandomDelay= the machine's fixed one, modulo
// RandomizedDelaySec=; or the engine's Draw.
func (t *Timer) addRandom(v uint64) uint64 {
	r := uint64(t.Config.RandomizedDelaySec)
	if r == 0 || v == Infinity {
		return v
	}
	var x uint64
	switch e := t.engine; {
	case e.Draw != nil && t.Config.FixedRandomDelay:
		x = e.Draw(t.Name, 0)
	case e.Draw != nil:
		x = e.Draw(t.Name, t.LastTrigger.Realtime)
	case t.Config.FixedRandomDelay:
		x = fixedDelayHash(e.MachineID, !e.User, e.UID, t.Name)
	default:
		x = e.random()
	}
	add := x % r
	t.engine.logf(t, slog.LevelDebug, func() string { return "Adding " + timespan.Span(add).Format(0) + " random time." })
	if v+add < v {
		return Infinity - 1
	}
	return v + add
}

// enterElapsed is timer_enter_elapsed: with RemainAfterElapse=, or values
// that count from the unit, which may start again, the timer stays.
func (t *Timer) enterElapsed(now Instant, leaveAround bool) {
	if t.Config.RemainAfterElapse || leaveAround {
		t.setState(now, Elapsed)
	} else {
		t.enterDead(now, Success)
	}
}

// A Trigger is one firing of a timer: the unit to start and what the
// started processes are told (TRIGGER_UNIT, TRIGGER_TIMER_REALTIME_USEC,
// TRIGGER_TIMER_MONOTONIC_USEC).
type Trigger struct {
	Timer  *Timer
	Unit   string
	Reason Reason
	// At is the new last trigger: the stamp to keep, with Persistent=.
	At Dual
	// Late is how long after its elapse the timer fired, µs: the
	// coalescing window, the loop's delay, or for a catch-up, the time
	// missed.
	Late uint64
}

// Env returns the environment variables the trigger gives the processes
// of the unit it starts.
func (tr Trigger) Env() []string {
	return []string{
		"TRIGGER_UNIT=" + tr.Timer.Name,
		fmt.Sprintf("TRIGGER_TIMER_REALTIME_USEC=%d", tr.At.Realtime),
		fmt.Sprintf("TRIGGER_TIMER_MONOTONIC_USEC=%d", tr.At.Monotonic),
	}
}

// Fire fires a due timer, as timer_enter_running: start queues the start
// of its unit; if it fails, the timer fails with the result resources;
// else the timer records the last trigger and runs until its unit stops
// (see [Timer.UnitChanged]). A timer that is not waiting any more does
// not fire; Fire reports whether it did.
func (e *Engine) Fire(t *Timer, now Instant, start func(Trigger) error) bool {
	if t.State != Waiting {
		return false
	}
	reason, s := t.rtReason, &t.rt
	if t.dueClock != t.rt.clock {
		reason, s = t.monoReason, &t.mono
	}
	if s.armed {
		// Armed again since it was due: it fires at its new time, as
		// sd-event drops a pending elapse whose time is set again.
		return false
	}
	// Fired a second or more after its window: missed while asleep, or
	// held up; less is the loop's ordinary lateness.
	if now.of(s.clock) > usecAdd(s.latest(), usecPerSec) {
		reason.CatchUp = true
	}
	return t.enterRunning(now, reason, subSat(now.of(s.clock), s.next), start)
}

func (t *Timer) enterRunning(now Instant, reason Reason, late uint64, start func(Trigger) error) bool {
	tr := Trigger{Timer: t, Unit: t.Config.Unit, Reason: reason, At: Dual{now.Realtime, now.Monotonic}, Late: late}
	if err := start(tr); err != nil {
		t.engine.log(t, slog.LevelWarn, "Failed to queue unit startup job: "+err.Error())
		t.enterDead(now, Resources)
		return false
	}
	t.LastTrigger = tr.At
	t.skipped = 0
	t.setState(now, Running)
	return true
}

// ErrNoCalendarElapse is Skip's refusal: the timer's next elapse is not
// a calendar value's.
var ErrNoCalendarElapse = errors.New("timer: the next elapse is not an OnCalendar= one")

// Skip skips the timer's next elapse, a calendar value's: the calendar
// values elapse next after it. systemd has no such thing; it is as if
// the timer had fired then, but for its last trigger and its unit. The
// skip holds until the timer fires, not across a restart of the daemon.
func (e *Engine) Skip(t *Timer, now Instant) error {
	if t.State != Waiting {
		return fmt.Errorf("timer: %s is %s, not waiting", t.Name, t.State)
	}
	next := uint64(0)
	for _, v := range t.values {
		if v.Base == unit.OnCalendar && !v.disabled && (next == 0 || v.next < next) {
			next = v.next
		}
	}
	if next == 0 || t.NextMonotonic > 0 && t.NextMonotonic != Infinity &&
		mapClock(t.NextMonotonic, now.of(t.monoClock()), now.Realtime) < next {
		return ErrNoCalendarElapse
	}
	t.skipped = next
	t.enterWaiting(now, false)
	return nil
}

// A UnitState is what a timer is told of the unit it triggers when that
// changes state.
type UnitState struct {
	// Inactive is set when the unit is inactive or failed.
	Inactive bool
	// ActiveAt and InactiveAt are when it last left the inactive state
	// and last entered it, on the monotonic clock; 0 for never.
	ActiveAt, InactiveAt uint64
}

// UnitChanged tells the timer that the unit it triggers changed state,
// as timer_trigger_notify: a waiting or elapsed timer computes its next
// elapse again (so that OnUnitActiveSec= counts from the new start, and a
// new random delay is drawn); a running timer does so once the unit is
// inactive or failed.
func (t *Timer) UnitChanged(now Instant, u UnitState) {
	t.unitActive, t.unitInactive = u.ActiveAt, u.InactiveAt
	for i := range t.values {
		if b := t.values[i].Base; b == unit.OnUnitActive || b == unit.OnUnitInactive {
			t.values[i].disabled = false
		}
	}
	switch t.State {
	case Waiting, Elapsed:
		t.enterWaiting(now, false)
	case Running:
		if u.Inactive {
			t.engine.log(t, slog.LevelDebug, "Got notified about unit deactivation.")
			t.enterWaiting(now, false)
		}
	}
}

// ClockChanged tells a waiting timer that the realtime clock jumped, as
// timer_time_change: a last trigger in the future is set back to now;
// then with OnClockChange= the timer fires, else it computes its next
// elapse again.
func (e *Engine) ClockChanged(t *Timer, now Instant, start func(Trigger) error) bool {
	if t.State == Waiting && t.LastTrigger.Realtime > now.Realtime {
		t.LastTrigger.Realtime = now.Realtime
	}
	return e.changed(t, now, t.Config.OnClockChange, "OnClockChange", "Time", true, start)
}

// TimezoneChanged tells a waiting timer that the local time zone
// changed, as timer_timezone_change: with OnTimezoneChange= the timer
// fires, else it computes its next elapse again, in the engine's
// Location, which the caller has set to the new zone.
func (e *Engine) TimezoneChanged(t *Timer, now Instant, start func(Trigger) error) bool {
	return e.changed(t, now, t.Config.OnTimezoneChange, "OnTimezoneChange", "Timezone", false, start)
}

// changed is what both changes do to a waiting timer: fire it, or
// compute again; it reports whether the timer fired.
func (e *Engine) changed(t *Timer, now Instant, fire bool, base, what string, timeChange bool, start func(Trigger) error) bool {
	if t.State != Waiting {
		return false
	}
	if fire {
		e.log(t, slog.LevelDebug, what+" change, triggering activation.")
		return t.enterRunning(now, Reason{Base: base}, 0, start)
	}
	e.log(t, slog.LevelDebug, what+" change, recalculating next elapse.")
	t.enterWaiting(now, timeChange)
	return false
}
