package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/unit"
)

// backend answers the control interface from the loop, which owns the
// state.
type backend struct{ m *Manager }

// Logger is where the control interface says what it refuses.
func (b backend) Logger() *slog.Logger { return b.m.log }

// ask runs f in the loop and waits for it.
func (b backend) ask(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case b.m.events <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b backend) Timers(ctx context.Context) ([]api.Timer, error) {
	var out []api.Timer
	var shown []shownTimer
	var eng *timer.Engine
	err := b.ask(ctx, func() {
		now := b.m.clk.Now()
		var names []string
		for name, e := range b.m.units {
			if e.timer != nil {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		out = make([]api.Timer, 0, len(names))
		for _, name := range names {
			e := b.m.units[name]
			t := e.timer
			out = append(out, api.Timer{Unit: name, Activates: e.trigger, State: t.State.String(),
				LastTrigger: t.LastTrigger.Realtime, LastTriggerMonotonic: t.LastTrigger.Monotonic, Monotonic: now.Monotonic,
				Next: t.NextElapse(now)})
		}
		shown, eng = b.m.shownClusterTimers(names)
	})
	if err == nil {
		b.m.showClusterTimers(ctx, out, eng, shown)
	}
	return out, err
}

func (b backend) Journal(ctx context.Context, q api.JournalQuery) ([]api.Entry, error) {
	return ReadJournal(ctx, b.m.store, q)
}

func (b backend) JournalUnits(ctx context.Context) ([]string, error) {
	units, err := b.m.store.JournalUnits(ctx)
	if err != nil {
		return nil, err
	}
	return b.m.withClusterUnits(ctx, units)
}

func (b backend) JournalBoots(ctx context.Context) ([]api.Boot, error) {
	return ReadJournalBoots(ctx, b.m.store)
}

func (b backend) VacuumJournal(ctx context.Context, v api.Vacuum) (api.Vacuumed, error) {
	return VacuumJournal(ctx, b.m.store, b.m.StateDir, v, b.m.journalStart)
}

func (b backend) Runs(ctx context.Context, unit string, last int) ([]api.Run, error) {
	runs, err := ReadRuns(ctx, b.m.store, unit, last)
	if err != nil {
		return nil, err
	}
	return b.m.withClusterRuns(ctx, runs, unit, last)
}

func (b backend) Units(ctx context.Context, names []string, properties bool) ([]api.Unit, error) {
	var out []api.Unit
	var loadErr error
	var shown []shownTimer
	var eng *timer.Engine
	err := b.ask(ctx, func() {
		m := b.m
		if len(names) == 0 {
			// All of them, as lists show them: not parsed again.
			for _, name := range slices.Sorted(maps.Keys(m.units)) {
				e := m.units[name]
				active, sub := e.activeSub()
				out = append(out, api.Unit{Name: e.name, Description: e.desc, Load: e.loadState.String(), Active: active, Sub: sub})
			}
			return
		}
		for _, name := range names {
			e, err := m.get(name)
			if err != nil {
				loadErr = err
				return
			}
			out = append(out, m.describeUnit(e, properties))
		}
		shownNames := make([]string, len(out))
		for i, u := range out {
			shownNames[i] = u.Name
		}
		shown, eng = m.shownClusterTimers(shownNames)
	})
	if err == nil {
		err = loadErr
	}
	if err == nil {
		b.m.showClusterUnits(ctx, out, eng, shown)
	}
	return out, err
}

// describeUnit is what status and list-units show of a unit.
func (m *Manager) describeUnit(e *entry, properties bool) api.Unit {
	u := e.u()
	active, sub := e.activeSub()
	a := api.Unit{Name: u.Name, Names: u.Names, Description: u.Unit.Description, Load: u.LoadState.String(), Active: active, Sub: sub,
		FragmentPath: u.FragmentPath, DropIns: u.DropInPaths, FileState: m.fileState(u), Docs: u.Unit.Documentation,
		InactiveExit: e.inactiveExit.Realtime, ActiveEnter: e.activeEnter.Realtime,
		ActiveExit: e.activeExit.Realtime, InactiveEnter: e.inactiveEnter.Realtime, NeedReload: m.needReload(e)}
	a.Transient = a.FileState == "transient"
	a.LoadError, _ = refusal(e, "start")
	describeConditions(e, &a)
	a.Result = "success"
	switch {
	case e.timer != nil:
		a.Result = e.timer.Result.String()
		a.NextElapse = e.timer.NextElapse(m.clk.Now())
		if se := m.units[e.trigger]; se != nil {
			active, _ := se.activeSub()
			a.Triggers = []api.Related{{Name: se.name, Active: active}}
		}
	case u.Type == unit.Service:
		if e.result != "" {
			a.Result = string(e.result)
		}
		for _, te := range e.triggeredBy {
			active, _ := te.activeSub()
			a.TriggeredBy = append(a.TriggeredBy, api.Related{Name: te.name, Active: active})
		}
		m.describeRun(e, &a)
	}
	if properties {
		a.Properties = m.properties(e, u, a)
	}
	return a
}

// describeRun fills in a service's processes: the main one, and the
// commands that ended of the activation running, or of the last one.
func (m *Manager) describeRun(e *entry, a *api.Unit) {
	a.ExecMainStart, a.ExecMainExit, a.Invocation, a.Status = e.mainStart, e.mainExit, e.invocation, e.status
	processes := func(records []service.Record) {
		for _, r := range records {
			a.Processes = append(a.Processes, api.Process{PID: r.PID, Setting: r.Setting, Command: r.Command.CommandLine(), Code: r.Exit.Code.String(), Status: r.Exit.Status})
		}
	}
	if e.run != nil {
		if e.mainPID > 0 {
			a.MainPID = e.mainPID
			a.MainComm = processName(e.mainPID)
		}
		if dir := m.cgroupDir(e.name); dir != "" {
			a.ControlGroup = path.Join(m.CGroupPath, service.CGroupEscape(e.name))
			for _, pid := range service.CGroupProcesses(dir) {
				a.CGroupProcesses = append(a.CGroupProcesses, api.CGroupProcess{PID: pid, Command: processCommandLine(pid)})
			}
			a.Memory, a.MemorySet = service.CGroupMemory(dir)
		}
		processes(e.records)
		return
	}
	if e.last == nil {
		return
	}
	a.CPU = uint64(e.last.CPU / time.Microsecond)
	processes(e.last.Records)
	if e.last.Main.Code != 0 {
		a.MainPID, a.MainCode, a.MainStatus = e.last.MainPID, e.last.Main.Code.String(), e.last.Main.Status
	}
}

// templateUnit reads a template's files, as unit_find_paths finds them
// for a template name: its file and the drop-ins of the template and of
// its prefixes, read as an instance, less the instance's own drop-ins.
func (m *Manager) templateUnit(name string) (*unit.Unit, error) {
	prefix, suffix, _ := strings.Cut(name, "@")
	instance := prefix + "@i" + suffix
	u, err := m.unitLoader().Load(instance)
	if err != nil {
		return nil, err
	}
	t := *u
	t.Name = name
	t.DropInPaths = slices.DeleteFunc(slices.Clone(u.DropInPaths), func(p string) bool {
		return filepath.Base(filepath.Dir(p)) == instance+".d"
	})
	return &t, nil
}

// processCommandLine is a process's arguments, joined by spaces, or its
// command name in brackets when it has none, as get_process_cmdline
// gives them.
func processCommandLine(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return "[" + processName(pid) + "]"
	}
	return strings.Join(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), " ")
}

// processName is a process's command name, as ps shows it.
func processName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (b backend) UnitFiles(ctx context.Context, name string) ([][2]string, error) {
	var files []string
	var loadErr error
	err := b.ask(ctx, func() {
		var u *unit.Unit
		if n, err := unit.ParseName(name); err == nil && n.Template {
			u, loadErr = b.m.templateUnit(name)
		} else if e, err := b.m.get(name); err != nil {
			loadErr = err
		} else {
			u = e.u()
		}
		if loadErr != nil {
			return
		}
		if u.FragmentPath != "" {
			files = append(files, u.FragmentPath)
		}
		files = append(files, u.DropInPaths...)
	})
	if err == nil {
		err = loadErr
	}
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, [2]string{f, string(data)})
	}
	return out, nil
}

func (b backend) Reload(ctx context.Context) error {
	return b.ask(ctx, func() { b.m.reload(context.Background()) })
}

func (b backend) Jobs(ctx context.Context, req api.JobRequest) ([]api.JobResult, error) {
	if req.Verb == "reenable" {
		return b.reenable(ctx, req)
	}
	results := make([]api.JobResult, len(req.Units))
	// Each job tells its end here, from the loop.
	ended := make(chan struct{}, len(req.Units)*2)
	waiting := 0
	err := b.ask(ctx, func() {
		m := b.m
		if req.Verb == "enable" {
			// As unit_file_enable finds every unit before it links
			// any: one not found is the call's error, and nothing is
			// enabled.
			for _, name := range req.Units {
				if msg, code := m.installRefusal(name); msg != "" {
					results = []api.JobResult{{Unit: name, Error: msg, Code: code}}
					return
				}
			}
		}
		for i, name := range req.Units {
			r := &results[i]
			r.Unit = name
			wait := func() func(string) {
				waiting++
				return func(res string) {
					r.Result = res
					if res == jobFailed {
						if e := m.units[r.Unit]; e != nil {
							r.ServiceResult = string(e.result)
						}
					}
					ended <- struct{}{}
				}
			}
			m.job(req, r, wait)
		}
	})
	if err != nil {
		return nil, err
	}
	if req.Verb == "enable" || req.Verb == "disable" {
		results = installResults(results)
	}
	if req.Verb == "mask" || req.Verb == "unmask" {
		results = callFailed(results)
	}
	if req.NoBlock {
		return results, nil
	}
	for range waiting {
		select {
		case <-ended:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return results, nil
}

// reenable disables the units, by their file names, then enables them,
// as unit_file_reenable() in shared/install.c: the changes of both, in
// that order, and a failure of either the call's.
func (b backend) reenable(ctx context.Context, req api.JobRequest) ([]api.JobResult, error) {
	off := req
	off.Verb, off.Units = "disable", nil
	for _, name := range req.Units {
		off.Units = append(off.Units, filepath.Base(name))
	}
	disabled, err := b.Jobs(ctx, off)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, r := range disabled {
		if r.Error != "" {
			return disabled, nil
		}
		removed = append(removed, r.Changes...)
	}
	on := req
	on.Verb = "enable"
	enabled, err := b.Jobs(ctx, on)
	if err != nil {
		return nil, err
	}
	if len(enabled) > 0 {
		enabled[0].Changes = append(removed, enabled[0].Changes...)
	}
	return enabled, nil
}

// callFailed is the results of a call that fails whole at its first
// unit's error, as the manager's MaskUnitFiles and UnmaskUnitFiles
// answer unit_file_mask's and unit_file_unmask's failure with
// install_error() alone: the changes made to the other units stay, but
// are not told.
func callFailed(results []api.JobResult) []api.JobResult {
	for _, r := range results {
		if r.Error != "" {
			r.Changes = nil
			return []api.JobResult{r}
		}
	}
	return results
}

// refusal is why a job on a unit cannot begin, in the words of
// systemd's bus errors; "" when it can.
func refusal(e *entry, verb string) (msg, code string) {
	switch e.loadState {
	case unit.NotFound:
		if verb == "start" || verb == "restart" || verb == "enable" || verb == "reload" || verb == "reload-or-restart" {
			return fmt.Sprintf("Unit %s not found.", e.name), "not-found"
		}
		return fmt.Sprintf("Unit %s not loaded.", e.name), "not-loaded"
	case unit.BadSetting:
		return fmt.Sprintf("Unit %s has a bad unit file setting.", e.name), "invalid"
	case unit.LoadError:
		return fmt.Sprintf("Unit %s failed to load properly, please adjust/correct and reload service manager: %s", e.name, service.ErrnoText(e.u().LoadError)), "invalid"
	case unit.Masked:
		return fmt.Sprintf("Unit %s is masked.", e.name), "masked"
	}
	return "", ""
}

// pullInRefusal is why a start of e cannot be queued: a unit it requires,
// itself or through the units it requires, that cannot be loaded. As
// systemd's transaction, the start then fails at once, in that unit's
// words ("Unit missing.service not found."); what it only wants does not
// count.
func (m *Manager) pullInRefusal(e *entry) (msg, code string) {
	seen := map[*entry]bool{e: true}
	var walk func(e *entry) (string, string)
	walk = func(e *entry) (string, string) {
		deps := e.u().Unit.Deps
		for _, kind := range []string{"Requires", "BindsTo", "Requisite"} {
			for _, name := range deps[kind] {
				d, err := m.get(name)
				if err != nil {
					return err.Error(), "invalid"
				}
				if seen[d] {
					continue
				}
				seen[d] = true
				if msg, code := refusal(d, "start"); msg != "" {
					return msg, code
				}
				if msg, code := walk(d); msg != "" {
					return msg, code
				}
			}
		}
		return "", ""
	}
	return walk(e)
}

// job does one unit's part of a request, in the loop. wait returns the
// function that a job which takes time tells its result.
func (m *Manager) job(req api.JobRequest, r *api.JobResult, wait func() func(string)) {
	if m.unitFileOp(req, r) {
		return
	}
	if n, err := unit.ParseName(r.Unit); err == nil && n.Template && (req.Verb == "enable" || req.Verb == "disable") {
		m.installTemplate(req, r)
		return
	}
	e, err := m.get(r.Unit)
	if err != nil {
		r.Error, r.Code = err.Error(), "invalid"
		return
	}
	r.Unit = e.name
	verb := req.Verb
	if verb == "enable" || verb == "disable" {
		m.install(req, e, r)
		return
	}
	if verb == "reset-failed" {
		if m.units[e.name] != e {
			r.Error, r.Code = fmt.Sprintf("Unit %s not loaded.", e.name), "unloaded"
			return
		}
		m.resetFailed(e)
		return
	}
	if verb == "kill" {
		m.kill(req, e, r)
		return
	}
	if msg, code := refusal(e, verb); msg != "" && (verb != "stop" || e.loadState == unit.NotFound && !e.isActive()) {
		r.Error, r.Code = msg, code
		return
	}
	manual := e.u().Unit
	switch verb {
	case "start", "restart", "try-restart", "reload-or-restart":
		if manual.RefuseManualStart {
			r.Error, r.Code = fmt.Sprintf("Operation refused, unit %s may be requested by dependency only (it is configured to refuse manual start/stop).", e.name), "refused"
			return
		}
		if msg, code := m.pullInRefusal(e); msg != "" {
			r.Error, r.Code = msg, code
			return
		}
	case "stop":
		if manual.RefuseManualStop {
			r.Error, r.Code = fmt.Sprintf("Operation refused, unit %s may be requested by dependency only (it is configured to refuse manual start/stop).", e.name), "refused"
			return
		}
	}
	switch verb {
	case "start":
		if e.typ == unit.Service {
			e.own()
			e.restarts = 0
		}
		m.start(e, activation{reason: "manual"}, wait())
	case "stop":
		m.stop(e, wait())
	case "reload":
		m.reloadUnit(e, r, wait)
	case "restart", "reload-or-restart", "try-restart":
		if verb == "reload-or-restart" && e.isActive() && canReload(e) {
			m.reloadUnit(e, r, wait)
			return
		}
		if verb == "try-restart" && !e.isActive() {
			r.Result = jobDone
			return
		}
		m.restartJob(e, wait())
	case "clean":
		m.clean(req, e, r)
	default:
		r.Error, r.Code = fmt.Sprintf("Unknown job %s.", verb), "invalid"
	}
}

// kill signals a unit's processes, as systemctl kill.
func (m *Manager) kill(req api.JobRequest, e *entry, r *api.JobResult) {
	if m.units[e.name] != e {
		r.Error, r.Code = fmt.Sprintf("Unit %s not loaded.", e.name), "unloaded"
		return
	}
	sig := syscall.Signal(req.Signal)
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	var err error
	switch {
	case e.run != nil:
		err = e.run.Kill(sig, req.Whom)
	case req.Whom == "main" || req.Whom == "control":
		//lint:ignore ST1005 systemd's words
		err = fmt.Errorf("No %s process to kill", req.Whom)
	}
	if err != nil {
		r.Error, r.Code = err.Error(), "kill"
		return
	}
	r.Result = jobDone
}

// resetFailed moves a failed unit to inactive, and forgets its starts
// counted against the start limit.
func (m *Manager) resetFailed(e *entry) {
	if e.timer != nil {
		e.timer.ResetFailed()
	}
	if e.serviceState != noService {
		e.starts, e.restarts = nil, 0
		if !e.isActive() {
			e.result = service.Success
		}
	}
	m.changed(e)
}

// clean removes what a unit keeps, as --what= names it: for a timer,
// its Persistent= stamp, which is its state.
func (m *Manager) clean(req api.JobRequest, e *entry, r *api.JobResult) {
	if active, _ := e.activeSub(); active != "inactive" || len(e.waiters) > 0 {
		r.Error, r.Code = "Unit is not inactive or has pending job.", "busy"
		return
	}
	what := req.What
	if len(what) == 0 {
		what = []string{"cache", "runtime", "fdstore"}
	}
	if e.timer == nil || !slices.ContainsFunc(what, func(w string) bool { return w == "state" || w == "all" }) {
		r.Error, r.Code = "No matching resources found.", "nothing"
		return
	}
	// The writes held (the disk full, say) first: a trigger written
	// after the clean would bring its stamp back.
	if m.flushRecords(); len(m.recs.pending) > 0 {
		r.Error, r.Code = "Failed to write the records held before cleaning: "+m.recs.pending[0].what+" is still pending.", "io"
		return
	}
	if err := m.store.CleanTimer(context.Background(), e.name); err != nil {
		r.Error, r.Code = err.Error(), "io"
		return
	}
	if st, err := m.store.Timer(context.Background(), e.name); err == nil {
		e.tstate = st
	}
	e.timer.LastTrigger = timer.Dual{}
	r.Result = jobDone
}

// install enables or disables a unit file, and those its Also= names,
// then reloads, as systemctl does; systemctl's --now is its own start
// or stop after.
func (m *Manager) install(req api.JobRequest, e *entry, r *api.JobResult) {
	changes, carries, err := m.installAlso(req, e.u(), map[string]bool{})
	r.Changes = append(r.Changes, changes...)
	m.installDone(r, carries, err)
}

// installDone tells the result of an enable or a disable: systemctl's
// note where nothing was to be done, the error, else a reload.
func (m *Manager) installDone(r *api.JobResult, carries bool, err error) {
	var ie installError
	switch {
	case errors.As(err, &ie):
		r.Error, r.Code = ie.msg, ie.code
		return
	case err != nil:
		r.Error, r.Code = err.Error(), "io"
		return
	}
	if !carries && len(r.Changes) == 0 {
		r.Notes = append(r.Notes, noInstallInfo)
	}
	m.reload(context.Background())
}

// An installError is why a unit file cannot be enabled or disabled,
// in the words of install_error, and its code.
type installError struct{ msg, code string }

func (e installError) Error() string { return e.msg }

// notFound is the error of a unit file that is not there.
func notFound(name string) installError {
	return installError{fmt.Sprintf("Unit file %s does not exist.", name), "not-found"}
}

// installAlso enables or disables u, then the units its Also= names, as
// install_context_apply takes them in turn, each once, and reports
// whether any of them carries installation config.
func (m *Manager) installAlso(req api.JobRequest, u *unit.Unit, seen map[string]bool) ([]string, bool, error) {
	verb := req.Verb
	switch {
	case u.LoadState == unit.NotFound || u.FragmentPath == "":
		return nil, false, notFound(u.Name)
	case u.LoadState == unit.Masked && verb == "enable":
		return nil, false, installError{fmt.Sprintf("Unit file %s is masked.", u.FragmentPath), "masked"}
	case u.LoadState == unit.Masked:
		// As install_context_mark_for_removal: nothing of a masked
		// unit is removed, its mask neither.
		return []string{fmt.Sprintf("Unit %s is masked, ignoring.", u.FragmentPath)}, true, nil
	}
	seen[u.Name] = true
	var changes []string
	var err error
	if verb == "enable" {
		dir := m.configDir(req.Runtime)
		if dir == "" {
			return nil, false, installError{noRuntimeDir, "invalid"}
		}
		changes, err = m.enable(u, dir)
	} else {
		changes, err = m.disable(u, req.Runtime)
	}
	carries := installable(u)
	if err != nil {
		return changes, carries, err
	}
	for _, name := range u.Install.Also {
		if seen[name] {
			continue
		}
		e, err := m.get(name)
		if err != nil {
			return changes, carries, err
		}
		more, _, err := m.installAlso(req, e.u(), seen)
		changes = append(changes, more...)
		if err != nil {
			return changes, carries, err
		}
	}
	return changes, carries, nil
}

// installTemplate enables a template: its aliases, and in .wants/,
// .requires/ and .upholds/ the instance its DefaultInstance= names, as
// install_info_symlink_wants does, an error without one; disabling it removes the links to its
// file, its instances' among them, as remove_marked_symlinks does.
func (m *Manager) installTemplate(req api.JobRequest, r *api.JobResult) {
	prefix, suffix, _ := strings.Cut(r.Unit, "@")
	u, err := m.unitLoader().Load(prefix + "@i" + suffix)
	if err != nil {
		r.Error, r.Code = err.Error(), "invalid"
		return
	}
	if u.LoadState == unit.NotFound || u.FragmentPath == "" {
		r.Error, r.Code = notFound(r.Unit).msg, "not-found"
		return
	}
	if req.Verb == "disable" {
		changes, err := m.disableTemplate(u)
		r.Changes = changes
		m.installDone(r, installable(u), err)
		return
	}
	if d := u.Install.DefaultInstance; d != "" {
		// Its settings as the instance's, for the specifiers.
		if u, err = m.unitLoader().Load(prefix + "@" + d + suffix); err != nil {
			r.Error, r.Code = err.Error(), "invalid"
			return
		}
	} else if targets := slices.Concat(u.Install.WantedBy, u.Install.RequiredBy, u.Install.UpheldBy); len(targets) > 0 {
		r.Error, r.Code = fmt.Sprintf("Destination unit %s is a non-template unit.", targets[0]), "invalid"
		return
	}
	t := *u
	t.Name = r.Unit
	changes, carries, err := m.installAlso(req, &t, map[string]bool{})
	r.Changes = changes
	m.installDone(r, carries, err)
}

// disableTemplate removes the links in the configuration that lead to
// a template's file: its instances' in .wants/, .requires/ and
// .upholds/ directories, and its aliases and theirs.
func (m *Manager) disableTemplate(u *unit.Unit) ([]string, error) {
	file := filepath.Base(u.FragmentPath)
	config := m.configDirs()
	var links []string
	for _, dir := range config {
		entries, _ := os.ReadDir(dir)
		for _, d := range entries {
			if d.Type()&os.ModeSymlink != 0 {
				links = append(links, filepath.Join(dir, d.Name()))
			}
		}
	}
	links = append(m.linksMatching(func(string) bool { return true }), links...)
	var changes []string
	for _, l := range links {
		target, err := os.Readlink(l)
		if err != nil || filepath.Base(target) != file || filepath.Base(l) == file {
			continue
		}
		if dir := filepath.Dir(l); !slices.Contains(config, dir) && !slices.Contains(config, filepath.Dir(dir)) {
			continue
		}
		if err := os.Remove(l); err != nil {
			return changes, err
		}
		changes = append(changes, fmt.Sprintf("Removed \"%s\".", l))
	}
	return changes, nil
}

// installRefusal is why name cannot be enabled: its file is not found,
// or masked;
// "" when it can. A path is linked first, and said not found then.
func (m *Manager) installRefusal(name string) (msg, code string) {
	if strings.Contains(name, "/") {
		return "", ""
	}
	n, err := unit.ParseName(name)
	if err != nil {
		return err.Error(), "invalid"
	}
	var u *unit.Unit
	if n.Template {
		prefix, suffix, _ := strings.Cut(name, "@")
		u, err = m.unitLoader().Load(prefix + "@i" + suffix)
	} else {
		var e *entry
		if e, err = m.get(name); err == nil {
			u = e.u()
		}
	}
	switch {
	case err != nil:
		return err.Error(), "invalid"
	case u.LoadState == unit.NotFound || u.FragmentPath == "":
		return notFound(name).msg, "not-found"
	case u.LoadState == unit.Masked:
		return fmt.Sprintf("Unit file %s is masked.", u.FragmentPath), "masked"
	}
	return "", ""
}

// installResults are the results of one enable or disable of several
// units as systemd gives them for its one call: the note that they
// carry no installation config only where none does, and, as
// reply_install_changes_and_free, a unit not found an error only where
// nothing else changed.
func installResults(results []api.JobResult) []api.JobResult {
	carries, changed := false, false
	for _, r := range results {
		carries = carries || r.Error == "" && len(r.Notes) == 0
		changed = changed || len(r.Changes) > 0
	}
	out := results[:0]
	for _, r := range results {
		if carries {
			r.Notes = slices.DeleteFunc(r.Notes, func(n string) bool { return n == noInstallInfo })
		}
		if r.Code == "not-found" && changed {
			continue
		}
		out = append(out, r)
	}
	return out
}

// noInstallInfo is systemctl's note about enabling a unit that has no
// [Install] section.
const noInstallInfo = `The unit files have no installation config (WantedBy=, RequiredBy=, UpheldBy=,
Also=, or Alias= settings in the [Install] section, and DefaultInstance= for
template units). This means they are not meant to be enabled or disabled using systemctl.
 
Possible reasons for having this kind of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
• A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
• A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
• In case of template units, the unit is meant to be enabled with some
  instance name specified.`
