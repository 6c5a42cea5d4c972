package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/service"
	"sundial.dev/sundial/internal/store"
	"sundial.dev/sundial/internal/web"
	"sundial.dev/sundial/unit"
)

const daemonUsage = `%s daemon [OPTIONS...]

Run the timers that are enabled (linked into timers.target.wants/), on
systemd's schedule, with their services, until SIGTERM or SIGINT. SIGHUP
reloads the unit files, as daemon-reload does.

Options:
  -h --help                  Show this help
     --system                Run the system's timers (default)
     --user                  Run the user's timers, from the XDG directories
     --unit-path=DIR[:]      Load units from DIR, instead of the usual
                             search path; with a colon at the end, from DIR
                             before the usual search path, as
                             SYSTEMD_UNIT_PATH says; may be given more than
                             once
     --state-dir=DIR         Keep stamps, runs and the journal in DIR
                             (default: /var/lib/sundial, or for --user
                             $XDG_STATE_HOME/sundial)
     --http=ADDR             Serve the page of the timers and runs, the
                             metrics (/metrics) and the health checks
                             (/healthz, /readyz) on ADDR, a host:port or the
                             path of a Unix socket; on TCP, acting (start,
                             stop) takes the token written to http-token
                             beside the control socket
`

func daemonMain(c *cli, args []string) int {
	fs := c.flags()
	switchOption(fs, "help", "h")
	switchOption(fs, "system", "")
	switchOption(fs, "user", "")
	fs.String("unit-path", "", "")
	fs.String("state-dir", "", "")
	fs.String("http", "", "")
	fs.String("journal-listen", "", "")
	declareEtcdOptions(fs)
	m := &manager.Manager{Scope: unit.SystemScope}
	// prepend is set by a --unit-path= that ends in ':', as
	// SYSTEMD_UNIT_PATH puts its directories before the usual ones.
	prepend := false
	httpAddr, peerAddr := "", ""
	var clusterCfg cluster.Config
	inCluster := false
	ok, status := c.parse(fs, args, func(name, value string) error {
		if etcdOption(&clusterCfg, name, value) {
			inCluster = true
			return nil
		}
		switch name {
		case "help":
			fmt.Fprintf(c.stdout, daemonUsage+daemonClusterUsage, c.prog)
			return errDone
		case "system":
			m.Scope = unit.SystemScope
		case "user":
			m.Scope = unit.UserScope
		case "unit-path":
			if strings.HasSuffix(value, ":") && value != ":" {
				prepend = true
				value = strings.TrimSuffix(value, ":")
			}
			abs, err := filepath.Abs(value)
			if err != nil || value == "" {
				return usageError(fmt.Sprintf("Failed to parse --unit-path= parameter: %s", value))
			}
			m.UnitPath = append(m.UnitPath, abs)
		case "state-dir":
			// Absolute, as --unit-path: the built-in units' directory
			// in it ends the search path, whose directories must be.
			abs, err := filepath.Abs(value)
			if err != nil {
				return usageError(fmt.Sprintf("Failed to parse --state-dir= parameter: %s", value))
			}
			m.StateDir = abs
		case "http":
			if err := checkWebAddress(value); err != nil {
				return usageError("Failed to parse --http= parameter: " + err.Error())
			}
			httpAddr = value
		case "journal-listen":
			if err := checkPeerAddress(value); err != nil {
				return err
			}
			peerAddr = value
		}
		return nil
	})
	if !ok {
		return status
	}
	if fs.NArg() > 0 {
		c.errorf("%s daemon takes no arguments.", c.prog)
		return 1
	}
	m.Socket = api.SocketPath(m.Scope == unit.UserScope)
	// Beside the socket: gone with the runtime directory, at reboot.
	m.TransientDir = filepath.Join(filepath.Dir(m.Socket), "transient")
	if len(m.UnitPath) == 0 || prepend {
		getenv := os.Getenv
		if prepend {
			given := strings.Join(m.UnitPath, ":") + ":"
			getenv = func(name string) string {
				if name == "SYSTEMD_UNIT_PATH" {
					return given
				}
				return os.Getenv(name)
			}
		}
		m.UnitPath = unit.SearchPath(m.Scope, unit.Dirs{Transient: m.TransientDir}, getenv)
		m.ConfigDir = configDir(m.Scope)
		m.RuntimeDir = runtimeConfigDir(m.Scope)
	} else {
		m.ConfigDir = m.UnitPath[0]
		m.UnitPath = append([]string{m.TransientDir}, m.UnitPath...)
	}
	if m.StateDir == "" {
		m.StateDir = defaultStateDir(m.Scope)
	}
	// A daemon holds its units and timers for as long as it runs: the
	// collector runs once the heap has grown by half rather than
	// doubled, which keeps the resident set near what is live, for some
	// CPU. A node that hosts an etcd member makes garbage at a far
	// higher rate (its index, its Raft log, the requests of every node),
	// and its collector runs at 30%. GOGC= chooses otherwise.
	if _, set := os.LookupEnv("GOGC"); !set {
		gc := daemonGCPercent
		if inCluster && len(clusterCfg.Endpoints) == 0 {
			gc = memberGCPercent
		}
		debug.SetGCPercent(gc)
	}
	var peers net.Listener
	switch {
	case inCluster:
		if err := checkEtcdOptions(&clusterCfg, m.StateDir); err != nil {
			c.errorf("%s", err)
			return 1
		}
	case peerAddr != "":
		c.errorf("--journal-listen= is for a node of a cluster: give --etcd-name= or --etcd-endpoints= too.")
		return 1
	}
	m.Env = managerEnv(m.Scope)
	m.Version = "sundial " + version()
	m.Retention = defaultRetention
	if status, ok := asInit(c); ok {
		return status
	}
	m.CGroup, m.CGroupPath = service.CGroupRoot(cgroupName(m.StateDir, m.Scope))
	logs := newBatchWriter(c.stderr)
	defer logs.Close()
	m.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	defer signal.Stop(reload)
	m.Reload = reload
	// SIGPIPE is ignored, as systemd's main ignores it: a log whose reader
	// is gone does not stop the daemon. The services inherit SIG_IGN, as
	// IgnoreSIGPIPE=yes, the default, wants; the others are started with
	// the default action.
	signal.Ignore(syscall.SIGPIPE)
	// The orphans of the services become the daemon's, as they are
	// systemd's: reaped, and a forking service's main process a child
	// whose end is known.
	if service.BecomeSubreaper() == nil {
		reaping, stopReaping := context.WithCancel(context.Background())
		defer stopReaping()
		go service.Reap(reaping)
	}
	if testOnlyDaemon != nil {
		testOnlyDaemon(m, &clusterCfg)
	}
	// The web server's TCP address is had before the manager runs, so
	// that one that cannot be had stops the daemon before it starts
	// anything; a Unix socket is made once the daemon holds its lock,
	// not to take the path of a daemon that runs already.
	var webListener net.Listener
	if httpAddr != "" && !web.IsUnix(httpAddr) {
		var err error
		if webListener, err = web.Listen(httpAddr); err != nil {
			c.errorf("Failed to listen for the web server on %s: %v", httpAddr, err)
			return 1
		}
	}
	var node *clusterNode
	if inCluster {
		// Listening before the node joins: the address it publishes
		// is the one it listens on.
		var err error
		if peers, err = peerListener(&clusterCfg, peerAddr); err != nil {
			c.errorf("%s", err)
			return 1
		}
		if peers == nil {
			m.Logger.Info("This node answers no other for its journal lines: give --journal-listen= for it to.")
		}
		clusterCfg.Logger = m.Logger
		node = startCluster(clusterCfg, m.Logger)
		m.ClusterStatus = node.status
		m.Cluster = clusterTimers{node}
	}
	// The page, and the answers to the cluster's peers, serve while the
	// manager runs: stopped once it returns, and waited for. A page that
	// cannot be served stops the manager: the daemon was asked for it.
	serving, stopServing := context.WithCancel(ctx)
	running, stopRunning := context.WithCancel(ctx)
	defer stopRunning()
	var webDone sync.WaitGroup
	var webErr error
	if httpAddr != "" {
		webDone.Go(func() {
			if webErr = serveWeb(serving, m, node, httpAddr, webListener); webErr != nil {
				stopRunning()
			}
		})
	}
	if peers != nil {
		webDone.Go(func() { servePeers(serving, peers, m, node, m.Logger) })
	}
	err := m.Run(running)
	if os.Geteuid() == 0 && m.CGroup != "" {
		// The group of the daemon's groups goes once they have: the
		// kernel removes only an empty group, with no group below.
		os.Remove(m.CGroup)
	}
	stopServing()
	webDone.Wait()
	if node != nil {
		node.stop()
	}
	logs.Close() // before the error, which goes out directly
	if err == nil {
		err = webErr
	}
	if err != nil {
		c.errorf("%s", err)
		return 1
	}
	return 0
}

// daemonGCPercent is the daemon's GOGC, and memberGCPercent that of a
// daemon that hosts an etcd member, unless the environment sets one:
// with three members on two cores under 200 runs a second, 30 kept the
// leader's resident set some 25 MB lower for 0.05 to 0.1 of a core; the
// daemon without one holds the same at either, and 30 cost its journal
// a tenth of its lines a second.
const (
	daemonGCPercent = 50
	memberGCPercent = 30
)

// testOnlyDaemon, when set by the test binary, changes the daemon's
// manager and cluster config before they start: another clock, shorter
// leases.
var testOnlyDaemon func(m *manager.Manager, cfg *cluster.Config)

// serveWeb serves the page and the metrics on addr once the manager
// runs, until ctx is done, with those of the daemon's node of a cluster
// if it is one: on l, or where l is nil on a Unix socket it makes then.
// On TCP, a new token for acting is written beside the control socket,
// then, when the daemon has it locked. It fails where it cannot listen.
func serveWeb(ctx context.Context, m *manager.Manager, node *clusterNode, addr string, l net.Listener) error {
	select {
	case <-m.Started():
	case <-ctx.Done():
		if l != nil {
			l.Close()
		}
		return nil
	}
	srv := &web.Server{Source: m, Logger: m.Logger.With("component", "web"), Clock: m.Clock}
	if node != nil {
		srv.Cluster = node
	}
	if !web.IsUnix(addr) {
		path := filepath.Join(filepath.Dir(m.Socket), "http-token")
		token, err := web.WriteToken(path)
		if err != nil {
			m.Logger.Error("Failed to write the web server's token; acting over it is refused.", "err", err)
		} else {
			srv.Token = token
			defer os.Remove(path)
		}
	}
	if l == nil {
		var err error
		if l, err = web.Listen(addr); err != nil {
			return fmt.Errorf("Failed to listen for the web server on %s: %w", addr, err)
		}
	}
	where := addr // a socket's name, not the one it was made under
	if !web.IsUnix(addr) {
		where = l.Addr().String() // the port chosen, for :0
	}
	m.Logger.Info("Serving the web page and the metrics on " + where + ".")
	if err := srv.Serve(ctx, l); err != nil {
		m.Logger.Error("web server", "err", err)
	}
	return nil
}

// checkWebAddress checks --http='s address as it is parsed: a Unix
// socket's path must be in a directory that is there, for the socket is
// made only once the daemon runs (a TCP address is listened on before).
func checkWebAddress(addr string) error {
	if addr == "" {
		return errors.New("an address is needed")
	}
	if !web.IsUnix(addr) {
		return nil
	}
	dir := filepath.Dir(addr)
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", dir)
	}
	return err
}

// A batchWriter writes what it is given to w from a goroutine of its own,
// all that came while it wrote the last: the many lines of a daemon that
// starts many timers go out in few writes, and its loop does not wait.
type batchWriter struct {
	w       io.Writer
	mu      sync.Mutex
	drained sync.Cond // told when the goroutine took what was pending
	pending []byte
	wake    chan struct{} // told when pending is no longer empty
	done    chan struct{} // closed when the goroutine is gone
	closed  bool
}

// maxPendingLog bounds what a batchWriter holds.
const maxPendingLog = 1 << 20

func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.drained.L = &b.mu
	go b.run()
	return b
}

func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A writer that is slow holds the loggers up, as it did unbatched,
	// once much is pending.
	for len(b.pending) > maxPendingLog && !b.closed {
		b.drained.Wait()
	}
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.pending) == 0 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	b.pending = append(b.pending, p...)
	return len(p), nil
}

func (b *batchWriter) run() {
	defer close(b.done)
	var out []byte
	for range b.wake {
		b.mu.Lock()
		out, b.pending = b.pending, out[:0]
		b.drained.Broadcast()
		b.mu.Unlock()
		b.w.Write(out)
	}
}

// Close writes what is pending and stops the goroutine; later writes go
// to w at once, and later Closes do nothing.
func (b *batchWriter) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.drained.Broadcast()
	close(b.wake)
	b.mu.Unlock()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.w.Write(b.pending)
	b.pending = nil
}

// defaultStateDir is /var/lib/sundial, or the user's state directory.
func defaultStateDir(scope unit.RuntimeScope) string {
	if scope == unit.SystemScope {
		return "/var/lib/sundial"
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "sundial")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "sundial")
}

// cgroupName is the name of the control group a daemon as root keeps
// its services' groups under: "sundial" for the system's daemon of the
// default state directory, "sundial-user" for root's --user one; for
// another, a name of its own state directory, as one daemon at a time
// has a state directory, so that the groups of the units of two daemons
// are not one.
func cgroupName(stateDir string, scope unit.RuntimeScope) string {
	switch {
	case stateDir == defaultStateDir(scope) && scope == unit.SystemScope:
		return "sundial"
	case stateDir == defaultStateDir(scope):
		return "sundial-user"
	}
	sum := sha256.Sum256([]byte(stateDir))
	return "sundial-" + hex.EncodeToString(sum[:4])
}

// defaultRetention keeps a million journal lines, as a size limit does
// (some 100 MB of store), and each unit's last thousand runs.
var defaultRetention = store.Retention{MaxEntries: 1_000_000, MaxRuns: 1000}

// configDir is where enable links units: /etc/systemd/system, or the
// user's configuration directory.
func configDir(scope unit.RuntimeScope) string {
	if scope == unit.SystemScope {
		return "/etc/systemd/system"
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "systemd", "user")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "systemd", "user")
}

// runtimeConfigDir is where --runtime changes go, as systemd's
// runtime_config: /run/systemd/system, or $XDG_RUNTIME_DIR/systemd/user.
func runtimeConfigDir(scope unit.RuntimeScope) string {
	if scope == unit.SystemScope {
		return "/run/systemd/system"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "systemd", "user")
	}
	return ""
}

// managerEnv is the environment services start from: the system
// manager's fixed PATH, or the user manager's own environment.
func managerEnv(scope unit.RuntimeScope) []string {
	if scope == unit.UserScope {
		return os.Environ()
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if lang, ok := os.LookupEnv("LANG"); ok {
		env = append(env, "LANG="+lang)
	}
	return env
}
