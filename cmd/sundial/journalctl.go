package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/timespan"
)

const journalctlUsage = `%s [OPTIONS...]

Show the journal of the sundial daemon's units.

Options:
  -h --help                  Show this help
     --version               Show package version
     --system                Ask the system's daemon (default)
     --user                  Ask the user's daemon
  -u --unit=UNIT             Show entries of the unit (may be repeated)
  -n --lines[=INTEGER]       Number of journal entries to show (default: 10)
  -S --since=DATE            Show entries not older than the date
  -U --until=DATE            Show entries not newer than the date
  -b --boot                  Show entries of the current boot only
  -f --follow                Follow the journal
  -o --output=STRING         Change journal output mode (short,
                             short-precise, short-iso, cat, json)
     --no-pager              Accepted for compatibility; there is no pager
`

func journalctlMain(c *cli, args []string) int {
	fs := c.flags()
	d := &daemonOptions{usage: journalctlUsage}
	d.declare(fs)
	fs.StringArrayP("unit", "u", nil, "")
	fs.StringP("lines", "n", "", "")
	fs.Lookup("lines").NoOptDefVal = optionalNoArgument
	fs.StringP("since", "S", "", "")
	fs.StringP("until", "U", "", "")
	switchOption(fs, "boot", "b")
	switchOption(fs, "follow", "f")
	fs.StringP("output", "o", "", "")
	switchOption(fs, "no-pager", "")
	boot, follow, linesSet := false, false, false
	q := api.JournalQuery{}
	args = linesArgument(args)
	output := "short"
	ok, status := c.parse(fs, args, func(name, value string) error {
		if done, err := d.option(c, name); done {
			return err
		}
		switch name {
		case "unit":
			q.Units = append(q.Units, value)
		case "follow":
			follow = true
		case "lines":
			linesSet = true
			q.Last = 10
			if value != noArgument {
				n, err := strconv.Atoi(value)
				if err != nil || n < 0 {
					return usageError("Failed to parse lines '" + value + "'")
				}
				q.Last = n
			}
		case "since", "until":
			t, err := timespan.ParseTimestamp(value, now())
			if err != nil {
				return usageError(fmt.Sprintf("Failed to parse timestamp: %s", value))
			}
			if name == "since" {
				q.Since = uint64(max(t.UnixMicro(), 1))
			} else {
				q.Until = uint64(max(t.UnixMicro(), 1))
			}
		case "boot":
			boot = true
		case "output":
			switch value {
			case "short", "short-precise", "short-iso", "cat", "json":
				output = value
			default:
				return usageError("Unknown output format '" + value + "'.")
			}
		}
		return nil
	})
	if !ok {
		return status
	}
	if fs.NArg() > 0 {
		c.errorf("Extraneous arguments: %s", strings.Join(fs.Args(), " "))
		return 1
	}
	if boot || follow {
		// -f follows this boot's journal.
		q.Boot = clock.BootID()
	}
	if follow && q.Last == 0 && !linesSet {
		q.Last = 10
	}
	client := d.client()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	entries, err := client.Journal(ctx, q)
	if err != nil {
		return d.failed(c, client, "read the journal", err)
	}
	if !follow {
		printJournal(c, entries, output, true)
		return 0
	}
	// Follows by asking for what came after the last entry shown, as
	// often as journalctl would wake for new entries.
	for {
		printJournal(c, entries, output, false)
		if len(entries) > 0 {
			q.After = entries[len(entries)-1].Cursor
		}
		q.Last = 0
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(followInterval):
		}
		if entries, err = client.Journal(ctx, q); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			return d.failed(c, client, "read the journal", err)
		}
	}
}

// followInterval is how often -f asks for new entries.
const followInterval = 100 * time.Millisecond

// printJournal writes entries as journalctl does in the output mode.
// With none, it says so, if told to.
func printJournal(c *cli, entries []api.Entry, output string, none bool) {
	var b strings.Builder
	if len(entries) == 0 && none && output != "json" && output != "cat" {
		b.WriteString("-- No entries --\n")
	}
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	for i, e := range entries {
		if i > 0 && e.Boot != entries[i-1].Boot && output != "json" && output != "cat" {
			fmt.Fprintf(&b, "-- Boot %s --\n", e.Boot)
		}
		t := time.UnixMicro(int64(e.Realtime)).In(time.Local)
		switch output {
		case "cat":
			b.WriteString(e.Message + "\n")
		case "json":
			j, _ := json.Marshal(map[string]string{
				"__CURSOR": strconv.FormatInt(e.Cursor, 10), "__REALTIME_TIMESTAMP": strconv.FormatUint(e.Realtime, 10),
				"__MONOTONIC_TIMESTAMP": strconv.FormatUint(e.Monotonic, 10), "_BOOT_ID": e.Boot, "_SYSTEMD_UNIT": e.Unit,
				"_SYSTEMD_INVOCATION_ID": e.Invocation, "_PID": strconv.Itoa(e.PID), "SYSLOG_IDENTIFIER": e.Identifier,
				"PRIORITY": strconv.Itoa(e.Priority), "MESSAGE": e.Message, "_HOSTNAME": host,
			})
			b.Write(j)
			b.WriteByte('\n')
		default:
			var stamp string
			switch output {
			case "short-precise":
				stamp = t.Format("Jan 02 15:04:05.000000")
			case "short-iso":
				stamp = isoStamp(t)
			default:
				stamp = t.Format("Jan 02 15:04:05")
			}
			fmt.Fprintf(&b, "%s %s %s[%d]: %s\n", stamp, host, e.Identifier, e.PID, e.Message)
		}
	}
	fmt.Fprint(c.stdout, b.String())
}

// isoStamp is short-iso's time: strftime's %Y-%m-%dT%H:%M:%S%z, with a
// colon put into a "+hhmm" offset, and not into a "-hhmm" one, as
// journalctl does.
func isoStamp(t time.Time) string {
	s := t.Format("2006-01-02T15:04:05-0700")
	if n := len(s); s[n-5] == '+' {
		s = s[:n-2] + ":" + s[n-2:]
	}
	return s
}

// linesArgument joins "-n N" into "--lines=N": journalctl takes the word
// after -n as its argument when it is a number, though the argument is
// optional.
func linesArgument(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "-n" || a == "--lines") && i+1 < len(args) {
			if _, err := strconv.Atoi(args[i+1]); err == nil {
				out = append(out, "--lines="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
