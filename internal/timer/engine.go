package timer

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Infinity is the time that never comes.
const Infinity = math.MaxUint64

const (
	usecPerMsec   = 1000
	usecPerSec    = 1000 * usecPerMsec
	usecPerMinute = 60 * usecPerSec

	// defaultAccuracy is sd-event's, for an accuracy of 0.
	defaultAccuracy = 250 * usecPerMsec
)

// An Instant is a reading of the clocks, in µs: the realtime clock since
// the epoch, the monotonic and boot-time clocks since boot.
type Instant struct {
	Realtime, Monotonic, Boottime uint64
}

// A Clock is one of the clocks a timer's elapse is armed on.
type Clock int

const (
	Realtime      Clock = iota // CLOCK_REALTIME: calendar values
	Monotonic                  // CLOCK_MONOTONIC: the other values
	Boottime                   // CLOCK_BOOTTIME_ALARM: the other values, with WakeSystem=
	RealtimeAlarm              // CLOCK_REALTIME_ALARM: calendar values, with WakeSystem=
	numClocks
)

var clockNames = [...]string{"realtime", "monotonic", "boottime", "realtime-alarm"}

func (c Clock) String() string { return clockNames[c] }

// of returns the reading of clock c.
func (i Instant) of(c Clock) uint64 {
	switch c {
	case Realtime, RealtimeAlarm:
		return i.Realtime
	case Boottime:
		return i.Boottime
	}
	return i.Monotonic
}

// RealtimeTime returns the realtime reading as a time.Time in loc.
func (i Instant) RealtimeTime(loc *time.Location) time.Time {
	return time.UnixMicro(int64(i.Realtime)).In(loc)
}

// mapClock is systemd's map_clock_usec_raw: the time x on a clock whose
// reading is now-from, on the clock whose reading is now-to.
func mapClock(x, from, to uint64) uint64 {
	if x == Infinity {
		return Infinity
	}
	if x >= from {
		d := x - from
		if d >= Infinity-to {
			return Infinity
		}
		return to + d
	}
	if d := from - x; d < to {
		return to - d
	}
	return 0
}

// usecAdd is systemd's usec_add: saturating at infinity.
func usecAdd(a, b uint64) uint64 {
	if a >= Infinity-b {
		return Infinity
	}
	return a + b
}

// An Engine schedules a set of timers. Set its fields before the first
// timer is added; the zero value is a system manager on a host with no
// known IDs, which counts OnStartupSec= from boot.
type Engine struct {
	// Location is the local time zone of calendar values without one;
	// nil is UTC.
	Location *time.Location

	// Startup is when the manager started (systemd's userspace
	// timestamp): the base of OnStartupSec= and, in a container, of
	// OnBootSec=; no calendar elapse is earlier.
	Startup Instant
	// InContainer makes OnBootSec= count from Startup, as systemd does
	// in a container.
	InContainer bool

	// MachineID, User and UID are what FixedRandomDelay= derives its
	// delay from: the machine, a user manager (not the system's) and
	// its user's ID.
	MachineID [16]byte
	User      bool
	UID       uint32

	// Perturbation is the host's position for coalesced wake-ups, in µs
	// (see [Perturbation]).
	Perturbation uint64

	// CanWake is set where an elapse can wake the machine from suspend;
	// without it, a WakeSystem= timer is told once that it cannot.
	CanWake bool

	// Rand draws the random delays; nil uses math/rand/v2.
	Rand func() uint64
	// Draw, if set, draws them instead, and FixedRandomDelay='s, from a
	// timer's name and its last trigger's realtime (0 for a fixed
	// delay), so that every engine that knows the same last trigger
	// draws the same: the nodes of a cluster show the elapse its leader
	// fires.
	Draw func(name string, last uint64) uint64

	// Log receives the engine's messages about a timer, as systemd logs
	// them; nil discards them. LogLevel is the least level of those it
	// receives: the others are not even built. Its zero value is
	// slog.LevelInfo.
	Log      func(t *Timer, level slog.Level, msg string)
	LogLevel slog.Level

	clocks [numClocks]clockQueue
	added  uint64 // timers added, for their order

	// Due's buffers, used again.
	due        []*Timer
	dueSources []qentry
}

func (e *Engine) location() *time.Location {
	if e.Location == nil {
		return time.UTC
	}
	return e.Location
}

func (e *Engine) random() uint64 {
	if e.Rand != nil {
		return e.Rand()
	}
	return rand.Uint64()
}

func (e *Engine) log(t *Timer, level slog.Level, msg string) {
	if e.Log != nil {
		e.Log(t, level, msg)
	}
}

// logf logs a message that is built only when there is a Log.
func (e *Engine) logf(t *Timer, level slog.Level, msg func() string) {
	if e.Log != nil && level >= e.LogLevel {
		e.Log(t, level, msg())
	}
}

// ParseID reads a 128-bit ID (a machine or boot ID) as 32 hexadecimal
// digits, with or without the dashes of a UUID.
func ParseID(s string) ([16]byte, error) {
	var id [16]byte
	s = strings.TrimSpace(s)
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return id, errInvalidID
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, errInvalidID
	}
	return id, nil
}

var errInvalidID = errors.New("timer: an ID is 32 hexadecimal digits")

// A source is one armed elapse of a timer, on one clock, as an sd-event
// time source: it is due at next, and may wait until next plus accuracy.
type source struct {
	t        *Timer
	clock    Clock
	next     uint64
	accuracy uint64
	armed    bool
}

func (s *source) latest() uint64 { return usecAdd(s.next, s.accuracy) }

// A clockQueue holds the armed sources of a clock, in a queue by next
// for each accuracy among them. That gives what sd-event's earliest and
// latest prioqs give, the earliest next and the earliest next plus
// accuracy, with half the work, since timers share a few accuracies.
type clockQueue struct {
	classes []accuracyClass
}

type accuracyClass struct {
	accuracy uint64
	q        queue
}

func (q *clockQueue) class(accuracy uint64) *queue {
	for i := range q.classes {
		if q.classes[i].accuracy == accuracy {
			return &q.classes[i].q
		}
	}
	q.classes = append(q.classes, accuracyClass{accuracy: accuracy})
	return &q.classes[len(q.classes)-1].q
}

func (q *clockQueue) add(s *source)    { q.class(s.accuracy).push(s, s.next) }
func (q *clockQueue) remove(s *source) { q.class(s.accuracy).remove(s.t.seq) }
func (q *clockQueue) fix(s *source)    { q.class(s.accuracy).fix(s.t.seq, s.next) }

// window returns the earliest next and the earliest next plus accuracy;
// ok is false when nothing is armed.
func (q *clockQueue) window() (a, b uint64, ok bool) {
	a, b = Infinity, Infinity
	for i := range q.classes {
		c := &q.classes[i]
		if c.q.len() == 0 {
			continue
		}
		ok = true
		a = min(a, c.q.topKey())
		b = min(b, usecAdd(c.q.topKey(), c.accuracy))
	}
	return a, b, ok
}

// A queue is a 4-ary min-heap of sources. The keys are kept inline, and
// where each source is in a dense table by its timer's number, so that
// ordering them touches no source: with many timers, that is what keeps
// the heap in the caches.
type queue struct {
	h   []qentry
	pos []int32 // by timer number: where its source is in h
}

type qentry struct {
	key, seq uint64 // the time, and the timer's number for ties
	s        *source
}

func (a qentry) less(b qentry) bool { return a.key < b.key || a.key == b.key && a.seq < b.seq }

func (q *queue) len() int       { return len(q.h) }
func (q *queue) topKey() uint64 { return q.h[0].key }

func (q *queue) push(s *source, key uint64) {
	seq := s.t.seq
	for uint64(len(q.pos)) <= seq {
		q.pos = append(q.pos, -1)
	}
	q.h = append(q.h, qentry{key, seq, s})
	q.up(len(q.h) - 1)
}

func (q *queue) remove(seq uint64) {
	i := int(q.pos[seq])
	last := len(q.h) - 1
	q.pos[seq] = -1
	if i != last {
		q.h[i] = q.h[last]
		q.pos[q.h[i].seq] = int32(i)
	}
	q.h[last] = qentry{}
	q.h = q.h[:last]
	if i != last {
		q.down(i)
		q.up(i)
	}
}

func (q *queue) fix(seq, key uint64) {
	i := int(q.pos[seq])
	q.h[i].key = key
	q.down(i)
	q.up(i)
}

func (q *queue) up(i int) {
	h := q.h
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !e.less(h[p]) {
			break
		}
		h[i] = h[p]
		q.pos[h[i].seq] = int32(i)
		i = p
	}
	h[i] = e
	q.pos[e.seq] = int32(i)
}

func (q *queue) down(i int) {
	h := q.h
	e := h[i]
	for {
		c := 4*i + 1
		if c >= len(h) {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < len(h); j++ {
			if h[j].less(h[m]) {
				m = j
			}
		}
		if !h[m].less(e) {
			break
		}
		h[i] = h[m]
		q.pos[h[i].seq] = int32(i)
		i = m
	}
	h[i] = e
	q.pos[e.seq] = int32(i)
}

// arm sets the source to elapse at next, in its clock's queues.
func (e *Engine) arm(s *source, next uint64) {
	q := &e.clocks[s.clock]
	s.next = next
	if s.armed {
		q.fix(s)
		return
	}
	s.armed = true
	q.add(s)
}

// disarm takes the source out of its clock's queues.
func (e *Engine) disarm(s *source) {
	if !s.armed {
		return
	}
	e.clocks[s.clock].remove(s)
	s.armed = false
}

// Wakeup returns when to wake up next on the clock, as sd-event arms its
// timer: between the earliest elapse and the earliest elapse plus
// accuracy of the clock's timers, at the host's position within the
// window. It is Infinity when nothing is armed on the clock.
func (e *Engine) Wakeup(c Clock) uint64 {
	a, b, ok := e.clocks[c].window()
	if !ok {
		return Infinity
	}
	return sleepBetween(a, b, e.Perturbation)
}

// jumpSlack is how far the realtime clock may drift from the boot-time
// clock between two readings before it counts as set.
const jumpSlack = 500 * usecPerMsec

// ClockJumped reports whether the realtime clock was set between two
// readings: it moved otherwise than the boot-time clock, which counts
// time asleep too, so that a suspend is no jump. systemd learns of it
// from the kernel (a timerfd cancelled on set); a daemon that cannot
// compares its readings as it wakes.
func ClockJumped(prev, now Instant) bool {
	rt, boot := int64(now.Realtime-prev.Realtime), int64(now.Boottime-prev.Boottime)
	d := rt - boot
	return d > jumpSlack || d < -jumpSlack
}

// Until returns how long it is, in µs, from now to the next wake-up on
// any clock; ok is false when nothing is armed.
func (e *Engine) Until(now Instant) (d uint64, ok bool) {
	d = Infinity
	for c := range numClocks {
		if w := e.Wakeup(c); w != Infinity {
			d, ok = min(d, subSat(w, now.of(c))), true
		}
	}
	return d, ok
}

// sleepBetween is sd-event's sleep_between: the latest time in [a, b]
// that is at the host's position p within the minute, else within 10
// seconds, a second or 250 ms; else b.
func sleepBetween(a, b, p uint64) uint64 {
	switch {
	case a == 0:
		return 0
	case a == Infinity:
		return Infinity
	case b <= a+1:
		return a
	}
	for _, step := range []uint64{usecPerMinute, 10 * usecPerSec, usecPerSec, defaultAccuracy} {
		c := b/step*step + p%step
		if c >= b {
			if c < step {
				return b
			}
			c -= step
		}
		if c >= a {
			return c
		}
	}
	return b
}

// Due returns the timers with an elapse that has come on any clock, now,
// and disarms those elapses; they are to fire before anything else
// happens (in systemd they fire one by one, in no defined order; here by
// clock, then by elapse, then in the order the timers were added). A
// timer is listed once, however many of its elapses have come. The list
// is good until the next call.
func (e *Engine) Due(now Instant) []*Timer {
	due := e.due[:0]
	for c := range numClocks {
		n := now.of(c)
		sources := e.dueSources[:0]
		for i := range e.clocks[c].classes {
			q := &e.clocks[c].classes[i].q
			for q.len() > 0 && q.topKey() <= n {
				sources = append(sources, q.h[0])
				q.remove(q.h[0].seq)
			}
		}
		// In the order they were due, across accuracies.
		slices.SortFunc(sources, func(x, y qentry) int {
			if x.less(y) {
				return -1
			}
			return 1
		})
		for _, x := range sources {
			x.s.armed = false
			if x.s.t.due {
				continue
			}
			x.s.t.due, x.s.t.dueClock = true, c
			due = append(due, x.s.t)
		}
		e.dueSources = sources
	}
	e.due = due
	for _, t := range due {
		t.due = false
	}
	return due
}
