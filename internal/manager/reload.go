package manager

import (
	"fmt"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/unit"
)

// jobInvalid is JOB_INVALID: a reload of a unit that is not active.
const jobInvalid = "invalid"

// canReload reports whether a unit can be reloaded, as service_can_reload:
// a service with ExecReload=.
func canReload(e *entry) bool {
	u := e.u()
	return e.typ == unit.Service && u.Service != nil && len(u.Service.ExecReload) > 0
}

// reloadUnit runs a service's ExecReload=, as the reload job does: refused
// for a unit that cannot reload, invalid for one not active.
func (m *Manager) reloadUnit(e *entry, r *api.JobResult, wait func() func(string)) {
	if !canReload(e) {
		r.Error, r.Code = fmt.Sprintf("Job type reload is not applicable for unit %s.", e.name), "not-applicable"
		return
	}
	run := e.run
	if run == nil || (e.sub != service.Running && e.sub != service.Exited) {
		r.Result = jobInvalid
		return
	}
	done := wait()
	m.unitLog(e.name, e.invocation, 6, "Reloading "+describe(e)+"...")
	go func() {
		// Ends with the reload, or with the activation.
		ok := <-run.Reload()
		m.events <- func() {
			if ok {
				m.unitLog(e.name, e.invocation, 6, "Reloaded "+describe(e)+".")
				done(jobDone)
				return
			}
			m.unitLog(e.name, e.invocation, 3, "Reload failed for "+describe(e)+".")
			done(jobFailed)
		}
	}()
}
