// Command sundial runs systemd timers anywhere. It also answers to the names
// of the systemd tools it stands in for (systemd-analyze) when invoked
// through a symbolic link of that name.
package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sundial.dev/sundial/timespan"
)

func main() {
	// Read TZ as the C library does, so that times print as systemd's
	// tools print them: POSIX rules and unknown names included.
	if tz, ok := os.LookupEnv("TZ"); ok {
		time.Local = timespan.LocationFromTZ(tz)
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run dispatches on the name the program was invoked as, then on the verb.
func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{argv0: args[0], stdout: stdout, stderr: stderr}
	if status, ok := runAs(c, strings.TrimSuffix(filepath.Base(args[0]), ".exe"), args[1:]); ok {
		return status
	}
	c.prog, c.usage = "sundial", sundialUsage
	return sundialMain(c, args[1:])
}
