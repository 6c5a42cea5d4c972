package main

import (
	"fmt"
	"regexp"
	"strings"
)

//go:generate sh -c "go run . man >../../docs/sundial.1"

// manDifferences is what the manual says of where sundial is not
// systemd, one paragraph each.
var manDifferences = []string{
	`There is no D-Bus and no PID 1: the commands speak to the sundial daemon over its socket, $XDG_RUNTIME_DIR/sundial/control for --user and /run/sundial/control for the system. Without a daemon, systemctl says so and fails; is-system-running says "offline".`,
	`Only timers, services and targets are run. Units of other types are loaded, and shown, but not started.`,
	`Control groups are had only where the daemon may write to a cgroup v2 hierarchy (as root, its /sundial group; --user, its own group where delegated): each service then runs in a group of its own, which its stop empties, and MemoryMax=, MemoryHigh=, CPUQuota=, CPUWeight=, TasksMax= and IOWeight= are set where their controller is there. Elsewhere a service's processes are its process groups and, on Linux, the processes that carry its INVOCATION_ID. The settings that cannot be honoured where the daemon runs are named when it loads a unit that has them.`,
	`The journal is the daemon's own, in its database beside the timers' stamps and the run history, not journald's: journalctl shows what the daemon and its services logged, and nothing else.`,
	`The run history (sundial history) is sundial's own: systemd keeps none.`,
	`On a node of a cluster, the commands show the cluster: sundial history the runs of every node, with a NODE column; systemctl list-timers and status a cluster timer's last trigger and next elapse as the cluster has them, and status its last run, on whichever node, in a line of sundial's own ("Last run: on b, ..."); journalctl the lines of every live node, merged by time, with the node's name where the host goes.`,
	`The systemctl verbs sundial does not have (isolate, set-property, preset, and the verbs of the system's power state, among others) are refused as unknown. Presets are read only for the PRESET column of list-unit-files.`,
	`daemon --unit-path=DIR replaces the search path, as SYSTEMD_UNIT_PATH=DIR does; --unit-path=DIR: (with a colon at the end) puts DIR before it, as SYSTEMD_UNIT_PATH=DIR: does. Either way the daemon's built-in targets come last.`,
}

// manPage is sundial(1) in roff, made from the same text as --help:
// the usage of sundial, of the daemon and of its systemctl verbs, then
// where sundial differs from systemd.
func manPage() string {
	var b strings.Builder
	b.WriteString(`.\" Made by "sundial man" from the help texts; do not edit.
.TH SUNDIAL 1 "" "sundial" "User Commands"
.SH NAME
sundial \- systemd's timers, anywhere
.SH SYNOPSIS
.B sundial
[\fIOPTIONS\fR...] \fICOMMAND\fR ...
.br
.B systemctl
|
.B journalctl
|
.B systemd-run
|
.B systemd-analyze
[\fIOPTIONS\fR...] ...
.SH DESCRIPTION
sundial reads systemd's time language and unit files as systemd 254 does,
and its daemon runs timers and their services on systemd's schedule.
Invoked through a link named systemctl, journalctl, systemd-run or
systemd-analyze, or with that name as its first word, it is that tool,
with its options, output, messages and exit statuses.
`)
	b.WriteString(".SH COMMANDS\n")
	usageRoff(&b, sundialUsage)
	b.WriteString(".SH DAEMON\n")
	usageRoff(&b, daemonUsage)
	b.WriteString(".SH SYSTEMCTL\n")
	usageRoff(&b, systemctlUsage)
	b.WriteString(".SH DIFFERENCES FROM SYSTEMD\n")
	for _, d := range manDifferences {
		b.WriteString(".PP\n" + roffText(d) + "\n")
	}
	b.WriteString(`.SH FILES
.TP
$XDG_STATE_HOME/sundial/sundial.db, /var/lib/sundial/sundial.db
The timers' stamps, the run history and the journal.
.TP
$XDG_RUNTIME_DIR/sundial/control, /run/sundial/control
The daemon's socket.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1),
.BR systemd-run (1),
.BR systemd-analyze (1),
.BR systemd.timer (5),
.BR systemd.time (7)
`)
	return b.String()
}

// usageEntry is a line of a usage text that names a verb or an option:
// two spaces, the term, and after two spaces more its description.
var usageEntry = regexp.MustCompile(`^ +(\S.*?)(?:  +(\S.*))?$`)

// usageRoff writes a usage text as roff: its headings ("Options:") as
// subsections, each verb or option as a tagged paragraph, the lines
// that go on a description joined to it. The first line, the synopsis,
// and the text between the sections are paragraphs.
func usageRoff(b *strings.Builder, usage string) {
	lines := strings.Split(strings.TrimSpace(fmt.Sprintf(usage, "sundial")), "\n")
	var term, desc, para []string
	flush := func() {
		if len(term) > 0 {
			fmt.Fprintf(b, ".TP\n.B %s\n%s\n", roffText(strings.Join(term, " ")), roffText(strings.Join(desc, " ")))
		}
		if len(para) > 0 {
			fmt.Fprintf(b, ".PP\n%s\n", roffText(strings.Join(para, " ")))
		}
		term, desc, para = nil, nil, nil
	}
	for _, l := range lines[1:] {
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case !strings.HasPrefix(l, " ") && strings.HasSuffix(l, ":"):
			flush()
			fmt.Fprintf(b, ".SS %s\n", roffText(strings.TrimSuffix(l, ":")))
		case !strings.HasPrefix(l, " "):
			if len(para) == 0 {
				flush()
			}
			para = append(para, l)
		case strings.HasPrefix(l, "   ") && strings.TrimSpace(l) != "" && len(l)-len(strings.TrimLeft(l, " ")) > 20:
			// A description going on, or one below a long term.
			desc = append(desc, strings.TrimSpace(l))
		default:
			if len(desc) > 0 || len(term) == 0 {
				flush()
			}
			m := usageEntry.FindStringSubmatch(l)
			t, d := strings.TrimSpace(m[1]), m[2]
			if d == "" && strings.HasPrefix(t, "-") {
				// An option too long for its column: one space before
				// its description.
				f := strings.Fields(t)
				i := 0
				for i < len(f) && strings.HasPrefix(f[i], "-") {
					i++
				}
				t, d = strings.Join(f[:i], " "), strings.Join(f[i:], " ")
			}
			term = append(term, t)
			if d != "" {
				desc = append(desc, d)
			}
		}
	}
	flush()
}

// roffText escapes text for roff: backslashes, and a dot or quote that
// would begin a line as a request.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
