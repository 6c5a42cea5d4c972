package manager

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// resumeRuns takes up the runs that were running when the daemon
// stopped, as systemd's manager takes up its services after
// daemon-reexec (service_coldplug): a service whose main process is still
// there, in this boot, with the run's INVOCATION_ID, is active again with
// it, as its run; what is left of the others is stopped. Those not taken
// up are marked interrupted.
func (m *Manager) resumeRuns(ctx context.Context) error {
	runs, err := m.store.RunningRuns(ctx)
	if err != nil {
		return err
	}
	var kept []int64
	for _, r := range runs {
		if m.resumeRun(r) {
			kept = append(kept, r.ID)
		}
	}
	// Kept until it can be made, as the other records are (the disk
	// full): the runs begun meanwhile are recorded after it.
	m.record("the runs interrupted by the daemon's stop", func(ctx context.Context) error {
		n, err := m.writes.InterruptRuns(ctx, kept...)
		if n > 0 {
			m.log.Warn("runs interrupted by the daemon's stop", "count", n)
		}
		return err
	})
	return nil
}

// resumeRun takes up a run, and reports whether it did with its main
// process, or active with none (exited, RemainAfterExit=); with none,
// it stops what is left of it. A run whose stop had begun is stopped. A
// run whose main process ended while no daemon ran, leaving nothing,
// ends as one taken up does, and Restart= applies.
func (m *Manager) resumeRun(r store.Run) bool {
	// A run of a version before the boot was kept has none, and may
	// still run: its INVOCATION_ID, random, tells its processes apart.
	if r.Boot != "" && !m.sameBoot(r.Boot) {
		return false // its processes went with the boot
	}
	exited := r.Sub == store.SubExited
	main := !exited && r.MainPID > 0 && service.Survives(r.MainPID, r.Invocation)
	left := main || exited || service.Leftovers(r.Invocation)
	ended := !left && r.MainPID > 0 && r.Sub == store.SubRunning
	if !left && !ended {
		return false
	}
	// A run of a cluster timer was assigned to this node under the lease
	// of the daemon before, which ended with it: the cluster has it lost,
	// or will, and may run the timer's next elapse on another node. It is
	// stopped, never taken up, nor started again by Restart=.
	if m.isClusterTimer(m.units[r.Timer]) {
		if left {
			m.stopLeft(r, errors.New("a run of a cluster timer, lost to the cluster with the lease of the daemon before"))
		}
		return false
	}
	e, err := m.get(r.Unit)
	switch {
	case err != nil:
	case e.typ != unit.Service:
		err = fmt.Errorf("not a service")
	case e.loadState != unit.Loaded && e.loadState != unit.BadSetting:
		err = fmt.Errorf("unit %s", e.loadState)
	case e.run != nil:
		err = fmt.Errorf("another run of it is taken up")
	}
	if err != nil || ended && e.u().Service.Restart == "no" {
		if left {
			m.stopLeft(r, err)
		}
		return false
	}
	u := e.u()
	s := u.Service
	cred, userInfo, _, err := credentials(s)
	if err != nil {
		m.stopLeft(r, err)
		return false
	}
	env, err := service.Environment(s, service.EnvSource{Manager: m.Env, InvocationID: r.Invocation, User: userInfo, Bases: m.execBases()})
	if err != nil {
		m.stopLeft(r, err)
		return false
	}
	e.own()
	e.invocation, e.result, e.status = r.Invocation, service.Success, ""
	pid, at := 0, service.Running
	switch {
	case exited:
		e.runID, e.sub, at = r.ID, service.Exited, service.Exited
		m.log.Info("taking up a service left active", "unit", e.name)
	case ended:
		// Ends at once, its ExecStopPost= run; how its main process
		// ended is not known, as for one taken up that ends.
		e.runID, e.sub = r.ID, service.Running
		m.unitLog(e.name, r.Invocation, 5, fmt.Sprintf("%s: Main process ended while no daemon ran.", e.name))
	case main:
		pid = r.MainPID
		e.runID, e.mainPID, e.mainStart, e.sub = r.ID, r.MainPID, r.Started, service.Running
		if r.Sub == store.SubStopping {
			// Its stop goes on, from its signal: the ExecStop= commands
			// that ran carry its INVOCATION_ID and are signalled too.
			e.stopping, e.sub, at = true, service.StopSigterm, service.StopSigterm
			m.log.Info("taking up a service left stopping", "unit", e.name, "pid", r.MainPID)
			break
		}
		if s.Type == "oneshot" {
			e.sub = service.Start
		}
		m.log.Info("taking up a service left running", "unit", e.name, "pid", r.MainPID)
	default:
		// Stopped, and the run recorded as interrupted, not as this
		// stop's end.
		e.runID, e.stopping, e.sub = 0, true, service.StopSigterm
		m.unitLog(e.name, r.Invocation, 4, fmt.Sprintf("%s: Main process of the run before the daemon's restart is gone; stopping what is left of it.", e.name))
	}
	// Active since the run began, and its timers told so.
	e.active, _ = e.activeSub()
	e.inactiveExit = timer.Dual{Realtime: r.Started, Monotonic: r.StartedMonotonic}
	e.activeEnter = e.inactiveExit
	m.tellTimers(e)
	// The timer that started it waits for it, as it did.
	if te := m.units[r.Timer]; (main || exited) && te != nil && te.timer != nil && r.StartedMonotonic > 0 && te.timer.LastTrigger.Monotonic == r.StartedMonotonic {
		te.timer.ResumeRunning(m.clk.Now())
		m.changed(te)
	}
	m.runService(e, service.Spec{Service: s, Env: env, Dir: workingDir(s, userInfo), DirMissingOK: s.WorkingDirectoryMissingOK, Credential: cred, CGroup: m.cgroupDir(e.name)},
		func(spec service.Spec) *service.Run { return service.Resume(spec, pid, at) })
	return main || exited || ended
}

// stopLeft stops the processes left by a run that cannot be taken up,
// its unit not loaded as it was (gone, or no longer loading), so that
// none runs on untracked beside a second copy: they are found by the
// run's INVOCATION_ID and stopped as a service's control group is by
// default (SIGTERM, then SIGKILL after 90 s), while the daemon goes on.
func (m *Manager) stopLeft(r store.Run, why error) {
	m.unitLog(r.Unit, r.Invocation, 4, fmt.Sprintf("%s: Cannot take up the run left by the daemon before (%v); stopping its processes.", r.Unit, why))
	s := &unit.ServiceSection{KillMode: "control-group", KillSignal: int(syscall.SIGTERM), FinalKillSignal: int(syscall.SIGKILL), SendSIGKILL: true, TimeoutStopSec: 90 * timespan.Second}
	run := service.Resume(service.Spec{Service: s, Env: []string{"INVOCATION_ID=" + r.Invocation}, CGroup: m.cgroupDir(r.Unit), Clock: m.clk}, 0, service.StopSigterm)
	m.background.Go(func() { run.Wait() })
}
