package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

// utf8Locale reports whether the locale's characters are UTF-8, as
// systemd's is_locale_utf8: an unset locale counts as UTF-8, an explicit
// C or POSIX one does not.
func utf8Locale() bool {
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(name); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return true
}

// glyph is the state circle systemctl puts before a unit.
func glyph(active string) string {
	utf8 := utf8Locale()
	switch active {
	case "failed":
		if utf8 {
			return "×"
		}
		return "x"
	case "inactive", "maintenance":
		if utf8 {
			return "○"
		}
	case "reloading":
		if utf8 {
			return "↻"
		}
	default:
		if utf8 {
			return "●"
		}
	}
	return "*"
}

func treeBranch() string {
	if utf8Locale() {
		return "├─"
	}
	return "|-"
}

func treeRight() string {
	if utf8Locale() {
		return "└─"
	}
	return "`-"
}

// at is a realtime µs stamp as a time in the local zone.
func at(us uint64) time.Time { return time.UnixMicro(int64(us)).In(time.Local) }

// statusVerb is systemctl status: each unit's state, and its last journal
// lines; with none named, the daemon's.
func statusVerb(c *cli, o *systemctlOptions, _ string, names []string) int {
	ctx := context.Background()
	client := o.client()
	if len(names) == 0 {
		return managerStatus(c, o, client)
	}
	names, err := expand(ctx, client, o.mangle(c, "", names))
	if err != nil {
		return o.failed(c, client, "list units", err)
	}
	status := 0
	first := true
	for _, name := range names {
		units, err := client.Units(ctx, []string{name}, false)
		if err != nil {
			return o.failed(c, client, "get properties", err)
		}
		u := units[0]
		if u.Load == "not-found" && u.Active == "inactive" {
			c.errorf("Unit %s could not be found.", name)
			status = firstStatus(status, exitNoSuchUnit)
			continue
		}
		if !first {
			fmt.Fprintln(c.stdout)
		}
		first = false
		var journal []api.Entry
		if o.lines > 0 {
			// The last lines of this boot, less those from before
			// the unit last left the inactive state.
			journal, err = client.Journal(ctx, api.JournalQuery{Units: []string{u.Name}, Boot: clock.BootID(), Last: o.lines})
			if err != nil {
				return o.failed(c, client, "read the journal", err)
			}
			journal = slices.DeleteFunc(journal, func(e api.Entry) bool { return e.Realtime < u.InactiveExit })
		}
		printStatus(c, o, u, journal)
		if u.NeedReload {
			c.errorf("%s", reloadWarning(o, u.Name))
		}
		if u.Active != "active" && u.Active != "reloading" {
			status = firstStatus(status, exitNotRunning)
		}
	}
	return status
}

// reloadWarning is systemctl's warning about a unit whose files changed.
func reloadWarning(o *systemctlOptions, name string) string {
	user := ""
	if o.user {
		user = " --user"
	}
	return fmt.Sprintf("Warning: The unit file, source configuration file or drop-ins of %s changed on disk. Run 'systemctl%s daemon-reload' to reload units.", name, user)
}

// exitText is how a process ended, as systemctl status shows it: the
// names of the C library's and systemd's statuses only, and signals.
func exitText(code string, status int) string {
	if code != "exited" {
		return fmt.Sprintf("code=%s, signal=%s", code, unit.SignalName(status))
	}
	s := fmt.Sprintf("code=exited, status=%d", status)
	if name := unit.ExitStatusName(status); name != "" && (status <= 1 || status >= 200) {
		s += "/" + name
	}
	return s
}

// printStatus writes one unit's status as systemctl status does.
func printStatus(c *cli, o *systemctlOptions, u api.Unit, journal []api.Entry) {
	var b strings.Builder
	nowT := now()
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%12s %s\n", label, fmt.Sprintf(format, args...))
	}
	b.WriteString(glyph(u.Active) + " " + u.Name)
	if u.Description != "" && u.Description != u.Name {
		b.WriteString(" - " + u.Description)
	}
	b.WriteString("\n")
	switch {
	case u.LoadError != "":
		line("Loaded:", "%s (Reason: %s)", u.Load, u.LoadError)
	case u.FragmentPath != "" && u.FileState != "":
		preset := "; preset: enabled"
		if slices.Contains([]string{"static", "alias", "generated", "transient"}, u.FileState) {
			preset = ""
		}
		line("Loaded:", "%s (%s; %s%s)", u.Load, u.FragmentPath, u.FileState, preset)
	case u.FragmentPath != "":
		line("Loaded:", "%s (%s)", u.Load, u.FragmentPath)
	default:
		line("Loaded:", "%s", u.Load)
	}
	if u.Transient {
		line("Transient:", "yes")
	}
	for i, p := range u.DropIns {
		dir := filepath.Dir(p)
		if i == 0 || dir != filepath.Dir(u.DropIns[i-1]) {
			if i == 0 {
				line("Drop-In:", "%s", dir)
			} else {
				line("", "%s", dir)
			}
			b.WriteString(strings.Repeat(" ", 12) + treeRight())
		}
		b.WriteString(filepath.Base(p))
		if i+1 < len(u.DropIns) && filepath.Dir(u.DropIns[i+1]) == dir {
			b.WriteString(", ")
		} else {
			b.WriteString("\n")
		}
	}
	active := u.Active
	if u.Sub != "" && u.Sub != u.Active {
		active += " (" + u.Sub + ")"
	}
	if u.Result != "" && u.Result != "success" {
		active += " (Result: " + u.Result + ")"
	}
	var since uint64
	switch u.Active {
	case "active", "reloading":
		since = u.ActiveEnter
	case "inactive", "failed":
		since = u.InactiveEnter
	case "activating":
		since = u.InactiveExit
	default:
		since = u.ActiveExit
	}
	if since > 0 {
		t := at(since)
		active += fmt.Sprintf(" since %s; %s", timespan.FormatTimestamp(t, timespan.Pretty), timespan.FormatRelative(t, nowT))
	}
	line("Active:", "%s", active)
	if (u.Active == "inactive" || u.Active == "failed") && u.ActiveEnter > 0 && u.ActiveExit >= u.ActiveEnter {
		line("Duration:", "%s", timespan.Span(u.ActiveExit-u.ActiveEnter).Format(timespan.Millisecond))
	}
	related := func(label string, rs []api.Related, alwaysDot bool) {
		for i, r := range rs {
			g := glyph(r.Active)
			if alwaysDot {
				g = glyph("active")
			}
			if i == 0 {
				line(label, "%s %s", g, r.Name)
			} else {
				line("", "%s %s", g, r.Name)
			}
		}
	}
	related("TriggeredBy:", u.TriggeredBy, false)
	if strings.HasSuffix(u.Name, ".timer") {
		if u.NextElapse > 0 {
			t := at(u.NextElapse)
			line("Trigger:", "%s; %s", timespan.FormatTimestamp(t, timespan.Pretty), timespan.FormatRelative(t, nowT))
		} else {
			line("Trigger:", "n/a")
		}
		if r := u.LastRun; r != nil {
			// A cluster timer's, on whichever node: not systemd's.
			t := at(r.Started)
			how := ""
			switch {
			case r.State != "ended":
				how = " (" + r.State + ")"
			case r.Result != "" && r.Result != "success":
				how = " (Result: " + r.Result + ")"
			}
			line("Last run:", "on %s, %s; %s%s", r.Node, timespan.FormatTimestamp(t, timespan.Pretty), timespan.FormatRelative(t, nowT), how)
		}
	}
	related("Triggers:", u.Triggers, true)
	// As systemctl-show.c: the conditions unmet at the last start, and
	// the assert that failed it.
	if !u.ConditionResult && u.ConditionTimestamp > 0 {
		t := at(u.ConditionTimestamp)
		line("Condition:", "start condition unmet at %s; %s", timespan.FormatTimestamp(t, timespan.Pretty), timespan.FormatRelative(t, nowT))
		for i, c := range u.ConditionUnmet {
			g := treeRight()
			if i+1 < len(u.ConditionUnmet) {
				g = treeBranch()
			}
			line("", "%s %s was not met", g, c)
		}
	}
	if !u.AssertResult && u.AssertTimestamp > 0 {
		t := at(u.AssertTimestamp)
		line("Assert:", "start assertion failed at %s; %s", timespan.FormatTimestamp(t, timespan.Pretty), timespan.FormatRelative(t, nowT))
		if u.AssertUnmet == "" {
			line("", "none of the trigger assertions were met")
		} else {
			line("", "%s was not met", u.AssertUnmet)
		}
	}
	for i, d := range u.Docs {
		if i == 0 {
			line("Docs:", "%s", d)
		} else {
			line("", "%s", d)
		}
	}
	for _, p := range u.Processes {
		line("Process:", "%d %s=%s (%s)", p.PID, p.Setting, p.Command, exitText(p.Code, p.Status))
	}
	switch {
	case u.MainPID > 0 && u.MainCode == "":
		if u.MainComm != "" {
			line("Main PID:", "%d (%s)", u.MainPID, u.MainComm)
		} else {
			line("Main PID:", "%d", u.MainPID)
		}
	case u.MainPID > 0:
		line("Main PID:", "%d (%s)", u.MainPID, exitText(u.MainCode, u.MainStatus))
	}
	if u.Status != "" {
		line("Status:", "\"%s\"", u.Status)
	}
	// Read here, as systemctl reads a group's processes here
	// (show_cgroup_by_path): the daemon is on this machine. Where its
	// files are out of reach, the memory as the daemon told it.
	usage := service.ReadCGroupUsage("")
	if u.ControlGroup != "" {
		usage = service.ReadCGroupUsage(service.CGroupDir(u.ControlGroup))
	}
	if !usage.MemoryKnown && u.MemorySet {
		usage.Memory, usage.MemoryKnown = u.Memory, true
	}
	writeCGroupUsage(&b, usage)
	// The CPU time is known once an activation has ended.
	if u.CPU > 0 || len(u.Processes) > 0 && (u.Active == "inactive" || u.Active == "failed") {
		line("CPU:", "%s", timespan.Span(u.CPU).Format(timespan.Millisecond))
	}
	if u.ControlGroup != "" {
		line("CGroup:", "%s", u.ControlGroup)
		cgroupProcesses(&b, u.CGroupProcesses)
	}
	fmt.Fprint(c.stdout, b.String())
	if len(journal) > 0 {
		fmt.Fprintln(c.stdout)
		printJournal(c, journal, o.output, false)
	}
}

// writeCGroupUsage writes the Tasks: and Memory: lines of a control
// group, as print_status_info: each where its controller tells it, with
// the limits set, those of memory in parentheses.
func writeCGroupUsage(b *strings.Builder, g service.CGroupUsage) {
	if g.TasksKnown {
		fmt.Fprintf(b, "%12s %d", "Tasks:", g.Tasks)
		if g.TasksMax != unit.CGroupLimitMax {
			fmt.Fprintf(b, " (limit: %d)", g.TasksMax)
		}
		b.WriteString("\n")
	}
	if !g.MemoryKnown {
		return
	}
	fmt.Fprintf(b, "%12s %s", "Memory:", formatBytes(g.Memory))
	// A protection of all memory is "infinity", as
	// format_bytes_cgroup_protection.
	protection := func(v uint64) string {
		if v == unit.CGroupLimitMax {
			return "infinity"
		}
		return formatBytes(v)
	}
	var limits []string
	for _, l := range []struct {
		name  string
		shown bool
		text  string
	}{
		{"min", g.MemoryMin > 0, protection(g.MemoryMin)}, {"low", g.MemoryLow > 0, protection(g.MemoryLow)},
		{"high", g.MemoryHigh != unit.CGroupLimitMax, formatBytes(g.MemoryHigh)}, {"max", g.MemoryMax != unit.CGroupLimitMax, formatBytes(g.MemoryMax)},
		{"swap max", g.MemorySwapMax != unit.CGroupLimitMax, formatBytes(g.MemorySwapMax)},
		{"available", g.MemoryAvailable() != unit.CGroupLimitMax, formatBytes(g.MemoryAvailable())},
	} {
		if l.shown {
			limits = append(limits, l.name+": "+l.text)
		}
	}
	if len(limits) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(limits, " "))
	}
	b.WriteString("\n")
}

// cgroupProcesses lists the processes of a control group under its
// line, as show_pid_array: by PID, right-aligned to the widest, each
// with its command line.
func cgroupProcesses(b *strings.Builder, ps []api.CGroupProcess) {
	width := 0
	for _, p := range ps {
		width = max(width, len(strconv.Itoa(p.PID)))
	}
	for i, p := range ps {
		g := treeBranch()
		if i == len(ps)-1 {
			g = treeRight()
		}
		fmt.Fprintf(b, "%13s%s%*d %s\n", "", g, width, p.PID, p.Command)
	}
}

// managerStatus is systemctl status without units: the daemon's state.
func managerStatus(c *cli, o *systemctlOptions, client *api.Client) int {
	units, err := client.Units(context.Background(), nil, false)
	if err != nil {
		return o.failed(c, client, "list units", err)
	}
	failed := 0
	for _, u := range units {
		if u.Active == "failed" {
			failed++
		}
	}
	state, g := "running", glyph("active")
	if failed > 0 {
		state, g = "degraded", glyph("failed")
	}
	host, _ := os.Hostname()
	fmt.Fprintf(c.stdout, "%s %s\n    State: %s\n    Units: %d loaded\n     Jobs: 0 queued\n   Failed: %d units\n", g, host, state, len(units), failed)
	return 0
}

// namedUnits asks the daemon for the units named, their patterns
// expanded; if it cannot, it says so and returns the exit status.
func (o *systemctlOptions) namedUnits(c *cli, names []string, properties bool) ([]api.Unit, int, bool) {
	ctx := context.Background()
	client := o.client()
	names, err := expand(ctx, client, o.mangle(c, "", names))
	if err != nil {
		return nil, o.failed(c, client, "list units", err), false
	}
	units, err := client.Units(ctx, names, properties)
	if err != nil {
		return nil, o.failed(c, client, "get properties", err), false
	}
	return units, 0, true
}

// isVerb is is-active and is-failed: each unit's active state, and
// whether any is active (failed).
func isVerb(c *cli, o *systemctlOptions, verb string, names []string) int {
	units, status, ok := o.namedUnits(c, names, false)
	if !ok {
		return status
	}
	found, notFound := false, true
	for _, u := range units {
		if !o.quiet {
			fmt.Fprintln(c.stdout, u.Active)
		}
		notFound = notFound && u.Load == "not-found"
		switch {
		case verb == "is-active" && (u.Active == "active" || u.Active == "reloading"):
			found = true
		case verb == "is-failed" && u.Active == "failed":
			found = true
		}
	}
	switch {
	case found:
		return 0
	case notFound:
		return exitNoSuchUnit
	case verb == "is-active":
		return exitNotRunning
	}
	return 1
}

// isEnabled is is-enabled: each unit file's state, and whether any is
// enabled.
func isEnabled(c *cli, o *systemctlOptions, _ string, names []string) int {
	ctx := context.Background()
	client := o.client()
	names = o.mangle(c, "to check", names)
	// The state of the file of each name, as GetUnitFileState looks it
	// up by name: an alias's is alias, a template's its own.
	files, err := client.UnitFileList(ctx)
	if err != nil {
		return o.failed(c, client, "get unit file state", err)
	}
	byName := map[string]string{}
	for _, f := range files {
		byName[filepath.Base(f.Path)] = f.State
	}
	var rest []string
	for _, n := range names {
		if byName[n] == "" {
			rest = append(rest, n)
		}
	}
	states := map[string]string{}
	if len(rest) > 0 {
		units, err := client.Units(ctx, rest, false)
		if err != nil {
			return o.failed(c, client, "get unit file state", err)
		}
		for i, u := range units {
			states[rest[i]] = u.FileState
		}
	}
	enabled, notFound := false, true
	for _, n := range names {
		state := byName[n]
		if state == "" {
			state = states[n]
		}
		if state == "" {
			state = "not-found"
		} else {
			notFound = false
		}
		if !o.quiet {
			fmt.Fprintln(c.stdout, state)
		}
		switch state {
		case "enabled", "enabled-runtime", "static", "alias", "indirect", "generated":
			enabled = true
		}
	}
	switch {
	case enabled:
		return 0
	case notFound:
		return exitNoSuchUnit
	}
	return 1
}

// showVerb is systemctl show: properties, Name=value, one unit after
// another, with a blank line between.
func showVerb(c *cli, o *systemctlOptions, _ string, names []string) int {
	if len(names) == 0 {
		return showManager(c, o)
	}
	units, status, ok := o.namedUnits(c, names, true)
	if !ok {
		return status
	}
	var b strings.Builder
	for i, u := range units {
		if i > 0 && !o.value {
			b.WriteString("\n")
		}
		printProperties(&b, o, u.Properties)
	}
	fmt.Fprint(c.stdout, b.String())
	return 0
}

// printProperties writes properties as bus_message_print_all_properties
// does: those -p names, or "NAME=VALUE" of -p only where it has that
// value (as systemd's shell completion asks for units that can start).
func printProperties(b *strings.Builder, o *systemctlOptions, props []api.Property) {
	for _, p := range props {
		expected, filtered := "", false
		if len(o.properties) > 0 && !slices.Contains(o.properties, p.Name) {
			i := slices.IndexFunc(o.properties, func(f string) bool { return strings.HasPrefix(f, p.Name+"=") })
			if i < 0 {
				continue
			}
			expected, filtered = strings.TrimPrefix(o.properties[i], p.Name+"="), true
		}
		v := propertyText(p)
		// What no printer reads is shown only with
		// BUS_PRINT_PROPERTY_SHOW_EMPTY, and not for a value expected.
		if (v == "" || p.Kind == "unprintable") && !o.all && len(o.properties) == 0 || p.Kind == "unprintable" && filtered {
			continue
		}
		if filtered && v != expected {
			continue
		}
		if o.value {
			b.WriteString(v + "\n")
		} else {
			b.WriteString(p.Name + "=" + v + "\n")
		}
	}
}

// propertyText is a property's value as systemctl show prints it.
func propertyText(p api.Property) string {
	us := func(s string) uint64 {
		n, _ := strconv.ParseUint(s, 10, 64)
		return n
	}
	stamp := func(s string) string {
		if n := us(s); n > 0 {
			return timespan.FormatTimestamp(at(n), timespan.Pretty)
		}
		return ""
	}
	span := func(s string) string {
		if s == "infinity" {
			return s
		}
		return timespan.Span(us(s)).Format(0)
	}
	switch p.Kind {
	case "unprintable":
		return "[unprintable]"
	case "timestamp":
		return stamp(p.Value)
	case "timespan":
		return span(p.Value)
	case "calendar", "monotonic":
		f := strings.SplitN(p.Value, "\t", 3)
		if len(f) != 3 {
			return p.Value
		}
		if p.Kind == "calendar" {
			next := stamp(f[2])
			if next == "" {
				next = "n/a"
			}
			return fmt.Sprintf("{ %s=%s ; next_elapse=%s }", f[0], f[1], next)
		}
		return fmt.Sprintf("{ %s=%s ; next_elapse=%s }", f[0], span(f[1]), span(f[2]))
	}
	return p.Value
}

// catVerb is systemctl cat: each unit's files, each after a comment
// naming it.
func catVerb(c *cli, o *systemctlOptions, _ string, names []string) int {
	ctx := context.Background()
	client := o.client()
	names, err := expand(ctx, client, o.mangle(c, "", names))
	if err != nil {
		return o.failed(c, client, "list units", err)
	}
	status := 0
	first := true
	for _, name := range names {
		files, err := client.UnitFiles(ctx, name)
		if err != nil {
			return o.failed(c, client, "read unit files", err)
		}
		if len(files) == 0 {
			c.errorf("No files found for %s.", name)
			status = 1
			continue
		}
		for _, f := range files {
			if !first {
				fmt.Fprintln(c.stdout)
			}
			first = false
			text := f[1]
			if text != "" && !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			fmt.Fprintf(c.stdout, "# %s\n%s", f[0], text)
		}
	}
	return status
}

// listUnits is systemctl list-units: the units in memory that are
// active, failed or busy (all with --all), as a table with its legend.
func listUnits(c *cli, o *systemctlOptions, _ string, patterns []string) int {
	client := o.client()
	units, err := client.Units(context.Background(), nil, false)
	if err != nil {
		return o.failed(c, client, "list units", err)
	}
	units = slices.DeleteFunc(units, func(u api.Unit) bool {
		if len(o.types) > 0 && !slices.Contains(o.types, strings.TrimPrefix(path.Ext(u.Name), ".")) {
			return true
		}
		if len(o.states) > 0 && !slices.Contains(o.states, u.Load) && !slices.Contains(o.states, u.Active) && !slices.Contains(o.states, u.Sub) {
			return true
		}
		if len(patterns) > 0 && !slices.ContainsFunc(patterns, func(p string) bool { ok, _ := path.Match(p, u.Name); return ok }) {
			return true
		}
		// As output_show_unit: --state= or --all shows the inactive.
		return len(o.states) == 0 && !o.all && u.Active == "inactive"
	})
	// By type, then by name, as systemctl sorts them: on keys made once,
	// the type and the name apart by a byte that sorts before any.
	keys := make(map[string]string, len(units))
	for _, u := range units {
		keys[u.Name] = strings.ToLower(path.Ext(u.Name)) + "\x00" + strings.ToLower(u.Name)
	}
	slices.SortStableFunc(units, func(a, b api.Unit) int { return strings.Compare(keys[a.Name], keys[b.Name]) })
	rows := [][]string{{"", "UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"}}
	for _, u := range units {
		dot := " "
		if u.Active == "failed" || u.Load != "loaded" {
			dot = glyph("active") // the black circle, red on a terminal
		}
		// As unit_description: the name where there is no Description=.
		desc := cmp.Or(u.Description, u.Name)
		rows = append(rows, []string{dot, u.Name, u.Load, u.Active, u.Sub, desc})
	}
	if o.plain {
		// --plain hides the column of the circles.
		for i := range rows {
			rows[i] = rows[i][1:]
		}
	}
	if !o.legend {
		rows = rows[1:]
	}
	if len(rows) > 0 {
		writeTable(c, rows, nil)
	}
	if !o.legend {
		return 0
	}
	if len(units) > 0 {
		fmt.Fprint(c.stdout, "\nLOAD   = Reflects whether the unit definition was properly loaded.\n"+
			"ACTIVE = The high-level unit activation state, i.e. generalization of SUB.\n"+
			"SUB    = The low-level unit activation state, values depend on unit type.\n")
	}
	switch {
	case o.all || slices.Contains(o.states, "inactive"):
		fmt.Fprintf(c.stdout, "%d loaded units listed.\nTo show all installed unit files use 'systemctl list-unit-files'.\n", len(units))
	case len(o.states) == 0:
		fmt.Fprintf(c.stdout, "%d loaded units listed. Pass --all to see loaded but inactive units, too.\n"+
			"To show all installed unit files use 'systemctl list-unit-files'.\n", len(units))
	default:
		fmt.Fprintf(c.stdout, "%d loaded units listed.\n", len(units))
	}
	return 0
}
