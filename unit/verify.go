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
// (unit_name_from_path). Unset, mount_add_extras takes it from the name.
func (u *Unit) verifyMount() error {
	if u.mountWhere != "" && !slices.Contains(u.Names, mountName(u.mountWhere)) {
		return u.refuse("Where= setting doesn't match unit name. Refusing.")
	}
	return nil
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
