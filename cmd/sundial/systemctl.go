package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

const systemctlUsage = `%s [OPTIONS...] COMMAND ...

Query or send control commands to the sundial daemon.

Unit Commands:
  list-units [PATTERN...]             List units currently in memory
  list-timers [PATTERN...]            List timers currently in memory,
                                      ordered by next elapse
  start UNIT...                       Start (activate) one or more units
  stop UNIT...                        Stop (deactivate) one or more units
  restart UNIT...                     Start or restart one or more units
  try-restart UNIT...                 Restart one or more units if active
  reload UNIT...                      Reload one or more units
  reload-or-restart UNIT...           Reload one or more units if possible,
                                      otherwise start or restart
  kill UNIT...                        Send signal to processes of a unit
  clean UNIT...                       Clean runtime, cache, state, logs or
                                      configuration of unit
  is-active PATTERN...                Check whether units are active
  is-failed [PATTERN...]              Check whether units are failed or
                                      system is in degraded state
  status [PATTERN...|PID...]          Show runtime status of one or more units
  show [PATTERN...|JOB...]            Show properties of one or more
                                      units/jobs or the manager
  cat PATTERN...                      Show files and drop-ins of specified units
  reset-failed [PATTERN...]           Reset failed state for all, one, or more
                                      units
  list-dependencies [UNIT...]         Recursively show units which are required
                                      or wanted by the units or by which those
                                      units are required or wanted

Unit File Commands:
  list-unit-files [PATTERN...]        List installed unit files
  enable [UNIT...|PATH...]            Enable one or more unit files
  disable UNIT...                     Disable one or more unit files
  reenable [UNIT...|PATH...]          Reenable one or more unit files
  is-enabled UNIT...                  Check whether unit files are enabled
  mask UNIT...                        Mask one or more units
  unmask UNIT...                      Unmask one or more units
  link PATH...                        Link one or more units files into
                                      the search path
  revert UNIT...                      Revert one or more unit files to vendor
                                      version
  edit UNIT...                        Edit one or more unit files

Manager State Commands:
  show-environment                    Dump environment
  set-environment VARIABLE=VALUE...   Set one or more environment variables
  unset-environment VARIABLE...       Unset one or more environment variables
  import-environment VARIABLE...      Import environment variables set by client
  daemon-reload                       Reload the daemon's unit files

System Commands:
  is-system-running                   Check whether the daemon is running

Options:
  -h --help                  Show this help
     --version               Show package version
     --system                Connect to the system's daemon (default)
     --user                  Connect to the user's daemon
  -t --type=TYPE             List units of a particular type
     --state=STATE           List units with particular LOAD or SUB or ACTIVE
                             state
     --failed                Shortcut for --state=failed
  -p --property=NAME         Show only properties by this name
  -P NAME                    Equivalent to --value --property=NAME
  -a --all                   Show all properties/all units currently in memory,
                             including dead/empty ones
  -l --full                  Don't ellipsize unit names on output
     --value                 When showing properties, only print the value
     --no-block              Do not wait until operation finished
     --reverse               Show reverse dependencies with 'list-dependencies'
     --after                 Show units ordered after with 'list-dependencies'
     --before                Show units ordered before with 'list-dependencies'
     --legend=BOOL           Enable/disable the legend (column headers and hints)
     --no-legend             Do not print the header and footer
     --plain                 Print unit dependencies as a list instead of a tree
     --no-pager              Accepted for compatibility; there is no pager
  -q --quiet                 Suppress output
  -n --lines=INTEGER         Number of journal entries to show
  -o --output=STRING         Change journal output mode (short, short-precise,
                             short-iso, cat, json)
     --now                   Start or stop unit after enabling or disabling it
     --runtime               Make changes only temporarily, until the next
                             reboot
  -f --force                 With 'edit', create a unit that does not exist
     --no-reload             Don't reload the daemon after 'edit'
     --kill-whom=WHOM        Whom to send signal to (main, control, all)
  -s --signal=SIGNAL         Which signal to send
     --what=RESOURCES        Which types of resources to remove (state, all)
`

// systemctlOptions are systemctl's options, for its verbs.
type systemctlOptions struct {
	daemonOptions
	all, legend, quiet, value, noBlock, now bool
	plain, runtime, reverse, after, before  bool
	full, force, noReload                   bool
	types, states, properties, what         []string
	lines                                   int
	output, whom                            string
	signal                                  int
}

// systemctlMain is systemctl: options, then a verb and its operands.
func systemctlMain(c *cli, args []string) int {
	fs := c.flags()
	o := &systemctlOptions{daemonOptions: daemonOptions{usage: systemctlUsage}, legend: true, lines: 10, output: "short", whom: "all", signal: int(syscall.SIGTERM)}
	o.declare(fs)
	for _, name := range []string{"all/a", "full/l", "value", "no-block", "no-legend", "no-pager", "quiet/q", "now", "failed", "plain", "runtime", "reverse", "after", "before", "force/f", "no-reload"} {
		long, short, _ := strings.Cut(name, "/")
		switchOption(fs, long, short)
	}
	fs.StringArrayP("type", "t", nil, "")
	fs.StringArray("state", nil, "")
	fs.String("legend", "", "")
	fs.StringArrayP("property", "p", nil, "")
	fs.StringArrayP("P", "P", nil, "")
	fs.StringP("lines", "n", "", "")
	fs.StringP("output", "o", "", "")
	fs.String("kill-whom", "", "")
	fs.StringP("signal", "s", "", "")
	fs.StringArray("what", nil, "")
	ok, status := c.parse(fs, args, func(name, value string) error {
		if done, err := o.option(c, name); done {
			return err
		}
		return o.set(c, name, value)
	})
	if !ok {
		return status
	}
	verbs := fs.Args()
	if len(verbs) == 0 {
		verbs = []string{"list-units"}
	}
	verb, units := verbs[0], verbs[1:]
	v, ok := systemctlVerbs[verb]
	if !ok {
		c.errorf("Unknown command verb '%s'.", verb)
		return 1
	}
	if len(units) < v.min || v.max >= 0 && len(units) > v.max {
		if len(units) < v.min {
			c.errorf("Too few arguments.")
		} else {
			c.errorf("Too many arguments.")
		}
		return 1
	}
	return v.run(c, o, verb, units)
}

// set takes one of the options that are not daemonOptions'.
func (o *systemctlOptions) set(c *cli, name, value string) error {
	list := func(v string) []string { return strings.Split(v, ",") }
	switch name {
	case "all":
		o.all = true
	case "no-legend":
		o.legend = false
	case "legend":
		v, ok := unit.ParseBoolean(value)
		if !ok {
			return usageError("Failed to parse boolean argument to --legend: " + value + ".")
		}
		o.legend = v
	case "failed":
		o.states = append(o.states, "failed")
	case "plain":
		o.plain = true
	case "runtime":
		o.runtime = true
	case "reverse":
		o.reverse = true
	case "full":
		o.full = true
	case "force":
		o.force = true
	case "no-reload":
		o.noReload = true
	case "after":
		o.after = true
	case "before":
		o.before = true
	case "quiet":
		o.quiet = true
	case "value":
		o.value = true
	case "no-block":
		o.noBlock = true
	case "now":
		o.now = true
	case "type":
		// As parse_argv: a unit type, or for compatibility a load
		// state, which --state= takes.
		for _, t := range list(value) {
			switch {
			case t == "help":
				// As help_types(): the heading is legend, which an
				// earlier --no-legend drops.
				if o.legend {
					fmt.Fprintln(c.stdout, "Available unit types:")
				}
				fmt.Fprintf(c.stdout, "%s\n", strings.Join(unitTypes, "\n"))
				return errDone
			case slices.Contains(unitTypes, t):
				o.types = append(o.types, t)
			case slices.Contains(loadStates, t):
				o.states = append(o.states, t)
			default:
				return usageError("Unknown unit type or load state '" + t + "'.\nUse -t help to see a list of allowed values.")
			}
		}
	case "state":
		if slices.Contains(list(value), "help") {
			helpStates(c, o.legend)
			return errDone
		}
		o.states = append(o.states, list(value)...)
	case "property":
		o.properties = append(o.properties, list(value)...)
	case "P":
		o.value = true
		o.properties = append(o.properties, list(value)...)
	case "lines":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return usageError("Failed to parse lines '" + value + "'")
		}
		o.lines = n
	case "output":
		switch value {
		case "short", "short-precise", "short-iso", "cat", "json":
			o.output = value
		default:
			return usageError("Unknown output '" + value + "'.")
		}
	case "kill-whom":
		o.whom = value
	case "signal":
		n, err := unit.ParseSignal(value)
		if err != nil {
			return usageError(`Failed to parse signal string "` + value + `".`)
		}
		o.signal = n
	case "what":
		for _, w := range list(value) {
			switch w {
			case "state", "all", "runtime", "cache", "logs", "configuration", "fdstore":
				o.what = append(o.what, w)
			case "help":
				fmt.Fprintln(c.stdout, "Possible values:\nruntime\nstate\ncache\nlogs\nconfiguration\nfdstore\nall")
				return errDone
			default:
				return usageError("Unknown type '" + w + "' specified for --what=")
			}
		}
	}
	return nil
}

// unitTypes and loadStates are systemd's, in its order, as -t takes them.
var (
	unitTypes  = []string{"service", "mount", "swap", "socket", "target", "device", "automount", "timer", "path", "slice", "scope"}
	loadStates = []string{"stub", "loaded", "not-found", "bad-setting", "error", "merged", "masked"}
)

// stateLists are what --state=help lists, as help_states prints the
// string tables of unit-def.c: each heading, and its states.
var stateLists = []struct{ heading, states string }{
	{"Available unit load states:", "stub loaded not-found bad-setting error merged masked"},
	{"Available unit active states:", "active reloading inactive failed activating deactivating maintenance"},
	{"Available unit file states:", "enabled enabled-runtime linked linked-runtime alias masked masked-runtime static disabled indirect generated transient bad"},
	{"Available automount unit substates:", "dead waiting running failed"},
	{"Available device unit substates:", "dead tentative plugged"},
	{"Available mount unit substates:", "dead mounting mounting-done mounted remounting unmounting remounting-sigterm remounting-sigkill unmounting-sigterm unmounting-sigkill failed cleaning"},
	{"Available path unit substates:", "dead waiting running failed"},
	{"Available scope unit substates:", "dead start-chown running abandoned stop-sigterm stop-sigkill failed"},
	{"Available service unit substates:", "dead condition start-pre start start-post running exited reload reload-signal reload-notify stop stop-watchdog stop-sigterm stop-sigkill stop-post final-watchdog final-sigterm final-sigkill failed dead-before-auto-restart failed-before-auto-restart dead-resources-pinned auto-restart auto-restart-queued cleaning"},
	{"Available slice unit substates:", "dead active"},
	{"Available socket unit substates:", "dead start-pre start-chown start-post listening running stop-pre stop-pre-sigterm stop-pre-sigkill stop-post final-sigterm final-sigkill failed cleaning"},
	{"Available swap unit substates:", "dead activating activating-done active deactivating deactivating-sigterm deactivating-sigkill failed cleaning"},
	{"Available target unit substates:", "dead active"},
	{"Available timer unit substates:", "dead waiting running elapsed failed"},
}

// helpStates prints the states --state= takes, as help_states(): without
// legend (an earlier --no-legend) only the states, which is how zsh's
// completion of systemctl reads them.
func helpStates(c *cli, legend bool) {
	for i, l := range stateLists {
		if legend {
			if i > 0 {
				fmt.Fprintln(c.stdout)
			}
			fmt.Fprintln(c.stdout, l.heading)
		}
		fmt.Fprintf(c.stdout, "%s\n", strings.ReplaceAll(l.states, " ", "\n"))
	}
}

// A systemctlVerb is a verb, with how many operands it takes (max -1:
// any).
type systemctlVerb struct {
	min, max int
	run      func(c *cli, o *systemctlOptions, verb string, units []string) int
}

var systemctlVerbs map[string]systemctlVerb

func init() {
	jobs := systemctlVerb{1, -1, jobVerb}
	systemctlVerbs = map[string]systemctlVerb{
		"list-timers": {0, -1, func(c *cli, o *systemctlOptions, _ string, p []string) int {
			return listTimers(c, &o.daemonOptions, p, o.all, o.legend)
		}},
		"list-units":         {0, -1, listUnits},
		"list-unit-files":    {0, -1, listUnitFiles},
		"start":              jobs,
		"stop":               jobs,
		"restart":            jobs,
		"try-restart":        jobs,
		"reload-or-restart":  jobs,
		"reload":             jobs,
		"kill":               jobs,
		"clean":              jobs,
		"reset-failed":       {0, -1, jobVerb},
		"enable":             jobs,
		"disable":            jobs,
		"reenable":           jobs,
		"mask":               jobs,
		"unmask":             jobs,
		"link":               jobs,
		"revert":             jobs,
		"edit":               {1, -1, editVerb},
		"is-active":          {1, -1, isVerb},
		"is-failed":          {1, -1, isVerb},
		"is-enabled":         {1, -1, isEnabled},
		"status":             {0, -1, statusVerb},
		"show":               {0, -1, showVerb},
		"is-system-running":  {0, 0, isSystemRunning},
		"list-dependencies":  {0, -1, listDependencies},
		"show-environment":   {0, 0, showEnvironment},
		"set-environment":    {1, -1, setEnvironment},
		"unset-environment":  {1, -1, setEnvironment},
		"import-environment": {0, -1, importEnvironment},
		"cat":                {1, -1, catVerb},
		"daemon-reload":      {0, 0, daemonReload},
	}
}

// listTimers is systemctl list-timers, as systemd 254 shows it.
func listTimers(c *cli, d *daemonOptions, patterns []string, all, legend bool) int {
	client := d.client()
	timers, err := client.Timers(context.Background())
	if err != nil {
		return d.failed(c, client, "list timers", err)
	}
	timers = slices.DeleteFunc(timers, func(t api.Timer) bool {
		if !all && (t.State == "dead") {
			return true
		}
		if len(patterns) == 0 {
			return false
		}
		for _, p := range patterns {
			if ok, _ := path.Match(p, t.Unit); ok {
				return false
			}
		}
		return true
	})
	// By next elapse, none last; then by name.
	key := func(t api.Timer) uint64 {
		if t.State != "waiting" {
			return ^uint64(0)
		}
		return t.Next
	}
	slices.SortStableFunc(timers, func(a, b api.Timer) int {
		if ka, kb := key(a), key(b); ka != kb {
			if ka < kb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Unit, b.Unit)
	})
	nowT := now()
	rows := [][]string{{"NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"}}
	for _, t := range timers {
		next, left, last, passed := "-", "-", "-", "-"
		if t.State == "waiting" && t.Next > 0 {
			at := time.UnixMicro(int64(t.Next)).In(time.Local)
			next, left = timespan.FormatTimestamp(at, timespan.Pretty), timespan.FormatLeft(at, nowT)
		}
		if t.LastTrigger > 0 {
			last = timespan.FormatTimestamp(time.UnixMicro(int64(t.LastTrigger)).In(time.Local), timespan.Pretty)
		}
		if t.LastTriggerMonotonic > 0 && t.Monotonic >= t.LastTriggerMonotonic {
			// Relative to the monotonic clock, as 254 does.
			ago := time.Duration(t.Monotonic-t.LastTriggerMonotonic) * time.Microsecond
			passed = timespan.FormatRelative(nowT.Add(-ago), nowT)
		}
		rows = append(rows, []string{next, left, last, passed, t.Unit, t.Activates})
	}
	if legend || len(rows) > 1 {
		start := 0
		if !legend {
			start = 1
		}
		writeTable(c, rows[start:], map[int]bool{1: true, 3: true})
	}
	if legend {
		fmt.Fprintf(c.stdout, "\n%d timers listed.\n", len(timers))
		if !all {
			fmt.Fprintln(c.stdout, "Pass --all to see loaded but inactive timers, too.")
		}
	}
	return 0
}
