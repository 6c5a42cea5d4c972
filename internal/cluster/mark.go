package cluster

import (
	"fmt"
	"path"
	"strings"

	"sundial.dev/sundial/unit"
)

// MarkSection is the section of a timer's file that makes it a cluster
// timer: an extension, which systemd ignores and verify does not warn
// of, so that the same file serves both.
const MarkSection = "X-Sundial"

// A Mark is what a timer's [X-Sundial] section says of where it runs.
type Mark struct {
	// Cluster is Cluster=yes: each elapse is fired once across the
	// cluster, not on each node.
	Cluster bool
	// Nodes are the Nodes= globs (as path.Match's) of the names of the
	// nodes its service may run on; none for any.
	Nodes []string
}

// ReadMark reads the [X-Sundial] section of a timer's files, with
// systemd's rules for a section of its own: an unknown key, or a value
// that cannot be read, is a warning and ignored; Nodes= adds globs,
// separated by white space, and an empty one drops those before it. A
// cluster timer with OnBootSec= or OnStartupSec=, which have no meaning
// across machines that booted at different times, is an error: the
// diagnostic's severity is unit.Error.
func ReadMark(u *unit.Unit) (Mark, []unit.Diagnostic) {
	var m Mark
	var diags []unit.Diagnostic
	warn := func(a unit.Assignment, format string, args ...any) {
		diags = append(diags, unit.Diagnostic{Pos: a.Pos, Severity: unit.Warning, Msg: fmt.Sprintf(format, args...)})
	}
	last := map[string]unit.Assignment{} // the last of each of [Timer]'s keys
	for _, a := range u.Assignments {
		if a.Section == "Timer" {
			last[a.Key] = a
		}
		if a.Section != MarkSection {
			continue
		}
		switch a.Key {
		case "Cluster":
			v, ok := unit.ParseBoolean(a.Value)
			if !ok {
				warn(a, "Failed to parse boolean value, ignoring: %s", a.Value)
				continue
			}
			m.Cluster = v
		case "Nodes":
			if a.Value == "" {
				m.Nodes = nil
				continue
			}
			for _, g := range strings.Fields(a.Value) {
				if _, err := path.Match(g, ""); err != nil {
					warn(a, "Invalid node name pattern in Nodes=, ignoring: %s", g)
					continue
				}
				m.Nodes = append(m.Nodes, g)
			}
		default:
			warn(a, "Unknown key '%s' in section [%s], ignoring.", a.Key, a.Section)
		}
	}
	if m.Cluster && u.Timer != nil {
		for _, v := range u.Timer.Values {
			if v.Base != unit.OnBoot && v.Base != unit.OnStartup {
				continue
			}
			diags = append(diags, unit.Diagnostic{Pos: last[v.Base.String()].Pos, Severity: unit.Error,
				Msg: fmt.Sprintf("%s= has no meaning for a cluster timer (Cluster=yes): its nodes did not boot together. Refusing.", v.Base)})
			break
		}
	}
	return m, diags
}
