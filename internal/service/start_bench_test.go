package service

import (
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fullyConfined are the settings of a service confined as far as the
// manager can: namespaces, capabilities, seccomp, its own directory.
const fullyConfined = `ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateNetwork=yes
PrivateIPC=yes
ProtectHostname=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
SystemCallFilter=@system-service
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
StateDirectory=bench
`

// BenchmarkStart measures the start of a service, from its activation
// to its command running (its first line read), unconfined and fully
// confined, and reports the confined one's extra time beside its goal,
// 5 ms; and the CPU time of the service's process, its set-up's
// included, which a loaded machine does not stretch. SIGPIPE is
// ignored, as in the daemon, so that the unconfined command starts as
// there, without the helper.
func BenchmarkStart(b *testing.B) {
	if !haveNamespaces || os.Getuid() != 0 && !namespacesAllowed() {
		b.Skip("namespaces cannot be made here")
	}
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGPIPE)
	dir := b.TempDir()
	bases := ExecBases{}
	for t := range bases {
		bases[t] = filepath.Join(dir, "base")
	}
	run := func(b *testing.B, text string) float64 {
		s := loadService(b, "Type=oneshot\nExecStart=/bin/echo started\n"+text)
		var cpu time.Duration
		for b.Loop() {
			started := make(chan struct{})
			tr := &trace{}
			spec := tr.spec(s)
			spec.Bases = bases
			spec.Output = func(Line) { close(started) }
			run := Begin(spec)
			<-started
			// The end, and what is undone then, is not the start's.
			b.StopTimer()
			out := run.Wait()
			if out.Result != Success {
				b.Fatalf("result %s %v %q", out.Result, out.Main, tr.logs)
			}
			cpu += out.CPU
			b.StartTimer()
		}
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "service-cpu-ms")
		return float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
	}
	var plain float64
	b.Run("unconfined", func(b *testing.B) { plain = run(b, "") })
	b.Run("confined", func(b *testing.B) {
		confined := run(b, fullyConfined)
		b.ReportMetric(confined-plain, "extra-ms")
		b.ReportMetric(5, "goal-extra-ms")
	})
}
