package unit

import (
	"strings"
	"sync"

	"sundial.dev/sundial/timespan"
)

// typedSetters parse the settings the typed sections keep, by
// "Section.Key".
var typedSetters = map[string]setter{
	"Unit.Description":             stringSetting(func(u *Unit) *string { return &u.Unit.Description }),
	"Unit.Documentation":           documentationSetting,
	"Unit.SourcePath":              pathSetting(func(u *Unit) *string { return &u.Unit.SourcePath }, false),
	"Unit.StopWhenUnneeded":        boolSetting(func(u *Unit) *bool { return &u.Unit.StopWhenUnneeded }, false),
	"Unit.RefuseManualStart":       boolSetting(func(u *Unit) *bool { return &u.Unit.RefuseManualStart }, false),
	"Unit.RefuseManualStop":        boolSetting(func(u *Unit) *bool { return &u.Unit.RefuseManualStop }, false),
	"Unit.AllowIsolate":            boolSetting(func(u *Unit) *bool { return &u.Unit.AllowIsolate }, false),
	"Unit.DefaultDependencies":     boolSetting(func(u *Unit) *bool { return &u.Unit.DefaultDependencies }, false),
	"Unit.IgnoreOnIsolate":         boolSetting(func(u *Unit) *bool { return &u.Unit.IgnoreOnIsolate }, false),
	"Unit.OnSuccessJobMode":        enumSetting(func(u *Unit) *string { return &u.Unit.OnSuccessJobMode }, "Failed to parse job mode", jobModes...),
	"Unit.OnFailureJobMode":        enumSetting(func(u *Unit) *string { return &u.Unit.OnFailureJobMode }, "Failed to parse job mode", jobModes...),
	"Unit.OnFailureIsolate":        jobModeIsolateSetting,
	"Unit.JobTimeoutSec":           jobTimeoutSetting(false),
	"Unit.JobRunningTimeoutSec":    jobTimeoutSetting(true),
	"Unit.JobTimeoutAction":        emergencyActionSetting(func(u *Unit) *string { return &u.Unit.JobTimeoutAction }),
	"Unit.StartLimitIntervalSec":   secSetting(func(u *Unit) *timespan.Span { return &u.Unit.StartLimitInterval }, false, false, msgSec),
	"Unit.StartLimitInterval":      secSetting(func(u *Unit) *timespan.Span { return &u.Unit.StartLimitInterval }, false, false, msgSec),
	"Unit.StartLimitBurst":         unsignedSetting(func(u *Unit) *uint { return &u.Unit.StartLimitBurst }),
	"Unit.StartLimitAction":        emergencyActionSetting(func(u *Unit) *string { return &u.Unit.StartLimitAction }),
	"Unit.FailureAction":           emergencyActionSetting(func(u *Unit) *string { return &u.Unit.FailureAction }),
	"Unit.SuccessAction":           emergencyActionSetting(func(u *Unit) *string { return &u.Unit.SuccessAction }),
	"Unit.FailureActionExitStatus": exitStatusSetting(func(u *Unit) *int { return &u.Unit.FailureActionExitStatus }),
	"Unit.SuccessActionExitStatus": exitStatusSetting(func(u *Unit) *int { return &u.Unit.SuccessActionExitStatus }),
	"Unit.CollectMode":             enumSetting(func(u *Unit) *string { return &u.Unit.CollectMode }, "Failed to parse garbage collection mode", collectModes...),

	"Timer.OnCalendar":         timerSetting(OnCalendar),
	"Timer.OnActiveSec":        timerSetting(OnActive),
	"Timer.OnBootSec":          timerSetting(OnBoot),
	"Timer.OnStartupSec":       timerSetting(OnStartup),
	"Timer.OnUnitActiveSec":    timerSetting(OnUnitActive),
	"Timer.OnUnitInactiveSec":  timerSetting(OnUnitInactive),
	"Timer.OnClockChange":      boolSetting(func(u *Unit) *bool { return &u.Timer.OnClockChange }, false),
	"Timer.OnTimezoneChange":   boolSetting(func(u *Unit) *bool { return &u.Timer.OnTimezoneChange }, false),
	"Timer.Persistent":         boolSetting(func(u *Unit) *bool { return &u.Timer.Persistent }, false),
	"Timer.WakeSystem":         boolSetting(func(u *Unit) *bool { return &u.Timer.WakeSystem }, false),
	"Timer.RemainAfterElapse":  boolSetting(func(u *Unit) *bool { return &u.Timer.RemainAfterElapse }, false),
	"Timer.FixedRandomDelay":   boolSetting(func(u *Unit) *bool { return &u.Timer.FixedRandomDelay }, false),
	"Timer.AccuracySec":        secSetting(func(u *Unit) *timespan.Span { return &u.Timer.AccuracySec }, false, false, msgSec),
	"Timer.RandomizedDelaySec": secSetting(func(u *Unit) *timespan.Span { return &u.Timer.RandomizedDelaySec }, false, false, msgSec),
	"Timer.Unit":               triggerUnitSetting,
	"Path.Unit":                triggerUnitSetting,
	"Socket.Service":           socketServiceSetting,
	"Socket.Accept":            boolSetting(func(u *Unit) *bool { return &u.socketAccept }, false),
	"Mount.Where":              pathSetting(func(u *Unit) *string { return &u.mountWhere }, false),
	"Mount.What":               stringSetting(func(u *Unit) *string { return &u.mountWhat }),
	"Mount.PAMName":            stringSetting(func(u *Unit) *string { return &u.execSettings().PAMName }),
	"Service.PAMName":          stringSetting(func(u *Unit) *string { return &u.execSettings().PAMName }),

	"Service.PIDFile":                   pidFileSetting,
	"Service.RestartSec":                secSetting(func(u *Unit) *timespan.Span { return &u.Service.RestartSec }, false, false, msgSec),
	"Service.RestartSteps":              unsignedSetting(func(u *Unit) *uint { return &u.Service.RestartSteps }),
	"Service.RestartMaxDelaySec":        secSetting(func(u *Unit) *timespan.Span { return &u.Service.RestartMaxDelaySec }, false, false, msgSec),
	"Service.TimeoutSec":                serviceTimeoutSetting,
	"Service.TimeoutStartSec":           serviceTimeoutSetting,
	"Service.TimeoutStopSec":            secSetting(func(u *Unit) *timespan.Span { return &u.Service.TimeoutStopSec }, true, false, msgSecFix0),
	"Service.TimeoutAbortSec":           timeoutAbortSetting,
	"Service.TimeoutStartFailureMode":   enumSetting(func(u *Unit) *string { return &u.Service.TimeoutStartFailureMode }, "Failed to parse timeout failure mode", timeoutModes...),
	"Service.TimeoutStopFailureMode":    enumSetting(func(u *Unit) *string { return &u.Service.TimeoutStopFailureMode }, "Failed to parse timeout failure mode", timeoutModes...),
	"Service.RuntimeMaxSec":             secSetting(func(u *Unit) *timespan.Span { return &u.Service.RuntimeMaxSec }, false, false, msgSec),
	"Service.RuntimeRandomizedExtraSec": secSetting(func(u *Unit) *timespan.Span { return &u.Service.RuntimeRandomizedExtra }, false, false, msgSec),
	"Service.WatchdogSec":               secSetting(func(u *Unit) *timespan.Span { return &u.Service.WatchdogSec }, false, false, msgSec),
	"Service.StartLimitInterval":        secSetting(func(u *Unit) *timespan.Span { return &u.Unit.StartLimitInterval }, false, false, msgSec),
	"Service.StartLimitBurst":           unsignedSetting(func(u *Unit) *uint { return &u.Unit.StartLimitBurst }),
	"Service.StartLimitAction":          emergencyActionSetting(func(u *Unit) *string { return &u.Unit.StartLimitAction }),
	"Service.FailureAction":             emergencyActionSetting(func(u *Unit) *string { return &u.Unit.FailureAction }),
	"Service.Type":                      enumSetting(func(u *Unit) *string { return &u.Service.Type }, "Failed to parse service type", serviceTypes...),
	"Service.ExitType":                  enumSetting(func(u *Unit) *string { return &u.Service.ExitType }, "Failed to parse service exit type", serviceExitTypes...),
	"Service.Restart":                   enumSetting(func(u *Unit) *string { return &u.Service.Restart }, "Failed to parse service restart specifier", restarts...),
	"Service.RestartMode":               enumSetting(func(u *Unit) *string { return &u.Service.RestartMode }, "Failed to parse service restart mode", restartModes...),
	"Service.RemainAfterExit":           boolSetting(func(u *Unit) *bool { return &u.Service.RemainAfterExit }, false),
	"Service.GuessMainPID":              boolSetting(func(u *Unit) *bool { return &u.Service.GuessMainPID }, false),
	"Service.RestartPreventExitStatus":  exitStatusSetSetting(func(u *Unit) *ExitStatusSet { return &u.Service.RestartPreventExitStatus }),
	"Service.RestartForceExitStatus":    exitStatusSetSetting(func(u *Unit) *ExitStatusSet { return &u.Service.RestartForceExitStatus }),
	"Service.SuccessExitStatus":         exitStatusSetSetting(func(u *Unit) *ExitStatusSet { return &u.Service.SuccessExitStatus }),
	"Service.NotifyAccess":              enumSetting(func(u *Unit) *string { return &u.Service.NotifyAccess }, "Failed to parse notify access specifier", notifyAccesses...),
	"Service.OOMPolicy":                 enumSetting(func(u *Unit) *string { return &u.Service.OOMPolicy }, "Failed to parse OOM policy", oomPolicies...),
	"Service.ReloadSignal":              signalSetting(func(u *Unit) *int { return &u.Service.ReloadSignal }),

	"Service.KillMode":          killModeSetting,
	"Service.KillSignal":        signalSetting(func(u *Unit) *int { return &u.Service.KillSignal }),
	"Service.RestartKillSignal": signalSetting(func(u *Unit) *int { return &u.Service.RestartKillSignal }),
	"Service.FinalKillSignal":   signalSetting(func(u *Unit) *int { return &u.Service.FinalKillSignal }),
	"Service.WatchdogSignal":    signalSetting(func(u *Unit) *int { return &u.Service.WatchdogSignal }),
	"Service.SendSIGKILL":       boolSetting(func(u *Unit) *bool { return &u.Service.SendSIGKILL }, false),
	"Service.SendSIGHUP":        boolSetting(func(u *Unit) *bool { return &u.Service.SendSIGHUP }, false),
	"Service.IgnoreSIGPIPE":     boolSetting(func(u *Unit) *bool { return &u.Service.IgnoreSIGPIPE }, false),

	"Service.ExecCondition": execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecCondition }),
	"Service.ExecStartPre":  execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecStartPre }),
	"Service.ExecStart":     execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecStart }),
	"Service.ExecStartPost": execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecStartPost }),
	"Service.ExecReload":    execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecReload }),
	"Service.ExecStop":      execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecStop }),
	"Service.ExecStopPost":  execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecStopPost }),

	"Service.Environment":      environmentSetting,
	"Service.EnvironmentFile":  environmentFileSetting,
	"Service.PassEnvironment":  envNamesSetting(false),
	"Service.UnsetEnvironment": envNamesSetting(true),
	"Service.BusName":          busNameSetting,

	"Service.WorkingDirectory":  workingDirectorySetting,
	"Service.User":              userGroupSetting(func(u *Unit) *string { return &u.Service.User }),
	"Service.Group":             userGroupSetting(func(u *Unit) *string { return &u.Service.Group }),
	"Service.UMask":             modeSetting(func(u *Unit) *uint32 { return &u.Service.UMask }),
	"Service.Nice":              niceSetting,
	"Service.StandardInput":     stdioSetting(true),
	"Service.StandardOutput":    stdioSetting(false),
	"Service.StandardError":     stdioSetting(false),
	"Service.SyslogIdentifier":  stringSetting(func(u *Unit) *string { return &u.Service.SyslogIdentifier }),
	"Service.SyslogLevel":       logLevelSetting(func(u *Unit) *int { return &u.Service.SyslogLevel }),
	"Service.SyslogLevelPrefix": boolSetting(func(u *Unit) *bool { return &u.Service.SyslogLevelPrefix }, false),

	"Service.RuntimeDirectoryMode":       directoryModeSetting,
	"Service.StateDirectoryMode":         directoryModeSetting,
	"Service.CacheDirectoryMode":         directoryModeSetting,
	"Service.LogsDirectoryMode":          directoryModeSetting,
	"Service.ConfigurationDirectoryMode": directoryModeSetting,

	"Install.WantedBy":   installSetting(func(u *Unit) *[]string { return &u.Install.WantedBy }),
	"Install.RequiredBy": installSetting(func(u *Unit) *[]string { return &u.Install.RequiredBy }),
	"Install.UpheldBy":   installSetting(func(u *Unit) *[]string { return &u.Install.UpheldBy }),
	"Install.Alias":      installSetting(func(u *Unit) *[]string { return &u.Install.Alias }),
	"Install.Also":       installSetting(func(u *Unit) *[]string { return &u.Install.Also }),
	"Install.DefaultInstance": func(c *settingCtx, a *Assignment) error {
		c.u.Install.DefaultInstance = a.Value
		return nil
	},
}

// checkers check the values of the settings the typed sections do not
// keep, by the name of systemd's parser for them; settings whose parser
// is in neither table are kept in Assignments unchecked.
func checker(parser, arg string) setter {
	switch parser {
	case "bool":
		return boolSetting(nil, arg == "true")
	case "tristate":
		return tristateSetting
	case "sec":
		return secSetting(nil, false, false, msgSec)
	case "sec_fix_0":
		return secSetting(nil, true, false, msgSecFix0)
	case "sec_def_infinity":
		return secSetting(nil, false, true, msgSecInf)
	case "unsigned":
		return unsignedSetting(nil)
	case "mode":
		return modeSetting(nil)
	case "signal":
		return signalSetting(nil)
	case "unit_deps":
		return depsSetting(arg, false)
	case "obsolete_unit_deps":
		return depsSetting(arg, true)
	case "unit_string_printf":
		return stringSetting(nil)
	case "unit_path_printf":
		return pathSetting(nil, arg == "true")
	case "address_families":
		return restrictAddressFamiliesSetting
	case "unit_requires_mounts_for":
		return mountsForSetting
	case "unit_condition_path":
		return conditionSetting(true)
	case "unit_condition_string":
		return conditionSetting(false)
	case "warn_compat":
		return warnCompatSetting(arg)
	case "emergency_action":
		return emergencyActionSetting(nil)
	case "job_mode":
		return enumSetting(nil, "Failed to parse job mode", jobModes...)
	case "rlimit":
		return rlimitSetting
	case "user_group_compat":
		return userGroupSetting(nil)
	case "user_group_strv_compat":
		return userGroupsSetting
	case "working_directory":
		return workingDirectorySetting
	case "exec_nice":
		return niceSetting
	case "kill_mode":
		return killModeSetting
	case "exec_output":
		return stdioSetting(false)
	case "exec_input":
		return stdioSetting(true)
	case "exec":
		// Other unit types' commands are checked, not kept.
		return execSetting(func(s *ServiceSection) *[]ExecCommand { return &s.ExecStart })
	case "environ":
		return environmentSetting
	case "unit_env_file":
		return environmentFileSetting
	case "pass_environ":
		return envNamesSetting(false)
	case "unset_environ":
		return envNamesSetting(true)
	case "exec_io_class":
		return ioClassSetting
	case "exec_io_priority":
		return ioPrioritySetting
	case "exec_cpu_sched_policy":
		return cpuSchedPolicySetting
	case "exec_cpu_sched_prio":
		return cpuSchedPrioSetting
	case "exec_cpu_affinity":
		return cpuSetSetting(true, false)
	case "allowed_cpuset":
		return cpuSetSetting(false, false)
	case "numa_mask":
		return cpuSetSetting(false, true)
	case "exec_oom_score_adjust":
		return oomScoreAdjustSetting
	case "nsec":
		return nsecSetting
	case "personality":
		return personalitySetting
	case "capability_set":
		return capabilitySetSetting
	case "exec_secure_bits":
		return secureBitsSetting
	case "protect_system":
		return boolEnumSetting(func(x *Confinement) *string { return &x.ProtectSystem }, "Failed to parse protect system value", "no", "yes", "full", "strict")
	case "protect_home":
		return boolEnumSetting(func(x *Confinement) *string { return &x.ProtectHome }, "Failed to parse protect home value", "no", "yes", "read-only", "tmpfs")
	case "protect_proc":
		return confinementEnumSetting(func(x *Confinement) *string { return &x.ProtectProc }, "Failed to parse /proc/ protection mode", "default", "noaccess", "invisible", "ptraceable")
	case "proc_subset":
		return confinementEnumSetting(func(x *Confinement) *string { return &x.ProcSubset }, "Failed to parse /proc/ subset mode", "all", "pid")
	case "namespace_path_strv":
		return namespacePathsSetting
	case "temporary_filesystems":
		return temporaryFileSystemSetting
	case "bind_paths":
		return bindPathsSetting
	case "exec_directories":
		return execDirectoriesSetting
	case "restrict_namespaces":
		return restrictNamespacesSetting
	case "syscall_errno":
		return syscallErrnoSetting
	case "syscall_archs":
		return syscallArchsSetting
	case "memory_limit":
		return memoryLimitSetting
	case "cpu_quota":
		return cpuQuotaSetting
	case "cg_weight":
		return weightSetting(1, 10000, false, "Invalid weight")
	case "cg_cpu_weight":
		return weightSetting(1, 10000, true, "Invalid CPU weight")
	case "blockio_weight":
		return weightSetting(10, 1000, false, "Invalid block IO weight")
	case "cpu_shares":
		return cpuSharesSetting
	case "tasks_max":
		return tasksMaxSetting
	case "managed_oom_mode":
		return managedOOMSetting(false)
	case "managed_oom_mem_pressure_limit":
		return managedOOMSetting(true)
	case "managed_oom_preference":
		return enumSetting(nil, "Failed to parse ManagedOOMPreference=", "none", "avoid", "omit")
	case "memory_pressure_watch":
		return enumSetting(nil, "Failed to parse memory pressure watch setting", "off", "on", "auto", "skip")
	case "log_level":
		return logLevelSetting(nil)
	case "log_facility":
		return lookupSetting(logFacilities, 127, "Failed to parse log facility")
	case "exec_keyring_mode":
		return enumSetting(nil, "Failed to parse keyring mode", "inherit", "private", "shared")
	case "exec_utmp_mode":
		return enumSetting(nil, "Failed to parse utmp mode", "init", "login", "user")
	case "device_policy":
		return enumSetting(nil, "Failed to parse device policy", "auto", "closed", "strict")
	case "oom_policy":
		return enumSetting(nil, "Failed to parse OOM policy", oomPolicies...)
	case "exec_mount_propagation_flag":
		return emptyOr(enumSetting(nil, "Failed to parse mount propagation flag", "shared", "slave", "private"))
	case "numa_policy":
		return emptyOr(enumSetting(nil, "Invalid NUMA policy type", "default", "preferred", "bind", "interleave", "local"))
	case "ip_tos":
		return emptyOr(lookupSetting(ipTOSNames, 0xff, "Failed to parse IP TOS value"))
	case "exec_mount_apivfs":
		return emptyOr(boolSetting(nil, false))
	case "exec_coredump_filter":
		return coredumpFilterSetting
	case "int":
		return numberSetting("int", 32)
	case "long":
		return numberSetting("long", 64)
	case "iec_size":
		return iecSizeSetting
	case "tty_size":
		return emptyOr(unsignedSetting(nil))
	case "string":
		return noCheck
	case "exec_selinux_context", "exec_apparmor_profile", "exec_smack_process_label":
		return labelSetting
	case "io_device_weight", "io_device_latency", "io_limit", "blockio_device_weight", "blockio_bandwidth":
		return deviceValueSetting(parser)
	case "device_allow":
		return deviceAllowSetting
	case "colon_separated_paths":
		return pathsSetting(true)
	case "unit_path_strv_printf":
		return pathsSetting(false)
	case "path_spec":
		return pathSpecSetting
	case "log_extra_fields":
		return logExtraFieldsSetting
	case "socket_bindtodevice":
		return bindToDeviceSetting
	case "restrict_network_interfaces":
		return networkInterfacesSetting
	case "disable_controllers":
		return disableControllersSetting
	case "reboot_parameter":
		return expandedSetting(true, rebootArgumentValid, "Invalid reboot parameter '%s', ignoring.")
	case "socket_protocol":
		return socketProtocolSetting
	case "socket_timestamping":
		return timestampingSetting
	case "fdname":
		return expandedSetting(true, validFDName, "Invalid file descriptor name, ignoring: %s")
	case "socket_bind":
		return bindIPv6OnlySetting
	case "swap_priority":
		return swapPrioritySetting
	case "log_namespace":
		return expandedSetting(false, logNamespaceValid, "Specified log namespace name is not valid, ignoring: %s")
	case "set_credential":
		return setCredentialSetting
	case "load_credential":
		return loadCredentialSetting
	case "delegate":
		return delegateSetting
	case "in_addr_prefixes":
		return addressPrefixesSetting
	case "exec_input_data":
		return inputDataSetting
	case "exec_root_hash":
		return rootHashSetting
	case "exec_root_hash_sig":
		return rootHashSignatureSetting
	case "bpf_foreign_program":
		return bpfProgramSetting
	case "ip_filter_bpf_progs":
		// config_parse_ip_filter_bpf_progs reads a path as
		// config_parse_unit_path_printf does. Whether the kernel can
		// run such programs is not looked at: the warning systemd
		// gives where it cannot is the machine's business.
		return pathSetting(nil, false)
	case "unit_slice":
		return sliceSetting
	case "syscall_filter":
		return syscallFilterSetting(false)
	case "syscall_log":
		return syscallFilterSetting(true)
	case "exec_input_text":
		return inputTextSetting
	case "delegate_subgroup":
		return delegateSubgroupSetting
	case "import_credential":
		return importCredentialSetting
	case "root_image_options":
		return rootImageOptionsSetting
	case "mount_images":
		return imagesSetting(false)
	case "extension_images":
		return imagesSetting(true)
	case "service_sockets":
		return serviceSocketsSetting
	case "socket_listen":
		return listenSetting(arg)
	case "cgroup_socket_bind":
		return socketBindSetting
	case "restrict_filesystems":
		return restrictFileSystemsSetting
	case "open_file":
		return openFileSetting
	case "log_filter_patterns":
		return logFilterPatternsSetting
	case "image_policy":
		return imagePolicySetting
	case "exec_preserve_mode":
		return boolEnumSetting(func(x *Confinement) *string { return &x.RuntimeDirectoryPreserve }, "Failed to parse runtime directory preserve mode", "no", "yes", "restart")
	}
	return nil
}

// A sectionID numbers the sections units may have.
type sectionID int8

// sectionNames are the sections units may have, by sectionID.
var sectionNames = [...]string{"Unit", "Install", "Service", "Socket", "Device", "Mount", "Automount", "Swap", "Timer", "Path", "Slice", "Scope"}

// sectionOf returns the ID of a section, or -1 for one no unit has.
func sectionOf[T string | []byte](name T) sectionID {
	for i, s := range sectionNames {
		if string(name) == s {
			return sectionID(i)
		}
	}
	return -1
}

// A settingKey is a key systemd knows in some sections, with its parser
// in each.
type settingKey struct {
	name string
	in   [len(sectionNames)]settingSlot
}

// A settingSlot is a setting of a section: known to systemd, and parsed
// by set, or kept unchecked if set is nil.
type settingSlot struct {
	set   setter
	known bool
}

// settingKeys are the keys systemd knows, by name.
var settingKeys = sync.OnceValue(func() map[string]*settingKey {
	m := map[string]*settingKey{}
	for name, p := range knownSettings {
		section, key, _ := strings.Cut(name, ".")
		k := m[key]
		if k == nil {
			k = &settingKey{name: key}
			m[key] = k
		}
		set, ok := typedSetter(name)
		if !ok {
			set = checker(p.parser, p.arg)
		}
		k.in[sectionOf(section)] = settingSlot{set, true}
	}
	return m
})

// newUnit returns a unit of n's type with its typed sections, holding
// systemd's defaults.
func newUnit(n Name, name string, names []string, fragment string) *Unit {
	u := new(Unit)
	switch n.Type {
	case Timer:
		u.Timer = new(TimerSection)
	case Service:
		u.Service = new(ServiceSection)
	}
	u.reset(n, name, names, fragment)
	return u
}

// reset gives u systemd's defaults for a unit of n's type, in the
// sections it has or gets. The sections are written out here, not
// copied, so that no write barrier copies them.
func (u *Unit) reset(n Name, name string, names []string, fragment string) {
	timer, service := u.Timer, u.Service
	switch {
	case n.Type != Timer:
		timer = nil
	case timer == nil:
		timer = new(TimerSection)
	}
	switch {
	case n.Type != Service:
		service = nil
	case service == nil:
		service = new(ServiceSection)
	}
	if timer != nil {
		*timer = TimerSection{AccuracySec: timespan.Minute, RemainAfterElapse: true, Values: timer.Values[:0]}
	}
	if service != nil {
		*service = ServiceSection{
			ExitType:                "main",
			GuessMainPID:            true,
			Restart:                 "no",
			RestartMode:             "normal",
			RestartSec:              100 * timespan.Millisecond,
			RestartMaxDelaySec:      timespan.Infinity,
			TimeoutStartSec:         90 * timespan.Second,
			TimeoutStopSec:          90 * timespan.Second,
			TimeoutStartFailureMode: "terminate",
			TimeoutStopFailureMode:  "terminate",
			RuntimeMaxSec:           timespan.Infinity,
			ReloadSignal:            1,
			KillMode:                "control-group",
			KillSignal:              15,
			FinalKillSignal:         9,
			WatchdogSignal:          6,
			SendSIGKILL:             true,
			IgnoreSIGPIPE:           true,
			UMask:                   0o022,
			StandardInput:           "null",
			StandardOutput:          "inherit",
			StandardError:           "inherit",
			SyslogLevel:             6,
			SyslogLevelPrefix:       true,
			Confinement:             defaultConfinement(),
		}
	}
	*u = Unit{
		Name: name, Names: names, Type: n.Type, Instance: n.Instance, FragmentPath: fragment,
		Unit: UnitSection{
			DefaultDependencies:     true,
			OnSuccessJobMode:        "fail",
			OnFailureJobMode:        "replace",
			JobTimeout:              timespan.Infinity,
			JobRunningTimeout:       timespan.Infinity,
			JobTimeoutAction:        "none",
			StartLimitInterval:      10 * timespan.Second,
			StartLimitBurst:         5,
			StartLimitAction:        "none",
			FailureAction:           "none",
			SuccessAction:           "none",
			FailureActionExitStatus: -1,
			SuccessActionExitStatus: -1,
			CollectMode:             "inactive",
		},
		Timer:       timer,
		Service:     service,
		Assignments: u.Assignments[:0],
		Diagnostics: u.Diagnostics[:0],
	}
}
