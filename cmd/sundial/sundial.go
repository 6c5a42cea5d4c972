package main

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
)

const sundialUsage = `%s [OPTIONS...] COMMAND ...

Run systemd timers anywhere.

Time language:
  calendar SPEC...           Show the normalized form and next elapses of
                             calendar events
  timestamp TIMESTAMP...     Show how a timestamp is read
  timespan SPAN...           Show how a time span is read

Unit files:
  verify FILE...             Check unit files as systemd reads them
  condition CONDITION...     Test conditions and asserts on this machine

Timers:
  simulate TIMER-FILE...     Show when timers would elapse, on a
                             simulated clock (see simulate --help)
  daemon                     Run the enabled timers and their services
                             (see daemon --help)
  list-timers [PATTERN...]   List the daemon's timers, as systemctl does
  journal [-u UNIT...]       Show the daemon's journal, as journalctl does
  history [UNIT]             List the past runs, with why and how they ended
  cluster status             Show the daemon's cluster, its members and
                             its leader
  run COMMAND [ARGS...]      Run a command in a transient service, or on a
                             transient timer, as systemd-run does

  help                       Show this help
` + analyzeOptions + `
sundial also answers to the names systemd-analyze, systemctl, journalctl
and systemd-run, when invoked through a link of that name.
`

// sundialMain is the sundial command itself: simulate and daemon, with
// their own options, and systemd-analyze's verbs, with theirs.
func sundialMain(c *cli, args []string) int {
	for i, a := range args {
		if a == "--" || strings.HasPrefix(a, "-") {
			continue
		}
		switch a {
		case "simulate":
			return simulateMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		case "daemon":
			return daemonMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		case "list-timers":
			return systemctlMain(c, args)
		case "journal":
			return journalctlMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		case "history":
			return historyMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		case "cluster":
			return clusterMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		case "run":
			c.prog = "sundial run"
			return runMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		}
		break
	}
	return analyzeMain(c, args)
}

func printVersion(c *cli) {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(c.stdout, "sundial %s\n", v)
}
