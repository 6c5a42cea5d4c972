package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// showManager is systemctl show without a unit: the manager's
// properties.
func showManager(c *cli, o *systemctlOptions) int {
	client := o.client()
	props, err := client.ManagerProperties(context.Background())
	if err != nil {
		return o.failed(c, client, "get properties", err)
	}
	var b strings.Builder
	printProperties(&b, o, props)
	fmt.Fprint(c.stdout, b.String())
	return 0
}

// managerProperty returns one of the manager's properties.
func managerProperty(client *api.Client, name string) (string, error) {
	props, err := client.ManagerProperties(context.Background())
	if err != nil {
		return "", err
	}
	for _, p := range props {
		if p.Name == name {
			return p.Value, nil
		}
	}
	return "", fmt.Errorf("the daemon has no property %s", name)
}

// isSystemRunning is systemctl is-system-running, as
// verb_is_system_running: the state, and success only for "running";
// "offline" where no daemon runs, as where systemd has not booted.
func isSystemRunning(c *cli, o *systemctlOptions, _ string, _ []string) int {
	client := o.client()
	state, err := managerProperty(client, "SystemState")
	switch {
	case errors.Is(err, api.ErrNoDaemon):
		state = "offline"
	case err != nil:
		c.errorf("Failed to query system state: %v", err)
		state = "unknown"
	}
	if !o.quiet {
		fmt.Fprintln(c.stdout, state)
	}
	if state != "running" {
		return 1
	}
	return 0
}

// showEnvironment is systemctl show-environment: the manager's
// environment, each value quoted as print_variable does.
func showEnvironment(c *cli, o *systemctlOptions, _ string, _ []string) int {
	client := o.client()
	props, err := client.ManagerProperties(context.Background())
	if err != nil {
		return o.failed(c, client, "get environment", err)
	}
	var env []string
	for _, p := range props {
		if p.Name == "Environment" {
			env, err = unit.SplitQuoted(p.Value)
			if err != nil {
				return o.failed(c, client, "get environment", err)
			}
		}
	}
	for _, v := range env {
		name, value, _ := strings.Cut(v, "=")
		fmt.Fprintf(c.stdout, "%s=%s\n", name, quotePOSIX(value))
	}
	return 0
}

// quotePOSIX is shell_maybe_quote with SHELL_ESCAPE_POSIX: the value as
// it is where a shell takes it so, else in $'…' from its first character
// that needs quoting on.
func quotePOSIX(s string) string {
	const needQuotes = " \t\n\r\"\\`$*?['()<>|&;!"
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if s[i] < ' ' || s[i] == 0x7f || r == utf8.RuneError && n <= 1 || strings.IndexByte(needQuotes, s[i]) >= 0 {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString("$'" + s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case c < ' ' || c == 0x7f || r == utf8.RuneError && n <= 1:
			b.WriteString(cEscape(c))
			n = 1
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('\'')
	return b.String()
}

// cEscape is systemd's cescape_char.
func cEscape(c byte) string {
	if i := strings.IndexByte("\a\b\f\n\r\t\v\\\"'", c); i >= 0 {
		return `\` + "abfnrtv\\\"'"[i:i+1]
	}
	return fmt.Sprintf(`\%03o`, c)
}

// setEnvironment is systemctl set-environment and unset-environment.
func setEnvironment(c *cli, o *systemctlOptions, verb string, args []string) int {
	client := o.client()
	var err error
	if verb == "set-environment" {
		err = client.SetEnvironment(context.Background(), args, nil)
	} else {
		err = client.SetEnvironment(context.Background(), nil, args)
	}
	if err != nil {
		return o.failed(c, client, "set environment", err)
	}
	return 0
}

// importEnvironment is systemctl import-environment: the variables
// named, from systemctl's own environment, as verb_import_environment.
func importEnvironment(c *cli, o *systemctlOptions, _ string, names []string) int {
	var set []string
	if len(names) == 0 {
		c.errorf("Calling import-environment without a list of variable names is deprecated.")
		for _, v := range os.Environ() {
			if unit.ValidEnvAssignment(v) {
				set = append(set, v)
			}
		}
	}
	for _, n := range names {
		if !unit.ValidEnvAssignment(n+"=") || strings.Contains(n, "=") {
			c.errorf("Not a valid environment variable name: %s", n)
			return 1
		}
		if v, ok := os.LookupEnv(n); ok {
			set = append(set, n+"="+v)
		} else {
			c.errorf("Environment variable $%s not set, ignoring.", n)
		}
	}
	client := o.client()
	if err := client.SetEnvironment(context.Background(), set, nil); err != nil {
		return o.failed(c, client, "import environment", err)
	}
	return 0
}
