package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
)

// storeWrites are the store's writes that the daemon outlives the
// failure of (the disk full, say): the journal's, and the stamps' and
// the run history's, which records keeps until they can be made.
type storeWrites interface {
	Trigger(ctx context.Context, prev store.TimerState, t store.Trigger) (store.TimerState, int64, error)
	StartRun(ctx context.Context, r store.Run) (int64, error)
	EndRun(ctx context.Context, id int64, ended, endedMonotonic uint64, result, exitCode string, exitStatus int) error
	SetRunProcess(ctx context.Context, id int64, pid int, sub store.RunSub) error
	TimersActive(ctx context.Context, boot string, acts ...store.Activation) ([]store.TimerState, error)
	ForgetStart(ctx context.Context) error
	Append(ctx context.Context, entries ...store.Entry) error
	InterruptRuns(ctx context.Context, keep ...int64) (int64, error)
}

// records are the writes of the stamps and the run history that failed,
// with those that came after them, in order: they are tried again with
// the next write, and every recordRetry until they are made. A timer
// whose stamp could not be written fires its unit all the same, as
// systemd's timer_enter_running goes on when touch_file fails; what was
// committed before stays as it was.
type records struct {
	pending []record
	// retryAt is when to try the pending writes again, monotonic µs;
	// since is when they began to fail.
	retryAt, since uint64
	// ids are the run IDs stored for the provisional ones (negative)
	// handed out while a run's beginning was pending; last is the last
	// of those.
	ids  map[int64]int64
	last int64
	// overflow counts the writes dropped, beyond maxPendingRecords,
	// since the writes began to fail.
	overflow int
}

// A record is a write to the store, described for the log.
type record struct {
	what  string
	write func(ctx context.Context) error
}

const (
	// recordRetry is how often pending records are tried again when no
	// new write tries them.
	recordRetry = 5 * time.Second
	// maxPendingRecords bounds what is held: beyond, the oldest goes.
	maxPendingRecords = 100_000
)

// record makes a write to the store after those pending, or keeps it
// pending if it fails.
func (m *Manager) record(what string, write func(ctx context.Context) error) {
	if len(m.recs.pending) == maxPendingRecords {
		// Said once, and counted, as journald says it drops messages.
		if m.recs.overflow == 0 {
			m.log.Error(fmt.Sprintf("Too many writes to the store pending (%d), dropping the oldest from now on, first %s.", maxPendingRecords, m.recs.pending[0].what))
		}
		m.recs.overflow++
		m.recs.pending[0] = record{}
		m.recs.pending = m.recs.pending[1:]
	}
	m.recs.pending = append(m.recs.pending, record{what, write})
	m.flushRecords()
}

// flushRecords makes the pending writes, in order, until one fails for
// a while; one that trying again cannot mend is dropped, saying so.
func (m *Manager) flushRecords() {
	for len(m.recs.pending) > 0 {
		r := m.recs.pending[0]
		if err := r.write(context.Background()); err != nil && !store.Temporary(err) {
			m.log.Error(fmt.Sprintf("Failed to write %s, for good; dropped.", r.what), "err", err)
		} else if err != nil {
			now := m.clk.Now().Monotonic
			if m.recs.since == 0 {
				m.recs.since = now
				m.log.Error(fmt.Sprintf("Failed to write %s; it and the writes after it are kept, and tried again until they can be made.", r.what), "err", err)
			}
			m.recs.retryAt = now + uint64(recordRetry/time.Microsecond)
			return
		}
		m.recs.pending[0] = record{}
		m.recs.pending = m.recs.pending[1:]
	}
	if m.recs.since != 0 {
		msg := fmt.Sprintf("Writing to the store again: the writes held since %s ago are made",
			time.Duration(m.clk.Now().Monotonic-m.recs.since)*time.Microsecond)
		if m.recs.overflow > 0 {
			msg += fmt.Sprintf(", but for %d dropped as too many", m.recs.overflow)
		}
		m.log.Info(msg + ".")
	}
	m.recs.pending, m.recs.since, m.recs.retryAt, m.recs.overflow = nil, 0, 0, 0
}

// retryRecords tries the pending writes again once it is time.
func (m *Manager) retryRecords(now timer.Instant) {
	if m.recs.retryAt != 0 && now.Monotonic >= m.recs.retryAt {
		m.flushRecords()
	}
}

// recordRun records the beginning of a run, with write, and returns
// its ID: the one stored, or while the write is pending, a provisional
// one, which endRun's record finds the stored one for.
func (m *Manager) recordRun(what string, write func(ctx context.Context) (int64, error)) int64 {
	var id int64
	written, deferred := false, false
	m.recs.last--
	provisional := m.recs.last
	m.record(what, func(ctx context.Context) error {
		var err error
		if id, err = write(ctx); err != nil {
			return err
		}
		written = true
		if deferred && id != 0 {
			if m.recs.ids == nil {
				m.recs.ids = map[int64]int64{}
			}
			m.recs.ids[provisional] = id
		}
		return nil
	})
	if written {
		return id
	}
	deferred = true
	return provisional
}

// recordTrigger records a timer's firing, with the run it begins unless
// t.NoRun, and returns the run's ID as recordRun does (0 for none). The
// stamp moves from the timer's state when the write is made.
func (m *Manager) recordTrigger(te *entry, t store.Trigger) int64 {
	id := m.recordRun("the trigger of "+te.name, func(ctx context.Context) (int64, error) {
		st, id, err := m.writes.Trigger(ctx, te.tstate, t)
		if errors.Is(err, store.ErrStale) {
			// Cleaned while the write was pending: it fired all the same.
			if te.tstate, err = m.store.Timer(ctx, te.name); err == nil {
				st, id, err = m.writes.Trigger(ctx, te.tstate, t)
			}
		}
		if err != nil {
			return 0, err
		}
		te.tstate = st
		return id, nil
	})
	if t.NoRun {
		return 0
	}
	return id
}

// recordEnd records how a run ended.
func (m *Manager) recordEnd(unitName string, runID int64, ended timer.Instant, result, code string, status int) {
	m.observeEnd(unitName, runID, ended, result, code, status)
	m.clusterRunEnded(unitName, runID, ended, result, code, status)
	m.record("the end of a run of "+unitName, func(ctx context.Context) error {
		id, ok := m.storedRun(runID)
		if !ok {
			return nil // its beginning was dropped
		}
		if err := m.writes.EndRun(ctx, id, ended.Realtime, ended.Monotonic, result, code, status); err != nil {
			return err
		}
		delete(m.recs.ids, runID)
		return nil
	})
}

// recordMainPID records the main process of a run that runs, and where
// the run is, for the daemon started again to find it there.
func (m *Manager) recordMainPID(unitName string, runID int64, pid int, sub store.RunSub) {
	m.record("the main process of a run of "+unitName, func(ctx context.Context) error {
		id, ok := m.storedRun(runID)
		if !ok {
			return nil
		}
		return m.writes.SetRunProcess(ctx, id, pid, sub)
	})
}

// storedRun is the stored ID of a run, which runID is or stands for
// while its beginning is pending; false once that was dropped.
func (m *Manager) storedRun(runID int64) (int64, bool) {
	if runID >= 0 {
		return runID, true
	}
	id, ok := m.recs.ids[runID]
	return id, ok
}
