// Command daemon measures the sundial daemon as a process, in one run: how
// long it takes to load 10,000 and 100,000 timers (until it first answers:
// it listens once every timer has started) and then to list them, how
// much memory it then holds, how much CPU it uses while it waits, how late timers fire,
// and how many lines a second of a service's output reach its journal.
// Each figure is printed next to its target; a missed one is marked, and
// the command still exits 0.
//
// The daemon is built from ./cmd/sundial and run as a user's daemon on
// units generated in a temporary directory, and asked over its socket as
// list-timers and journalctl ask it. The timers of the load runs elapse
// only months from now: while the idle CPU is measured the daemon has to
// sleep, not poll. Every daemon is stopped and the directory removed at
// the end, on an error and on Ctrl-C.
//
// Run it from within the module, on Linux (it reads /proc):
//
//	go run ./bench/daemon
//	go run ./bench/daemon -timers=10000 -idle=10s
//	go run ./bench/daemon -fire=500 -lines=1000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sundial.dev/sundial/bench/internal/measure"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
)

// The targets; those of the load are for 100,000 timers.
const (
	targetTimers  = 100000
	targetLoad    = 2       // s
	targetRSS     = 300     // MB
	targetIdle    = 0.1     // % of one CPU
	targetFireP99 = 5       // ms
	targetLines   = 100_000 // lines/s
)

// settle is how long the daemon is left alone after answering before its
// idle CPU is measured, for the work that the answer leaves behind.
const settle = 2 * time.Second

func main() {
	sizes := flag.String("timers", "10000,100000", "numbers of timers to load, comma-separated")
	idle := flag.Duration("idle", time.Minute, "how long the idle CPU is measured")
	fires := flag.Int("fire", 200, "timers of the fire-latency run")
	lines := flag.Int("lines", 500000, "lines the chatty service writes")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fail(fmt.Errorf("-timers: not a positive number: %q", s))
		}
		ns = append(ns, n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{}
	err := b.run(ctx, ns, *idle, *fires, *lines)
	fmt.Printf("sundial daemon on %d CPUs, idle CPU measured over %v\n\n", runtime.NumCPU(), *idle)
	for _, f := range b.report {
		fmt.Println(f)
	}
	if err != nil {
		fail(err)
	}
}

// A bench holds the built daemon, the directory of the runs and the
// figures so far.
type bench struct {
	bin, dir string
	report   []measure.Figure
}

func (b *bench) add(f measure.Figure) { b.report = append(b.report, f) }

func (b *bench) run(ctx context.Context, sizes []int, idle time.Duration, fires, lines int) error {
	dir, err := os.MkdirTemp("", "sundial-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b.dir, b.bin = dir, filepath.Join(dir, "sundial")
	progress("building the daemon")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "sundial.dev/sundial/cmd/sundial").CombinedOutput(); err != nil {
		return fmt.Errorf("building sundial: %v\n%s", err, out)
	}
	for _, n := range sizes {
		if err := b.load(ctx, n, idle); err != nil {
			return err
		}
	}
	if err := b.fire(ctx, fires); err != nil {
		return err
	}
	return b.journal(ctx, lines)
}

// load measures the start with n timers, the memory after it and the CPU
// while nothing is due.
func (b *bench) load(ctx context.Context, n int, idle time.Duration) error {
	progress("writing and loading %d timers", n)
	d, err := b.start(fmt.Sprintf("load-%d", n), func(u unitDir) error { return writeLoadUnits(u, n) })
	if err != nil {
		return err
	}
	defer d.stop()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// The daemon listens once it has loaded and started every timer:
	// its first answer, to a question that costs it little (the last
	// run, from the store), ends the load. The list of them all is timed
	// apart, the most a client asks of it.
	err = d.poll(wctx, 10*time.Millisecond, func() (done bool, err error) {
		_, err = d.api.Runs(wctx, "", 1)
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("waiting for the daemon to load %d timers: %w", n, err)
	}
	loaded := monotonic()
	timers, err := d.api.Timers(wctx)
	if err != nil {
		return err
	}
	if len(timers) != n {
		return fmt.Errorf("the daemon loaded %d timers of %d", len(timers), n)
	}
	listed := monotonic()
	mem, err := measure.Memory(d.pid())
	if err != nil {
		return err
	}
	var loadLimit, rssLimit float64
	if n == targetTimers {
		loadLimit, rssLimit = targetLoad, targetRSS
	}
	b.add(measure.Figure{What: fmt.Sprintf("load %d timers", n), Value: seconds(d.started, loaded), Unit: "s", Limit: loadLimit})
	b.add(measure.Figure{What: "  then list them all", Value: seconds(loaded, listed), Unit: "s"})
	b.add(measure.Figure{What: "  rss after load", Value: mem.RSS, Unit: "MB", Limit: rssLimit})
	// The target is for the daemon that holds the timers; the peak, while
	// it reads them, is shown beside it.
	b.add(measure.Figure{What: "  peak rss (VmHWM)", Value: mem.HWM, Unit: "MB"})

	for _, t := range timers {
		if t.Next != 0 && t.Next < realtime()+uint64((settle+idle)/time.Microsecond) {
			progress("warning: %s elapses while the idle CPU is measured", t.Unit)
			break
		}
	}
	progress("measuring the idle CPU of %d timers for %v", n, idle)
	if err := d.wait(ctx, settle); err != nil {
		return err
	}
	cpu0, t0 := cpuTime(d.pid()), monotonic()
	if err := d.wait(ctx, idle); err != nil {
		return err
	}
	cpu1, t1 := cpuTime(d.pid()), monotonic()
	if cpu0 < 0 || cpu1 < 0 {
		return fmt.Errorf("reading /proc/%d/stat failed", d.pid())
	}
	b.add(measure.Figure{What: "  idle cpu", Value: 100 * (cpu1 - cpu0) / seconds(t0, t1), Unit: "%", Limit: targetIdle})
	return nil
}

// writeLoadUnits writes n timers, each with its service. Their calendar
// events fall only in months two months away or more, and their boot
// timers a month from now; OnUnitActiveSec= never elapses, as the
// services never run.
func writeLoadUnits(u unitDir, n int) error {
	this := time.UnixMicro(int64(realtime())).Month()
	var uptime float64
	if data, err := os.ReadFile("/proc/uptime"); err == nil {
		fmt.Sscan(string(data), &uptime)
	}
	boot := int(uptime) + 30*24*3600
	// Arguments: month, minute, second, hour, day, step of hours.
	forms := []string{
		"*-%02[1]d-* *:%02[2]d:%02[3]d",              // hourly, at a minute and second of its own
		"*-%02[1]d-%02[5]d %02[4]d:%02[2]d:00",       // yearly
		"Mon..Fri *-%02[1]d-* %02[4]d:00/15:%02[3]d", // quarter-hourly for an hour of weekdays
		"*-%02[1]d-* 0/%[6]d:%02[2]d",                // every few hours
	}
	for i := range n {
		month := (int(this)-1+2+i%9)%12 + 1
		on := fmt.Sprintf(forms[i%4], month, i%60, i/60%60, i%24, 1+i%28, 1+i%6)
		timer := fmt.Sprintf("[Unit]\nDescription=Timer %d\n\n[Timer]\nOnCalendar=%s\n", i, on)
		if i%3 == 0 {
			timer += "OnUnitActiveSec=1h\n"
		}
		if i%7 == 0 {
			timer += fmt.Sprintf("OnBootSec=%ds\n", boot+i)
		}
		if err := u.timer(fmt.Sprintf("t%06d", i), timer, "ExecStart=/bin/true\n"); err != nil {
			return err
		}
	}
	return nil
}

// fire measures how late m timers fire, set to whole seconds from 5 to 9
// seconds ahead; a run's start is when the daemon recorded the trigger.
func (b *bench) fire(ctx context.Context, m int) error {
	const spread = 4
	first := (realtime()/1e6 + 6) * 1e6
	due := map[string]uint64{}
	progress("firing %d timers", m)
	d, err := b.start("fire", func(u unitDir) error {
		for i := range m {
			name, at := fmt.Sprintf("f%04d", i), first+uint64(i%spread)*1e6
			due[name+".timer"] = at
			on := time.UnixMicro(int64(at)).UTC().Format("2006-01-02 15:04:05 UTC")
			timer := fmt.Sprintf("[Timer]\nOnCalendar=%s\nAccuracySec=1us\nRandomizedDelaySec=0\n", on)
			if err := u.timer(name, timer, "ExecStart=/bin/true\n"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer d.stop()
	wctx, cancel := context.WithTimeout(ctx, (spread+6+30)*time.Second)
	defer cancel()
	var runs []api.Run
	err = d.poll(wctx, 200*time.Millisecond, func() (done bool, err error) {
		runs, err = d.api.Runs(wctx, "", 0)
		return len(runs) >= m, err
	})
	if err != nil && (ctx.Err() != nil || wctx.Err() == nil) {
		return err // else late or missing timers are counted below
	}
	var late []float64 // ms
	for _, r := range runs {
		if at, ok := due[r.Timer]; ok {
			late = append(late, float64(int64(r.Started)-int64(at))/1e3)
		}
	}
	if len(late) < m {
		progress("warning: %d of %d timers fired", len(late), m)
	}
	if len(late) == 0 {
		return errors.New("no timer fired")
	}
	slices.Sort(late)
	b.add(measure.Figure{What: fmt.Sprintf("fire latency p50, %d", len(late)), Value: measure.Percentile(late, 0.5), Unit: "ms"})
	b.add(measure.Figure{What: "  p99", Value: measure.Percentile(late, 0.99), Unit: "ms", Limit: targetFireP99})
	b.add(measure.Figure{What: "  max", Value: late[len(late)-1], Unit: "ms"})
	return nil
}

// journal measures how fast the lines of a chatty service are stored.
// They are numbered, so that the last entry tells how far the journal
// has come; the rate is that of the entries' times, from the first line
// the polling sees to the last.
func (b *bench) journal(ctx context.Context, lines int) error {
	const unit = "chatty.service"
	progress("storing %d lines of a service's output", lines)
	d, err := b.start("journal", func(u unitDir) error {
		// %% for systemd's specifiers; seq's %08.0f counts beyond 999999.
		service := fmt.Sprintf("ExecStart=/bin/sh -c 'seq -f \"%%%%08.0f a journal line of sixty bytes or so ...................\" 1 %d'\n", lines)
		return u.timer("chatty", "[Timer]\nOnActiveSec=1s\nAccuracySec=1us\n", service)
	})
	if err != nil {
		return err
	}
	defer d.stop()
	var first, last api.Entry // of the output, as polled
	var storedBy uint64       // realtime µs
	err = d.poll(ctx, 50*time.Millisecond, func() (bool, error) {
		es, err := d.api.Journal(ctx, api.JournalQuery{Units: []string{unit}, Last: 8})
		storedBy = realtime()
		for _, e := range slices.Backward(es) {
			if e.Identifier != "sundial" {
				if first.Cursor == 0 {
					first = e
				}
				last = e
				return lineNumber(e) == lines, err
			}
		}
		return false, err
	})
	if err != nil {
		return err
	}
	runs, err := d.api.Runs(ctx, unit, 1)
	if err != nil || len(runs) == 0 {
		return fmt.Errorf("the run of %s: %v", unit, err)
	}
	n := lineNumber(last) - lineNumber(first)
	if n == 0 {
		return errors.New("the output was stored before it was first polled: raise -lines")
	}
	if last.Cursor-first.Cursor != int64(n) {
		progress("warning: %d entries between lines %d and %d of the output", last.Cursor-first.Cursor, lineNumber(first), lines)
	}
	rate := float64(n) / seconds(first.Realtime, last.Realtime)
	b.add(measure.Figure{What: "journal lines per second", Value: rate, Unit: "/s", Limit: targetLines, AtLeast: true})
	b.add(measure.Figure{What: fmt.Sprintf("  start to %d stored", lines), Value: seconds(runs[0].Started, storedBy), Unit: "s"})
	return nil
}

func lineNumber(e api.Entry) int {
	s, _, _ := strings.Cut(e.Message, " ")
	n, _ := strconv.Atoi(s)
	return n
}

// A unitDir is a directory of units.
type unitDir string

// timer writes name.timer, enabled as systemctl enable links it into
// timers.target.wants/, and the oneshot name.service it starts.
func (u unitDir) timer(name, timer, service string) error {
	dir := string(u)
	timer += "\n[Install]\nWantedBy=timers.target\n"
	service = "[Service]\nType=oneshot\n" + service
	if err := os.WriteFile(filepath.Join(dir, name+".timer"), []byte(timer), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".service"), []byte(service), 0o644); err != nil {
		return err
	}
	return os.Symlink("../"+name+".timer", filepath.Join(dir, "timers.target.wants", name+".timer"))
}

// A daemon is a running sundial daemon.
type daemon struct {
	cmd     *exec.Cmd
	api     *api.Client
	log     string
	started uint64 // monotonic µs
	exited  chan struct{}
}

// start writes the units of a run into a directory of its own, with
// timers.target, and starts a user's daemon on them, with its state, its
// socket and its output in that directory too.
func (b *bench) start(name string, write func(unitDir) error) (*daemon, error) {
	dir := filepath.Join(b.dir, name)
	units, run := filepath.Join(dir, "units"), filepath.Join(dir, "run")
	for _, d := range []string{filepath.Join(units, "timers.target.wants"), run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(units, "timers.target"), []byte("[Unit]\nDescription=Timers\n"), 0o644); err != nil {
		return nil, err
	}
	if err := write(unitDir(units)); err != nil {
		return nil, err
	}
	// The files reach the disk first: the kernel writing back what the
	// bench wrote is no part of the daemon's load.
	syscall.Sync()
	log, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(b.bin, "daemon", "--user", "--unit-path="+units, "--state-dir="+filepath.Join(dir, "state"))
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+run)
	cmd.Stdout, cmd.Stderr = log, log
	// The socket is where api.SocketPath(true) puts it for that XDG_RUNTIME_DIR.
	d := &daemon{cmd: cmd, api: &api.Client{Socket: filepath.Join(run, "sundial", "control")}, log: log.Name(), exited: make(chan struct{})}
	d.started = monotonic()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM, and SIGKILL if the daemon has not exited 10s later.
func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-d.exited:
	case <-ctx.Done():
		d.cmd.Process.Kill()
		<-d.exited
	}
}

// wait waits for a while, failing if ctx ends or the daemon exits.
func (d *daemon) wait(ctx context.Context, dur time.Duration) error {
	w, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	select {
	case <-w.Done():
		return ctx.Err()
	case <-d.exited:
		out, _ := os.ReadFile(d.log)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("the daemon exited (%v):\n%s", d.cmd.ProcessState, strings.Join(lines[max(len(lines)-10, 0):], "\n"))
	}
}

// poll asks the daemon every interval until ask reports done or fails;
// until the daemon listens, its socket is missing, which is no failure.
func (d *daemon) poll(ctx context.Context, every time.Duration, ask func() (bool, error)) error {
	for {
		done, err := ask()
		if errors.Is(err, api.ErrNoDaemon) {
			done, err = false, nil
		}
		if done || err != nil {
			return err
		}
		if err := d.wait(ctx, every); err != nil {
			return err
		}
	}
}

// cpuTime is the user and system time of a process, in seconds, or -1.
// Linux counts it in ticks of USER_HZ, 100 a second.
func cpuTime(pid int) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// The fields after the name (which may hold spaces), from the 3rd on.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	var utime, stime float64
	if len(f) < 13 {
		return -1
	} else if _, err := fmt.Sscan(f[11]+" "+f[12], &utime, &stime); err != nil {
		return -1
	}
	return (utime + stime) / 100
}

// realtime and monotonic read the clocks the daemon stamps with, in µs.
func realtime() uint64  { return clock.Real{}.Now().Realtime }
func monotonic() uint64 { return clock.Real{}.Now().Monotonic }

func seconds(from, to uint64) float64 { return float64(int64(to-from)) / 1e6 }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
