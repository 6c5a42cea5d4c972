package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/timespan"
)

const historyUsage = `%s history [OPTIONS...] [UNIT]

List the past runs of a unit, or of all units: when each started, why,
how long it took and how it ended. The history outlives the daemon:
with no daemon running, it is read from its state directory. On a node
of a cluster, the runs of every node, as the cluster records them, with
this node's own, and the node of each; where etcd does not answer, this
node's, and a line on standard error that says so.

Options:
  -h --help                  Show this help
     --version               Show package version
     --system                Ask the system's daemon (default)
     --user                  Ask the user's daemon
  -D --directory=PATH        Read the history of the state directory PATH
                             when no daemon runs
  -n --lines=N               Show the last N runs (default: 10)
`

func historyMain(c *cli, args []string) int {
	fs := c.flags()
	d := &daemonOptions{usage: historyUsage}
	d.declare(fs)
	fs.StringP("lines", "n", "", "")
	fs.StringP("directory", "D", "", "")
	last, dir := 10, ""
	ok, status := c.parse(fs, args, func(name, value string) error {
		if done, err := d.option(c, name); done {
			return err
		}
		switch name {
		case "directory":
			dir = value
		case "lines":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return usageError("Failed to parse lines '" + value + "'")
			}
			last = n
		}
		return nil
	})
	if !ok {
		return status
	}
	if fs.NArg() > 1 {
		c.errorf("%s history takes at most one unit.", c.prog)
		return 1
	}
	src := newSource(d, dir)
	runs, err := src.Runs(context.Background(), fs.Arg(0), last)
	if err = tellPartial(c, err, nil); err != nil {
		return src.failed(c, "read the run history", err)
	}
	// The node of each run, for a daemon in a cluster, whose runs name
	// theirs.
	nodes := slices.ContainsFunc(runs, func(r api.Run) bool { return r.Node != "" })
	rows := [][]string{{"STARTED", "UNIT", "TRIGGER", "DURATION", "RESULT", "EXIT"}}
	right := map[int]bool{3: true}
	if nodes {
		rows[0] = slices.Insert(rows[0], 2, "NODE")
		right = map[int]bool{4: true}
	}
	for _, r := range runs {
		// Without a timer: manual, restart, OnFailure, OnSuccess.
		trigger := r.Reason
		if r.Timer != "" {
			trigger = r.Timer + " (" + r.Reason + ")"
		}
		duration, result, exit := "-", r.Result, "-"
		switch r.State {
		case "running":
			result = "running"
		case "interrupted", "node-lost":
			// node-lost: a cluster's run whose node ended while it ran.
			result = r.State
		}
		if r.Ended > 0 && r.Ended >= r.Started {
			duration = timespan.Span(r.Ended - r.Started).Format(timespan.Millisecond)
		}
		if r.ExitCode != "" {
			exit = exitText(r.ExitCode, r.ExitStatus)
		}
		started := timespan.FormatTimestamp(time.UnixMicro(int64(r.Started)).In(time.Local), timespan.Pretty)
		row := []string{started, r.Unit, trigger, duration, result, exit}
		if nodes {
			row = slices.Insert(row, 2, r.Node)
		}
		rows = append(rows, row)
	}
	writeTable(c, rows, right)
	fmt.Fprintf(c.stdout, "\n%d runs listed.\n", len(runs))
	return 0
}
