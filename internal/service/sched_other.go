//go:build !linux

package service

// applyScheduling sets the nice level; the other scheduling settings
// are Linux's, and named as not honoured here.
func (s *helperSetup) applyScheduling(pid int) *setupError {
	if s.Nice != nil {
		if err := setNice(pid, *s.Nice); err != nil {
			return &setupError{statusNice, "NICE", "Failed to set up process scheduling priority (nice level)", errnoOf(err)}
		}
	}
	return nil
}

func (s *helperSetup) applyPersonality() *setupError { return nil }

// managerSchedules is false here, where there are no user namespaces.
func managerSchedules(Command) bool { return false }

// Unhonoured returns why a setting of a service cannot be honoured
// where the manager runs, or "" if it can: here the settings of the
// execution environment that are Linux's.
func Unhonoured(key string) string {
	if linuxOnly[key] {
		return "Linux only"
	}
	return ""
}

var linuxOnly = map[string]bool{
	"IOSchedulingClass": true, "IOSchedulingPriority": true, "CPUSchedulingPolicy": true, "CPUSchedulingPriority": true,
	"CPUSchedulingResetOnFork": true, "CPUAffinity": true, "OOMScoreAdjust": true, "TimerSlackNSec": true, "Personality": true,
	"NoNewPrivileges": true, "CapabilityBoundingSet": true, "AmbientCapabilities": true, "SecureBits": true,
	"PrivateTmp": true, "PrivateDevices": true, "PrivateNetwork": true, "PrivateIPC": true, "ProtectHostname": true, "ProtectSystem": true,
	"ProtectHome": true, "ProtectKernelTunables": true, "ProtectKernelModules": true, "ProtectKernelLogs": true, "ProtectControlGroups": true,
	"ReadWritePaths": true, "ReadOnlyPaths": true, "InaccessiblePaths": true, "TemporaryFileSystem": true, "BindPaths": true, "BindReadOnlyPaths": true,
	"SystemCallFilter": true, "SystemCallErrorNumber": true, "SystemCallArchitectures": true, "RestrictAddressFamilies": true,
	"RestrictNamespaces": true, "RestrictRealtime": true, "RestrictSUIDSGID": true, "LockPersonality": true, "MemoryDenyWriteExecute": true,
	"ProtectClock": true, "ProtectProc": true, "ProcSubset": true, "ExecPaths": true, "NoExecPaths": true,
	"PrivateUsers": true, "DynamicUser": true,
	"MemoryMax": true, "MemoryHigh": true, "CPUQuota": true, "CPUWeight": true, "TasksMax": true, "IOWeight": true,
}
