package manager

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// props builds a list of systemctl show properties.
type props []api.Property

func (p *props) str(name, v string) { *p = append(*p, api.Property{Name: name, Value: v}) }
func (p *props) strs(name string, v []string) {
	p.str(name, strings.Join(v, " "))
}
func (p *props) num(name string, v int64) { p.str(name, strconv.FormatInt(v, 10)) }
func (p *props) bool(name string, v bool) {
	if v {
		p.str(name, "yes")
	} else {
		p.str(name, "no")
	}
}

// stamp is a timestamp property, and its monotonic twin when mono.
func (p *props) stamp(name string, realtime uint64) {
	*p = append(*p, api.Property{Name: name, Kind: "timestamp", Value: strconv.FormatUint(realtime, 10)})
}

// span is a time span property, in µs; infinity as such.
func (p *props) span(name string, s timespan.Span) {
	v := strconv.FormatUint(uint64(s), 10)
	if s == timespan.Infinity {
		v = "infinity"
	}
	*p = append(*p, api.Property{Name: name, Kind: "timespan", Value: v})
}

// conditions is the Conditions= or Asserts= property, of D-Bus type
// a(sbbsi), as property_get_conditions gives it: systemd's list order
// (the last read first, as they are tested), each with its name, trigger,
// negate, parameter, and state (0 untested, 1 held, -1 failed) of the last
// test. systemctl has no printer for the type: it shows "[unprintable]".
func (p *props) conditions(prefix string, list []unit.Condition, last condResult) {
	lines := make([]string, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		c, state := list[i], 0
		if j := len(list) - 1 - i; j < len(last.tested) {
			state = -1
			if last.tested[j].OK {
				state = 1
			}
		}
		lines = append(lines, fmt.Sprintf("%s%s\t%s\t%s\t%s\t%d", prefix, c.Kind, yesNo(c.Trigger), yesNo(c.Negate), c.Param, state))
	}
	*p = append(*p, api.Property{Name: prefix + "s", Kind: "unprintable", Value: strings.Join(lines, "\n")})
}

// reverseOf names the reverse of each dependency, as
// unit_dependency_inverse_table has them.
var reverseOf = map[string]string{
	"Requires":  "RequiredBy",
	"Requisite": "RequisiteOf",
	"Wants":     "WantedBy",
	"BindsTo":   "BoundBy",
	"Upholds":   "UpheldBy",
	"PartOf":    "ConsistsOf",
}

// reverseDeps are the units in memory that depend on u, by the reverse
// dependency's name, each list sorted.
func (m *Manager) reverseDeps(u *unit.Unit) map[string][]string {
	out := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(m.units)) {
		deps := m.units[name].u().Unit.Deps
		for kind, rev := range reverseOf {
			if slices.ContainsFunc(deps[kind], func(d string) bool { return slices.Contains(u.Names, d) }) {
				out[rev] = append(out[rev], name)
			}
		}
	}
	return out
}

// properties are what systemctl show prints of a unit, in its order:
// those of the unit's type first, then the unit's.
func (m *Manager) properties(e *entry, u *unit.Unit, a api.Unit) []api.Property {
	var p props
	switch {
	case u.Timer != nil:
		m.timerProperties(&p, e, u.Timer, a)
	case u.Service != nil:
		m.serviceProperties(&p, e, u.Service, a)
	}
	p.str("Id", u.Name)
	p.strs("Names", u.Names)
	for _, kind := range []string{"Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Upholds"} {
		p.strs(kind, u.Unit.Deps[kind])
	}
	// The reverse ones, of the units in memory, as systemd knows them.
	reverse := m.reverseDeps(u)
	for _, kind := range []string{"RequiredBy", "RequisiteOf", "WantedBy", "BoundBy", "UpheldBy", "ConsistsOf"} {
		p.strs(kind, reverse[kind])
	}
	for _, kind := range []string{"Conflicts", "Before", "After", "OnSuccess", "OnFailure"} {
		p.strs(kind, u.Unit.Deps[kind])
	}
	var triggers, triggeredBy []string
	for _, r := range a.Triggers {
		triggers = append(triggers, r.Name)
	}
	for _, r := range a.TriggeredBy {
		triggeredBy = append(triggeredBy, r.Name)
	}
	p.strs("Triggers", triggers)
	p.strs("TriggeredBy", triggeredBy)
	p.strs("Documentation", u.Unit.Documentation)
	p.str("Description", u.Unit.Description)
	p.str("LoadState", a.Load)
	p.str("ActiveState", a.Active)
	p.str("SubState", a.Sub)
	p.str("FragmentPath", u.FragmentPath)
	p.strs("DropInPaths", u.DropInPaths)
	p.str("UnitFileState", a.FileState)
	if a.FileState != "" && a.FileState != "static" && a.FileState != "transient" {
		p.str("UnitFilePreset", "enabled")
	} else {
		p.str("UnitFilePreset", "")
	}
	p.stamp("InactiveExitTimestamp", e.inactiveExit.Realtime)
	p.num("InactiveExitTimestampMonotonic", int64(e.inactiveExit.Monotonic))
	p.stamp("ActiveEnterTimestamp", e.activeEnter.Realtime)
	p.num("ActiveEnterTimestampMonotonic", int64(e.activeEnter.Monotonic))
	p.stamp("ActiveExitTimestamp", e.activeExit.Realtime)
	p.num("ActiveExitTimestampMonotonic", int64(e.activeExit.Monotonic))
	p.stamp("InactiveEnterTimestamp", e.inactiveEnter.Realtime)
	p.num("InactiveEnterTimestampMonotonic", int64(e.inactiveEnter.Monotonic))
	loadable := u.LoadState == unit.Loaded
	p.bool("CanStart", loadable && !u.Unit.RefuseManualStart)
	p.bool("CanStop", loadable && !u.Unit.RefuseManualStop)
	p.bool("CanReload", loadable && canReload(e))
	p.bool("StopWhenUnneeded", u.Unit.StopWhenUnneeded)
	p.bool("RefuseManualStart", u.Unit.RefuseManualStart)
	p.bool("RefuseManualStop", u.Unit.RefuseManualStop)
	p.bool("DefaultDependencies", u.Unit.DefaultDependencies)
	p.str("OnSuccessJobMode", u.Unit.OnSuccessJobMode)
	p.str("OnFailureJobMode", u.Unit.OnFailureJobMode)
	p.bool("ConditionResult", e.cond.ok)
	p.bool("AssertResult", e.assert.ok)
	p.stamp("ConditionTimestamp", e.cond.at.Realtime)
	p.num("ConditionTimestampMonotonic", int64(e.cond.at.Monotonic))
	p.stamp("AssertTimestamp", e.assert.at.Realtime)
	p.num("AssertTimestampMonotonic", int64(e.assert.at.Monotonic))
	p.conditions("Condition", u.Unit.Conditions, e.cond)
	p.conditions("Assert", u.Unit.Asserts, e.assert)
	p.bool("Transient", a.Transient)
	p.span("StartLimitIntervalUSec", u.Unit.StartLimitInterval)
	p.num("StartLimitBurst", int64(u.Unit.StartLimitBurst))
	p.str("StartLimitAction", u.Unit.StartLimitAction)
	p.str("FailureAction", u.Unit.FailureAction)
	p.str("SuccessAction", u.Unit.SuccessAction)
	p.str("InvocationID", e.invocation)
	p.str("CollectMode", u.Unit.CollectMode)
	p.bool("NeedDaemonReload", a.NeedReload)
	if a.LoadError != "" {
		p.str("LoadError", a.LoadError)
	}
	return p
}

func (m *Manager) timerProperties(p *props, e *entry, t *unit.TimerSection, a api.Unit) {
	p.str("Unit", t.Unit)
	var elapses []uint64
	if e.timer != nil {
		elapses = e.timer.ValueElapses()
	}
	next := func(i int) uint64 {
		if i < len(elapses) {
			return elapses[i]
		}
		return 0
	}
	// One line each; the client shows them as systemctl does.
	for i, v := range t.Values {
		if v.Base != unit.OnCalendar {
			*p = append(*p, api.Property{Name: "TimersMonotonic", Kind: "monotonic",
				Value: fmt.Sprintf("%s\t%d\t%d", strings.Replace(v.Base.String(), "Sec", "USec", 1), uint64(v.Span), next(i))})
		}
	}
	for i, v := range t.Values {
		if v.Base == unit.OnCalendar {
			*p = append(*p, api.Property{Name: "TimersCalendar", Kind: "calendar",
				Value: fmt.Sprintf("%s\t%s\t%d", v.Base, v.Calendar, next(i))})
		}
	}
	p.bool("OnClockChange", t.OnClockChange)
	p.bool("OnTimezoneChange", t.OnTimezoneChange)
	result := "success"
	if tm := e.timer; tm != nil {
		result = tm.Result.String()
	}
	p.timerStamps(e.timer)
	p.str("Result", result)
	p.span("AccuracyUSec", t.AccuracySec)
	p.span("RandomizedDelayUSec", t.RandomizedDelaySec)
	p.bool("FixedRandomDelay", t.FixedRandomDelay)
	p.bool("Persistent", t.Persistent)
	p.bool("WakeSystem", t.WakeSystem)
	p.bool("RemainAfterElapse", t.RemainAfterElapse)
}

func (m *Manager) serviceProperties(p *props, e *entry, s *unit.ServiceSection, a api.Unit) {
	p.str("Type", s.Type)
	p.str("ExitType", s.ExitType)
	p.str("Restart", s.Restart)
	p.str("RestartMode", s.RestartMode)
	notify := s.NotifyAccess
	if notify == "" {
		notify = "none"
	}
	p.str("NotifyAccess", notify)
	p.span("RestartUSec", s.RestartSec)
	p.span("TimeoutStartUSec", s.TimeoutStartSec)
	p.span("TimeoutStopUSec", s.TimeoutStopSec)
	p.span("TimeoutAbortUSec", s.TimeoutAbortSec)
	p.str("TimeoutStartFailureMode", s.TimeoutStartFailureMode)
	p.str("TimeoutStopFailureMode", s.TimeoutStopFailureMode)
	p.span("RuntimeMaxUSec", s.RuntimeMaxSec)
	p.span("RuntimeRandomizedExtraUSec", s.RuntimeRandomizedExtra)
	p.span("WatchdogUSec", s.WatchdogSec)
	p.bool("RemainAfterExit", s.RemainAfterExit)
	p.bool("GuessMainPID", s.GuessMainPID)
	p.str("PIDFile", s.PIDFile)
	mainPID := 0
	if e.run != nil {
		mainPID = e.mainPID
	}
	p.num("MainPID", int64(mainPID))
	p.num("ControlPID", 0)
	p.str("StatusText", a.Status)
	p.str("Result", a.Result)
	p.num("NRestarts", int64(e.restarts))
	p.str("OOMPolicy", s.OOMPolicy)
	execPID, code, status := 0, 0, 0
	if e.last != nil {
		execPID, code, status = e.last.MainPID, int(e.last.Main.Code), e.last.Main.Status
	}
	if e.run != nil {
		execPID, code, status = e.mainPID, 0, 0
	}
	p.num("ExecMainPID", int64(execPID))
	p.num("ExecMainCode", int64(code))
	p.num("ExecMainStatus", int64(status))
	for _, set := range []struct {
		name string
		cmds []unit.ExecCommand
	}{{"ExecCondition", s.ExecCondition}, {"ExecStartPre", s.ExecStartPre}, {"ExecStart", s.ExecStart},
		{"ExecStartPost", s.ExecStartPost}, {"ExecReload", s.ExecReload}, {"ExecStop", s.ExecStop}, {"ExecStopPost", s.ExecStopPost}} {
		for _, c := range set.cmds {
			p.str(set.name, fmt.Sprintf("{ path=%s ; argv[]=%s ; ignore_errors=%s }", c.Path, strings.Join(c.Argv, " "), yesNo(c.Flags&unit.ExecIgnoreFailure != 0)))
		}
	}
	// What a cgroup's accounting would tell, of the last activation.
	cpu := "[not set]"
	if a.CPU > 0 || e.last != nil {
		cpu = strconv.FormatUint(a.CPU*1000, 10)
	}
	p.str("CPUUsageNSec", cpu)
	p.strs("Environment", s.Environment)
	p.strs("EnvironmentFiles", s.EnvironmentFiles)
	p.strs("PassEnvironment", s.PassEnvironment)
	p.str("WorkingDirectory", s.WorkingDirectory)
	p.str("User", s.User)
	p.str("Group", s.Group)
	p.str("UMask", fmt.Sprintf("%04o", s.UMask))
	p.num("Nice", int64(s.Nice))
	p.str("SyslogIdentifier", s.SyslogIdentifier)
	p.bool("SyslogLevelPrefix", s.SyslogLevelPrefix)
	p.num("SyslogLevel", int64(s.SyslogLevel))
	p.str("KillMode", s.KillMode)
	p.num("KillSignal", int64(s.KillSignal))
	p.num("FinalKillSignal", int64(s.FinalKillSignal))
	p.bool("SendSIGKILL", s.SendSIGKILL)
	p.bool("SendSIGHUP", s.SendSIGHUP)
	p.bool("IgnoreSIGPIPE", s.IgnoreSIGPIPE)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// timerStamps are a timer's next elapses and last trigger (none for
// nil).
func (p *props) timerStamps(tm *timer.Timer) {
	if tm == nil {
		p.elapseStamps(0, 0, timer.Dual{})
		return
	}
	p.elapseStamps(tm.NextRealtime, tm.NextMonotonic, tm.LastTrigger)
}

// elapseStamps adds a timer's next elapses, realtime and monotonic µs,
// and its last trigger.
func (p *props) elapseStamps(rt, mono uint64, last timer.Dual) {
	if rt == ^uint64(0) {
		rt = 0
	}
	p.stamp("NextElapseUSecRealtime", rt)
	p.span("NextElapseUSecMonotonic", timespan.Span(mono))
	p.stamp("LastTriggerUSec", last.Realtime)
	p.span("LastTriggerUSecMonotonic", timespan.Span(last.Monotonic))
}
