package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

const sundialUsage = `%s [OPTIONS...] COMMAND ...

Run systemd timers anywhere.

Time language:
  calendar SPEC...           Show the normalized form and next elapses of
                             calendar events
  timestamp TIMESTAMP...     Show how a timestamp is read
  timespan SPAN...           Show how a time span is read
` + analyzeOptions + `
sundial also answers to the name systemd-analyze, when invoked through a
link of that name.
`

// sundialMain is the sundial command itself.
func sundialMain(c *cli, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, sundialUsage, c.prog)
		return 1
	}
	switch args[0] {
	case "help":
		fmt.Fprintf(c.stdout, sundialUsage, c.prog)
		return 0
	case "calendar", "timestamp", "timespan":
		return analyzeMain(c, args, sundialUsage)
	}
	if strings.HasPrefix(args[0], "-") {
		return analyzeMain(c, args, sundialUsage)
	}
	c.errorf("%s: unknown command %q; see '%s --help'", c.prog, args[0], c.prog)
	return 1
}

func printVersion(c *cli) {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(c.stdout, "sundial %s\n", v)
}
