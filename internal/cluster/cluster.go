package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"sundial.dev/sundial/internal/clock"
)

// A Cluster is a node's connection to etcd, with the member it hosts,
// if any, and its own lease, which keeps its key under nodes/ while it
// lives. Its methods may be called from several goroutines.
type Cluster struct {
	cfg  Config
	log  *slog.Logger
	etcd *embed.Etcd // nil for a client of endpoints
	// lock holds the member's data directory while the member runs.
	lock   *os.File
	client *clientv3.Client
	// incarnation names this Cluster, the node's process, among the
	// node's: a node started again has another; one that joins again
	// after its lease ended, the same.
	incarnation string
	// node is the node's session: its lease, kept alive until it ends,
	// when the node joins again under a new one, or until Close; under
	// mu.
	node *nodeSession
	// stopped ends with Close, and the node's joining again; rejoined is
	// closed once that has returned.
	stopped  context.Context
	stop     context.CancelFunc
	rejoined chan struct{}
	// closing quiets etcd's log once Close has begun.
	closing atomic.Bool
	meter   *Meter
	mu      sync.Mutex
	// started are the runs assigned to this node that Assignments has
	// handed on to be started and that have not ended, by key.
	started map[string]bool
	// ends are the runs' ends EndRun queued, which endRuns commits while
	// ending; under mu.
	ends   []*runEnd
	ending bool
	clk    clock.Clock
	// cache holds the timers' stamps and what is known of their runs,
	// kept by a watch until stopCache ends bgCtx; revs are the marks of
	// its revision, which a leader compacts etcd's history by; bg are
	// the goroutines of the watch, of the marks, and of the leader's
	// pruning, compaction and handing on of Raft leadership, which end
	// with bgCtx.
	cache *cache
	revs  revMarks
	// held is what the node last published of its copies' hashes.
	held      published
	bgCtx     context.Context
	stopCache context.CancelFunc
	bg        sync.WaitGroup
}

// A Node is what a node says of itself under nodes/.
type Node struct {
	Name string `json:"name"`
	// Lease is the hexadecimal ID of the lease that keeps the key.
	Lease string `json:"lease"`
	// Incarnation names the node's process, which a node started again
	// does not share with the one before.
	Incarnation string `json:"incarnation,omitempty"`
	// Address is where the node answers its peers' requests for its
	// journal lines, host:port; "" for nowhere.
	Address string `json:"address,omitempty"`
}

// Open starts the member the config asks for, waits until it serves
// (it may have to wait for the other members of a new cluster), and
// connects to it, or connects to the endpoints; then it puts the node's
// key, with a lease of its own. It returns when it is done, or fails
// when ctx ends first, having stopped what it started.
func Open(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	cfg, peers, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, log: cfg.Logger, meter: cfg.Meter, clk: clock.Or(cfg.Clock), incarnation: rand.Text(),
		revs: revMarks{inherited: make(chan struct{}, 1)}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.meter == nil {
		c.meter = NewMeter(nil)
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	zl := zapLogger(c.log.With("etcd", cfg.Name).Handler(), &c.closing)
	endpoints := cfg.Endpoints
	if cfg.member() {
		if c.lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		if c.etcd, err = c.startMember(ctx, peers, zl); err != nil {
			return nil, err
		}
		endpoints = cfg.AdvertiseClientURLs
	}
	cc := clientv3.Config{Endpoints: endpoints, DialTimeout: cfg.RequestTimeout, Logger: zl,
		DialKeepAliveTime: cfg.LeaseTTL, DialKeepAliveTimeout: cfg.RequestTimeout,
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(c.meter.intercept)}}
	if cfg.CACert != "" || cfg.Cert != "" {
		tls := transport.TLSInfo{TrustedCAFile: cfg.CACert, CertFile: cfg.Cert, KeyFile: cfg.Key}
		if cc.TLS, err = tls.ClientConfig(); err != nil {
			return nil, fmt.Errorf("cluster: TLS: %w", err)
		}
	}
	if c.client, err = clientv3.New(cc); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if c.node, err = c.join(ctx); err != nil {
		if cc.TLS != nil && errors.Is(err, context.DeadlineExceeded) {
			if terr := handshake(ctx, cc.TLS, cfg.Endpoints, handshakeWait); terr != nil {
				err = fmt.Errorf("%w; %w", err, terr)
			}
		}
		return nil, err
	}
	c.stopped, c.stop = context.WithCancel(context.Background())
	c.rejoined = make(chan struct{})
	go func() {
		defer close(c.rejoined)
		c.rejoin(c.stopped)
	}()
	if err := c.startCache(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// startMember starts an etcd member in the process and waits until it
// serves, or ctx ends, or it fails.
func (c *Cluster) startMember(ctx context.Context, peers []*url.URL, zl *zap.Logger) (*embed.Etcd, error) {
	cfg := c.cfg
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = cfg.DataDir
	ec.InitialCluster = cfg.InitialCluster
	ec.ClusterState = cfg.InitialClusterState
	ec.InitialClusterToken = "sundial"
	ec.ListenPeerUrls, ec.ListenClientUrls = urls(cfg.ListenPeerURLs), urls(cfg.ListenClientURLs)
	ec.AdvertiseClientUrls = urls(cfg.AdvertiseClientURLs)
	ec.AdvertisePeerUrls = nil
	for _, u := range peers {
		ec.AdvertisePeerUrls = append(ec.AdvertisePeerUrls, *u)
	}
	if cfg.Tick != 0 {
		ec.TickMs = uint(max(cfg.Tick.Milliseconds(), 1))
		ec.ElectionMs = 10 * ec.TickMs
	}
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	ec.SnapshotCount, ec.SnapshotCatchUpEntries = snapshotCount, snapshotCatchUpEntries
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	// The leader of the timers compacts (see compact.go); the member's
	// own compactor, with twice the retention, behind it, does for a
	// leader that hosts no member.
	ec.AutoCompactionRetention = (2 * cfg.CompactionRetention).String()
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zl)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("cluster: member %s: %w", cfg.Name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err = <-e.Err():
		err = fmt.Errorf("cluster: member %s: %w", cfg.Name, err)
	case <-ctx.Done():
		err = fmt.Errorf("cluster: member %s: not ready: %w", cfg.Name, context.Cause(ctx))
	}
	// Close waits for the client listeners' servers, which begin to
	// serve only once the member is ready, or has stopped: it is
	// stopped first (no leadership to hand over).
	c.closing.Store(true)
	e.Server.HardStop()
	e.Close()
	return nil, err
}

// snapshotCount is how many entries of Raft's log a member applies
// between two snapshots of its state (etcd's --snapshot-count, 10,000 by
// default). A member started again applies the entries since its last
// one anew, and while it is more than 5,000 behind, etcd's publication
// of the member spins on a core until it has caught up
// (EtcdServer.publishV3, on ErrTooManyRequests): with 10,000, at 600
// entries a second (200 runs), for seconds after each restart, which
// the other nodes' triggers paid for in lateness. Fewer keep it within
// that gap for a restart of a few seconds; a snapshot is of the
// members alone, and cheap.
const snapshotCount = 2000

// snapshotCatchUpEntries is how many entries of Raft's log a member keeps
// in memory, behind those it applied, for a follower that lags (etcd's
// --snapshot-catchup-entries, 5,000 by default); one further behind is
// sent a snapshot. A leader's round of triggers is an entry of up to 42
// run records, and under load the entries averaged 5.4 KB: 5,000 of
// them were 27 MB of the daemon's heap. At the 40 entries a second of
// 200 runs, 1,000 are some 25 s, more than a node's restart takes.
const snapshotCatchUpEntries = 1000

// lockDataDir takes an exclusive lock on DIR.lock, beside the member's
// data directory, made if need be: a second member on the same data
// would wait in etcd, for ever, for the lock its database holds.
func lockDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	path := dir + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("cluster: another etcd member of sundial's uses %s", dir)
		}
		return nil, fmt.Errorf("cluster: %s: %w", path, err)
	}
	return f, nil
}

func urls(ss []string) []url.URL {
	us := make([]url.URL, len(ss))
	for i, s := range ss {
		u, _ := url.Parse(s) // checked
		us[i] = *u
	}
	return us
}

// Name is the node's name.
func (c *Cluster) Name() string { return c.cfg.Name }

// Err returns a channel that receives the member's failure, if it fails
// while it runs; nil for a client of endpoints.
func (c *Cluster) Err() <-chan error {
	if c.etcd == nil {
		return nil
	}
	return c.etcd.Err()
}

// Close revokes the node's lease, which deletes its key, and stops what
// Open started: the client, and the member, which returns only once its
// goroutines are gone. Terms not resigned end with the member, or for a
// client of endpoints with their leases. Closing again does nothing.
func (c *Cluster) Close() error {
	var errs []error
	c.closing.Store(true)
	defer func() { c.node, c.stop, c.client, c.etcd, c.lock = nil, nil, nil, nil, nil }()
	if c.stop != nil {
		c.stop()
		<-c.rejoined
	}
	if c.node != nil {
		c.node.stop()
		<-c.node.done
		if err := c.revoke(c.node.id); err != nil {
			errs = append(errs, fmt.Errorf("cluster: the node's lease: %w", err))
		}
	}
	if c.stopCache != nil {
		c.stopCache()
	}
	c.bg.Wait()
	if c.client != nil {
		if err := c.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("cluster: %w", err))
		}
	}
	if c.etcd != nil {
		c.etcd.Close()
	}
	if c.lock != nil {
		c.lock.Close()
	}
	return errors.Join(errs...)
}

// call makes a call to etcd with the deadline of one.
func (c *Cluster) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return f(ctx)
}

// session grants a lease and keeps it alive until the session closes.
// The grant has a deadline; the session's keep-alive does not, and ends
// with Close or the client.
func (c *Cluster) session(ctx context.Context) (*concurrency.Session, error) {
	lease, err := c.grant(ctx)
	if err != nil {
		return nil, err
	}
	return concurrency.NewSession(c.client, concurrency.WithLease(lease.ID), concurrency.WithTTL(int(c.cfg.Lease()/time.Second)))
}

// grant grants a lease of the config's life, in whole seconds as etcd
// counts ([Config.Lease]), with a request's deadline.
func (c *Cluster) grant(ctx context.Context) (lease *clientv3.LeaseGrantResponse, err error) {
	err = c.call(ctx, func(ctx context.Context) (err error) {
		lease, err = c.client.Grant(ctx, int64(c.cfg.Lease()/time.Second))
		return err
	})
	return lease, err
}
