package service

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// testBases are bases of a service's own directories below dir.
func testBases(dir string) ExecBases {
	var b ExecBases
	for t, name := range []string{"run", "lib", "cache", "log", "etc"} {
		b[t] = filepath.Join(dir, name)
	}
	return b
}

// runConfined runs a oneshot service of the text, with its directories
// below a temporary directory (@D@ in the text), and returns what it
// wrote, its outcome and what was logged.
func runConfined(t *testing.T, text string, cred *syscall.Credential, prepare func(dir string)) ([]string, Outcome, []string, string) {
	t.Helper()
	dir := t.TempDir()
	// For a User= to reach its directories.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	if prepare != nil {
		prepare(dir)
	}
	s := loadService(t, strings.ReplaceAll("Type=oneshot\n"+text, "@D@", dir))
	bases := testBases(dir)
	tr := &trace{}
	spec := tr.spec(s, DirectoryEnv(s, bases)...)
	spec.Bases, spec.Credential = bases, cred
	out := Begin(spec).Wait()
	for i := range tr.lines {
		tr.lines[i] = strings.TrimSpace(tr.lines[i])
	}
	return tr.lines, out, tr.logs, dir
}

// TestConfined runs a service for each setting of the execution
// environment and looks at its effect from the inside.
func TestConfined(t *testing.T) {
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	ipc, _ := os.Readlink("/proc/self/ns/ipc")
	uts, _ := os.Readlink("/proc/self/ns/uts")
	root := &syscall.Credential{}   // as root, no change
	userns := &syscall.Credential{} // as root, or in a user namespace
	stranger := &syscall.Credential{Uid: 4242, Gid: 4242}
	// A process of another user, which ProtectProc= hides.
	other := exec.Command("/bin/sleep", "1000")
	other.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
	if os.Getuid() == 0 {
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { other.Process.Kill(); other.Wait() }()
	}
	for _, tc := range []struct {
		name  string
		text  string
		cred  *syscall.Credential // needs root
		lines []string
	}{
		{"StateDirectory", "StateDirectory=foo/bar\nStateDirectoryMode=0710\nExecStart=/bin/sh -c 'echo $STATE_DIRECTORY; stat -c %%a $STATE_DIRECTORY'",
			nil, []string{"@D@/lib/foo/bar", "710"}},
		{"directories of each type", "RuntimeDirectory=r\nCacheDirectory=c1 c2\nLogsDirectory=l\nConfigurationDirectory=e\n" +
			"ExecStart=/bin/sh -c 'echo $RUNTIME_DIRECTORY $CACHE_DIRECTORY $LOGS_DIRECTORY $CONFIGURATION_DIRECTORY; test -d @D@/cache/c2 && echo made'",
			nil, []string{"@D@/run/r @D@/cache/c1:@D@/cache/c2 @D@/log/l @D@/etc/e", "made"}},
		{"a link to a directory", "StateDirectory=data:old\nExecStart=/bin/sh -c 'readlink @D@/lib/old'",
			nil, []string{"@D@/lib/data"}},
		{"owned by User=", "StateDirectory=mine\nConfigurationDirectory=conf\nExecStart=/bin/sh -c 'stat -c %%u:%%g:%%a $STATE_DIRECTORY $CONFIGURATION_DIRECTORY'",
			nobody, []string{"65534:65534:755", "0:0:755"}},
		{"IOSchedulingClass", "IOSchedulingClass=idle\nExecStart=/usr/bin/ionice", nil, []string{"idle"}},
		{"IOSchedulingPriority", "IOSchedulingPriority=6\nExecStart=/usr/bin/ionice", nil, []string{"best-effort: prio 6"}},
		{"CPUSchedulingPolicy", "CPUSchedulingPolicy=batch\nCPUSchedulingResetOnFork=yes\nExecStart=/bin/sh -c 'chrt -p $$$$ | head -1'", nil, []string{"pid PID's current scheduling policy: SCHED_BATCH|SCHED_RESET_ON_FORK"}},
		{"CPUSchedulingPriority", "CPUSchedulingPolicy=fifo\nCPUSchedulingPriority=7\nExecStart=/bin/sh -c 'chrt -p $$$$ | tail -1'", root, []string{"pid PID's current scheduling priority: 7"}},
		{"CPUAffinity", "CPUAffinity=0\nExecStart=/bin/sh -c 'taskset -cp $$$$'", nil, []string{"pid PID's current affinity list: 0"}},
		{"OOMScoreAdjust", "OOMScoreAdjust=345\nExecStart=/bin/cat /proc/self/oom_score_adj", nil, []string{"345"}},
		{"TimerSlackNSec", "TimerSlackNSec=123us\nExecStart=/bin/cat /proc/self/timerslack_ns", nil, []string{"123000"}},
		{"NoNewPrivileges", "NoNewPrivileges=yes\nExecStart=/bin/grep NoNewPrivs /proc/self/status", nil, []string{"NoNewPrivs:\t1"}},
		{"CapabilityBoundingSet", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE cap_kill\nExecStart=/bin/grep CapBnd /proc/self/status", root, []string{"CapBnd:\t0000000000000420"}},
		{"AmbientCapabilities", "AmbientCapabilities=CAP_NET_BIND_SERVICE\nExecStart=/bin/grep -E 'Cap(Eff|Amb)' /proc/self/status", nobody,
			[]string{"CapEff:\t0000000000000400", "CapAmb:\t0000000000000400"}},
		{"SecureBits", "SecureBits=noroot keep-caps\nExecStart=/bin/sh -c 'setpriv -d | grep Securebits'", root, []string{"Securebits: noroot"}},
		{"SecureBits with User=", "SecureBits=no-setuid-fixup\nAmbientCapabilities=CAP_KILL\nExecStart=/bin/sh -c 'setpriv -d | grep -E \"Securebits|uid:\"'", nobody,
			[]string{"uid: 65534", "euid: 65534", "Securebits: no_setuid_fixup"}},
		{"ProtectSystem and ReadWritePaths", "ProtectSystem=strict\nReadWritePaths=@D@/rw\n" +
			"ExecStart=/bin/sh -c 'touch /usr/sundial-test 2>/dev/null || echo /usr refused; touch @D@/rw/f && echo rw written; touch @D@/x 2>/dev/null || echo others refused'",
			userns, []string{"/usr refused", "rw written", "others refused"}},
		{"ProtectSystem=full", "ProtectSystem=full\nExecStart=/bin/sh -c 'touch /etc/sundial-test 2>/dev/null || echo /etc refused; touch @D@/x && echo written'",
			userns, []string{"/etc refused", "written"}},
		{"ProtectSystem with StateDirectory", "ProtectSystem=strict\nStateDirectory=s\nExecStart=/bin/sh -c 'touch $STATE_DIRECTORY/f && echo written'",
			userns, []string{"written"}},
		{"ReadOnlyPaths and InaccessiblePaths", "ReadOnlyPaths=@D@\nInaccessiblePaths=@D@/hidden -/nonexistent\nReadWritePaths=@D@/rw\n" +
			"" +
			"ExecStart=/bin/sh -c 'touch @D@/x 2>/dev/null || echo refused; ls -A @D@/hidden 2>/dev/null; touch @D@/rw/f && echo rw written'",
			userns, []string{"refused", "rw written"}},
		{"PrivateTmp", "PrivateTmp=yes\nExecStartPre=/bin/sh -c 'echo shared > /tmp/sundial-shared'\n" +
			"ExecStart=/bin/sh -c 'test -e @D@ || echo host hidden; cat /tmp/sundial-shared; test -e /tmp/sundial-shared || echo gone'",
			userns, []string{"host hidden", "shared"}},
		{"ProtectHome", "ProtectHome=yes\nExecStart=/bin/sh -c 'ls -A /root 2>/dev/null | wc -l'", userns, []string{"0"}},
		{"ProtectHome=tmpfs", "ProtectHome=tmpfs\nExecStart=/bin/sh -c 'ls -A /root | wc -l; touch /root/x 2>/dev/null || echo refused'", userns, []string{"0", "refused"}},
		{"TemporaryFileSystem", "TemporaryFileSystem=@D@:mode=0700\nExecStartPre=/bin/touch @D@/f\nExecStart=/bin/sh -c 'ls -A @D@ | wc -l; stat -c %%a @D@'", userns, []string{"0", "700"}},
		{"BindPaths", "BindPaths=@D@/a:@D@/b\nBindReadOnlyPaths=@D@/a:@D@/c\n" +
			"ExecStart=/bin/sh -c 'ls @D@/b; touch @D@/b/g && echo written; touch @D@/c/h 2>/dev/null || echo refused'", userns, []string{"f", "written", "refused"}},
		{"ProtectProc", "ProtectProc=invisible\nExecStart=/bin/sh -c 'test -e /proc/@OTHER@ || echo hidden; test -e /proc/$$$$/status && echo self; grep -o hidepid=invisible /proc/self/mounts'",
			stranger, []string{"hidden", "self", "hidepid=invisible"}},
		{"ProcSubset", "ProcSubset=pid\nProtectKernelTunables=yes\nExecStart=/bin/sh -c 'test -e /proc/sys || echo no /proc/sys; test -e /proc/self/status && echo self'",
			root, []string{"no /proc/sys", "self"}},
		{"NoExecPaths and ExecPaths", "NoExecPaths=/\nExecPaths=/usr /bin\nExecStartPre=/bin/cp /bin/true @D@/true\n" +
			"ExecStart=/bin/sh -c '/usr/bin/env @D@/true; /bin/true && echo /usr executes'", userns,
			[]string{"/usr/bin/env: '@D@/true': Permission denied", "/usr executes"}},
		{"PrivateUsers", "PrivateUsers=yes\nExecStart=/bin/sh -c 'awk \"{print \\$1, \\$2, \\$3}\" /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups'",
			userns, []string{"@UID@ @UID@ 1", "@GID@ @GID@ 1", "deny"}},
		{"PrivateUsers with User=", "PrivateUsers=yes\nExecStart=/bin/sh -c 'awk \"{print \\$1, \\$2, \\$3}\" /proc/self/uid_map; id -u; stat -c %%u:%%g @D@/alien'",
			stranger, []string{"0 0 1", "4242 4242 1", "4242", "65534:65534"}},
		// As systemd's child makes the user namespace last, as root:
		// the settings that take the host's privileges are made.
		{"PrivateUsers with CPUSchedulingPolicy", "PrivateUsers=yes\nCPUSchedulingPolicy=fifo\nCPUSchedulingPriority=7\nCPUSchedulingResetOnFork=yes\nNice=-3\nIOSchedulingClass=realtime\n" +
			"ExecStart=/bin/sh -c 'chrt -p $$$$; ionice -p $$$$; cut -d\\  -f19 /proc/$$$$/stat'", root,
			[]string{"pid PID's current scheduling policy: SCHED_FIFO|SCHED_RESET_ON_FORK", "pid PID's current scheduling priority: 7", "realtime: prio 4", "-3"}},
		{"PrivateUsers with ProtectProc", "PrivateUsers=yes\nProtectProc=invisible\nProcSubset=pid\n" +
			"ExecStart=/bin/sh -c 'test -e /proc/@OTHER@ || echo hidden; test -e /proc/sys || echo no /proc/sys; grep -o hidepid=invisible,subset=pid /proc/self/mounts'",
			stranger, []string{"hidden", "no /proc/sys", "hidepid=invisible,subset=pid"}},
		{"PrivateNetwork", "PrivateNetwork=yes\nExecStart=/bin/sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1'", userns, []string{"lo"}},
		{"PrivateIPC", "PrivateIPC=yes\nExecStart=/bin/sh -c 'test $(readlink /proc/self/ns/ipc) != @IPC@ && echo private'", userns, []string{"private"}},
		{"ProtectHostname", "ProtectHostname=yes\nExecStart=/bin/sh -c 'test $(readlink /proc/self/ns/uts) != @UTS@ && echo private'", userns, []string{"private"}},
		{"PrivateDevices", "PrivateDevices=yes\nExecStart=/bin/sh -c 'test -c /dev/null -a -e /dev/pts/ptmx -a -d /dev/shm && echo devices; ls /dev | grep -c -v -E \"^(core|fd|full|null|ptmx|pts|random|shm|mqueue|hugepages|stderr|stdin|stdout|tty|urandom|zero)$\"; grep CapBnd /proc/self/status'", root,
			[]string{"devices", "0", "CapBnd:\t@BND@"}},
		{"ProtectKernelTunables", "ProtectKernelTunables=yes\nExecStart=/bin/sh -c '(echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null || echo refused'", userns, []string{"refused"}},
		{"ProtectControlGroups", "ProtectControlGroups=yes\nExecStart=/bin/sh -c 'mkdir /sys/fs/cgroup/sundial-test 2>/dev/null || echo refused'", userns, []string{"refused"}},
		{"ProtectKernelLogs", "ProtectKernelLogs=yes\nExecStart=/bin/sh -c 'head -c1 /dev/kmsg 2>/dev/null | wc -c'", userns, []string{"0"}},
		{"SystemCallFilter", "SystemCallFilter=~mkdir mkdirat\nSystemCallErrorNumber=EACCES\nExecStart=/bin/sh -c 'mkdir @D@/x || echo refused; grep -E \"Seccomp:|NoNewPrivs\" /proc/self/status'", nil,
			[]string{"mkdir: cannot create directory '@D@/x': Permission denied", "refused", "NoNewPrivs:\t@NNP@", "Seccomp:\t2"}},
		// The filters of the other settings loaded before the allow
		// list, which does not allow loading one.
		{"SystemCallFilter allowing", "SystemCallFilter=@system-service\nRestrictRealtime=yes\nLockPersonality=yes\nExecStart=/bin/sh -c 'echo ran'", nil, []string{"ran"}},
		{"SystemCallFilter with User=", "SystemCallFilter=~@mount\nExecStart=/bin/grep NoNewPrivs /proc/self/status", nobody, []string{"NoNewPrivs:\t1"}},
		{"RestrictNamespaces", "RestrictNamespaces=~user\nExecStart=/bin/sh -c 'unshare -U true 2>/dev/null || echo refused'", userns, []string{"refused"}},
		{"RestrictRealtime", "RestrictRealtime=yes\nExecStart=/bin/sh -c 'chrt -f 10 true 2>/dev/null || echo refused; chrt -b 0 true && echo batch'", nil, []string{"refused", "batch"}},
		{"RestrictSUIDSGID", "RestrictSUIDSGID=yes\nExecStart=/bin/sh -c 'touch @D@/f; chmod g+s @D@/f 2>/dev/null || echo refused; chmod 700 @D@/f && echo chmod'", nil, []string{"refused", "chmod"}},
		{"LockPersonality", "LockPersonality=yes\nExecStart=/bin/sh -c 'setarch $(uname -m) -R true 2>/dev/null || echo refused'", nil, []string{"refused"}},
		{"ProtectClock", "ProtectClock=yes\nExecStart=/bin/grep CapBnd /proc/self/status", root, []string{"CapBnd:\t@CLK@"}},
		{"LimitNOFILE", "LimitNOFILE=77\nExecStart=/bin/sh -c 'ulimit -n'", nil, []string{"77"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.cred == userns && os.Getuid() != 0 && !userNamespaces():
				t.Skip("needs root or user namespaces")
			case tc.cred != nil && tc.cred != userns && os.Getuid() != 0:
				t.Skip("needs root")
			}
			pid := ""
			if other.Process != nil {
				pid = strconv.Itoa(other.Process.Pid)
			}
			tc.text = strings.NewReplacer("@IPC@", ipc, "@UTS@", uts, "@OTHER@", pid).Replace(tc.text)
			cred := tc.cred
			if cred == root || cred == userns {
				cred = nil
			}
			lines, out, logs, dir := runConfined(t, tc.text, cred, func(dir string) {
				os.MkdirAll(filepath.Join(dir, "rw"), 0o755)
				os.MkdirAll(filepath.Join(dir, "hidden"), 0o755)
				os.WriteFile(filepath.Join(dir, "hidden", "secret"), nil, 0o644)
				os.MkdirAll(filepath.Join(dir, "a"), 0o755)
				os.WriteFile(filepath.Join(dir, "a", "f"), nil, 0o644)
				// Of a user PrivateUsers= does not map.
				os.WriteFile(filepath.Join(dir, "alien"), nil, 0o644)
				os.Chown(filepath.Join(dir, "alien"), 1234, 1234)
			})
			if out.Result != Success {
				t.Errorf("result %s; logs %q", out.Result, logs)
			}
			want := slices.Clone(tc.lines)
			for i := range want {
				nnp := "0" // root has CAP_SYS_ADMIN to load a filter without it
				if os.Getuid() != 0 {
					nnp = "1"
				}
				want[i] = strings.NewReplacer("@D@", dir, "@BND@", fmt.Sprintf("%016x", hostBounding(t)&^(1<<27|1<<17)),
					"@CLK@", fmt.Sprintf("%016x", hostBounding(t)&^(1<<25|1<<35)), "@NNP@", nnp,
					"@UID@", strconv.Itoa(os.Getuid()), "@GID@", strconv.Itoa(os.Getgid())).Replace(want[i])
				if len(out.Records) > 0 {
					want[i] = strings.ReplaceAll(want[i], "PID", strconv.Itoa(out.Records[0].PID))
				}
			}
			checkList(t, "lines", lines, want)
		})
	}
}

// hostBounding is the test's capability bounding set.
func hostBounding(t *testing.T) uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return 0
}

// TestConfinedFailure checks that a service whose set-up fails is not
// run, and ends with systemd's exit status.
func TestConfinedFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		logs []string
	}{
		{"a state directory that cannot be made", "StateDirectory=file/x\nExecStart=/bin/echo ran",
			[]string{"Failed to set up special execution directory in @D@/lib: Not a directory",
				"Failed at step STATE_DIRECTORY spawning /bin/echo: Not a directory",
				"Main process exited, code=exited, status=238/STATE_DIRECTORY", "Failed with result 'exit-code'."}},
		{"a CPU that is not there", "CPUAffinity=65000\nExecStart=/bin/echo ran",
			[]string{"Failed to set up CPU affinity: Invalid argument", "Failed at step CPUAFFINITY spawning /bin/echo: Invalid argument",
				"Main process exited, code=exited, status=215/CPUAFFINITY", "Failed with result 'exit-code'."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, _, logs, dir := runConfined(t, tc.text, nil, func(dir string) {
				os.MkdirAll(filepath.Join(dir, "lib"), 0o755)
				os.WriteFile(filepath.Join(dir, "lib", "file"), nil, 0o644)
			})
			if len(lines) != 0 {
				t.Errorf("the service ran: %q", lines)
			}
			for i := range tc.logs {
				tc.logs[i] = strings.ReplaceAll(tc.logs[i], "@D@", dir)
			}
			checkList(t, "logs", logs, tc.logs)
		})
	}
}

// TestStrayDescriptors: a descriptor the manager's process has open,
// not close-on-exec, is not the service's, whether the command is
// started directly, through the helper or in namespaces of its own;
// the 3 it sees is ls's own, of the directory it reads.
func TestStrayDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		namespaces bool
	}{
		// As the manager's SIGPIPE is not ignored, and it is not the
		// helper's to ignore it.
		{"directly", "IgnoreSIGPIPE=no", false},
		{"through the helper", "NoNewPrivileges=yes", false},
		{"in namespaces", "ProtectSystem=strict\nPrivateTmp=yes\nPrivateNetwork=yes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.namespaces && !namespacesAllowed() {
				t.Skip("namespaces cannot be made here")
			}
			strayDescriptor(t)
			lines, out, logs, _ := runConfined(t, tc.text+"\nExecStart=/bin/ls /proc/self/fd", nil, nil)
			if out.Result != Success {
				t.Fatalf("result %s; logs %q", out.Result, logs)
			}
			checkList(t, "descriptors", lines, []string{"0", "1", "2", "3"})
		})
	}
}

// TestCloseOnExecEach: where the kernel marks no range, each
// descriptor is marked.
func TestCloseOnExecEach(t *testing.T) {
	fd := strayDescriptor(t)
	if err := closeOnExecEach(); err != nil {
		t.Fatal(err)
	}
	if !closedOnExec(t, fd) {
		t.Errorf("descriptor %d is not close-on-exec", fd)
	}
}

// strayDescriptor opens a descriptor that is not close-on-exec, for
// the test.
func strayDescriptor(t *testing.T) int {
	t.Helper()
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if closedOnExec(t, fd) {
		t.Fatalf("descriptor %d is close-on-exec as opened", fd)
	}
	return fd
}

func closedOnExec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

// TestConfigurationDirectoryMode: an existing ConfigurationDirectory=
// keeps its mode, with a warning, as systemd leaves it.
func TestConfigurationDirectoryMode(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc", "app"), 0o700)
	os.Chmod(filepath.Join(dir, "etc", "app"), 0o700)
	s := loadService(t, "Type=oneshot\nConfigurationDirectory=app\nExecStart=/bin/true")
	tr := &trace{}
	spec := tr.spec(s)
	spec.Bases = testBases(dir)
	if out := Begin(spec).Wait(); out.Result != Success {
		t.Fatalf("result %s; logs %q", out.Result, tr.logs)
	}
	if !slices.Contains(tr.logs, "ConfigurationDirectory 'app' already exists but the mode is different. (File system: 700 ConfigurationDirectoryMode: 755)") {
		t.Errorf("logs %q", tr.logs)
	}
	if st, _ := os.Stat(filepath.Join(dir, "etc", "app")); st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestRemoveRuntimeDirectories(t *testing.T) {
	dir := t.TempDir()
	s := loadService(t, "RuntimeDirectory=a/b:link\nExecStart=/bin/true")
	bases := testBases(dir)
	os.MkdirAll(filepath.Join(dir, "run", "a", "b", "c"), 0o755)
	os.Symlink(filepath.Join(dir, "run", "a", "b"), filepath.Join(dir, "run", "link"))
	RemoveRuntimeDirectories(s, bases)
	for _, p := range []string{"run/a/b", "run/link"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "a")); err != nil {
		t.Errorf("the parent went: %v", err)
	}
}

func TestPersonality(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the test knows the secondary architecture of x86-64 only")
	}
	lines, out, logs, _ := runConfined(t, "Personality=x86\nExecStart=/bin/uname -m", nil, nil)
	if out.Result != Success {
		t.Errorf("result %s; logs %q", out.Result, logs)
	}
	checkList(t, "lines", lines, []string{"i686"})
}

// TestConfinedUnprivileged runs TestConfined and TestUnhonoured as a
// user that is not root, as a --user manager runs its services: the namespaces are made
// in a user namespace.
func TestConfinedUnprivileged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("run as root, it runs TestConfined as nobody; as another user, TestConfined is that run")
	}
	if !userNamespaces() {
		t.Skip("no user namespaces")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "service.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^(TestConfined|TestUnhonoured|TestSharedNamespaces|TestStrayDescriptors)$", "-test.count=1", "-test.v")
	cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, name := range []string{"TestConfined/ProtectSystem_and_ReadWritePaths", "TestConfined/PrivateTmp", "TestConfined/PrivateNetwork", "TestConfined/BindPaths", "TestConfined/NoExecPaths_and_ExecPaths", "TestConfined/PrivateUsers", "TestUnhonoured", "TestSharedNamespaces", "TestStrayDescriptors"} {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass:\n%s", name, out)
		}
	}
}

// TestConfinedSockets: RestrictAddressFamilies= and
// MemoryDenyWriteExecute= seen from a program that asks for a socket
// and a mapping; and a call denied without SystemCallErrorNumber=, or
// denied with "kill", kills the process with SIGSYS.
func TestConfinedSockets(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to ask for sockets")
	}
	const probe = `import mmap, socket
for af in (socket.AF_UNIX, socket.AF_INET):
    try:
        socket.socket(af).close(); print(af.name, "made")
    except OSError as e:
        print(af.name, e.strerror)
try:
    for s in socket.socketpair(socket.AF_UNIX): s.close()
    print("pair made")
except OSError as e:
    print("pair", e.strerror)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC); print("wx mapped")
except OSError as e:
    print("wx", e.strerror)`
	for _, tc := range []struct {
		text  string
		lines []string
	}{
		{"RestrictAddressFamilies=AF_UNIX", []string{"AF_UNIX made", "AF_INET Address family not supported by protocol", "pair made", "wx mapped"}},
		{"RestrictAddressFamilies=~AF_UNIX", []string{"AF_UNIX Address family not supported by protocol", "AF_INET made", "pair Address family not supported by protocol", "wx mapped"}},
		{"RestrictAddressFamilies=AF_INET", []string{"AF_UNIX Address family not supported by protocol", "AF_INET made", "pair Address family not supported by protocol", "wx mapped"}},
		{"MemoryDenyWriteExecute=yes", []string{"AF_UNIX made", "AF_INET made", "pair made", "wx Operation not permitted"}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			lines, out, logs, _ := runConfined(t, tc.text+"\nExecStart="+python+" @D@/probe.py", nil, func(dir string) {
				os.WriteFile(filepath.Join(dir, "probe.py"), []byte(probe), 0o644)
			})
			if out.Result != Success {
				t.Errorf("result %s; logs %q", out.Result, logs)
			}
			checkList(t, "lines", lines, tc.lines)
		})
	}
	// A call denied with "kill" is killed whatever SystemCallErrorNumber=.
	for _, filter := range []string{"~mkdir mkdirat", "~mkdir:kill mkdirat:kill\nSystemCallErrorNumber=EACCES"} {
		_, out, _, _ := runConfined(t, "SystemCallFilter="+filter+"\nExecStart=/bin/mkdir /nonexistent-dir", nil, nil)
		if out.Main != (Exit{CodeKilled, int(syscall.SIGSYS)}) {
			t.Errorf("%q: main exit %v, want killed by SIGSYS", filter, out.Main)
		}
	}
}

// TestUnhonoured: what a manager names as not honoured where it runs.
func TestUnhonoured(t *testing.T) {
	caps, ns, proc := "", "", ""
	if os.Getuid() != 0 {
		caps = "the manager is not root"
		proc = "the manager is not root, and a new /proc needs privilege over the PID namespace"
		if !userNamespaces() {
			ns = "the manager is not root, and user namespaces are not available"
		}
	}
	for key, want := range map[string]string{"CapabilityBoundingSet": caps, "SecureBits": caps, "PrivateTmp": ns, "ProtectSystem": ns,
		"ProtectProc": proc, "ProcSubset": proc, "NoExecPaths": ns, "PrivateUsers": ns, "DynamicUser": caps, "SystemCallFilter": "", "StateDirectory": "", "Nice": ""} {
		if got := Unhonoured(key); got != want {
			t.Errorf("Unhonoured(%s) = %q, want %q", key, got, want)
		}
	}
}

// TestRestrictSUIDSGID: no way of making a file set-user-ID, of those
// whose mode the filter can read and of those whose mode it cannot.
func TestRestrictSUIDSGID(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to make files")
	}
	const probe = `import ctypes, os, stat, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
def report(what, make):
    try:
        fd = make()
        print(what, "suid" if os.fstat(fd).st_mode & stat.S_ISUID else "plain")
    except OSError as e:
        print(what, e.strerror)
def openat2():
    how = OpenHow(os.O_CREAT | os.O_WRONLY, 0o4755, 0)
    fd = libc.syscall(437, -100, (d + "/openat2").encode(), ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return fd
def tmpfile():
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o4755)
    if libc.linkat(fd, b"", -100, (d + "/tmpfile").encode(), 0x1000) < 0:  # AT_EMPTY_PATH
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return fd
report("open", lambda: os.open(d + "/open", os.O_CREAT | os.O_WRONLY, 0o4755))
report("openat2", openat2)
report("O_TMPFILE", tmpfile)`
	want := []string{"open Operation not permitted", "openat2 Operation not permitted", "O_TMPFILE Operation not permitted"}
	lines, out, logs, _ := runConfined(t, "RestrictSUIDSGID=yes\nExecStart="+python+" @D@/probe.py @D@", nil, func(dir string) {
		os.WriteFile(filepath.Join(dir, "probe.py"), []byte(probe), 0o644)
	})
	if out.Result != Success {
		t.Errorf("result %s; logs %q", out.Result, logs)
	}
	checkList(t, "lines", lines, want)
}

// ioURingProbe makes a socket of AF_INET through io_uring, whose
// operations no filter sees.
const ioURingProbe = `import ctypes, mmap, os, struct
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 4, params)
if fd < 0:
    print("io_uring", os.strerror(ctypes.get_errno())); raise SystemExit
p = params.raw
sqn, cqn = struct.unpack_from('<II', p, 0)
sh, st, smask, _, _, _, sarr = struct.unpack_from('<7I', p, 40)
ch, ct, cmask, _, _, cqes = struct.unpack_from('<6I', p, 80)
rw = mmap.PROT_READ | mmap.PROT_WRITE
sq = mmap.mmap(fd, sarr + sqn * 4, mmap.MAP_SHARED, rw, offset=0)
cq = mmap.mmap(fd, cqes + cqn * 16, mmap.MAP_SHARED, rw, offset=0x8000000)
se = mmap.mmap(fd, sqn * 64, mmap.MAP_SHARED, rw, offset=0x10000000)
struct.pack_into('<BBHiQQII', se, 0, 45, 0, 0, 2, 1, 0, 0, 0)
struct.pack_into('<I', sq, sarr, 0)
tail = struct.unpack_from('<I', sq, st)[0]
struct.pack_into('<I', sq, st, tail + 1)
r = libc.syscall(426, fd, 1, 1, 1, None, 0)
head = struct.unpack_from('<I', cq, ch)[0]
res = struct.unpack_from('<i', cq, cqes + (head & cmask) * 16 + 8)[0]
print("io_uring AF_INET", "made" if res >= 0 else os.strerror(-res))`

// TestConfinedIOURing: the settings that filters cannot hold against
// io_uring's operations (a socket of any family, a file of any mode)
// refuse io_uring.
func TestConfinedIOURing(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to use io_uring")
	}
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe.py")
	os.WriteFile(probe, []byte(ioURingProbe), 0o644)
	if out, err := exec.Command(python, probe).Output(); err != nil || string(out) != "io_uring AF_INET made\n" {
		t.Skipf("io_uring makes no socket unconfined: %q %v", out, err)
	}
	for _, tc := range []struct{ text, want string }{
		{"RestrictAddressFamilies=AF_UNIX", "io_uring Function not implemented"},
		{"RestrictAddressFamilies=~AF_INET", "io_uring Function not implemented"},
		{"RestrictSUIDSGID=yes", "io_uring Function not implemented"},
		{"RestrictRealtime=yes", "io_uring AF_INET made"},
	} {
		lines, out, logs, _ := runConfined(t, tc.text+"\nExecStart="+python+" "+probe, nil, nil)
		if out.Result != Success {
			t.Errorf("%s: result %s; logs %q", tc.text, out.Result, logs)
		}
		checkList(t, tc.text, lines, []string{tc.want})
	}
}

// TestSharedNamespaces: the commands of an activation share one network
// namespace and one IPC namespace, as systemd's exec runtime keeps them
// for a unit; the next activation gets new ones. A manager that is not
// root says that each command gets its own.
func TestSharedNamespaces(t *testing.T) {
	if os.Getuid() != 0 {
		if !userNamespaces() {
			t.Skip("needs root or user namespaces")
		}
		_, out, logs, _ := runConfined(t, "PrivateNetwork=yes\nExecStartPre=/bin/true\nExecStart=/bin/true", nil, nil)
		const want = "PrivateNetwork= and PrivateIPC= give each command of the service namespaces of its own here: " +
			"the manager is not root, and a command in a user namespace of its own cannot enter another's."
		if out.Result != Success || !slices.Contains(logs, want) {
			t.Errorf("result %s; logs %q", out.Result, logs)
		}
		return
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Skip(err)
	}
	// The lowest port anyone may bind, a setting of each network
	// namespace, and the message queues of each IPC namespace.
	const show = "/bin/sh -c 'echo $$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start) $$(ipcs -q | grep -c ^0x)'"
	const text = "ExecStartPre=/bin/sh -c 'echo 1234 > /proc/sys/net/ipv4/ip_unprivileged_port_start; ipcmk -Q >/dev/null'\n" +
		"ExecStart=" + show + "\nExecStartPost=" + show + "\nExecStop=" + show + "\n"
	for _, tc := range []struct{ name, text string }{
		{"PrivateNetwork and PrivateIPC", "PrivateNetwork=yes\nPrivateIPC=yes\n"},
		{"with PrivateUsers", "PrivateNetwork=yes\nPrivateIPC=yes\nPrivateUsers=yes\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 {
				lines, out, logs, _ := runConfined(t, tc.text+text, nil, nil)
				if out.Result != Success {
					t.Errorf("result %s; logs %q", out.Result, logs)
				}
				checkList(t, "lines", lines, []string{"1234 1", "1234 1", "1234 1"})
			}
			if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); string(now) != string(host) {
				t.Errorf("the host's setting is %q, was %q", now, host)
			}
		})
	}
}
