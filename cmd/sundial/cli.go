package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// A cli carries what every verb needs: the name it was invoked as, for
// messages, and the streams it writes to.
type cli struct {
	prog           string
	stdout, stderr io.Writer
}

// errorf prints a message to standard error, as systemd's tools log errors
// to the console: the text alone, one line.
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, format+"\n", args...)
}

// flags returns a flag set that parses GNU-style options and reports errors
// itself, in getopt's words.
func (c *cli) flags(interspersed bool) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(interspersed)
	fs.Usage = func() {}
	return fs
}

// parse parses args, printing getopt's message on failure. It returns false
// if the program should exit with status 1.
func (c *cli) parse(fs *pflag.FlagSet, args []string) bool {
	err := fs.Parse(args)
	if err == nil {
		return true
	}
	c.errorf("%s", getoptMessage(c.prog, err))
	return false
}

// getoptMessage rewords pflag's errors as glibc's getopt prints them.
func getoptMessage(prog string, err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unknown flag: "):
		return fmt.Sprintf("%s: unrecognized option '%s'", prog, strings.TrimPrefix(msg, "unknown flag: "))
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// "unknown shorthand flag: 'x' in -xyz"
		rest := strings.TrimPrefix(msg, "unknown shorthand flag: ")
		if i := strings.Index(rest, " in "); i >= 0 {
			rest = rest[:i]
		}
		return fmt.Sprintf("%s: invalid option -- %s", prog, rest)
	case strings.HasPrefix(msg, "flag needs an argument: "):
		opt := strings.TrimPrefix(msg, "flag needs an argument: ")
		if strings.HasPrefix(opt, "'") {
			// A short option: "'x' in -x".
			if i := strings.Index(opt, " in "); i >= 0 {
				opt = opt[:i]
			}
			return fmt.Sprintf("%s: option requires an argument -- %s", prog, opt)
		}
		return fmt.Sprintf("%s: option '%s' requires an argument", prog, opt)
	}
	return fmt.Sprintf("%s: %s", prog, msg)
}

// testOnlyNow, when set by the test binary, replaces the clock so that
// relative times ("3h left") are reproducible.
var testOnlyNow func() time.Time

func now() time.Time {
	if testOnlyNow != nil {
		return testOnlyNow().In(time.Local)
	}
	return time.Now()
}
