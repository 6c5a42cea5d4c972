package manager

import (
	"context"
	"runtime"
	"slices"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/timespan"
	"sundial.dev/sundial/unit"
)

func (b backend) ManagerProperties(ctx context.Context) ([]api.Property, error) {
	var props []api.Property
	err := b.ask(ctx, func() { props = b.m.managerProperties() })
	return props, err
}

func (b backend) SetEnvironment(ctx context.Context, set, unset []string) (string, error) {
	var refusal string
	err := b.ask(ctx, func() { refusal = b.m.setEnvironment(set, unset) })
	return refusal, err
}

// managerProperties are the properties of org.freedesktop.systemd1.Manager
// that the daemon has, in systemd's order.
func (m *Manager) managerProperties() []api.Property {
	var p props
	p.str("Version", m.Version)
	p.str("Architecture", architecture())
	names, failed, jobs := 0, 0, 0
	for _, e := range m.units {
		names += len(e.u().Names)
		if active, _ := e.activeSub(); active == "failed" {
			failed++
		}
		if len(e.waiters) > 0 {
			jobs++
		}
	}
	p.num("NNames", int64(names))
	p.num("NFailedUnits", int64(failed))
	p.num("NJobs", int64(jobs))
	p.str("Environment", unit.ExecCommand{Argv: m.Env}.CommandLine())
	p.str("UnitPath", unit.ExecCommand{Argv: m.UnitPath}.CommandLine())
	p.str("SystemState", m.systemState(failed))
	// The accuracy of a timer without AccuracySec=, which the unit
	// parser gives as systemd's manager's default.
	p.span("DefaultTimerAccuracyUSec", timespan.Minute)
	return p
}

// systemState is the SystemState property, as manager_state gives it
// for a manager that has started and is not stopping.
func (m *Manager) systemState(failed int) string {
	if failed > 0 {
		return "degraded"
	}
	return "running"
}

// architecture is the machine's architecture in systemd's words
// (architecture_to_string), for Go's name of it.
func architecture() string {
	switch a := runtime.GOARCH; a {
	case "amd64":
		return "x86-64"
	case "386":
		return "x86"
	case "ppc64le":
		return "ppc64-le"
	case "mips64le":
		return "mips64-le"
	case "mipsle":
		return "mips-le"
	case "loong64":
		return "loongarch64"
	default:
		return a
	}
}

// setEnvironment changes the manager's environment, as
// method_set_environment and method_unset_environment check and make
// the changes, and returns why it refused them.
func (m *Manager) setEnvironment(set, unset []string) string {
	for _, a := range set {
		if !unit.ValidEnvAssignment(a) {
			return "Invalid environment assignments"
		}
	}
	for _, n := range unset {
		if !unit.ValidEnvAssignment(n) && !unit.ValidEnvAssignment(n+"=") {
			return "Invalid environment variable names or assignments"
		}
	}
	env := unit.MergeEnv(slices.Clone(m.Env), set...)
	for _, n := range unset {
		// A name removes the variable; an assignment only where it
		// has that value, as strv_env_delete.
		env = slices.DeleteFunc(env, func(v string) bool {
			if strings.Contains(n, "=") {
				return v == n
			}
			return strings.HasPrefix(v, n+"=")
		})
	}
	m.Env = env
	return ""
}
