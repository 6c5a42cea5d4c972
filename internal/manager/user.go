package manager

import (
	"bufio"
	"errors"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/unit"
)

// errNoUser is systemd's errno for a user or group that does not exist.
var errNoUser = syscall.ESRCH

// credentials resolves User= and Group= to what the service's processes
// run as, and what their environment tells of the user; nil for the
// manager's own. step is systemd's name of what failed: USER or GROUP.
func credentials(s *unit.ServiceSection) (cred *syscall.Credential, info *service.UserInfo, step string, err error) {
	if s.User == "" && s.Group == "" && len(s.Confinement.SupplementaryGroups) == 0 {
		return nil, nil, "", nil
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	var groups []uint32
	if s.User != "" {
		u, err := lookupUser(s.User)
		// DynamicUser= takes a user the system has as it is, else the
		// run allocates one.
		if err == errNoUser && s.Confinement.DynamicUser {
			return nil, &service.UserInfo{Name: s.User}, "", nil
		}
		if err != nil {
			return nil, nil, "USER", err
		}
		n, _ := strconv.ParseUint(u.Uid, 10, 32)
		g, _ := strconv.ParseUint(u.Gid, 10, 32)
		uid, gid = uint32(n), uint32(g)
		info = &service.UserInfo{Name: u.Username, Home: u.HomeDir, Shell: loginShell(u.Username)}
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if n, err := strconv.ParseUint(id, 10, 32); err == nil {
					groups = append(groups, uint32(n))
				}
			}
		}
	}
	if s.Group != "" {
		g, err := lookupGroup(s.Group)
		if err != nil {
			return nil, nil, "GROUP", err
		}
		n, _ := strconv.ParseUint(g.Gid, 10, 32)
		gid = uint32(n)
	}
	// get_supplementary_groups: the user's, and SupplementaryGroups=.
	for _, name := range s.Confinement.SupplementaryGroups {
		g, err := lookupGroup(name)
		if err != nil {
			return nil, nil, "GROUP", err
		}
		n, _ := strconv.ParseUint(g.Gid, 10, 32)
		groups = append(groups, uint32(n))
	}
	if uid == uint32(os.Getuid()) && gid == uint32(os.Getgid()) && len(s.Confinement.SupplementaryGroups) == 0 && os.Getuid() != 0 {
		return nil, info, "", nil // already so: nothing to change, and no right to
	}
	if os.Getuid() != 0 {
		step := "USER"
		if uid == uint32(os.Getuid()) {
			step = "GROUP"
		}
		return nil, nil, step, syscall.EPERM
	}
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}, info, "", nil
}

func lookupUser(name string) (*user.User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.ParseUint(name, 10, 32); nerr == nil {
			if u, err = user.LookupId(name); err == nil {
				return u, nil
			}
		}
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) || strings.Contains(err.Error(), "unknown user") {
			return nil, errNoUser
		}
		return nil, err
	}
	return u, nil
}

func lookupGroup(name string) (*user.Group, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if _, nerr := strconv.ParseUint(name, 10, 32); nerr == nil {
			if g, err = user.LookupGroupId(name); err == nil {
				return g, nil
			}
		}
		return nil, errNoUser
	}
	return g, nil
}

// loginShell is a user's shell from /etc/passwd, which os/user does not
// tell; systemd's default when there is none.
func loginShell(name string) string {
	f, err := os.Open("/etc/passwd")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) == 7 && fields[0] == name && fields[6] != "" {
				return fields[6]
			}
		}
	}
	return "/bin/sh"
}

// execBases are where services' own directories are made: Bases, or the
// scope's.
func (m *Manager) execBases() service.ExecBases {
	switch {
	case m.Bases != service.ExecBases{}:
		return m.Bases
	case m.Scope == unit.UserScope:
		home, _ := os.UserHomeDir()
		return service.UserBases(func(name string) string {
			v := os.Getenv(name)
			for _, a := range m.Env {
				if w, ok := strings.CutPrefix(a, name+"="); ok {
					v = w
				}
			}
			return v
		}, home)
	}
	return service.SystemBases()
}
