package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// A Unit is what systemctl list-units and status show of a unit.
type Unit struct {
	Name        string   `json:"name"`
	Names       []string `json:"names,omitempty"`
	Description string   `json:"description"`
	Load        string   `json:"load"`   // loaded, not-found, bad-setting, error, masked
	Active      string   `json:"active"` // active, activating, deactivating, inactive, failed
	Sub         string   `json:"sub"`    // dead, waiting, running, exited, …
	// LoadError says why Load is not loaded.
	LoadError string `json:"load_error,omitempty"`
	// Result is why the unit last stopped: success, exit-code, …
	Result string `json:"result"`

	FragmentPath string   `json:"fragment_path,omitempty"`
	DropIns      []string `json:"drop_ins,omitempty"`
	// FileState is the unit file's enablement: enabled, disabled,
	// static, transient, …; "" when it has no file.
	FileState string `json:"file_state,omitempty"`
	Transient bool   `json:"transient,omitempty"`
	// NeedReload is set when its files changed since they were loaded.
	NeedReload bool     `json:"need_reload,omitempty"`
	Docs       []string `json:"docs,omitempty"`

	// When it last left and entered the states, realtime µs; 0 for never.
	InactiveExit  uint64 `json:"inactive_exit,omitempty"`
	ActiveEnter   uint64 `json:"active_enter,omitempty"`
	ActiveExit    uint64 `json:"active_exit,omitempty"`
	InactiveEnter uint64 `json:"inactive_enter,omitempty"`

	// Triggers and TriggeredBy name the units a timer starts, and the
	// timers that start a unit, each with its active state.
	Triggers    []Related `json:"triggers,omitempty"`
	TriggeredBy []Related `json:"triggered_by,omitempty"`

	// A timer's next elapse, realtime µs; 0 for none.
	NextElapse uint64 `json:"next_elapse,omitempty"`
	// LastRun is a cluster timer's last run, on whichever node; nil for
	// none, and for a timer of this node alone.
	LastRun *Run `json:"last_run,omitempty"`

	// A service's main process: its PID, its command while it runs,
	// and how it ended.
	MainPID    int    `json:"main_pid,omitempty"`
	MainComm   string `json:"main_comm,omitempty"`
	MainCode   string `json:"main_code,omitempty"` // exited, killed, dumped; "" while it runs
	MainStatus int    `json:"main_status,omitempty"`
	// Processes are the commands the last activation ran and that ended.
	Processes []Process `json:"processes,omitempty"`
	// Status is what the service last told with STATUS=.
	Status string `json:"status,omitempty"`
	// ControlGroup is the service's control group while it runs in one,
	// as the hierarchy names it ("/sundial/foo.service"); CGroupProcesses
	// are the processes in it, by PID; Memory is what it uses, bytes,
	// where the memory controller tells it, and MemorySet says so.
	ControlGroup    string          `json:"control_group,omitempty"`
	CGroupProcesses []CGroupProcess `json:"cgroup_processes,omitempty"`
	Memory          uint64          `json:"memory,omitempty"`
	MemorySet       bool            `json:"memory_set,omitempty"`
	// Running are the processes left in the service, main first.
	Running []int `json:"running,omitempty"`
	// ExecMainStart and ExecMainExit are when the main process last
	// started and exited, realtime µs.
	ExecMainStart uint64 `json:"exec_main_start,omitempty"`
	ExecMainExit  uint64 `json:"exec_main_exit,omitempty"`
	// CPU is the CPU time its last activation used, µs; 0 while one
	// runs.
	CPU uint64 `json:"cpu,omitempty"`
	// Invocation is the ID of its last activation.
	Invocation string `json:"invocation,omitempty"`

	// The last test of its Condition…= settings: when, realtime µs (0
	// for never), whether they held, and those that did not, as
	// "ConditionPathExists=|!/foo".
	ConditionTimestamp uint64   `json:"condition_timestamp,omitempty"`
	ConditionResult    bool     `json:"condition_result,omitempty"`
	ConditionUnmet     []string `json:"condition_unmet,omitempty"`
	// The same of its Assert…= settings; AssertUnmet is the one that
	// failed the start, "" where only triggering ones did.
	AssertTimestamp uint64 `json:"assert_timestamp,omitempty"`
	AssertResult    bool   `json:"assert_result,omitempty"`
	AssertUnmet     string `json:"assert_unmet,omitempty"`

	// Properties are what systemctl show prints, in its order.
	Properties []Property `json:"properties,omitempty"`
}

// A Related is a unit named by another, with its active state.
type Related struct {
	Name   string `json:"name"`
	Active string `json:"active"`
}

// A Process is one command an activation ran, as status lists it.
type Process struct {
	PID     int    `json:"pid"`
	Setting string `json:"setting"` // ExecStart, ExecStartPre, …
	Command string `json:"command"` // the command line
	Code    string `json:"code"`    // exited, killed, dumped
	Status  int    `json:"status"`
}

// A Property is one property of systemctl show.
type Property struct {
	Name string `json:"name"`
	// Kind tells how Value is shown: "" as it is; "timestamp" and
	// "timespan" hold µs in decimal, shown as systemctl shows them
	// (0 is empty; for a timespan, "infinity" is as it is);
	// "unprintable" is a value of a type systemctl show cannot print
	// (shown "[unprintable]", and only when asked for, with --all or
	// -p), its elements a line each.
	Kind  string `json:"kind,omitempty"`
	Value string `json:"value"`
}

// A JobRequest asks for units to be started, stopped, … .
type JobRequest struct {
	// Verb is start, stop, restart, try-restart, reload-or-restart,
	// kill, reset-failed, clean, enable, disable, mask, unmask or link.
	Verb  string   `json:"verb"`
	Units []string `json:"units"`
	// NoBlock returns once the jobs are queued, not done.
	NoBlock bool `json:"no_block,omitempty"`
	// Signal and Whom are kill's: the signal number, and main, control
	// or all.
	Signal int    `json:"signal,omitempty"`
	Whom   string `json:"whom,omitempty"`
	// What is clean's: state, …
	What []string `json:"what,omitempty"`
	// Runtime makes mask, unmask and link change the runtime
	// directory, not the configuration directory.
	Runtime bool `json:"runtime,omitempty"`
}

// A JobResult is how a request went for one unit.
type JobResult struct {
	Unit string `json:"unit"`
	// Result is the job's: done, failed, canceled, timeout, dependency,
	// skipped; or "" for a request refused before a job (see Error).
	Result string `json:"result,omitempty"`
	// Error is the refusal, as systemd's bus error says it ("Unit
	// foo.service not found."), with Code its kind: not-found,
	// not-loaded, refused, invalid.
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
	// ServiceResult is the service's Result after a failed job.
	ServiceResult string `json:"service_result,omitempty"`
	// Changes are what enable and disable did to the file system:
	// "Created symlink A → B." and "Removed \"A\"." lines.
	Changes []string `json:"changes,omitempty"`
	// Notes are warnings to show: a unit without installation
	// config, for one.
	Notes []string `json:"notes,omitempty"`
}

// UnitBackend answers the requests about units.
type UnitBackend interface {
	// Units returns the units named (their file loaded if need be), or
	// with none named, every unit in memory as lists show it: its name,
	// description and states only.
	Units(ctx context.Context, names []string, properties bool) ([]Unit, error)
	Jobs(ctx context.Context, req JobRequest) ([]JobResult, error)
	Reload(ctx context.Context) error
	// UnitFiles returns the files of a unit: the fragment, then the
	// drop-ins, each path with its contents.
	UnitFiles(ctx context.Context, name string) ([][2]string, error)
	// UnitFileList returns every unit file of the search path, the
	// first of each name, with its state.
	UnitFileList(ctx context.Context) ([]UnitFile, error)
	// ManagerProperties returns what systemctl show prints of the
	// manager itself.
	ManagerProperties(ctx context.Context) ([]Property, error)
	// ConfigDirs returns where the user's changes to units go, as
	// systemctl edit writes them.
	ConfigDirs(ctx context.Context) (ConfigDirs, error)
	// SetEnvironment changes the manager's environment, which the
	// services started after it inherit: the assignments of set, then
	// the names or assignments of unset removed. refusal says why it
	// was not changed, in systemd's words.
	SetEnvironment(ctx context.Context, set, unset []string) (refusal string, err error)
}

// ConfigDirs are the directories of the search path that take the
// user's changes: Config, and Runtime for --runtime ("" for none).
type ConfigDirs struct {
	Config  string `json:"config"`
	Runtime string `json:"runtime,omitempty"`
}

// An environmentResult is the answer to SetEnvironment.
type environmentResult struct {
	Refusal string `json:"refusal,omitempty"`
}

// An environmentChange is the body of SetEnvironment.
type environmentChange struct {
	Set   []string `json:"set,omitempty"`
	Unset []string `json:"unset,omitempty"`
}

// A UnitFile is a unit file as list-unit-files shows it: its path, and
// its state (enabled, disabled, static, masked, alias, linked, …).
type UnitFile struct {
	Path  string `json:"path"`
	State string `json:"state"`
}

func serveUnits(mux *http.ServeMux, b UnitBackend) {
	mux.HandleFunc("POST /v1/units", func(w http.ResponseWriter, r *http.Request) {
		var q unitsQuery
		if !decode(w, r, &q) {
			return
		}
		units, err := b.Units(r.Context(), q.Names, q.Properties)
		reply(w, units, err)
	})
	mux.HandleFunc("GET /v1/files", func(w http.ResponseWriter, r *http.Request) {
		files, err := b.UnitFiles(r.Context(), r.URL.Query().Get("unit"))
		reply(w, files, err)
	})
	mux.HandleFunc("GET /v1/unit-files", func(w http.ResponseWriter, r *http.Request) {
		files, err := b.UnitFileList(r.Context())
		reply(w, files, err)
	})
	mux.HandleFunc("GET /v1/manager", func(w http.ResponseWriter, r *http.Request) {
		props, err := b.ManagerProperties(r.Context())
		reply(w, props, err)
	})
	mux.HandleFunc("GET /v1/config-dirs", func(w http.ResponseWriter, r *http.Request) {
		dirs, err := b.ConfigDirs(r.Context())
		reply(w, dirs, err)
	})
	mux.HandleFunc("POST /v1/environment", func(w http.ResponseWriter, r *http.Request) {
		var c environmentChange
		if !decode(w, r, &c) {
			return
		}
		refusal, err := b.SetEnvironment(r.Context(), c.Set, c.Unset)
		reply(w, environmentResult{refusal}, err)
	})
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		var req JobRequest
		if !decode(w, r, &req) {
			return
		}
		res, err := b.Jobs(r.Context(), req)
		reply(w, res, err)
	})
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		reply(w, struct{}{}, b.Reload(r.Context()))
	})
}

// Units returns the units named, or every unit the daemon has in
// memory, only as lists show them; with properties, the systemctl show
// properties of the units named too.
func (c *Client) Units(ctx context.Context, names []string, properties bool) ([]Unit, error) {
	var units []Unit
	// In the body, not the URL: as many names as systemctl is given
	// would pass the bound on a request's header.
	err := c.do(ctx, http.MethodPost, "/v1/units", unitsQuery{names, properties}, &units)
	return units, err
}

// A unitsQuery names the units Units asks for.
type unitsQuery struct {
	Names      []string `json:"names,omitempty"`
	Properties bool     `json:"properties,omitempty"`
}

// UnitFiles returns the files of a unit, each as its path and contents.
func (c *Client) UnitFiles(ctx context.Context, name string) ([][2]string, error) {
	var files [][2]string
	err := c.get(ctx, "/v1/files?"+url.Values{"unit": {name}}.Encode(), &files)
	return files, err
}

// UnitFileList returns every unit file of the daemon's search path,
// with its state.
func (c *Client) UnitFileList(ctx context.Context) ([]UnitFile, error) {
	var files []UnitFile
	err := c.get(ctx, "/v1/unit-files", &files)
	return files, err
}

// ManagerProperties returns the properties of the daemon itself.
func (c *Client) ManagerProperties(ctx context.Context) ([]Property, error) {
	var props []Property
	err := c.get(ctx, "/v1/manager", &props)
	return props, err
}

// ConfigDirs returns the directories that take the user's changes.
func (c *Client) ConfigDirs(ctx context.Context) (ConfigDirs, error) {
	var dirs ConfigDirs
	err := c.get(ctx, "/v1/config-dirs", &dirs)
	return dirs, err
}

// SetEnvironment sets the assignments of set in the daemon's
// environment, then removes the variables unset names. A change the
// daemon refuses is an error that is its refusal alone.
func (c *Client) SetEnvironment(ctx context.Context, set, unset []string) error {
	var res environmentResult
	if err := c.do(ctx, http.MethodPost, "/v1/environment", environmentChange{set, unset}, &res); err != nil {
		return err
	}
	if res.Refusal != "" {
		return errors.New(res.Refusal)
	}
	return nil
}

// Jobs asks for a job on each unit of the request, and returns how each
// went, in their order.
func (c *Client) Jobs(ctx context.Context, req JobRequest) ([]JobResult, error) {
	var res []JobResult
	err := c.do(ctx, http.MethodPost, "/v1/jobs", req, &res)
	return res, err
}

// Reload has the daemon read its units again (daemon-reload).
func (c *Client) Reload(ctx context.Context) error {
	var v struct{}
	return c.do(ctx, http.MethodPost, "/v1/reload", struct{}{}, &v)
}

// A CGroupProcess is a process of a service's control group: its PID
// and its command line, as systemctl status shows it.
type CGroupProcess struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
}
