package manager

import (
	"context"
	"fmt"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/condition"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// jobAssert is the result of a start job whose unit's asserts failed.
const jobAssert = "assert"

// skippedExecCondition is how the run history keeps a start an
// ExecCondition= skipped: as a start a condition skipped is, with why.
const skippedExecCondition = "skipped (" + string(service.SkipCondition) + ")"

// unstarted match the results the run history keeps for starts that
// did not begin: skipped by a condition (with or without the one that
// failed) or failed by an assert. A start an ExecCondition= skipped is
// not among them: its process ran, and the service ended.
var unstarted = []string{"skipped", "skipped (Condition*", jobAssert}

// A condResult is the last test of a unit's conditions or asserts, as
// systemd keeps condition_result and condition_timestamp, and each
// condition's result.
type condResult struct {
	at     timer.Dual // when tested; zero for never
	ok     bool
	tested []condition.Tested
}

// failed are the conditions that did not hold, in the order tested:
// what status lists beneath "Condition:".
func (r condResult) failed(prefix string) []string {
	var out []string
	for _, t := range r.tested {
		if !t.OK {
			out = append(out, condition.Format(prefix, t.Condition))
		}
	}
	return out
}

// testConditions tests a unit's conditions, then its asserts, as
// unit_start does before it starts a unit that is not active, and reports
// whether the start goes on. A failed condition skips the unit: the job
// is done, nothing runs, the unit keeps its state, and its timers go on.
// A failed assert fails the job.
func (m *Manager) testConditions(e *entry, act activation, done func(string)) bool {
	if e.isActive() {
		return true
	}
	u := e.u()
	name := e.name
	var ok bool
	now := m.clk.Now()
	ok, e.cond = m.testList(e, "Condition", u.Unit.Conditions, now)
	if !ok {
		// job_emit_done_message: the first failed condition that is not
		// triggering, or none.
		why := "all trigger condition checks failed"
		skipped := "skipped"
		if f, found := condition.Failed(e.cond.tested); found && !f.Trigger {
			c := condition.Format("Condition", f.Condition)
			why, skipped = "of an unmet condition check ("+c+")", "skipped ("+c+")"
		}
		// A start job done, with nothing done.
		m.jobLog(name, "", "start", jobDone, describe(e)+" was skipped because "+why+".")
		m.unstartedRun(e, act, now, skipped)
		m.changed(e)
		m.tellTimers(e)
		done(jobDone)
		return false
	}
	ok, e.assert = m.testList(e, "Assert", u.Unit.Asserts, now)
	if !ok {
		m.unitLog(name, "", 5, name+": Starting requested but asserts failed.")
		m.jobLog(name, "", "start", jobAssert, "Assertion failed for "+describe(e)+".")
		m.unstartedRun(e, act, now, jobAssert)
		m.changed(e)
		m.tellTimers(e)
		done(jobAssert)
		return false
	}
	return true
}

// testList tests a list as unit_test_condition and unit_test_assert do,
// in the manager's environment, logging what could not be tested.
func (m *Manager) testList(e *entry, prefix string, list []unit.Condition, now timer.Instant) (bool, condResult) {
	ok, tested := condition.List(list, m.Env)
	for _, t := range tested {
		if t.Err != nil {
			m.unitLog(e.name, "", 4, fmt.Sprintf("%s: Couldn't determine result for %s, assuming failed: %s",
				e.name, condition.Format(prefix, t.Condition), condition.Strerror(t.Err)))
		}
	}
	return ok, condResult{at: timer.Dual{Realtime: now.Realtime, Monotonic: now.Monotonic}, ok: ok, tested: tested}
}

// unstartedRun records in the run history a start that a condition
// skipped or an assert failed: the run the trigger began, or one of its
// own, ended as soon as it began, with result.
func (m *Manager) unstartedRun(e *entry, act activation, now timer.Instant, result string) {
	id := act.runID
	if id == 0 {
		r := store.Run{Unit: e.name, Timer: act.timer, Reason: act.reason, Invocation: newID(), Started: now.Realtime,
			StartedMonotonic: now.Monotonic, Boot: m.boot}
		id = m.recordRun("a run of "+e.name, func(ctx context.Context) (int64, error) { return m.writes.StartRun(ctx, r) })
	}
	m.recordEnd(e.name, id, now, result, "", 0)
}

// describeConditions fills in what status shows of the last tests of a
// unit's conditions and asserts.
func describeConditions(e *entry, a *api.Unit) {
	a.ConditionTimestamp, a.ConditionResult = e.cond.at.Realtime, e.cond.ok
	if !e.cond.ok {
		a.ConditionUnmet = e.cond.failed("Condition")
	}
	a.AssertTimestamp, a.AssertResult = e.assert.at.Realtime, e.assert.ok
	if f, found := condition.Failed(e.assert.tested); found && !e.assert.ok && !f.Trigger {
		a.AssertUnmet = condition.Format("Assert", f.Condition)
	}
}
