package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"sundial.dev/sundial/internal/api"
)

// daemonOptions are the options every command that asks the daemon has:
// --help, --version, and which daemon, --system or --user.
type daemonOptions struct {
	usage string
	user  bool
}

func (d *daemonOptions) declare(fs *pflag.FlagSet) {
	switchOption(fs, "help", "h")
	switchOption(fs, "version", "")
	switchOption(fs, "system", "")
	switchOption(fs, "user", "")
}

// option handles one of them, and reports whether it was one.
func (d *daemonOptions) option(c *cli, name string) (bool, error) {
	switch name {
	case "help":
		fmt.Fprintf(c.stdout, d.usage, c.prog)
		return true, errDone
	case "version":
		printVersion(c)
		return true, errDone
	case "system":
		d.user = false
	case "user":
		d.user = true
	default:
		return false, nil
	}
	return true, nil
}

func (d *daemonOptions) client() *api.Client { return &api.Client{Socket: api.SocketPath(d.user)} }

// failed reports a request that failed and returns the exit status.
func (d *daemonOptions) failed(c *cli, client *api.Client, what string, err error) int {
	if errors.Is(err, api.ErrNoDaemon) {
		c.errorf("Failed to connect to the sundial daemon at %s: no daemon listens there.", client.Socket)
	} else {
		c.errorf("Failed to %s: %v", what, err)
	}
	return 1
}
