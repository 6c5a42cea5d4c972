package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/timespan"
)

const systemctlUsage = `%s [OPTIONS...] COMMAND ...

Query the sundial daemon.

Unit Commands:
  list-timers [PATTERN...]   List timers currently in memory, ordered by
                             next elapse

Options:
  -h --help                  Show this help
     --version               Show package version
     --system                Connect to the system's daemon (default)
     --user                  Connect to the user's daemon
  -a --all                   Show all timers, including inactive ones
     --no-legend             Do not print the header and footer
     --no-pager              Accepted for compatibility; there is no pager
`

// systemctlMain is systemctl: options, then a verb and its operands.
func systemctlMain(c *cli, args []string) int {
	fs := c.flags()
	d := &daemonOptions{usage: systemctlUsage}
	d.declare(fs)
	switchOption(fs, "all", "a")
	switchOption(fs, "no-legend", "")
	switchOption(fs, "no-pager", "")
	all, legend := false, true
	ok, status := c.parse(fs, args, func(name, value string) error {
		if done, err := d.option(c, name); done {
			return err
		}
		switch name {
		case "all":
			all = true
		case "no-legend":
			legend = false
		}
		return nil
	})
	if !ok {
		return status
	}
	verbs := fs.Args()
	if len(verbs) == 0 {
		verbs = []string{"list-units"}
	}
	switch verbs[0] {
	case "list-timers":
		return listTimers(c, d, verbs[1:], all, legend)
	}
	c.errorf("Unknown command verb '%s'.", verbs[0])
	return 1
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
