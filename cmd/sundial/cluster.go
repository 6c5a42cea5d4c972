package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/unit"
)

// etcdOptions are the daemon's options for a cluster, etcd's flags with
// the prefix etcd-.
var etcdOptions = []string{"name", "initial-cluster", "initial-cluster-state", "listen-peer-urls", "listen-client-urls",
	"advertise-client-urls", "data-dir", "endpoints", "cacert", "cert", "key"}

const daemonClusterUsage = `
Cluster (each elapse of a cluster timer fired once across the nodes):
     --etcd-name=NAME        This node's name, and its etcd member's
                             (default: the host name)
     --etcd-initial-cluster=NAME=URL[,NAME=URL...]
                             The members of a new cluster, with their
                             peer URLs (default: this one alone)
     --etcd-initial-cluster-state=new|existing
                             Make a new cluster, or join one
     --etcd-listen-peer-urls=URL[,URL...]
     --etcd-listen-client-urls=URL[,URL...]
     --etcd-advertise-client-urls=URL[,URL...]
                             Where the member listens, and what it tells
                             clients (default: etcd's, on localhost)
     --etcd-data-dir=DIR     The member's data (default: etcd/ in the
                             state directory)
     --etcd-endpoints=URL[,URL...]
                             Use an etcd cluster that runs elsewhere,
                             hosting no member
     --etcd-cacert=FILE --etcd-cert=FILE --etcd-key=FILE
                             TLS with those endpoints
     --journal-listen=HOST:PORT
                             Answer the other nodes for this node's journal
                             lines and runs there, over HTTP, to those that
                             show the cluster's secret (default: a free port
                             on the host of the first advertised client URL;
                             with --etcd-endpoints, none: the other nodes
                             show no lines of this one, and of its runs
                             those the cluster keeps)
`

func declareEtcdOptions(fs *pflag.FlagSet) {
	for _, name := range etcdOptions {
		fs.String("etcd-"+name, "", "")
	}
}

// etcdOption sets an etcd- option's value in cfg, and reports whether
// name was one.
func etcdOption(cfg *cluster.Config, name, value string) bool {
	list := func() []string { return strings.Split(value, ",") }
	switch strings.TrimPrefix(name, "etcd-") {
	case "name":
		cfg.Name = value
	case "initial-cluster":
		cfg.InitialCluster = value
	case "initial-cluster-state":
		cfg.InitialClusterState = value
	case "listen-peer-urls":
		cfg.ListenPeerURLs = list()
	case "listen-client-urls":
		cfg.ListenClientURLs = list()
	case "advertise-client-urls":
		cfg.AdvertiseClientURLs = list()
	case "data-dir":
		cfg.DataDir = value
	case "endpoints":
		cfg.Endpoints = list()
	case "cacert":
		cfg.CACert = value
	case "cert":
		cfg.Cert = value
	case "key":
		cfg.Key = value
	default:
		return false
	}
	return true
}

// checkEtcdOptions completes the config of a daemon given etcd- options:
// the node's name and the member's data directory by default; and says
// what is wrong, naming the option.
func checkEtcdOptions(cfg *cluster.Config, stateDir string) error {
	if cfg.Name == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("Failed to get the host name for --etcd-name=: %w", err)
		}
		cfg.Name = host
	}
	if cfg.DataDir == "" && len(cfg.Endpoints) == 0 {
		cfg.DataDir = filepath.Join(stateDir, "etcd")
	} else if cfg.DataDir != "" {
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("Failed to parse --etcd-data-dir= parameter: %s", cfg.DataDir)
		}
		cfg.DataDir = abs
	}
	var bad *cluster.ConfigError
	if err := cfg.Check(); errors.As(err, &bad) {
		return fmt.Errorf("Invalid --etcd-%s= value %q: %s.", bad.Field, bad.Value, bad.Reason)
	} else if err != nil {
		return err
	}
	return nil
}

// A clusterNode is the daemon's part in its cluster: the member it hosts
// or its client, opened, kept and closed by a goroutine of its own,
// beside the manager, whose local timers do not wait for it; once open,
// another of the goroutine's looks at its health.
type clusterNode struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	c      *cluster.Cluster // nil until open
	err    error            // why it could not be opened
	joined chan struct{}    // closed once open
	lease  time.Duration    // the life of its leases
	name   string           // the node's
	meter  *cluster.Meter
	// peerSecret is the cluster's secret, once read.
	peerSecret string
	health     healthWatch // once open
}

// startCluster opens the daemon's cluster; stop closes it, and nothing
// else: not the daemon's signal, after which the manager still records
// in the cluster the ends of the runs that stop.
func startCluster(cfg cluster.Config, log *slog.Logger) *clusterNode {
	ctx, cancel := context.WithCancel(context.Background())
	n := &clusterNode{cancel: cancel, done: make(chan struct{}), joined: make(chan struct{}), lease: cfg.Lease(),
		name: cfg.Name, meter: cluster.NewMeter(nil)}
	cfg.Meter = n.meter
	go func() {
		defer close(n.done)
		c := n.join(ctx, cfg, log)
		if c == nil {
			return
		}
		log.Info(fmt.Sprintf("Joined the cluster as %s.", cfg.Name))
		close(n.joined)
		var watching sync.WaitGroup
		watching.Go(func() { n.health.watch(ctx, c.Health, n.lease) })
		select {
		case <-ctx.Done():
		case err := <-c.Err():
			log.Error("The cluster's etcd member failed.", "err", err)
			<-ctx.Done()
		}
		watching.Wait()
		if err := c.Close(); err != nil {
			log.Error("Failed to leave the cluster cleanly.", "err", err)
		}
	}()
	return n
}

// clusterJoinRetry is how long a node that failed to join its cluster
// waits before it tries again.
const clusterJoinRetry = time.Second

// join opens the node's cluster, trying again until it can or ctx ends:
// a cluster started again, or an etcd too busy to answer in time, is
// waited for, not given up on; the log says so once. It returns nil
// when ctx ended first.
func (n *clusterNode) join(ctx context.Context, cfg cluster.Config, log *slog.Logger) *cluster.Cluster {
	told := false
	for {
		c, err := cluster.Open(ctx, cfg)
		n.mu.Lock()
		n.c, n.err = c, err
		n.mu.Unlock()
		switch {
		case err == nil:
			return c
		case ctx.Err() != nil:
			return nil
		case !told:
			log.Error("Failed to join the cluster; cluster timers wait until it has, trying again each second.", "err", err)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(clusterJoinRetry):
		}
	}
}

// stop closes the cluster, or gives up opening it, and returns when it
// is done.
func (n *clusterNode) stop() {
	n.cancel()
	<-n.done
}

// status answers sundial cluster status.
func (n *clusterNode) status(ctx context.Context) (api.ClusterStatus, error) {
	c, err := clusterTimers{n}.open()
	if err != nil {
		if errors.Is(err, errNotJoined) {
			err = fmt.Errorf("%w: its etcd member waits for the others, or its endpoints do not answer", err)
		}
		return api.ClusterStatus{}, err
	}
	st := c.Status(ctx)
	as := api.ClusterStatus{Node: st.Node, Lease: fmt.Sprintf("%x", st.Lease), LeaseTTL: st.LeaseTTL, LeaseLeft: st.LeaseLeft,
		Endpoint: st.Endpoint, Healthy: st.Healthy, Problems: st.Problems, Quorum: st.Quorum, Leader: st.Leader}
	for _, m := range st.Members {
		as.Members = append(as.Members, api.ClusterMember{Name: m.Name, ID: fmt.Sprintf("%x", m.ID), PeerURLs: m.PeerURLs,
			ClientURLs: m.ClientURLs, RaftLeader: m.RaftLeader, Healthy: m.Healthy, Problems: m.Problems})
	}
	for _, n := range st.Nodes {
		as.Nodes = append(as.Nodes, api.ClusterNode{Name: n.Name, Live: n.Live, Lease: n.Lease})
	}
	return as, nil
}

const clusterUsage = `%s cluster [OPTIONS...] status

Show the daemon's cluster: its etcd members, which leads etcd's Raft and
the health of each, the node that leads the cluster's timers, this
node's lease, the health of the etcd endpoint it uses, and the nodes,
those that hold a lease and those gone. Exits 1 when something is wrong
with this node's endpoint.

Options:
  -h --help                  Show this help
     --version               Show package version
     --system                Ask the system's daemon (default)
     --user                  Ask the user's daemon
`

func clusterMain(c *cli, args []string) int {
	fs := c.flags()
	d := &daemonOptions{usage: clusterUsage}
	d.declare(fs)
	ok, status := c.parse(fs, args, func(name, value string) error {
		_, err := d.option(c, name)
		return err
	})
	if !ok {
		return status
	}
	if fs.NArg() != 1 || fs.Arg(0) != "status" {
		c.errorf("%s cluster takes one command: status.", c.prog)
		return 1
	}
	client := d.client()
	st, err := client.ClusterStatus(context.Background())
	if err != nil {
		return d.failed(c, client, "get the cluster's status", err)
	}
	leader, lease := clusterLeaderLease(st)
	fmt.Fprintf(c.stdout, "Node: %s, lease %s (%s)\n", st.Node, st.Lease, lease)
	fmt.Fprintf(c.stdout, "Timers led by: %s\n", leader)
	health := "healthy"
	if !st.Healthy {
		health = "unhealthy: " + strings.Join(st.Problems, "; ")
	}
	fmt.Fprintf(c.stdout, "etcd: %s, %s\n\n", st.Endpoint, health)
	rows := [][]string{{"MEMBER", "ID", "PEER URLS", "CLIENT URLS", "RAFT", "HEALTH"}}
	for _, m := range st.Members {
		role := "follower"
		if m.RaftLeader {
			role = "leader"
		}
		health := "healthy"
		if !m.Healthy {
			health = "unhealthy: " + strings.Join(m.Problems, "; ")
		}
		rows = append(rows, []string{m.Name, m.ID, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), role, health})
	}
	writeTable(c, rows, nil)
	fmt.Fprintf(c.stdout, "\n%d members listed.\n", len(st.Members))
	if st.Quorum {
		rows = [][]string{{"NODE", "STATE", "LEASE"}}
		for _, n := range st.Nodes {
			state, lease := "gone", "-"
			if n.Live {
				state, lease = "live", n.Lease
			}
			if n.Name == st.Leader {
				state += ", leads the timers"
			}
			rows = append(rows, []string{n.Name, state, lease})
		}
		fmt.Fprintln(c.stdout)
		writeTable(c, rows, nil)
		fmt.Fprintf(c.stdout, "\n%d nodes listed.\n", len(st.Nodes))
	}
	if !st.Healthy {
		return 1
	}
	return 0
}

// clusterLeaderLease says who leads the timers and what is left of the
// node's lease, as cluster status shows them: not known without a
// quorum, nor where they could not be read (the problems say why).
func clusterLeaderLease(st api.ClusterStatus) (leader, lease string) {
	leader, lease = st.Leader, "not known"
	switch {
	case !st.Quorum:
		return "not known without a quorum", "not known without a quorum"
	case leader == "":
		leader = "none"
	}
	if st.LeaseTTL > 0 {
		lease = fmt.Sprintf("%s, %s left", time.Duration(st.LeaseTTL)*time.Second, time.Duration(st.LeaseLeft)*time.Second)
	}
	return leader, lease
}

// clusterTimers is the node's cluster as its manager's timers see it.
type clusterTimers struct{ n *clusterNode }

var _ manager.Cluster = clusterTimers{}

// open returns the cluster once the node has joined it.
func (ct clusterTimers) open() (*cluster.Cluster, error) {
	ct.n.mu.Lock()
	defer ct.n.mu.Unlock()
	switch {
	case ct.n.err != nil:
		return nil, fmt.Errorf("the daemon failed to join its cluster: %w", ct.n.err)
	case ct.n.c == nil:
		return nil, errNotJoined
	}
	return ct.n.c, nil
}

// errNotJoined is the error of a node that has not joined its cluster.
var errNotJoined = errors.New("the daemon has not joined its cluster yet")

func (clusterTimers) Mark(u *unit.Unit) (bool, []unit.Diagnostic) {
	m, diags := cluster.ReadMark(u)
	return m.Cluster, diags
}

// joined returns the cluster once the node has joined it, or fails when
// it failed to or ctx ends first.
func (ct clusterTimers) joined(ctx context.Context) (*cluster.Cluster, error) {
	select {
	case <-ct.n.joined:
	case <-ct.n.done:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	return ct.open()
}

func (ct clusterTimers) PublishCopies(ctx context.Context, hashes map[string]string) (map[string]string, error) {
	c, err := ct.joined(ctx)
	if err != nil {
		return nil, err
	}
	return c.PublishCopies(ctx, hashes)
}

func (ct clusterTimers) Candidates(ctx context.Context, timers []string) ([][]manager.ClusterNode, error) {
	c, err := ct.joined(ctx)
	if err != nil {
		return nil, err
	}
	return candidates(ctx, c, timers)
}

func (ct clusterTimers) Beats(ctx context.Context, each func(at uint64)) error {
	c, err := ct.joined(ctx)
	if err != nil {
		return err
	}
	return c.Beats(ctx, each)
}

func (ct clusterTimers) ClusterHash(timer string) (string, bool) {
	c, err := ct.open()
	if err != nil {
		return "", false
	}
	return c.ClusterHash(timer)
}

func (ct clusterTimers) Timer(ctx context.Context, name string) (store.TimerState, error) {
	c, err := ct.joined(ctx)
	if err != nil {
		return store.TimerState{}, err
	}
	return c.Timer(ctx, name)
}

func (ct clusterTimers) LastRun(ctx context.Context, timer string) (manager.ClusterRunState, error) {
	c, err := ct.joined(ctx)
	if err != nil {
		return manager.ClusterRunState{}, err
	}
	run, ok, err := c.LastRun(ctx, timer)
	if err != nil || !ok {
		return manager.ClusterRunState{}, err
	}
	return runState(run), nil
}

// runState is a run record as the manager's timers see it.
func runState(r cluster.Run) manager.ClusterRunState {
	return manager.ClusterRunState{Timer: r.Timer, Node: r.Node, Started: r.Started, Ended: r.Ended,
		Running: r.State == cluster.RunAssigned || r.State == store.RunRunning}
}

func (clusterTimers) NodeGlobs(u *unit.Unit) []string {
	m, _ := cluster.ReadMark(u)
	return m.Nodes
}

func (ct clusterTimers) Assignments(ctx context.Context, start func(manager.ClusterAssignment)) error {
	c, err := ct.joined(ctx)
	if err != nil {
		return err
	}
	err = c.Assignments(ctx, func(r cluster.Run, ended <-chan struct{}) {
		start(manager.ClusterAssignment{Timer: r.Timer, Unit: r.Unit, Reason: r.Reason, Invocation: r.Invocation, Elapse: r.Started, Run: r,
			SessionEnded: ended})
	})
	if errors.Is(err, cluster.ErrSessionEnded) {
		return fmt.Errorf("%w: %w", manager.ErrSessionEnded, err)
	}
	return err
}

func (ct clusterTimers) SessionEnded(ctx context.Context) (<-chan struct{}, error) {
	c, err := ct.joined(ctx)
	if err != nil {
		return nil, err
	}
	return c.SessionEnded(ctx)
}

func (ct clusterTimers) Lease() time.Duration { return ct.n.lease }

func (ct clusterTimers) Lead(ctx context.Context) (manager.ClusterTerm, error) {
	c, err := ct.joined(ctx)
	if err != nil {
		return nil, err
	}
	t, err := c.Lead(ctx)
	if err != nil {
		return nil, err
	}
	return clusterTerm{c, t}, nil
}

func (ct clusterTimers) EndRun(ctx context.Context, run manager.ClusterRun, ended uint64, result, exitCode string, exitStatus int) error {
	c, err := ct.open()
	if err != nil {
		return err
	}
	_, err = c.EndRun(ctx, run.(cluster.Run), ended, result, exitCode, exitStatus)
	return managerError(err)
}

// A clusterTerm is a term of the node's leadership, for its manager.
type clusterTerm struct {
	c *cluster.Cluster
	t cluster.Term
}

func (ct clusterTerm) Done() <-chan struct{} { return ct.t.Done() }
func (ct clusterTerm) Resign() error         { return ct.t.Resign() }

func (ct clusterTerm) MarkNodesLost(ctx context.Context, at uint64) error {
	_, err := ct.c.MarkNodesLost(ctx, ct.t, at)
	return managerError(err)
}

func (ct clusterTerm) Timer(ctx context.Context, name string) (store.TimerState, error) {
	return ct.c.Timer(ctx, name)
}

func (ct clusterTerm) Trigger(ctx context.Context, ts []manager.ClusterTrigger) ([]store.TimerState, []error) {
	as := make([]cluster.Assignment, len(ts))
	for i, t := range ts {
		as[i] = cluster.Assignment{Prev: t.Prev, Trigger: t.Trigger, To: cluster.Candidate{Name: t.Node.Name, Lease: t.Node.Lease}}
	}
	states, errs := make([]store.TimerState, len(ts)), make([]error, len(ts))
	for i, a := range ct.c.AssignAll(ctx, ct.t, as) {
		states[i], errs[i] = a.State, managerError(a.Err)
	}
	return states, errs
}

func (ct clusterTerm) SetHashes(ctx context.Context, hashes map[string]string) error {
	return managerError(ct.c.SetHashes(ctx, ct.t, hashes))
}

func (ct clusterTerm) Nodes(ctx context.Context, timers []string) ([][]manager.ClusterNode, error) {
	return candidates(ctx, ct.c, timers)
}

// candidates is c's Candidates of timers, as the manager has them.
func candidates(ctx context.Context, c *cluster.Cluster, timers []string) ([][]manager.ClusterNode, error) {
	all, err := c.Candidates(ctx, timers...)
	nodes := make([][]manager.ClusterNode, len(all))
	for i, candidates := range all {
		for _, n := range candidates {
			nodes[i] = append(nodes[i], manager.ClusterNode{Name: n.Name, Busy: n.Busy, Lease: n.Lease, Hash: n.Hash})
		}
	}
	return nodes, err
}

func (ct clusterTerm) Follow(ctx context.Context) ([]manager.ClusterRunState, <-chan manager.ClusterEvent, error) {
	runs, events, err := ct.c.Follow(ctx)
	if err != nil {
		return nil, nil, err
	}
	unfinished := make([]manager.ClusterRunState, len(runs))
	for i, r := range runs {
		unfinished[i] = runState(r)
	}
	out := make(chan manager.ClusterEvent, cap(events))
	go func() {
		defer close(out)
		for ev := range events {
			select {
			case out <- manager.ClusterEvent{Ended: runState(ev.Ended), Node: ev.Node}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return unfinished, out, nil
}

func (ct clusterTerm) Down(ctx context.Context) (bool, error) { return ct.c.Down(ctx) }

func (ct clusterTerm) Beat(ctx context.Context, at uint64) error {
	return managerError(ct.c.Beat(ctx, ct.t, at))
}

func (ct clusterTerm) Activate(ctx context.Context, as []manager.ClusterActivation) ([]store.TimerState, []error) {
	all := make([]cluster.Activation, len(as))
	for i, a := range as {
		all[i] = cluster.Activation{Timer: a.Timer, Prev: a.Prev, At: a.At}
	}
	states, errs := ct.c.ActivateAll(ctx, ct.t, all)
	for i := range errs {
		errs[i] = managerError(errs[i])
	}
	return states, errs
}

// managerError is err with the manager's name for the cluster's
// ErrDeposed and ErrStale.
func managerError(err error) error {
	switch {
	case errors.Is(err, cluster.ErrDeposed):
		return fmt.Errorf("%w: %w", manager.ErrDeposed, err)
	case errors.Is(err, cluster.ErrStale):
		return fmt.Errorf("%w: %w", manager.ErrStale, err)
	}
	return err
}
