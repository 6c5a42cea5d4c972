package api

import (
	"context"
	"net/http"
	"net/url"
)

// A Setting is one property of a transient unit, Key= in [Section], as
// systemd's StartTransientUnit takes them: typed values, never the text
// of a unit file. The daemon checks each (see [Kind]) and writes it
// escaped or quoted, so that no value becomes another setting.
type Setting struct {
	Section string `json:"section"`
	Key     string `json:"key"`
	// Value is the value, literally: a description, a path, a unit
	// name, "yes", "1min 30s"; for a command, its executable.
	Value string `json:"value"`
	// List is the items of the lists KindEnv and KindExec hold: the
	// assignments of Environment=, a command's arguments, the zeroth
	// included; empty, it resets the list.
	List []string `json:"list,omitempty"`
	// Flags are a command's, in the words of systemd's ExecStartEx=:
	// "ignore-failure", "privileged", "no-setuid", "ambient",
	// "no-env-expand".
	Flags []string `json:"flags,omitempty"`
}

// A TransientUnit is a unit made on request, as systemd-run makes them:
// its name and its properties, in order.
type TransientUnit struct {
	Name     string    `json:"name"`
	Settings []Setting `json:"settings"`
}

// A Kind is what a property holds: how a client reads it from the text
// it was given, and how the daemon checks and writes it.
type Kind int

const (
	KindNone     Kind = iota // not a property of transient units
	KindString               // text, written as it is but for specifiers
	KindBool                 // a boolean: "yes" or "no"
	KindSpan                 // a time span; empty, for a timer's, resets them
	KindName                 // a unit's name
	KindPath                 // an absolute path
	KindEnv                  // Environment=: assignments in List
	KindExec                 // a command: Value, List and Flags; none resets them
	KindNice                 // a nice level, -20 to 19, in decimal
	KindCalendar             // a calendar event
)

// SettingKind is what Key in [Section] holds; KindNone for a setting
// the daemon does not take for a transient unit.
func SettingKind(section, key string) Kind {
	return settingKinds[section+"."+key]
}

// settingKinds are the properties of transient units, by section: those
// systemd-run sends and the daemon acts on, and the booleans it takes
// and names as not acted on.
var settingKinds = func() map[string]Kind {
	m := map[string]Kind{
		"Unit.Description": KindString, "Unit.CollectMode": KindString, "Unit.Documentation": KindString,
		"Unit.OnSuccessJobMode": KindString, "Unit.OnFailureJobMode": KindString, "Unit.JobTimeoutAction": KindString,
		"Unit.StartLimitAction": KindString, "Unit.FailureAction": KindString, "Unit.SuccessAction": KindString,
		"Unit.RequiresMountsFor": KindPath,
		"Service.Type":           KindString, "Service.ExitType": KindString, "Service.Restart": KindString,
		"Service.RestartMode": KindString, "Service.KillMode": KindString, "Service.KillSignal": KindString,
		"Service.NotifyAccess": KindString, "Service.OOMPolicy": KindString, "Service.StandardInput": KindString,
		"Service.StandardOutput": KindString, "Service.StandardError": KindString, "Service.User": KindString,
		"Service.Group": KindString, "Service.SyslogIdentifier": KindString, "Service.UMask": KindString,
		"Service.WorkingDirectory": KindPath, "Service.PIDFile": KindPath, "Service.Slice": KindName,
		"Service.Environment": KindEnv, "Service.Nice": KindNice,
		"Timer.OnCalendar": KindCalendar, "Timer.Unit": KindName,
	}
	for _, k := range []string{"Requires", "Requisite", "Wants", "BindsTo", "PartOf", "Upholds", "Conflicts", "Before",
		"After", "OnSuccess", "OnFailure", "PropagatesReloadTo", "ReloadPropagatedFrom", "PropagatesStopTo",
		"StopPropagatedFrom", "JoinsNamespaceOf"} {
		m["Unit."+k] = KindName
	}
	for _, k := range []string{"StopWhenUnneeded", "RefuseManualStart", "RefuseManualStop", "AllowIsolate",
		"IgnoreOnIsolate", "DefaultDependencies"} {
		m["Unit."+k] = KindBool
	}
	for _, k := range []string{"JobTimeoutSec", "JobRunningTimeoutSec", "StartLimitIntervalSec"} {
		m["Unit."+k] = KindSpan
	}
	for _, k := range []string{"CPUAccounting", "MemoryAccounting", "IOAccounting", "BlockIOAccounting",
		"TasksAccounting", "IPAccounting", "IgnoreSIGPIPE", "TTYVHangup", "TTYReset", "TTYVTDisallocate", "PrivateTmp",
		"PrivateDevices", "PrivateNetwork", "PrivateUsers", "PrivateMounts", "PrivateIPC", "NoNewPrivileges",
		"SyslogLevelPrefix", "MemoryDenyWriteExecute", "RestrictRealtime", "DynamicUser", "RemoveIPC",
		"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectClock", "ProtectControlGroups",
		"MountAPIVFS", "CPUSchedulingResetOnFork", "LockPersonality", "ProtectHostname", "MemoryKSM",
		"RestrictSUIDSGID", "RootEphemeral", "SendSIGHUP", "SendSIGKILL", "PermissionsStartOnly",
		"RootDirectoryStartOnly", "RemainAfterExit", "GuessMainPID"} {
		m["Service."+k] = KindBool
	}
	for _, k := range []string{"MemoryPressureThresholdSec", "LogRateLimitIntervalSec", "RestartSec",
		"RestartMaxDelaySec", "TimeoutStartSec", "TimeoutStopSec", "TimeoutAbortSec", "RuntimeMaxSec",
		"RuntimeRandomizedExtraSec", "WatchdogSec"} {
		m["Service."+k] = KindSpan
	}
	for _, k := range []string{"ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop",
		"ExecStopPost"} {
		m["Service."+k] = KindExec
	}
	for _, k := range []string{"WakeSystem", "RemainAfterElapse", "Persistent", "OnTimezoneChange", "OnClockChange",
		"FixedRandomDelay"} {
		m["Timer."+k] = KindBool
	}
	for _, k := range []string{"AccuracySec", "RandomizedDelaySec", "OnActiveSec", "OnBootSec", "OnStartupSec",
		"OnUnitActiveSec", "OnUnitInactiveSec"} {
		m["Timer."+k] = KindSpan
	}
	return m
}()

// A TransientRequest asks for transient units: the first is made and
// started, the others (a timer's service) made and loaded only.
type TransientRequest struct {
	Units []TransientUnit `json:"units"`
	// NoBlock returns once the start job is queued, not done.
	NoBlock bool `json:"no_block,omitempty"`
}

// TransientBackend makes transient units, and waits for units to end.
type TransientBackend interface {
	// Transient writes the units' files, loads them and starts the
	// first. A unit that exists already, or whose settings systemd
	// would refuse, fails the request (JobResult.Error) with nothing
	// made.
	Transient(ctx context.Context, req TransientRequest) (JobResult, error)
	// WaitInactive waits until a unit is inactive or failed, and
	// returns it as it was then, before it may be collected.
	WaitInactive(ctx context.Context, name string) (Unit, error)
}

func serveTransient(mux *http.ServeMux, b TransientBackend) {
	mux.HandleFunc("POST /v1/transient", func(w http.ResponseWriter, r *http.Request) {
		var req TransientRequest
		if !decode(w, r, &req) {
			return
		}
		res, err := b.Transient(r.Context(), req)
		reply(w, res, err)
	})
	mux.HandleFunc("GET /v1/wait", func(w http.ResponseWriter, r *http.Request) {
		u, err := b.WaitInactive(r.Context(), r.URL.Query().Get("unit"))
		reply(w, u, err)
	})
}

// Transient makes transient units and starts the first, as systemd-run
// does; see [TransientBackend].
func (c *Client) Transient(ctx context.Context, req TransientRequest) (JobResult, error) {
	var res JobResult
	err := c.do(ctx, http.MethodPost, "/v1/transient", req, &res)
	return res, err
}

// WaitInactive waits until the unit is inactive or failed and returns it
// as it was then: its Result, main process's exit and timestamps.
func (c *Client) WaitInactive(ctx context.Context, name string) (Unit, error) {
	var u Unit
	err := c.get(ctx, "/v1/wait?"+url.Values{"unit": {name}}.Encode(), &u)
	return u, err
}
