package unit

import "sundial.dev/sundial/timespan"

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
