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
  cluster status             Show the daemon's cluster, its members, its
                             nodes and its leader
  run COMMAND [ARGS...]      Run a command in a transient service, or on a
                             transient timer, as systemd-run does

The daemon's units, as systemctl's verbs (see systemctl --help):
  status [PATTERN...]        Show the units' state and their last lines
  start, stop, restart, try-restart, reload, reload-or-restart, kill,
  clean, reset-failed UNIT...
                             Act on units, as systemctl does
  list-units, list-unit-files, list-dependencies, is-active, is-failed,
  is-enabled, show, cat, edit, enable, disable, reenable, mask, unmask,
  link, revert, daemon-reload, is-system-running, show-environment,
  set-environment, unset-environment, import-environment
                             The other verbs of systemctl that sundial has

As systemd's tools:
  systemctl ARGS...          The daemon's units, as systemctl
  journalctl ARGS...         The daemon's journal, as journalctl
  systemd-run ARGS...        Transient units, as systemd-run
  systemd-analyze ARGS...    The time language and unit files, as
                             systemd-analyze

  man                        Show the manual page sundial(1), in roff
  help                       Show this help
` + analyzeOptions + `
sundial also answers to the names systemd-analyze, systemctl, journalctl
and systemd-run, when invoked through a link of that name, or when that
name is the first word: "sundial systemctl --user status", or
"sundial status".
`

// A personality is one of systemd's tools that sundial stands in for.
type personality struct {
	usage string
	main  func(c *cli, args []string) int
}

// personalities are the tools by name, as the link to sundial or the
// first word of its command line names them.
var personalities = map[string]personality{
	"systemd-analyze": {analyzeUsage, analyzeMain},
	"systemctl":       {systemctlUsage, systemctlMain},
	"journalctl":      {journalctlUsage, journalctlMain},
	"systemd-run":     {runUsage, runMain},
}

// runAs runs args as the tool of that name, if there is one.
func runAs(c *cli, name string, args []string) (status int, ok bool) {
	p, ok := personalities[name]
	if !ok {
		return 0, false
	}
	c.prog, c.usage, c.systemd = name, p.usage, true
	return p.main(c, args), true
}

// sundialMain is the sundial command itself: simulate and daemon, with
// their own options, systemd-analyze's verbs, with theirs, and the
// tools it stands in for, by name or by systemctl's verbs.
func sundialMain(c *cli, args []string) int {
	for i, a := range args {
		if a == "--" || strings.HasPrefix(a, "-") {
			continue
		}
		rest := append(slices.Clip(args[:i]), args[i+1:]...)
		if status, ok := runAs(c, a, rest); ok {
			return status
		}
		if _, ok := systemctlVerbs[a]; ok {
			return systemctlMain(c, args)
		}
		switch a {
		case "man":
			fmt.Fprint(c.stdout, manPage())
			return 0
		case "simulate":
			return simulateMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
		case "daemon":
			return daemonMain(c, append(slices.Clip(args[:i]), args[i+1:]...))
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
	fmt.Fprintf(c.stdout, "sundial %s\n", version())
}

// version is the module's version, "(devel)" when it has none.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
