package unit

import (
	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
)

// UnitSection is the [Unit] section, with systemd's defaults.
type UnitSection struct {
	Description   string
	Documentation []string
	SourcePath    string

	// Deps are the unit names of each dependency setting, keyed by the
	// setting's canonical name ("Wants", "After", "BindsTo", …), in order.
	Deps map[string][]string

	DefaultDependencies bool // default yes
	StopWhenUnneeded    bool
	RefuseManualStart   bool
	RefuseManualStop    bool
	AllowIsolate        bool
	IgnoreOnIsolate     bool

	OnSuccessJobMode string // default "fail"
	OnFailureJobMode string // default "replace"

	JobTimeout        timespan.Span // default infinity
	JobRunningTimeout timespan.Span // default infinity
	JobTimeoutAction  string        // default "none"

	jobRunningTimeoutSet bool

	StartLimitInterval timespan.Span // default 10s, the manager's default
	StartLimitBurst    uint          // default 5
	StartLimitAction   string        // default "none"
	FailureAction      string        // default "none"
	SuccessAction      string        // default "none"

	// FailureActionExitStatus and SuccessActionExitStatus are -1 when
	// not set.
	FailureActionExitStatus int
	SuccessActionExitStatus int

	Conditions []Condition
	Asserts    []Condition

	CollectMode string // default "inactive"
}

// A Condition is one Condition…= or Assert…= setting.
type Condition struct {
	Kind    string // the setting less its prefix: "PathExists", "Host", …
	Trigger bool   // "|": any of the triggering conditions suffices
	Negate  bool   // "!"
	Param   string // specifiers expanded
}

// TimerSection is the [Timer] section, with systemd's defaults.
type TimerSection struct {
	// Values are the OnCalendar= and On…Sec= settings in the order they
	// were read; an empty assignment drops those before it.
	Values []TimerValue

	AccuracySec        timespan.Span // default 1min
	RandomizedDelaySec timespan.Span
	FixedRandomDelay   bool
	OnClockChange      bool
	OnTimezoneChange   bool
	Persistent         bool
	WakeSystem         bool
	RemainAfterElapse  bool // default yes

	// Unit is the unit to trigger: Unit= if given, else the timer's name
	// with the type .service.
	Unit string
}

// A TimerBase is what a timer value counts from.
type TimerBase int

const (
	OnActive       TimerBase = iota // OnActiveSec=
	OnBoot                          // OnBootSec=
	OnStartup                       // OnStartupSec=
	OnUnitActive                    // OnUnitActiveSec=
	OnUnitInactive                  // OnUnitInactiveSec=
	OnCalendar                      // OnCalendar=
)

var timerBaseNames = [...]string{"OnActiveSec", "OnBootSec", "OnStartupSec", "OnUnitActiveSec", "OnUnitInactiveSec", "OnCalendar"}

// String returns the setting's name, e.g. "OnBootSec".
func (b TimerBase) String() string {
	if b < 0 || int(b) >= len(timerBaseNames) {
		return "TimerBase(?)"
	}
	return timerBaseNames[b]
}

// A TimerValue is one OnCalendar= or On…Sec= setting.
type TimerValue struct {
	Base     TimerBase
	Span     timespan.Span  // for the monotonic bases
	Calendar *calendar.Spec // for OnCalendar
}

// ServiceSection is the [Service] section, with systemd's defaults.
type ServiceSection struct {
	// Type is as set, or else as systemd infers it: "dbus" with a
	// BusName=, "simple" with an ExecStart=, else "oneshot".
	Type            string
	ExitType        string // default "main"
	RemainAfterExit bool
	GuessMainPID    bool // default yes
	PIDFile         string
	BusName         string

	Restart            string        // default "no"
	RestartMode        string        // default "normal"
	RestartSec         timespan.Span // default 100ms
	RestartSteps       uint
	RestartMaxDelaySec timespan.Span // default infinity

	TimeoutStartSec         timespan.Span // default 90s, the manager's default; infinity for oneshot
	TimeoutStartSet         bool          // TimeoutStartSec= or TimeoutSec= was given
	TimeoutStopSec          timespan.Span // default 90s
	TimeoutAbortSec         timespan.Span // TimeoutStopSec unless set
	TimeoutAbortSet         bool
	TimeoutStartFailureMode string        // default "terminate"
	TimeoutStopFailureMode  string        // default "terminate"
	RuntimeMaxSec           timespan.Span // default infinity
	RuntimeRandomizedExtra  timespan.Span
	WatchdogSec             timespan.Span

	SuccessExitStatus        ExitStatusSet
	RestartPreventExitStatus ExitStatusSet
	RestartForceExitStatus   ExitStatusSet

	NotifyAccess string // "" until set: systemd then picks by Type
	OOMPolicy    string // "" until set: the manager's default then
	ReloadSignal int    // default SIGHUP

	// The kill settings.
	KillMode          string // default "control-group"
	KillSignal        int    // default SIGTERM
	RestartKillSignal int    // 0: KillSignal
	FinalKillSignal   int    // default SIGKILL
	WatchdogSignal    int    // default SIGABRT
	SendSIGKILL       bool   // default yes
	SendSIGHUP        bool
	IgnoreSIGPIPE     bool // default yes

	// The command lines of the Exec…= settings, in order.
	ExecCondition []ExecCommand
	ExecStartPre  []ExecCommand
	ExecStart     []ExecCommand
	ExecStartPost []ExecCommand
	ExecReload    []ExecCommand
	ExecStop      []ExecCommand
	ExecStopPost  []ExecCommand

	// The execution environment.
	Environment               []string // "NAME=value", in order
	EnvironmentFiles          []string // "-" prefixed when missing files are fine
	PassEnvironment           []string
	UnsetEnvironment          []string
	WorkingDirectory          string // "~" for the home directory
	WorkingDirectoryMissingOK bool
	User, Group               string
	PAMName                   string
	UMask                     uint32 // default 0022
	Nice                      int
	NiceSet                   bool
	SyslogIdentifier          string
	SyslogLevel               int               // the priority of the lines of its output; default 6 (info)
	SyslogLevelPrefix         bool              // a "<N>" a line begins with is its priority; default yes
	Limits                    map[string]Rlimit // by resource: "NOFILE", "CPU", …
	Confinement               Confinement

	// Standard input, output and error: "null", "journal", "file", …,
	// with the file of "file:", "append:" and "truncate:".
	StandardInput, StandardInputFile   string // default "null"
	StandardOutput, StandardOutputFile string // default "inherit" (the manager's default: journal)
	StandardError, StandardErrorFile   string // default "inherit"
}

// An ExitStatusSet is a set of exit statuses and of signals.
type ExitStatusSet struct {
	Status  []int // 0..255, sorted
	Signals []int // sorted
}

// InstallSection is the [Install] section. systemd reads it only to
// enable units, not to load them, so its words are kept as written.
type InstallSection struct {
	WantedBy        []string
	RequiredBy      []string
	UpheldBy        []string
	Alias           []string
	Also            []string
	DefaultInstance string
}
