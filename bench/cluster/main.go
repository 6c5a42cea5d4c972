// Command cluster measures sundial's cluster mode on one machine, in one
// run: three user daemons, each with an etcd member on loopback and its
// own directories, read the same cluster timers, of which some elapse
// every few seconds; the leader is killed (SIGKILL), or paused past its
// lease (SIGSTOP, then SIGCONT), again and again, and each time the
// bench measures how long the cluster ran nothing: from the signal to
// the first run that another node records. It prints each figure beside
// its target:
//
//   - failover, from the signal to the next run, p50 and p99;
//   - how long the cluster takes to be whole again after the node's
//     restart, before the next signal: its member caught up, its
//     daemon joined;
//   - lateness of the runs, from their elapse to their trigger, p99,
//     outside the failovers (from a signal to a period after the next
//     run, the elapses missed meanwhile fire late, once, as after a
//     suspend);
//   - the share of the elapses due outside the failovers that ran,
//     which must be all, and the runs per second;
//   - the leader's memory (its process's resident set);
//   - etcd's database size at the end, after -duration of the load;
//   - the CPU the three daemons used, for a reading of the others;
//
// and the invariant that no elapse ran twice. A missed target is marked,
// and the command still exits 0.
//
// The timers fire every -period, spread over its seconds: as many are
// due each second. The bench watches the run records in etcd, as any
// client of the cluster may. Every daemon it starts it stops by its PID,
// at the end, on an error and on Ctrl-C, and removes its directory but
// on an error or a missed target, where it keeps the daemons' logs.
//
// Run it from within the module, on Linux (it reads /proc):
//
//	go run ./bench/cluster                    # a quick look: 2 kills, 1 stop
//	go run ./bench/cluster -kills=20 -stops=5 # the targets' count
//	go run ./bench/cluster -duration=1h       # etcd's size after an hour
//	go run ./bench/cluster -timers=20 -fire=10 -kills=1 -stops=0 -duration=0
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"sundial.dev/sundial/bench/internal/measure"
	"sundial.dev/sundial/internal/clock"
)

// The targets.
const (
	targetFailoverP50 = 3   // s
	targetFailoverP99 = 6   // s
	targetLateP99     = 1   // s
	targetLeaderRSS   = 256 // MB
)

// maxApplyLag is internal/cluster's: how many entries a member may have
// left to apply and still be handed Raft leadership.
const maxApplyLag = 1000

// The keys of etcd that the bench reads, as internal/cluster lays them out.
const (
	runsPrefix   = "/sundial/v1/runs/"
	leaderPrefix = "/sundial/v1/leader/"
	nodesPrefix  = "/sundial/v1/nodes/"
	keyPrefix    = "/sundial/v1/"
)

// nodeNames are the three nodes'.
var nodeNames = []string{"a", "b", "c"}

// A config is what the flags ask.
type config struct {
	timers, fire int
	period       time.Duration
	kills, stops int
	duration     time.Duration
}

func main() {
	var cfg config
	flag.IntVar(&cfg.timers, "timers", 10000, "cluster timers")
	flag.IntVar(&cfg.fire, "fire", 1000, "of them, how many elapse every -period; the others not during the run")
	flag.DurationVar(&cfg.period, "period", 5*time.Second, "the period of the timers that elapse, whole seconds")
	flag.IntVar(&cfg.kills, "kills", 2, "SIGKILLs of the leader")
	flag.IntVar(&cfg.stops, "stops", 1, "SIGSTOPs of the leader past its lease, each then continued")
	flag.DurationVar(&cfg.duration, "duration", 2*time.Minute, "the least time the load runs, for etcd's size at its end")
	flag.Parse()
	if cfg.period < time.Second || cfg.period%time.Second != 0 || cfg.fire > cfg.timers || cfg.fire < 1 {
		fail(errors.New("-period is whole seconds, and -fire at least 1 and at most -timers"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{cfg: cfg}
	err := b.run(ctx)
	b.stopAll()
	fmt.Printf("sundial cluster of 3 nodes on %d CPUs: %d cluster timers, %d every %v; %d SIGKILLs and %d SIGSTOPs of the leader; load for %v\n\n",
		runtime.NumCPU(), cfg.timers, cfg.fire, cfg.period, cfg.kills, cfg.stops, b.ran.Round(time.Second))
	missed := false
	for _, f := range b.report {
		fmt.Println(f)
		missed = missed || f.Missed()
	}
	if (err != nil || missed) && b.dir != "" && ctx.Err() == nil {
		// What went wrong, or slow, is in the daemons' logs.
		progress("kept %s, with each node's daemon.log", b.dir)
	} else if b.dir != "" {
		os.RemoveAll(b.dir)
	}
	if err != nil {
		fail(err)
	}
}

// A bench holds the cluster's nodes, what the watch of the runs has seen
// and the figures so far.
type bench struct {
	cfg    config
	dir    string
	bin    string
	units  string
	ic     string // etcd's --initial-cluster
	nodes  map[string]*node
	client *clientv3.Client
	report []measure.Figure
	ran    time.Duration // how long the load ran

	mu     sync.Mutex
	runs   []run
	peakDB int64         // etcd's largest database seen, bytes
	more   chan struct{} // told at each run
}

// A run is a run record as the bench sees it made.
type run struct {
	node, timer string
	started     uint64 // realtime µs
}

// A node is one of the three daemons, with its member.
type node struct {
	name, dir string
	args      []string
	cmd       *exec.Cmd
	exited    chan struct{}
	clientURL string
	// mu guards cmd, exited and stopped, which a start changes, from
	// the sampling of the leader's memory.
	mu      sync.Mutex
	stopped bool // by SIGSTOP, not yet continued
	// peak is the sample of its resident set, while it led, with the
	// most; hwm, the most VmHWM sampled.
	peak measure.Resident
	hwm  float64
	// cpu is the CPU time its processes used in the load, in seconds,
	// as sampled; cpuOf, the last sample of each process, by PID.
	cpu   float64
	cpuOf map[int]float64
}

// state returns the node's process and whether it is paused.
func (n *node) state() (*exec.Cmd, chan struct{}, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd, n.exited, n.stopped
}

func (n *node) setStopped(s bool) {
	n.mu.Lock()
	n.stopped = s
	n.mu.Unlock()
}

func (b *bench) add(f measure.Figure) { b.report = append(b.report, f) }

func (b *bench) run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "sundial-bench-cluster")
	if err != nil {
		return err
	}
	b.dir, b.bin, b.units = dir, filepath.Join(dir, "sundial"), filepath.Join(dir, "units")
	progress("building the daemon")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "sundial.dev/sundial/cmd/sundial").CombinedOutput(); err != nil {
		return fmt.Errorf("building sundial: %v\n%s", err, out)
	}
	progress("writing %d cluster timers", b.cfg.timers)
	if err := b.writeUnits(); err != nil {
		return err
	}
	if err := b.startNodes(); err != nil {
		return err
	}
	// A member paused with its daemon answers nothing, not even that
	// it is cut off: the keep-alive of the connection moves the client,
	// and its watch, to another.
	if b.client, err = clientv3.New(clientv3.Config{Endpoints: b.endpoints(), DialTimeout: 5 * time.Second,
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second, Logger: zap.NewNop()}); err != nil {
		return err
	}
	defer b.client.Close()
	b.more = make(chan struct{}, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- b.watchRuns(wctx) }()
	progress("waiting for the first runs")
	start := realtime()
	if _, err := b.awaitRun(ctx, start, "", 2*time.Minute); err != nil {
		return fmt.Errorf("no run: %w", err)
	}
	// The load is steady once a period has passed with runs.
	if err := b.pause(ctx, b.cfg.period); err != nil {
		return err
	}
	from := realtime()
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { b.sample(sctx); close(sampled) }()
	var failovers []failover
	// The stops spread among the kills.
	var signals []syscall.Signal
	for i, all := 0, b.cfg.kills+b.cfg.stops; i < all; i++ {
		if i*b.cfg.stops/all != (i+1)*b.cfg.stops/all {
			signals = append(signals, syscall.SIGSTOP)
		} else {
			signals = append(signals, syscall.SIGKILL)
		}
	}
	for i, sig := range signals {
		progress("failover %d of %d: %v of the leader", i+1, len(signals), sig)
		f, err := b.failover(ctx, sig)
		if err != nil {
			stopSampling()
			return err
		}
		failovers = append(failovers, f)
	}
	if rest := b.cfg.duration - time.Duration(realtime()-from)*time.Microsecond; rest > 0 {
		progress("running the load for %v more", rest.Round(time.Second))
		if err := b.pause(ctx, rest); err != nil {
			stopSampling()
			return err
		}
	}
	to := realtime()
	b.ran = time.Duration(to-from) * time.Microsecond
	stopSampling()
	<-sampled
	cancel()
	if err := <-watched; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	b.figures(failovers, from, to)
	return b.etcdFigures(ctx)
}

// writeUnits writes the cluster timers, each with its oneshot service,
// enabled: the first -fire of them elapse every period, at a second of
// it of their own, so that as many are due each second; the others each
// year, in June.
func (b *bench) writeUnits() error {
	wants := filepath.Join(b.units, "timers.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.units, "timers.target"), []byte("[Unit]\nDescription=Timers\n"), 0o644); err != nil {
		return err
	}
	secs := int(b.cfg.period / time.Second)
	service := []byte("[Service]\nType=oneshot\nExecStart=/bin/true\n")
	for i := range b.cfg.timers {
		name := timerName(i)
		on := fmt.Sprintf("*-06-%02d 03:%02d:%02d", 1+i%28, i/60%60, i%60)
		if i < b.cfg.fire {
			on = fmt.Sprintf("*:*:%02d/%d", i%secs, secs)
		}
		timer := fmt.Sprintf("[Timer]\nOnCalendar=%s\nAccuracySec=1us\n\n[X-Sundial]\nCluster=yes\n\n[Install]\nWantedBy=timers.target\n", on)
		if err := os.WriteFile(filepath.Join(b.units, name+".timer"), []byte(timer), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(b.units, name+".service"), service, 0o644); err != nil {
			return err
		}
		if err := os.Symlink("../"+name+".timer", filepath.Join(wants, name+".timer")); err != nil {
			return err
		}
	}
	return nil
}

func timerName(i int) string { return fmt.Sprintf("c%05d", i) }

// timerIndex is the number in a timer's name, or -1.
func timerIndex(name string) int {
	i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "c"), ".timer"))
	if err != nil {
		return -1
	}
	return i
}

// startNodes starts the three daemons, each with its member, on ports
// of the loopback address free now.
func (b *bench) startNodes() error {
	b.nodes = map[string]*node{}
	var ic []string
	for _, name := range nodeNames {
		peer, client := freePort(), freePort()
		if peer == "" || client == "" {
			return errors.New("no free port on 127.0.0.1")
		}
		n := &node{name: name, dir: filepath.Join(b.dir, name), clientURL: "http://" + client}
		n.args = []string{"daemon", "--user", "--unit-path=" + b.units, "--state-dir=" + filepath.Join(n.dir, "state"),
			"--etcd-name=" + name, "--etcd-listen-peer-urls=http://" + peer, "--etcd-listen-client-urls=" + n.clientURL}
		ic = append(ic, name+"=http://"+peer)
		b.nodes[name] = n
	}
	b.ic = strings.Join(ic, ",")
	progress("starting 3 daemons")
	for _, name := range nodeNames {
		n := b.nodes[name]
		n.args = append(n.args, "--etcd-initial-cluster="+b.ic)
		if err := os.MkdirAll(filepath.Join(n.dir, "run"), 0o700); err != nil {
			return err
		}
		if err := n.start(b.bin); err != nil {
			return err
		}
	}
	return nil
}

// freePort returns a port of 127.0.0.1 free now, as host:port, or "".
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}

func (b *bench) endpoints() []string {
	var eps []string
	for _, name := range nodeNames {
		eps = append(eps, b.nodes[name].clientURL)
	}
	return eps
}

// start starts the node's daemon, its output appended to its log.
func (n *node) start(bin string) error {
	log, err := os.OpenFile(filepath.Join(n.dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(bin, n.args...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+filepath.Join(n.dir, "run"))
	cmd.Stdout, cmd.Stderr = log, log
	// A process group of its own: one stopped in the bench's group, were
	// that group orphaned (the bench run from a job whose shell is gone),
	// would be sent SIGHUP and SIGCONT by the kernel as soon as another
	// daemon of the group exits, and go on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.exited, n.stopped = cmd, exited, false
	n.mu.Unlock()
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return nil
}

// stop ends the daemon by its PID: SIGTERM, after SIGCONT if it was
// paused, and SIGKILL if it has not exited 10 s later.
func (n *node) stop() {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGCONT)
	n.cmd.Process.Signal(syscall.SIGTERM)
	late, stop := clock.Real{}.After(10 * time.Second)
	defer stop()
	select {
	case <-n.exited:
	case <-late:
		n.cmd.Process.Kill()
		<-n.exited
	}
}

func (b *bench) stopAll() {
	for _, n := range b.nodes {
		n.stop()
	}
}

// watchRuns records each run record made, until ctx ends.
func (b *bench) watchRuns(ctx context.Context) error {
	for wr := range b.client.Watch(ctx, runsPrefix, clientv3.WithPrefix()) {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("the watch of the runs: %w", err)
		}
		for _, ev := range wr.Events {
			if ev.Type != mvccpb.PUT || !ev.IsCreate() {
				continue
			}
			var r struct {
				Node    string `json:"node"`
				Timer   string `json:"timer"`
				Started uint64 `json:"started"`
			}
			if err := json.Unmarshal(ev.Kv.Value, &r); err != nil {
				return fmt.Errorf("run record %s: %w", ev.Kv.Key, err)
			}
			b.mu.Lock()
			b.runs = append(b.runs, run{node: r.Node, timer: r.Timer, started: r.Started})
			b.mu.Unlock()
			select {
			case b.more <- struct{}{}:
			default:
			}
		}
	}
	return ctx.Err()
}

// awaitRun returns the first run started after from on a node other than
// not, once the watch has seen it, or fails after d.
func (b *bench) awaitRun(ctx context.Context, from uint64, not string, d time.Duration) (run, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	seen := 0
	for {
		b.mu.Lock()
		runs := b.runs[seen:]
		seen = len(b.runs)
		b.mu.Unlock()
		for _, r := range runs {
			if r.started > from && r.node != not {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return run{}, fmt.Errorf("no run on a node but %q within %v", not, d)
		case <-b.more:
		}
	}
}

// pause waits for d, or fails when ctx ends or a node exits unasked.
func (b *bench) pause(ctx context.Context, d time.Duration) error {
	passed, stop := clock.Real{}.After(d)
	defer stop()
	var exited []chan struct{}
	for _, name := range nodeNames {
		_, e, _ := b.nodes[name].state()
		exited = append(exited, e)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-passed:
		return nil
	case <-exited[0]:
		return b.died("a")
	case <-exited[1]:
		return b.died("b")
	case <-exited[2]:
		return b.died("c")
	}
}

// died says that a node's daemon exited unasked, with its log's end.
func (b *bench) died(name string) error {
	n := b.nodes[name]
	out, _ := os.ReadFile(filepath.Join(n.dir, "daemon.log"))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return fmt.Errorf("node %s exited (%v):\n%s", name, n.cmd.ProcessState, strings.Join(lines[max(len(lines)-10, 0):], "\n"))
}

// leader returns the name of the node that leads the timers, once one
// does.
func (b *bench) leader(ctx context.Context) (string, error) {
	for {
		resp, err := b.client.Get(ctx, leaderPrefix, clientv3.WithFirstCreate()...)
		if err != nil {
			return "", err
		}
		if len(resp.Kvs) > 0 {
			return string(resp.Kvs[0].Value), nil
		}
		if err := b.pause(ctx, 100*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// A failover is what one signal of the leader took, in seconds; window
// is from the signal to a period after the next run, realtime µs; raft
// is set when the leader led etcd's Raft too.
type failover struct {
	took   float64
	window [2]uint64
	raft   bool
	// whole is how long, in seconds, the cluster took to be whole again
	// from the node's start (or continuation).
	whole float64
}

// failover signals the leader, waits for the next run on another node,
// and returns how long that took, in seconds, and the window of the
// failover, from the signal to a period after that run. A killed leader
// is started again, a stopped one continued; the cluster is whole again
// (see whole), and a period has passed with runs, before failover
// returns.
func (b *bench) failover(ctx context.Context, sig syscall.Signal) (failover, error) {
	name, err := b.leader(ctx)
	if err != nil {
		return failover{}, err
	}
	n := b.nodes[name]
	if n == nil {
		return failover{}, fmt.Errorf("the leader is %q, no node of the bench's", name)
	}
	// A node that leads etcd's Raft too is replaced there first, and
	// the new Raft leader renews every lease: its failover is longer.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	st, err := b.client.Status(sctx, n.clientURL)
	cancel()
	raft := err == nil && st.Header.MemberId == st.Leader
	at := realtime()
	if err := n.cmd.Process.Signal(sig); err != nil {
		return failover{}, err
	}
	if sig == syscall.SIGSTOP {
		n.setStopped(true)
	} else {
		<-n.exited
	}
	led, err := b.newLeader(ctx, name)
	if err != nil {
		return failover{}, err
	}
	next, err := b.awaitRun(ctx, at, name, time.Minute)
	if err != nil {
		return failover{}, err
	}
	took := float64(next.started-at) / 1e6
	progress("  %s led (etcd's Raft too: %v); another led %.2f s later; %s ran %s %.2f s later", name, raft, float64(led-at)/1e6, next.node, next.timer, took)
	if sig == syscall.SIGSTOP {
		n.cmd.Process.Signal(syscall.SIGCONT)
		n.setStopped(false)
	} else if err := n.start(b.bin); err != nil {
		return failover{}, err
	}
	back := realtime()
	if err := b.whole(ctx, n); err != nil {
		return failover{}, err
	}
	whole := float64(realtime()-back) / 1e6
	progress("  %s whole again %.2f s after its start", name, whole)
	if err := b.pause(ctx, b.cfg.period); err != nil {
		return failover{}, err
	}
	return failover{took: took, raft: raft, whole: whole, window: [2]uint64{at, next.started + uint64(b.cfg.period/time.Microsecond)}}, nil
}

// newLeader returns when, realtime µs, a node other than old was first
// seen to lead, asking every 50 ms, within a minute.
func (b *bench) newLeader(ctx context.Context, old string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		gctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := b.client.Get(gctx, leaderPrefix, clientv3.WithFirstCreate()...)
		cancel()
		if err == nil && len(resp.Kvs) > 0 && string(resp.Kvs[0].Value) != old {
			return realtime(), nil
		}
		if !wait(ctx, 50*time.Millisecond) {
			return 0, fmt.Errorf("%s still leads after a minute", old)
		}
	}
}

// whole waits, within two minutes, until the cluster is whole again
// after a node's restart, as before its leader's signal: the node's
// member answers, with a Raft leader and no alarm, and has applied what
// the Raft leader had committed when the member first answered, but
// for maxApplyLag entries (internal/cluster does not hand Raft
// leadership to a member further behind); and its daemon has joined
// again. A signal before that would fail a second of three members,
// and lose the quorum.
func (b *bench) whole(ctx context.Context, n *node) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var target uint64 // the Raft leader's committed index, once read
	var err error
	for {
		if target == 0 {
			target, err = b.committed(ctx, n)
		}
		if target > 0 {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			var st *clientv3.StatusResponse
			if st, err = b.client.Status(sctx, n.clientURL); err == nil && st.Leader != 0 && len(st.Errors) == 0 && st.RaftAppliedIndex+maxApplyLag >= target {
				var resp *clientv3.GetResponse
				if resp, err = b.client.Get(sctx, nodesPrefix+n.name, clientv3.WithCountOnly()); err == nil && resp.Count > 0 {
					cancel()
					return nil
				}
			}
			cancel()
		}
		if !wait(ctx, 100*time.Millisecond) {
			return fmt.Errorf("node %s not whole again within two minutes: %v", n.name, err)
		}
	}
}

// committed returns the Raft leader's committed index, as n's member,
// once it answers with a leader, tells of it; 0 until then. The leader
// may be n's member itself, once it has caught up: the leader of the
// timers may hand Raft leadership to it.
func (b *bench) committed(ctx context.Context, n *node) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := b.client.Status(ctx, n.clientURL)
	if err != nil || st.Leader == 0 {
		return 0, err
	}
	if st.Header.MemberId == st.Leader {
		return st.RaftIndex, nil
	}
	for _, o := range b.nodes {
		if o != n {
			if lst, err := b.client.Status(ctx, o.clientURL); err == nil && lst.Header.MemberId == st.Leader {
				return lst.RaftIndex, nil
			}
		}
	}
	return 0, errors.New("no member answers as the Raft leader")
}

// wait waits for d, and reports whether it passed before ctx ended.
func wait(ctx context.Context, d time.Duration) bool {
	passed, stop := clock.Real{}.After(d)
	defer stop()
	select {
	case <-ctx.Done():
		return false
	case <-passed:
		return true
	}
}

// sample reads the resident set of the leader's process and the CPU
// time of every node's each second, and etcd's database size each ten,
// until ctx ends, and the CPU times once more then.
func (b *bench) sample(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		if i%10 == 0 {
			for _, ep := range b.endpoints() {
				sctx, cancel := context.WithTimeout(ctx, time.Second)
				if st, err := b.client.Status(sctx, ep); err == nil {
					b.mu.Lock()
					b.peakDB = max(b.peakDB, st.DbSize)
					b.mu.Unlock()
				}
				cancel()
			}
		}
		b.sampleCPU()
		resp, err := b.client.Get(ctx, leaderPrefix, clientv3.WithFirstCreate()...)
		if err == nil && len(resp.Kvs) > 0 {
			if n := b.nodes[string(resp.Kvs[0].Value)]; n != nil {
				if cmd, _, stopped := n.state(); !stopped {
					if mem, err := measure.Memory(cmd.Process.Pid); err == nil {
						n.mu.Lock()
						if mem.RSS > n.peak.RSS {
							n.peak = mem
						}
						n.hwm = max(n.hwm, mem.HWM)
						n.mu.Unlock()
					}
				}
			}
		}
		wait(ctx, time.Second)
	}
	b.sampleCPU()
}

// sampleCPU adds to each node's CPU time what its process used since its
// last sample: from its first, for a process started again.
func (b *bench) sampleCPU() {
	for _, n := range b.nodes {
		cmd, _, _ := n.state()
		used, err := measure.CPU(cmd.Process.Pid)
		if err != nil {
			continue // exited
		}
		n.mu.Lock()
		if n.cpuOf == nil {
			n.cpuOf = map[int]float64{}
		}
		if last, ok := n.cpuOf[cmd.Process.Pid]; ok {
			n.cpu += used - last
		}
		n.cpuOf[cmd.Process.Pid] = used
		n.mu.Unlock()
	}
}

// figures adds those of the runs: failovers, lateness outside them,
// runs twice of an elapse, and the leader's memory.
func (b *bench) figures(failovers []failover, from, to uint64) {
	period := uint64(b.cfg.period / time.Microsecond)
	secs := uint64(b.cfg.period / time.Second)
	b.mu.Lock()
	runs := slices.Clone(b.runs)
	b.mu.Unlock()
	var late []float64
	twice := 0
	elapses := map[string]bool{}
	for _, r := range runs {
		i := timerIndex(r.timer)
		if i < 0 || i >= b.cfg.fire {
			continue
		}
		// Its elapse: the last of its second of the period not after
		// the trigger.
		offset := uint64(i) % secs * 1e6
		elapse := (r.started-offset)/period*period + offset
		key := fmt.Sprintf("%s %d", r.timer, elapse)
		if elapses[key] {
			twice++
		}
		elapses[key] = true
		if r.started < from || r.started > to || slices.ContainsFunc(failovers, func(f failover) bool { return r.started >= f.window[0] && r.started <= f.window[1] }) {
			continue
		}
		late = append(late, float64(r.started-elapse)/1e6)
	}
	slices.Sort(late)
	var all, raft, other []float64
	for _, f := range failovers {
		all = append(all, f.took)
		if f.raft {
			raft = append(raft, f.took)
		} else {
			other = append(other, f.took)
		}
	}
	if len(all) > 0 {
		slices.Sort(all)
		b.add(measure.Figure{What: fmt.Sprintf("failover p50, %d", len(all)), Value: measure.Percentile(all, 0.5), Unit: "s", Limit: targetFailoverP50})
		b.add(measure.Figure{What: "  p99", Value: measure.Percentile(all, 0.99), Unit: "s", Limit: targetFailoverP99})
		b.add(measure.Figure{What: "  max", Value: all[len(all)-1], Unit: "s"})
	}
	for _, part := range []struct {
		what string
		took []float64
	}{{"leading etcd's Raft too", raft}, {"not leading etcd's Raft", other}} {
		if len(part.took) > 0 {
			slices.Sort(part.took)
			b.add(measure.Figure{What: fmt.Sprintf("  p50, %d %s", len(part.took), part.what), Value: measure.Percentile(part.took, 0.5), Unit: "s"})
		}
	}
	var whole []float64
	for _, f := range failovers {
		whole = append(whole, f.whole)
	}
	if len(whole) > 0 {
		slices.Sort(whole)
		b.add(measure.Figure{What: "whole again after a restart, p50", Value: measure.Percentile(whole, 0.5), Unit: "s"})
		b.add(measure.Figure{What: "  max", Value: whole[len(whole)-1], Unit: "s"})
	}
	if len(late) > 0 {
		b.add(measure.Figure{What: fmt.Sprintf("lateness p50, %d runs", len(late)), Value: measure.Percentile(late, 0.5), Unit: "s"})
		b.add(measure.Figure{What: "  p99", Value: measure.Percentile(late, 0.99), Unit: "s", Limit: targetLateP99})
		b.add(measure.Figure{What: "  max", Value: late[len(late)-1], Unit: "s"})
	}
	var inLoad int
	for _, r := range runs {
		if r.started >= from && r.started < to {
			inLoad++
		}
	}
	b.add(measure.Figure{What: "runs per second", Value: float64(inLoad) / (float64(to-from) / 1e6), Unit: "/s"})
	// The elapses due in the load, outside the failovers and but for its
	// last period, each of which has a run.
	due, ran := 0, 0
	for i := range b.cfg.fire {
		offset := uint64(i) % secs * 1e6
		for e := (from+period-1-offset)/period*period + offset; e+period <= to; e += period {
			if slices.ContainsFunc(failovers, func(f failover) bool { return e >= f.window[0] && e <= f.window[1] }) {
				continue
			}
			due++
			if elapses[fmt.Sprintf("%s.timer %d", timerName(i), e)] {
				ran++
			}
		}
	}
	if due > 0 {
		b.add(measure.Figure{What: fmt.Sprintf("elapses run, of %d due", due), Value: float64(ran) / float64(due), Limit: 1, AtLeast: true})
	}
	b.add(measure.Figure{What: "elapses run twice", Value: float64(twice)})
	var cpu float64
	for _, n := range b.nodes {
		cpu += n.cpu
	}
	b.add(measure.Figure{What: fmt.Sprintf("cpu of the daemons, of %d", runtime.NumCPU()), Value: cpu / (float64(to-from) / 1e6), Unit: "cpu"})
	var peak measure.Resident
	var hwm float64
	for _, n := range b.nodes {
		if n.peak.RSS > peak.RSS {
			peak = n.peak
		}
		hwm = max(hwm, n.hwm)
	}
	b.add(measure.Figure{What: "leader rss, peak sampled", Value: peak.RSS, Unit: "MB", Limit: targetLeaderRSS})
	b.add(measure.Figure{What: "  of it anonymous", Value: peak.Anon, Unit: "MB"})
	b.add(measure.Figure{What: "  file-backed", Value: peak.File, Unit: "MB"})
	b.add(measure.Figure{What: "  peak rss (VmHWM)", Value: hwm, Unit: "MB"})
}

// etcdFigures adds etcd's database size, the largest of the members',
// and the count of the keys and of the run records.
func (b *bench) etcdFigures(ctx context.Context) error {
	var size, inUse int64
	for _, ep := range b.endpoints() {
		st, err := b.client.Status(ctx, ep)
		if err != nil {
			return fmt.Errorf("status of %s: %w", ep, err)
		}
		size, inUse = max(size, st.DbSize), max(inUse, st.DbSizeInUse)
	}
	keys, err := b.client.Get(ctx, keyPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	runs, err := b.client.Get(ctx, runsPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	b.add(measure.Figure{What: "etcd db size at the end", Value: float64(size) / 1e6, Unit: "MB"})
	b.add(measure.Figure{What: "  in use", Value: float64(inUse) / 1e6, Unit: "MB"})
	b.mu.Lock()
	peak := b.peakDB
	b.mu.Unlock()
	b.add(measure.Figure{What: "  largest seen in the run", Value: float64(max(peak, size)) / 1e6, Unit: "MB"})
	b.add(measure.Figure{What: "  keys", Value: float64(keys.Count)})
	b.add(measure.Figure{What: "  of them run records", Value: float64(runs.Count)})
	return nil
}

func realtime() uint64 { return clock.Real{}.Now().Realtime }

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
