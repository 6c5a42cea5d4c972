package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// A cli carries what every verb needs: the names it was invoked as, its
// usage text, and the streams it writes to.
type cli struct {
	// prog is the name in usage texts and hints, the base name of argv[0]
	// as systemd's tools print program_invocation_short_name.
	prog string
	// argv0 is argv[0] as given; getopt's messages begin with it.
	argv0 string
	// usage is printed by -h, --help and the help verb; %s is prog.
	usage string
	// systemd is set when invoked as systemd-analyze: the messages about
	// verbs are then systemd's own.
	systemd bool

	stdout, stderr io.Writer
}

// errorf prints a message to standard error, as systemd's tools log errors
// to the console: the text alone, one line.
func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, format+"\n", args...)
}

// noArgument is what pflag hands over for an option given without an
// argument. No argument on a command line can contain a NUL byte, so it
// tells "--help" from "--help=…", which getopt refuses.
const noArgument = "\x00"

// flags returns a flag set that parses GNU-style options and leaves the
// reporting of errors to parse. Options and operands may be mixed, as
// systemd-analyze's getopt_long permutes them; optionArgs assumes so.
func (c *cli) flags() *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// switchOption declares an option that takes no argument; short may be "".
func switchOption(fs *pflag.FlagSet, name, short string) {
	fs.StringP(name, short, "", "")
	fs.Lookup(name).NoOptDefVal = noArgument
}

// optionalOption declares an option whose argument is optional, as
// "--man[=BOOL]": set sees noArgument when it is left out.
func optionalOption(fs *pflag.FlagSet, name string) {
	fs.String(name, "", "")
	fs.Lookup(name).NoOptDefVal = optionalNoArgument
}

// optionalNoArgument marks an optional argument left out, for parse to
// hand over as noArgument.
const optionalNoArgument = "\x00\x00"

// errDone stops the parsing of options without an error: an option such as
// --help has done all there was to do.
var errDone = errors.New("done")

// A usageError is a message about an option's value, printed as it is.
type usageError string

func (e usageError) Error() string { return string(e) }

// parse parses args as getopt_long does for systemd's tools: set is called
// for each option in the order given, with noArgument for an option given
// without one, and the first error stops the parsing, as systemd's
// parse_argv returns at once. set returns errDone when the option has done
// its work (--help), or a usageError, which is printed as it is.
//
// It returns whether the command should go on, and if not, its exit status.
func (c *cli) parse(fs *pflag.FlagSet, args []string, set func(name, value string) error) (ok bool, status int) {
	if i, j, found := gotestCluster(fs, args); found {
		// pflag would pass over the rest of this cluster as one of Go's
		// test flags; getopt finds 't' invalid. Parse what comes before.
		head := slices.Clip(args[:i])
		if j > 1 {
			head = append(head, args[i][:j])
		}
		if ok, status := c.parse(fs, head, set); !ok {
			return ok, status
		}
		c.errorf("%s: invalid option -- 't'", c.argv0)
		return false, 1
	}
	err := fs.ParseAll(args, func(f *pflag.Flag, value string) error {
		if f.NoOptDefVal == noArgument && value != noArgument {
			return usageError(fmt.Sprintf("%s: option '--%s' doesn't allow an argument", c.argv0, f.Name))
		}
		if value == optionalNoArgument {
			value = noArgument
		}
		return set(f.Name, value)
	})
	if err == nil {
		return true, 0
	}
	if errors.Is(err, errDone) {
		return false, 0
	}
	if uerr, ok := errors.AsType[usageError](err); ok {
		c.errorf("%s", uerr)
	} else {
		c.errorf("%s", getoptMessage(c.argv0, fs, args, err))
	}
	return false, 1
}

// getoptMessage rewords pflag's errors as glibc's getopt prints them.
func getoptMessage(argv0 string, fs *pflag.FlagSet, args []string, err error) string {
	if e, ok := errors.AsType[*pflag.NotExistError](err); ok {
		if shorts := e.GetSpecifiedShortnames(); shorts != "" {
			// getopt names the byte, not a rune: "-é" is two options.
			return fmt.Sprintf("%s: invalid option -- '%s'", argv0, shorts[:1])
		}
		return fmt.Sprintf("%s: unrecognized option '%s'", argv0, longOption(fs, args, e.GetSpecifiedName()))
	}
	if e, ok := errors.AsType[*pflag.ValueRequiredError](err); ok {
		if e.GetSpecifiedShortnames() != "" {
			return fmt.Sprintf("%s: option requires an argument -- '%s'", argv0, e.GetSpecifiedName())
		}
		return fmt.Sprintf("%s: option '--%s' requires an argument", argv0, e.GetSpecifiedName())
	}
	if e, ok := errors.AsType[*pflag.InvalidSyntaxError](err); ok {
		// "---x": getopt looks for a long option named "-x".
		return fmt.Sprintf("%s: unrecognized option '%s'", argv0, e.GetSpecifiedFlag())
	}
	return fmt.Sprintf("%s: %v", argv0, err)
}

// longOption returns the argument that gave the unknown long option name,
// "--name" or "--name=value", as getopt quotes it whole.
func longOption(fs *pflag.FlagSet, args []string, name string) string {
	for _, i := range optionArgs(fs, args) {
		if a := args[i]; a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			return a
		}
	}
	return "--" + name
}

// gotestCluster finds the first option argument in which pflag would take
// what follows the known short options for a Go test flag ("-test.v"), and
// returns the index of the argument and of the "t" in it.
func gotestCluster(fs *pflag.FlagSet, args []string) (i, j int, found bool) {
	for _, i := range optionArgs(fs, args) {
		a := args[i]
		if strings.HasPrefix(a, "--") {
			continue
		}
		for j := 1; j < len(a); j++ {
			if strings.HasPrefix(a[j:], "test.") {
				return i, j, true
			}
			if f := fs.ShorthandLookup(a[j : j+1]); f == nil || f.NoOptDefVal == "" {
				break // an error, or an option whose argument is the rest
			}
		}
	}
	return 0, 0, false
}

// optionArgs returns the indexes of the arguments that getopt reads as
// options: those before "--" that begin with "-" (but are not "-"), less
// the arguments of the options before them.
func optionArgs(fs *pflag.FlagSet, args []string) []int {
	var opts []int
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue // an operand
		}
		opts = append(opts, i)
		if takesNext(fs, a) {
			i++
		}
	}
	return opts
}

// takesNext reports whether an option argument takes the argument after
// it as its value: "--name value", "-x value" (also at the end of a
// cluster, "-abx value"), not "--name=value" or "-xvalue".
func takesNext(fs *pflag.FlagSet, a string) bool {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		f := fs.Lookup(name)
		return f != nil && f.NoOptDefVal == ""
	}
	for j := 1; j < len(a); j++ {
		f := fs.ShorthandLookup(a[j : j+1])
		if f == nil {
			return false
		}
		if f.NoOptDefVal == "" {
			return j == len(a)-1
		}
	}
	return false
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
