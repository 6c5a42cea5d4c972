package service

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sundial.dev/sundial/unit"
)

// An EnvSource is what a command's environment is made of, as systemd
// makes it (service_spawn, then build_environment and the merge in
// exec_child), each part over the one before:
//
//  1. Manager: the manager's environment;
//  2. Activation: MAINPID, the TRIGGER_… of the timer that started it,
//     and for ExecStopPost= SERVICE_RESULT, EXIT_CODE and EXIT_STATUS;
//  3. INVOCATION_ID, USER, LOGNAME, HOME and SHELL when the service
//     has a User=, and $STATE_DIRECTORY and the others for its own
//     directories below Bases;
//  4. the variables of PassEnvironment= that the manager has;
//  5. Environment=;
//  6. the files of EnvironmentFile=, in order.
//
// Then UnsetEnvironment= removes names and assignments, and invalid
// assignments are dropped.
type EnvSource struct {
	Manager      []string
	Activation   []string
	InvocationID string
	// User is the User= account, if any: its name, home and shell.
	User *UserInfo
	// Bases are where the service's own directories are.
	Bases ExecBases
	// ReadFile reads an EnvironmentFile=; nil reads the file system.
	ReadFile func(string) ([]byte, error)
}

// UserInfo is what the environment tells of the user a service runs as.
type UserInfo struct {
	Name, Home, Shell string
}

// StopPostEnv returns the variables ExecStopPost= is told how the service
// ended by: SERVICE_RESULT, and EXIT_CODE and EXIT_STATUS if the main
// process ran.
func StopPostEnv(o Outcome) []string {
	env := []string{"SERVICE_RESULT=" + string(o.Result)}
	if o.Main.Code != 0 {
		status := fmt.Sprint(o.Main.Status)
		if o.Main.Code != CodeExited {
			status = unit.SignalName(o.Main.Status)
		}
		env = append(env, "EXIT_CODE="+o.Main.Code.String(), "EXIT_STATUS="+status)
	}
	return env
}

// Environment builds the environment of a service's commands. An
// EnvironmentFile= that cannot be read fails it, unless its name has the
// "-" prefix; [ErrnoText] gives the error as systemd reports it.
func Environment(s *unit.ServiceSection, src EnvSource) ([]string, error) {
	read := src.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	var env []string
	set := func(assignments ...string) { env = unit.MergeEnv(env, assignments...) }
	set(src.Manager...)
	set(src.Activation...)
	if src.InvocationID != "" {
		set("INVOCATION_ID=" + src.InvocationID)
	}
	if u := src.User; u != nil {
		set("USER="+u.Name, "LOGNAME="+u.Name)
		if u.Home != "" {
			set("HOME=" + u.Home)
		}
		if u.Shell != "" {
			set("SHELL=" + u.Shell)
		}
	}
	set(DirectoryEnv(s, src.Bases)...)
	for _, name := range s.PassEnvironment {
		if v, ok := lookupVar(src.Manager, name); ok {
			set(name + "=" + v)
		}
	}
	set(s.Environment...)
	for _, f := range s.EnvironmentFiles {
		optional := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		files, err := filepath.Glob(f)
		if err == nil && len(files) == 0 {
			files = []string{f} // no match: the name itself, to fail on
		}
		for _, file := range files {
			data, err := read(file)
			if err == nil {
				var vars []string
				if vars, err = unit.ReadEnvironmentFile(data); err == nil {
					set(vars...)
					continue
				}
			}
			if !optional {
				return nil, fmt.Errorf("service: environment file %s: %w", file, err)
			}
		}
	}
	env = slices.DeleteFunc(env, func(a string) bool {
		name, _, _ := strings.Cut(a, "=")
		return slices.Contains(s.UnsetEnvironment, a) || slices.Contains(s.UnsetEnvironment, name) || !unit.ValidEnvAssignment(a)
	})
	return env, nil
}

func lookupVar(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
