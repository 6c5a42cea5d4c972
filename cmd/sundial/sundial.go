package main

import (
	"fmt"
	"runtime/debug"
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

  help                       Show this help
` + analyzeOptions + `
sundial also answers to the name systemd-analyze, when invoked through a
link of that name.
`

// sundialMain is the sundial command itself. Its only verbs so far are
// systemd-analyze's, with its options.
func sundialMain(c *cli, args []string) int {
	return analyzeMain(c, args)
}

func printVersion(c *cli) {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(c.stdout, "sundial %s\n", v)
}
