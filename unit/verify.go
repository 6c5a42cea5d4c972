package unit

import (
	"slices"
	"strings"

	"sundial.dev/sundial/timespan"
)

// verify makes the checks systemd makes once a unit's files are read,
// logging what it warns about; a unit it refuses gets the load state
// BadSetting.
func (u *Unit) verify() {
	if u.Unit.JobRunningTimeout != timespan.Infinity && u.Unit.JobRunningTimeout > u.Unit.JobTimeout {
		u.unitLog(Warning, "JobRunningTimeoutSec= is greater than JobTimeoutSec=, it has no effect.")
	}
	var err error
	switch u.Type {
	case Timer:
		err = u.verifyTimer()
	case Service:
		err = u.verifyService()
	case Mount:
		err = u.verifyMount()
	}
	if err != nil {
		u.LoadState, u.LoadError = BadSetting, err
	}
}

// unitLog logs a message about the unit as a whole, as systemd's
// log_unit_* do: "foo.timer: message".
func (u *Unit) unitLog(sev Severity, msg string) {
	u.Diagnostics = append(u.Diagnostics, Diagnostic{Pos{File: u.Name}, sev, msg})
}

// refuse logs why the unit is refused and returns ENOEXEC.
func (u *Unit) refuse(msg string) error {
	u.unitLog(Error, msg)
	return eNOEXEC
}

// verifyTimer is timer_load's part after the files: the unit to trigger
// and timer_verify.
func (u *Unit) verifyTimer() error {
	t := u.Timer
	if t.Unit = u.trigger; t.Unit == "" {
		n, _ := ParseName(u.Name)
		n.Type = Service
		t.Unit = n.String()
	}
	if len(t.Values) == 0 && !t.OnClockChange && !t.OnTimezoneChange {
		return u.refuse("Timer unit lacks value setting. Refusing.")
	}
	return nil
}

// verifyService is service_add_extras' defaults that depend on other
// settings, then service_verify.
func (u *Unit) verifyService() error {
	s := u.Service
	if s.Type == "" {
		switch {
		case s.BusName != "":
			s.Type = "dbus"
		case len(s.ExecStart) > 0:
			s.Type = "simple"
		default:
			s.Type = "oneshot"
		}
	}
	s.patchDynamicUser(u.Name)
	oneshot := s.Type == "oneshot"
	if oneshot && !s.TimeoutStartSet {
		s.TimeoutStartSec = timespan.Infinity
	}
	noAction := u.Unit.SuccessAction == "none"
	switch {
	case len(s.ExecStart) == 0 && len(s.ExecStop) == 0 && noAction:
		return u.refuse("Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.")
	case !oneshot && len(s.ExecStart) == 0:
		return u.refuse("Service has no ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.")
	case !s.RemainAfterExit && len(s.ExecStart) == 0 && noAction:
		return u.refuse("Service has no ExecStart= and no SuccessAction= settings and does not have RemainAfterExit=yes set. Refusing.")
	case !oneshot && len(s.ExecStart) > 1:
		return u.refuse("Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.")
	case oneshot && (s.Restart == "always" || s.Restart == "on-success"):
		return u.refuse("Service has Restart= set to either always or on-success, which isn't allowed for Type=oneshot services. Refusing.")
	case oneshot && s.ExitType == "cgroup":
		return u.refuse("Service has ExitType=cgroup set, which isn't allowed for Type=oneshot services. Refusing.")
	case s.Type == "dbus" && s.BusName == "":
		return u.refuse("Service is of type D-Bus but no D-Bus service name has been specified. Refusing.")
	}
	if s.RuntimeMaxSec != timespan.Infinity && oneshot {
		u.unitLog(Warning, "RuntimeMaxSec= has no effect in combination with Type=oneshot. Ignoring.")
	}
	if s.RuntimeMaxSec == timespan.Infinity && s.RuntimeRandomizedExtra != 0 {
		u.unitLog(Warning, "Service has RuntimeRandomizedExtraSec= setting, but no RuntimeMaxSec=. Ignoring.")
	}
	return nil
}

// verifyMount is the part of mount_verify that needs no mount table:
// Where=, if set, must be the path the unit is named after
// (unit_name_from_path); unset, mount_add_extras takes it from the name.
// The path may not be one of the API file systems the manager mounts or
// leaves alone; What= is needed but for the root's mount, which is
// perpetual; and PAMName= asks for KillMode=control-group.
func (u *Unit) verifyMount() error {
	where := u.mountWhere
	if where == "" {
		n, _ := ParseName(u.Name)
		p, err := Unescape(n.Prefix)
		if err != nil {
			return nil
		}
		where = simplifyPath("/" + p)
	}
	x := u.exec
	if x == nil {
		x = &ServiceSection{}
	}
	switch {
	case u.mountWhere != "" && !slices.Contains(u.Names, mountName(u.mountWhere)):
		return u.refuse("Where= setting doesn't match unit name. Refusing.")
	case apiMountPoint(where):
		return u.refuse("Cannot create mount unit for API file system " + where + ". Refusing.")
	case u.mountWhat == "" && u.Name != "-.mount":
		return u.refuse("What= setting is missing. Refusing.")
	case x.PAMName != "" && x.KillMode != "" && x.KillMode != "control-group":
		return u.refuse("Unit has PAM enabled. Kill mode must be set to control-group'. Refusing.")
	}
	return nil
}

// apiMounts are the mount points of mount-setup.c's mount_table, for a
// build with SMACK, pstore and EFI, and those mount_point_ignore lists.
var apiMounts = []string{"/proc", "/sys", "/dev", "/sys/kernel/security", "/sys/fs/smackfs", "/dev/shm", "/dev/pts",
	"/run", "/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/pstore",
	"/sys/firmware/efi/efivars", "/sys/fs/bpf",
	"/sys/fs/selinux", "/dev/console", "/proc/kmsg", "/proc/sys", "/proc/sys/kernel/random/boot_id"}

// apiMountPoint is mount_point_is_api or mount_point_ignore: the API file
// systems, what is below /sys/fs/cgroup/, and /run/host and below it.
func apiMountPoint(p string) bool {
	return slices.Contains(apiMounts, p) || strings.HasPrefix(p, "/sys/fs/cgroup/") || p == "/run/host" || strings.HasPrefix(p, "/run/host/")
}

// mountName is unit_name_from_path(where, ".mount") for a path already
// absolute and normalized: the root is "-", other paths are escaped
// without their leading and trailing slashes. A name too long for a unit
// is hashed there (unit_name_hash_long); it is left whole here, which
// in practice names no unit either.
func mountName(where string) string {
	if where == "/" {
		return "-.mount"
	}
	return Escape(strings.Trim(where, "/")) + ".mount"
}
