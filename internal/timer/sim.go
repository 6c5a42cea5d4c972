package timer

import (
	"cmp"
	"slices"

	"sundial.dev/sundial/unit"
)

// A Simulation runs timers on a simulated clock: the engine's wake-ups
// come at once, and each unit a timer starts runs for Runtime, then
// stops. It is how the engine is tested end to end, and what
// `sundial simulate` shows.
type Simulation struct {
	Engine *Engine
	// Now is the simulated reading of the clocks.
	Now Instant
	// Runtime is how long a started unit runs, in µs; at least 1.
	Runtime uint64

	timers []*Timer
	units  map[string]*simUnit
}

// A simUnit is a unit the simulated timers start.
type simUnit struct {
	name                 string
	active               bool
	activeAt, inactiveAt uint64 // monotonic
	stopAt               uint64 // monotonic, while active
	timers               []*Timer
}

func (u *simUnit) state() UnitState {
	return UnitState{Inactive: !u.active, ActiveAt: u.activeAt, InactiveAt: u.inactiveAt}
}

// Add adds a timer, dead until started.
func (s *Simulation) Add(name string, cfg *unit.TimerSection) *Timer {
	t := s.Engine.Add(name, cfg)
	s.timers = append(s.timers, t)
	if s.units == nil {
		s.units = map[string]*simUnit{}
	}
	u := s.units[cfg.Unit]
	if u == nil {
		u = &simUnit{name: cfg.Unit}
		s.units[cfg.Unit] = u
	}
	u.timers = append(u.timers, t)
	return t
}

// Timers returns the timers added, in order.
func (s *Simulation) Timers() []*Timer { return s.timers }

// An Elapse is one firing in a simulation.
type Elapse struct {
	Trigger
	// Started is false when the unit was still running from before, so
	// that the start did nothing.
	Started bool
}

// Run advances the clock from wake-up to wake-up, firing the timers due
// and stopping units that have run their time, until the next wake-up
// would pass the realtime until (Infinity for no end), or emit returns
// false. A simulation in which nothing will ever happen again ends.
func (s *Simulation) Run(until uint64, emit func(Elapse) bool) {
	for {
		delta, ok := s.nextDelta()
		if !ok || usecAdd(s.Now.Realtime, delta) > until {
			return
		}
		s.Advance(delta)
		if !s.dispatch(emit) {
			return
		}
	}
}

// nextDelta is how far the clocks advance to the next wake-up: of the
// engine on any clock, or of a running unit ending.
func (s *Simulation) nextDelta() (uint64, bool) {
	delta, ok := s.Engine.Until(s.Now)
	for _, u := range s.units {
		if u.active {
			delta, ok = min(delta, subSat(u.stopAt, s.Now.Monotonic)), true
		}
	}
	return delta, ok
}

// Advance moves all clocks forward by d µs, as time passes.
func (s *Simulation) Advance(d uint64) {
	s.Now.Realtime += d
	s.Now.Monotonic += d
	s.Now.Boottime += d
}

// Suspend moves the realtime and boot-time clocks forward by d µs but not
// the monotonic clock, as a suspended machine sees it, and then handles
// what is due, as on waking.
func (s *Simulation) Suspend(d uint64, emit func(Elapse) bool) {
	s.Now.Realtime += d
	s.Now.Boottime += d
	s.dispatch(emit)
}

// SetRealtime sets the realtime clock, as settimeofday, and tells the
// timers, which may fire (OnClockChange=).
func (s *Simulation) SetRealtime(rt uint64, emit func(Elapse) bool) {
	s.Now.Realtime = rt
	for _, t := range s.timers {
		var fired *Elapse
		if s.Engine.ClockChanged(t, s.Now, s.starter(&fired)) {
			s.started(fired)
			emit(*fired)
		}
	}
	s.dispatch(emit)
}

// dispatch stops the units whose time is up, then fires the timers due,
// as one iteration of the event loop. It reports whether to go on.
func (s *Simulation) dispatch(emit func(Elapse) bool) bool {
	var stopping []*simUnit
	for _, u := range s.units {
		if u.active && u.stopAt <= s.Now.Monotonic {
			stopping = append(stopping, u)
		}
	}
	slices.SortFunc(stopping, func(a, b *simUnit) int { return cmp.Compare(a.name, b.name) })
	for _, u := range stopping {
		s.stop(u)
	}
	for _, t := range s.Engine.Due(s.Now) {
		var fired *Elapse
		if s.Engine.Fire(t, s.Now, s.starter(&fired)) {
			s.started(fired)
			if !emit(*fired) {
				return false
			}
		}
	}
	return true
}

// starter returns the start function of a firing, which keeps the
// elapse in fired; whether it starts the unit depends on whether that
// runs already.
func (s *Simulation) starter(fired **Elapse) func(Trigger) error {
	return func(tr Trigger) error {
		u := s.units[tr.Unit]
		e := &Elapse{Trigger: tr, Started: !u.active}
		*fired = e
		return nil
	}
}

// started starts the unit of an elapse that started it, and tells its
// timers: the one that fired is running and waits for the unit to stop;
// the others compute again.
func (s *Simulation) started(e *Elapse) {
	if !e.Started {
		return
	}
	u := s.units[e.Unit]
	// Even a unit that does nothing takes a moment.
	u.active, u.activeAt, u.stopAt = true, s.Now.Monotonic, s.Now.Monotonic+max(s.Runtime, 1)
	for _, t := range u.timers {
		t.UnitChanged(s.Now, u.state())
	}
}

func (s *Simulation) stop(u *simUnit) {
	u.active, u.inactiveAt = false, s.Now.Monotonic
	for _, t := range u.timers {
		t.UnitChanged(s.Now, u.state())
	}
}
