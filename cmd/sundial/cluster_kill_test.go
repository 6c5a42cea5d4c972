package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"sundial.dev/sundial/internal/await"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/timer"
	"sundial.dev/sundial/timespan"
)

var clusterRepeats = flag.Int("cluster.repeats", 20, "how many times TestClusterKill repeats each scenario")

// The environment of a daemon the test binary runs, read by
// setTestDaemon only.
const (
	// clusterTestEnv, set, gives the daemon's cluster the test's short
	// lease, short Raft ticks, no fsync, and every run record kept.
	clusterTestEnv = "SUNDIAL_TEST_CLUSTER"
	// clockOffsetEnv is a duration the daemon's realtime clock is off by.
	clockOffsetEnv = "SUNDIAL_TEST_CLOCK_OFFSET"
)

// setTestDaemon sets testOnlyDaemon as the environment asks.
func setTestDaemon() error {
	fast := os.Getenv(clusterTestEnv) != ""
	var offset time.Duration
	if s := os.Getenv(clockOffsetEnv); s != "" {
		var err error
		if offset, err = time.ParseDuration(s); err != nil {
			return fmt.Errorf("%s: %w", clockOffsetEnv, err)
		}
	}
	if !fast && offset == 0 {
		return nil
	}
	testOnlyDaemon = func(m *manager.Manager, cfg *cluster.Config) {
		if offset != 0 {
			m.Clock = offsetClock(offset)
		}
		if fast {
			cfg.LeaseTTL, cfg.Tick, cfg.UnsafeNoFsync = time.Second, 50*time.Millisecond, true
			// Every run record is kept: the check finds one for each
			// run, and tick.timer runs more than DefaultKeepRuns times
			// in a hundred repeats.
			cfg.KeepRuns = 1 << 20
		}
	}
	return nil
}

// An offsetClock is the machine's clock with its realtime off by so much.
type offsetClock time.Duration

func (o offsetClock) Now() timer.Instant {
	now := clock.Real{}.Now()
	now.Realtime = uint64(int64(now.Realtime) + time.Duration(o).Microseconds())
	return now
}

func (offsetClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	return clock.Real{}.After(d)
}

// The units every node of a test cluster has: each service appends
// "<node> <timer> <trigger µs> <invocation>" to $RUNS; long.service then
// runs until its daemon is gone. The services, started as often as every
// second, have no start limit.
var killUnits = map[string]string{
	"tick.timer":      "[Timer]\nOnCalendar=*:*:*\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n[Install]\nWantedBy=timers.target\n",
	"persist.timer":   "[Timer]\nOnCalendar=*:*:0/2\nAccuracySec=1us\nPersistent=yes\n[X-Sundial]\nCluster=yes\n[Install]\nWantedBy=timers.target\n",
	"long.timer":      "[Timer]\nOnCalendar=*:*:0/2\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n[Install]\nWantedBy=timers.target\n",
	"active.timer":    "[Timer]\nOnActiveSec=1s\nAccuracySec=1us\n[X-Sundial]\nCluster=yes\n[Install]\nWantedBy=timers.target\n",
	"active.service":  "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=" + killLine,
	"tick.service":    "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=" + killLine,
	"persist.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=" + killLine,
	"long.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c 'echo \"$$NODE $$TRIGGER_UNIT $$TRIGGER_TIMER_REALTIME_USEC $$INVOCATION_ID\" >>\"$$RUNS\"; " +
		"while kill -0 $$PPID 2>/dev/null; do sleep 0.2; done'\n",
}

const killLine = "/bin/sh -c 'echo \"$$NODE $$TRIGGER_UNIT $$TRIGGER_TIMER_REALTIME_USEC $$INVOCATION_ID\" >>\"$$RUNS\"'\n"

// The periods of the timers' calendars, µs: a run is of the elapse its
// trigger's time falls in. active.timer elapses once for each of its
// activations in the cluster: at the cluster's first start, and at its
// start after the whole cluster's stop.
var killPeriods = map[string]uint64{"tick.timer": 1e6, "persist.timer": 2e6, "long.timer": 2e6}

// TestClusterKill runs a cluster of three daemons, each the test binary
// run as sundial with an etcd member on a loopback network of its own,
// and does to it, again and again, what a cluster must survive: its
// timers' leader or the node that runs a service killed, the leader
// paused past its lease, etcd's Raft leader killed, the whole cluster
// stopped over many elapses, and all that with one node's clock 30 s
// off. The daemons are controlled by their PIDs only; what they did is
// read from the file their services write and from etcd. It asserts
// invariants, never timings: no elapse of a timer has two runs; every
// elapse is accounted for, run on time, folded into one catch-up run, or
// said in the journal not to be caught up; a run whose node died is
// node-lost and not run again, and no two runs of a timer overlap; and
// the cluster goes on within a generous deadline.
func TestClusterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three etcd members, many times")
	}
	bin, err := exec.LookPath("sundial") // put on PATH by testscript.Main
	if err != nil {
		t.Fatal(err)
	}
	var scenarios sync.WaitGroup
	for _, sc := range []struct {
		name   string
		offset time.Duration // node c's clock
		do     func(c *killCluster)
	}{
		{"leader", 0, (*killCluster).killLeader},
		{"paused", 0, (*killCluster).pauseLeader},
		{"running", 0, (*killCluster).killRunning},
		{"raft", 0, (*killCluster).killRaftLeader},
		{"outage", 0, (*killCluster).outage},
		{"skewed", 30 * time.Second, (*killCluster).killLeader},
	} {
		// The clusters mostly wait, for leases to end and elapses to
		// come: all side by side, on networks of their own, however
		// few the CPUs (which -parallel would go by).
		scenarios.Go(func() {
			t.Run(sc.name, func(t *testing.T) {
				begun := time.Now()
				c := startKillCluster(t, bin, sc.offset)
				for i := range *clusterRepeats {
					sc.do(c)
					c.check(fmt.Sprintf("after repeat %d", i+1))
				}
				t.Logf("%d repeats in %v", *clusterRepeats, time.Since(begun).Round(time.Millisecond))
			})
		})
	}
	scenarios.Wait()
}

// A killCluster is three nodes, a, b and c, and what the test knows of
// them.
type killCluster struct {
	t       *testing.T
	bin     string
	dir     string
	runs    string // the file the services write
	initial string // --etcd-initial-cluster
	nodes   []*killNode
	etcd    *clientv3.Client
	offset  time.Duration // the whole cluster's clocks, moved on by each outage
	// activations are the cluster's activations of its timers: its
	// first start, and each start after an outage.
	activations int
	skew        time.Duration // node c's clock, besides
}

// A killNode is one daemon, while it runs.
type killNode struct {
	name         string
	peer, client string
	log          string
	cmd          *exec.Cmd
	done         chan struct{} // closed once it has exited
	starts       int
}

func startKillCluster(t *testing.T, bin string, skew time.Duration) *killCluster {
	dir := t.TempDir()
	c := &killCluster{t: t, bin: bin, dir: dir, runs: filepath.Join(dir, "runs"), skew: skew, activations: 1}
	units := filepath.Join(dir, "units")
	if err := os.MkdirAll(filepath.Join(units, "timers.target.wants"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range killUnits {
		if err := os.WriteFile(filepath.Join(units, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".timer") {
			if err := os.Symlink("../"+name, filepath.Join(units, "timers.target.wants", name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	net := loopbackNetwork()
	var initial, endpoints []string
	for i, name := range []string{"a", "b", "c"} {
		n := &killNode{name: name, peer: fmt.Sprintf("http://%s.%d:2380", net, i+1), client: fmt.Sprintf("http://%s.%d:2379", net, i+1),
			log: filepath.Join(dir, name+".log")}
		c.nodes = append(c.nodes, n)
		initial = append(initial, name+"="+n.peer)
		endpoints = append(endpoints, n.client)
	}
	c.initial = strings.Join(initial, ",")
	t.Cleanup(func() {
		for _, n := range c.nodes {
			if n.cmd != nil {
				n.cmd.Process.Signal(syscall.SIGCONT)
				c.kill(n)
			}
		}
		if c.etcd != nil {
			c.etcd.Close()
		}
	})
	for _, n := range c.nodes {
		c.start(n)
	}
	etcd, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	c.etcd = etcd
	for _, n := range c.nodes {
		c.joined(n)
	}
	// Every timer has run, somewhere.
	await.Until(c, func() bool { return c.ranAll(0) }, "a run of each timer")
	return c
}

// ranAll reports whether each timer has run after the first n lines.
func (c *killCluster) ranAll(n int) bool {
	lines := c.lines()[n:]
	for name := range killUnits {
		if strings.HasSuffix(name, ".timer") && !slices.ContainsFunc(lines, func(l killRun) bool { return l.timer == name }) {
			return false
		}
	}
	return true
}

// start starts a node's daemon, on the data it has.
func (c *killCluster) start(n *killNode) {
	c.t.Helper()
	offset := c.offset
	if n.name == "c" {
		offset += c.skew
	}
	run := filepath.Join(c.dir, "run-"+n.name)
	if err := os.MkdirAll(run, 0o700); err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "daemon", "--user", "--unit-path="+filepath.Join(c.dir, "units"), "--state-dir="+filepath.Join(c.dir, "state-"+n.name),
		"--etcd-name="+n.name, "--etcd-initial-cluster="+c.initial, "--etcd-listen-peer-urls="+n.peer, "--etcd-listen-client-urls="+n.client)
	cmd.Env = append(os.Environ(), "NODE="+n.name, "RUNS="+c.runs, "XDG_RUNTIME_DIR="+run, "TZ=UTC", testNowEnv+"=",
		clusterTestEnv+"=1", clockOffsetEnv+"="+offset.String())
	log, err := os.OpenFile(n.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// A process group of its own: one stopped in the test binary's
	// group, were that group orphaned (the test run from a job whose
	// shell is gone), would be sent SIGHUP and SIGCONT by the kernel as
	// soon as any other daemon of the group exits, and go on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithTest(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	n.starts++
	go func(done chan struct{}) {
		cmd.Wait()
		log.Close()
		close(done)
	}(n.done)
}

// kill kills a node's daemon and waits for its end.
func (c *killCluster) kill(n *killNode) {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
	n.cmd = nil
}

// signal sends a node's daemon a signal, by its PID.
func (c *killCluster) signal(n *killNode, sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(n.cmd.Process.Pid, sig); err != nil {
		c.t.Fatal(err)
	}
}

// joined waits until the node's last start has joined the cluster.
func (c *killCluster) joined(n *killNode) {
	c.t.Helper()
	await.Until(c, func() bool { return c.said(n, "Joined the cluster as "+n.name+".") >= n.starts }, "%s to join the cluster", n.name)
}

// said counts the lines of a node's log that say msg.
func (c *killCluster) said(n *killNode, msg string) int {
	data, _ := os.ReadFile(n.log)
	return strings.Count(string(data), msg)
}

func (c *killCluster) node(name string) *killNode {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// A killRun is a line a service wrote.
type killRun struct {
	node, timer string
	at          uint64 // the trigger's realtime µs, on its node's clock
	invocation  string
}

// lines reads the file the services write.
func (c *killCluster) lines() []killRun {
	f, err := os.Open(c.runs)
	if err != nil {
		return nil
	}
	defer f.Close()
	var runs []killRun
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 {
			c.fatalf("a service wrote %q", sc.Text())
		}
		at, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil {
			c.fatalf("a service wrote %q", sc.Text())
		}
		runs = append(runs, killRun{fields[0], fields[1], at, fields[3]})
	}
	return runs
}

// since counts the runs of tick.timer after the first n lines, by nodes
// other than not.
func (c *killCluster) since(n int, not string) int {
	count := 0
	for _, l := range c.lines()[n:] {
		if l.timer == "tick.timer" && l.node != not {
			count++
		}
	}
	return count
}

// A killRecord is a run record, in the order the cluster made them.
type killRecord struct {
	cluster.Run
	created int64
}

// The keys the test reads, as the cluster package lays them out.
const (
	killRunsKey   = "/sundial/v1/runs/"
	killLeaderKey = "/sundial/v1/leader/"
	killNodesKey  = "/sundial/v1/nodes/"
	killBeatKey   = "/sundial/v1/beat"
)

// readRecords reads the run records from etcd, in the order they were
// made; ok is false where etcd did not answer.
func (c *killCluster) readRecords() (recs []killRecord, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := c.etcd.Get(ctx, killRunsKey, clientv3.WithPrefix())
	if err != nil {
		return nil, false
	}
	for _, kv := range resp.Kvs {
		var r killRecord
		if err := json.Unmarshal(kv.Value, &r.Run); err != nil {
			c.fatalf("run record %s: %v", kv.Key, err)
		}
		r.Key, r.created = string(kv.Key), kv.CreateRevision
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b killRecord) int { return int(a.created - b.created) })
	return recs, true
}

// records reads the run records, once etcd answers.
func (c *killCluster) records() []killRecord {
	c.t.Helper()
	var recs []killRecord
	await.Until(c, func() bool {
		var ok bool
		recs, ok = c.readRecords()
		return ok
	}, "the run records")
	return recs
}

// leader returns the node that leads the cluster's timers, once one that
// runs does.
func (c *killCluster) leader() *killNode {
	c.t.Helper()
	var n *killNode
	await.Until(c, func() bool {
		n = c.leaderNow()
		return n != nil && n.cmd != nil
	}, "a leader of the timers")
	return n
}

// leaderNow returns the node that leads the cluster's timers, as etcd
// says now; nil for none, or where etcd does not answer.
func (c *killCluster) leaderNow() *killNode {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := c.etcd.Get(ctx, killLeaderKey, clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return nil
	}
	return c.node(string(resp.Kvs[0].Value))
}

// progress waits until tick.timer has run twice more after the first n
// lines, on nodes other than not, within the deadline and, where a
// node's clock is off, that much more: a leader whose clock is behind
// the last trigger's fires nothing until its clock has passed it.
func (c *killCluster) progress(n int, not string) {
	c.t.Helper()
	await.Within(c, c.skew, func() bool { return c.since(n, not) >= 2 }, "two runs of tick.timer on nodes other than %s", not)
}

// restart starts a node killed again, and waits until it has joined.
//
// It then waits for a leader's beat to name it: a new leader tells a
// failover from the whole cluster's stop by a node named in the last
// beat that lives still, and a node killed before any beat named it
// stands for none, so that two kills within a beat of each other pass
// for the whole cluster's stop.
func (c *killCluster) restart(n *killNode) {
	c.t.Helper()
	c.start(n)
	c.joined(n)
	await.Until(c, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := c.etcd.Txn(ctx).Then(clientv3.OpGet(killNodesKey+n.name), clientv3.OpGet(killBeatKey)).Commit()
		if err != nil {
			return false
		}
		node, beat := resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs
		if len(node) == 0 || len(beat) == 0 {
			return false
		}
		var nv cluster.Node
		var bv struct{ Nodes []string }
		return json.Unmarshal(node[0].Value, &nv) == nil && json.Unmarshal(beat[0].Value, &bv) == nil &&
			slices.Contains(bv.Nodes, n.name+"/"+nv.Incarnation)
	}, "a beat to name %s", n.name)
}

// killLeader kills the leader of the timers; another node goes on firing
// them.
func (c *killCluster) killLeader() {
	l := c.leader()
	n := len(c.lines())
	c.kill(l)
	c.progress(n, l.name)
	c.restart(l)
}

// The lines a node's log has at the beginning and the end of each of its
// terms as the timers' leader.
const (
	killLeading      = "Leading the cluster's timers."
	killNoLongerLead = "No longer leading the cluster's timers."
)

// pauseLeader stops the leader of the timers past its lease: another
// leads and fires them. Let go on, it finds its term ended, and starts
// nothing (check finds no elapse run twice).
//
// etcd names the leader as soon as its key is the oldest, before its
// campaign has seen that: a candidate stopped then loses its key with
// its lease, its campaign fails once it goes on, and it never leads, so
// never says it no longer does. So the leader is stopped once it says
// it leads, and the wait is for the end of every term it had begun when
// stopped, counted then, rather than for a line more than before.
func (c *killCluster) pauseLeader() {
	var l *killNode
	await.Until(c, func() bool {
		l = c.leaderNow()
		return l != nil && l.cmd != nil && c.said(l, killLeading) > c.said(l, killNoLongerLead)
	}, "a leader of the timers that knows it leads")
	n := len(c.lines())
	c.signal(l, syscall.SIGSTOP)
	begun := c.said(l, killLeading)
	await.Until(c, func() bool { l2 := c.leaderNow(); return l2 != nil && l2 != l && c.since(n, l.name) >= 2 }, "another leader than %s, and its runs", l.name)
	c.signal(l, syscall.SIGCONT)
	await.Until(c, func() bool { return c.said(l, killNoLongerLead) >= begun }, "%s to know it no longer leads", l.name)
}

// killRunning kills the node that runs long.service: its run is marked
// node-lost, not run again, and the timer's next run starts elsewhere.
func (c *killCluster) killRunning() {
	var run killRecord
	await.Until(c, func() bool {
		recs, _ := c.readRecords()
		i := slices.IndexFunc(recs, func(r killRecord) bool {
			return r.Timer == "long.timer" && r.State == store.RunRunning && c.node(r.Node).cmd != nil
		})
		if i >= 0 {
			run = recs[i]
		}
		return i >= 0
	}, "a run of long.service")
	n := c.node(run.Node)
	c.kill(n)
	await.Until(c, func() bool {
		recs, _ := c.readRecords()
		i := slices.IndexFunc(recs, func(r killRecord) bool { return r.Key == run.Key })
		return i >= 0 && recs[i].State == cluster.RunNodeLost && slices.ContainsFunc(recs[i+1:], func(r killRecord) bool {
			return r.Timer == "long.timer" && r.Node != n.name
		})
	}, "the run of long.service on %s node-lost, and another run", n.name)
	c.restart(n)
}

// killRaftLeader kills the node whose etcd member leads etcd's Raft.
func (c *killCluster) killRaftLeader() {
	var l *killNode
	await.Until(c, func() bool {
		for _, n := range c.nodes {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.etcd.Status(ctx, n.client)
			cancel()
			if err == nil && st.Leader == st.Header.MemberId {
				l = n
				return true
			}
		}
		return false
	}, "etcd's Raft leader")
	n := len(c.lines())
	c.kill(l)
	c.progress(n, l.name)
	c.restart(l)
}

// outage stops the whole cluster, and starts it again an hour later (by
// its clocks): persist.timer fires once, late; tick.timer says in its
// journal why it does not; the run of long.service the stop ended is
// node-lost, and long.timer fires again; active.timer, activated anew,
// fires again.
func (c *killCluster) outage() {
	n := len(c.lines())
	told := 0
	terms := func() int {
		k := 0
		for _, node := range c.nodes {
			k += c.said(node, "Leading the cluster's timers.") + c.said(node, "Taking the cluster's timers up again")
		}
		return k
	}
	termsBefore := terms()
	for _, node := range c.nodes {
		told += c.said(node, "passed while the whole cluster was down")
		c.kill(node)
	}
	c.offset += time.Hour
	c.activations++
	for _, node := range c.nodes {
		c.start(node)
	}
	for _, node := range c.nodes {
		c.joined(node)
	}
	await.Until(c, func() bool {
		now := 0
		for _, node := range c.nodes {
			now += c.said(node, "passed while the whole cluster was down")
		}
		return now > told && c.since(n, "") >= 2 && c.ranAll(n)
	}, "tick.timer to run again and say why it did not catch up, persist.timer to catch up, long.timer, whose run the stop ended, and active.timer to run again")
	// The first run after the stop is the last after a jump of the
	// clocks.
	recs := slices.DeleteFunc(c.records(), func(r killRecord) bool { return r.Timer != "tick.timer" })
	first := recs[0]
	for i := 1; i < len(recs); i++ {
		if recs[i].Started > recs[i-1].Started+uint64(30*time.Minute/time.Microsecond) {
			first = recs[i]
		}
	}
	// A leader that took the timers up after another had (a failover
	// soon after the start, on a loaded machine) catches up, once, the
	// elapses it missed since the first activated them.
	if strings.HasSuffix(first.Reason, "(catch-up)") && terms()-termsBefore == 1 {
		c.fatalf("tick.timer, not Persistent=, caught up after the whole cluster's stop: on %s, at %d", first.Node, first.Started)
	}
}

// check asserts the invariants on what the cluster did so far.
func (c *killCluster) check(when string) {
	c.t.Helper()
	// Each line is written after its record, each record ended after
	// its line: the lines read before the records, and after.
	lines := c.lines()
	recs := c.records()
	later := c.lines()
	byInvocation := map[string]killRecord{}
	for _, r := range recs {
		byInvocation[r.Invocation] = r
	}
	ran := map[string]bool{}
	for _, l := range later[len(lines):] {
		ran[l.invocation] = true
	}
	for _, l := range lines {
		r, ok := byInvocation[l.invocation]
		switch {
		case ran[l.invocation]:
			c.fatalf("%s: the run %s ran twice", when, l.invocation)
		case !ok:
			c.fatalf("%s: %s ran %s (%s) with no run record", when, l.node, l.timer, l.invocation)
		case r.Node != l.node || r.Timer != l.timer || r.Started != l.at:
			c.fatalf("%s: %s ran %s at %d, its record says %s ran %s at %d", when, l.node, l.timer, l.at, r.Node, r.Timer, r.Started)
		}
		ran[l.invocation] = true
	}
	journal := ""
	for _, n := range c.nodes {
		data, _ := os.ReadFile(n.log)
		journal += string(data)
	}
	byTimer := map[string][]killRecord{}
	for _, r := range recs {
		byTimer[r.Timer] = append(byTimer[r.Timer], r)
		if !ran[r.Invocation] && r.State == store.RunEnded {
			c.fatalf("%s: the run %s of %s on %s ended (%s, %s %d), but did not run", when, r.Invocation, r.Timer, r.Node,
				r.Result, r.ExitCode, r.ExitStatus)
		}
	}
	if n := len(byTimer["active.timer"]); n != c.activations {
		c.fatalf("%s: active.timer ran %d times, for %d activations in the cluster", when, n, c.activations)
	}
	for name, runs := range byTimer {
		period := killPeriods[name]
		if period == 0 {
			continue
		}
		for i := 1; i < len(runs); i++ {
			prev, r := runs[i-1], runs[i]
			e0, e1 := prev.Started/period*period, r.Started/period*period
			switch {
			case e1 <= e0:
				c.fatalf("%s: %s ran for the elapse %d on %s (%s), after its run for %d on %s (%s)", when, name,
					e1, r.Node, r.Invocation, e0, prev.Node, prev.Invocation)
			case e1 > e0+period && !strings.HasSuffix(r.Reason, "(catch-up)") && !c.skipped(journal, name, prev):
				c.fatalf("%s: %s lost the elapses from %d to %d: its run on %s for %d is no catch-up (%s), and the journal says nothing",
					when, name, e0+period, e1-period, r.Node, e1, r.Reason)
			}
			if name == "long.timer" && c.skew == 0 && (prev.State == store.RunRunning || prev.Ended > r.Started) {
				c.fatalf("%s: the run of long.timer on %s began at %d while the one on %s (%s, ended %d) ran", when,
					r.Node, r.Started, prev.Node, prev.State, prev.Ended)
			}
		}
	}
}

// fatalf fails the test, with the end of each node's log.
func (c *killCluster) fatalf(format string, args ...any) {
	c.t.Helper()
	for _, n := range c.nodes {
		data, _ := os.ReadFile(n.log)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		c.t.Logf("the end of %s's log:\n%s", n.name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
	c.t.Fatalf(format, args...)
}

// Fatalf and Helper make the cluster what a wait fails: the test, with
// the end of each node's log.
func (c *killCluster) Fatalf(format string, args ...any) { c.fatalf(format, args...) }
func (c *killCluster) Helper()                           { c.t.Helper() }

// skipped reports whether the journal says the elapses of a timer after
// its run were not caught up.
func (c *killCluster) skipped(journal, name string, run killRecord) bool {
	at := timespan.FormatTimestamp(time.UnixMicro(int64(run.Started)).UTC(), timespan.Pretty)
	return strings.Contains(journal, name+": elapses after "+at+" passed while the whole cluster was down")
}
