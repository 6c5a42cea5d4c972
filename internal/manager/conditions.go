package manager

import (
	"context"
	"fmt"
	"strings"

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
// failed) or failed by an assert (likewise). A start an ExecCondition=
// skipped is not among them: its process ran, and the service ended.
var unstarted = []string{"skipped", skippedCondition, jobAssert, jobAssert + " (*"}

// skippedCondition matches the results of the starts a condition that
// is not triggering skipped.
const skippedCondition = "skipped (Condition*"

// A condResult is the last test of a unit's conditions or asserts, as
// systemd keeps condition_result and condition_timestamp, and each
// condition's result.
type condResult struct {
	at     timer.Dual // when tested; zero for never
	ok     bool
	tested []condition.Tested
	// unmet is, for a test the run history told of, the condition
	// that failed, as written there; tested is then nil.
	unmet string
}

// failed are the conditions that did not hold, in the order tested:
// what status lists beneath "Condition:".
func (r condResult) failed(prefix string) []string {
	if r.tested == nil && r.unmet != "" {
		return []string{r.unmet}
	}
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
func (m *Manager) testConditions(e *entry, act *activation, done func(string)) bool {
	if e.isActive() {
		return true
	}
	u := e.u()
	name := e.name
	var ok bool
	now := m.clk.Now()
	act.tested = now
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
		m.unstartedRun(e, *act, now, skipped)
		m.changed(e)
		m.tellTimers(e)
		done(jobDone)
		return false
	}
	ok, e.assert = m.testList(e, "Assert", u.Unit.Asserts, now)
	if !ok {
		m.unitLog(name, "", 5, name+": Starting requested but asserts failed.")
		m.jobLog(name, "", "start", jobAssert, "Assertion failed for "+describe(e)+".")
		failed := jobAssert
		if f, found := condition.Failed(e.assert.tested); found && !f.Trigger {
			failed += " (" + condition.Format("Assert", f.Condition) + ")"
		}
		m.unstartedRun(e, *act, now, failed)
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
	} else if !e.assert.ok {
		a.AssertUnmet = e.assert.unmet
	}
}

// restoreTests shows the last tests of a service's conditions and
// asserts after the daemon started again, from the runs of the history
// that tested them last: cond, the last a start job began, and assert,
// the last of those its conditions did not skip. Each start tested them
// as it began; a skip or a failed assert keeps, in its result, the
// condition or assert that failed. A start an ExecCondition= skipped
// shows its conditions failed, as service_sigchld_event leaves them.
func (m *Manager) restoreTests(e *entry, cond, assert *store.Run) {
	at := func(r *store.Run) timer.Dual {
		d := timer.Dual{Realtime: r.Started}
		if m.sameBoot(r.Boot) {
			d.Monotonic = r.StartedMonotonic
		}
		return d
	}
	// unmet is the condition within a result's parentheses.
	unmet := func(result string) string {
		_, rest, _ := strings.Cut(result, " (")
		return strings.TrimSuffix(rest, ")")
	}
	if cond != nil {
		e.cond = condResult{at: at(cond), ok: true}
		switch r := cond.Result; {
		case r == "skipped", r == skippedExecCondition:
			e.cond.ok = false
		case strings.HasPrefix(r, "skipped (Condition"):
			e.cond.ok, e.cond.unmet = false, unmet(r)
		}
	}
	if assert != nil {
		e.assert = condResult{at: at(assert), ok: true}
		if r := assert.Result; r == jobAssert || strings.HasPrefix(r, jobAssert+" (") {
			e.assert.ok, e.assert.unmet = false, unmet(r)
		}
	}
}
