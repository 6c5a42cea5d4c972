package cluster

import (
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"time"

	"sundial.dev/sundial/internal/clock"
)

// A Config says how a node reaches etcd: by hosting a member of its own
// (Endpoints empty), or as a client of the Endpoints. The member's fields
// are etcd's flags of the same names.
type Config struct {
	// Name is the node's: its member's name in InitialCluster, and the
	// name its runs and its liveness key carry. Required.
	Name string

	// InitialCluster is etcd's --initial-cluster, name=peer-URL pairs
	// separated by commas; empty for Name alone at its first
	// ListenPeerURLs. The URL of Name is the one this member advertises
	// to its peers.
	InitialCluster string
	// InitialClusterState is "new" (empty means new) or "existing".
	InitialClusterState string
	// ListenPeerURLs and ListenClientURLs are where the member listens;
	// empty for etcd's defaults on the loopback address.
	ListenPeerURLs, ListenClientURLs []string
	// AdvertiseClientURLs are the URLs the member tells clients; empty
	// for ListenClientURLs.
	AdvertiseClientURLs []string
	// DataDir is the member's directory. Required for a member.
	DataDir string

	// Endpoints are the client URLs of an etcd cluster to use instead of
	// a member of our own; CACert, Cert and Key are PEM files for TLS.
	Endpoints         []string
	CACert, Cert, Key string

	// LeaseTTL is how long a node's and a leader's lease outlives its
	// last renewal; zero for DefaultLeaseTTL. etcd counts in seconds: it
	// is rounded up.
	LeaseTTL time.Duration
	// RequestTimeout bounds each call to etcd; zero for
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Tick is the member's Raft heartbeat, its election timeout ten of
	// them; zero for etcd's 100 ms.
	Tick time.Duration
	// UnsafeNoFsync is etcd's --unsafe-no-fsync: for tests only.
	UnsafeNoFsync bool
	// CompactionRetention is how much of etcd's history a leader that
	// hosts a member keeps (the member's own periodic compactor keeps
	// twice as much); zero for DefaultCompactionRetention.
	CompactionRetention time.Duration

	// Address is where the node answers its peers for its journal
	// lines, host:port, published with its key under nodes/; empty for
	// nowhere.
	Address string

	// KeepRuns is how many run records of each timer are kept in etcd,
	// the newest (and any older one not ended); zero for
	// DefaultKeepRuns. The leader deletes older ones.
	KeepRuns int

	// Logger receives etcd's log and the package's own; nil discards.
	Logger *slog.Logger
	// Meter counts the node's requests, terms and triggers; nil for one
	// that no one reads.
	Meter *Meter
	// Clock times the retries of the watch of timers and of handing
	// etcd's Raft leadership on, and is what the node counts its lease's
	// deadline by; nil for the system's.
	Clock clock.Clock
}

const (
	// DefaultLeaseTTL is short enough for a failover within a few
	// seconds, long enough for a loaded machine to renew it in time.
	DefaultLeaseTTL = 2 * time.Second
	// DefaultRequestTimeout bounds a call to etcd.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultCompactionRetention: etcd keeps all history unless told
	// otherwise, and its database would grow without end. Each trigger
	// and each run's end writes a revision: 1,000 timers every 5 s make
	// some 10 MB of history a minute, and the database, which the member
	// maps into the daemon's memory, holds up to two periods of it: with
	// ten minutes, 260 MB after 25 minutes and a leader of 720 MB; with
	// two, 135 MB after 7 minutes at 200 runs a second, and a leader of
	// 400 MB. Half a minute is ample for a watch to resume from after a
	// short loss; after a longer one, the cache reads timers/ and runs/
	// again.
	DefaultCompactionRetention = 30 * time.Second
	// DefaultKeepRuns bounds the run records in etcd. They are what
	// the leader needs (a timer's last run, and those not ended) and
	// the last runs of a node that is gone: each node keeps the history
	// of the runs it ran (the last 1000 of each unit) in its own store,
	// and answers the others for it. Each record is some 300 bytes in
	// etcd's database, which the member maps into the daemon's memory,
	// and a key in its index: at 1,000 timers every 5 s, 100 a timer
	// made a database of 92 MB and a leader of 363 MB after ten
	// minutes.
	DefaultKeepRuns = 10
)

// etcd's defaults for the URLs, as its --listen-peer-urls and
// --listen-client-urls.
const (
	defaultPeerURL   = "http://localhost:2380"
	defaultClientURL = "http://localhost:2379"
)

// A ConfigError is a Config's field that is wrong; Field is the name of
// etcd's flag for it.
type ConfigError struct {
	Field, Value, Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("cluster: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Check returns the first field of the config that is wrong, as a
// *ConfigError, or nil, as Open would find.
func (c Config) Check() error {
	_, _, err := c.check()
	return err
}

// member reports whether the config hosts a member, not a client alone.
func (c *Config) member() bool { return len(c.Endpoints) == 0 }

// Lease is the life of the node's and a leader's lease: LeaseTTL, or
// DefaultLeaseTTL, rounded up to seconds as etcd counts.
func (c Config) Lease() time.Duration {
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	return time.Duration(math.Ceil(c.LeaseTTL.Seconds())) * time.Second
}

// check returns the config with its defaults set, or the first field
// that is wrong; peers are the URLs the member advertises to its peers.
func (c Config) check() (_ Config, peers []*url.URL, err error) {
	if c.Name == "" {
		return c, nil, &ConfigError{"name", c.Name, "a node needs a name"}
	}
	if strings.ContainsAny(c.Name, "/=,") {
		return c, nil, &ConfigError{"name", c.Name, `a name holds no "/", "=" or ","`}
	}
	// The life etcd grants, whole seconds: every wait on a lease counts
	// from it, not from a fraction etcd rounds up.
	c.LeaseTTL = c.Lease()
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.CompactionRetention == 0 {
		c.CompactionRetention = DefaultCompactionRetention
	}
	if c.KeepRuns == 0 {
		c.KeepRuns = DefaultKeepRuns
	} else if c.KeepRuns < 0 {
		return c, nil, &ConfigError{"keep-runs", fmt.Sprint(c.KeepRuns), "not a positive number"}
	}
	if !c.member() {
		for _, f := range []struct{ name, value string }{{"initial-cluster", c.InitialCluster}, {"initial-cluster-state", c.InitialClusterState},
			{"listen-peer-urls", strings.Join(c.ListenPeerURLs, ",")}, {"listen-client-urls", strings.Join(c.ListenClientURLs, ",")},
			{"advertise-client-urls", strings.Join(c.AdvertiseClientURLs, ",")}, {"data-dir", c.DataDir}} {
			if f.value != "" {
				return c, nil, &ConfigError{f.name, f.value, "a client of endpoints hosts no member"}
			}
		}
		if _, err := checkURLs("endpoints", c.Endpoints); err != nil {
			return c, nil, err
		}
		if (c.Cert == "") != (c.Key == "") {
			return c, nil, &ConfigError{"cert", c.Cert, "a client certificate goes with its key"}
		}
		return c, nil, nil
	}
	if c.CACert != "" || c.Cert != "" || c.Key != "" {
		return c, nil, &ConfigError{"cacert", c.CACert, "TLS files are for a client of endpoints"}
	}
	if c.DataDir == "" {
		return c, nil, &ConfigError{"data-dir", c.DataDir, "a member needs a data directory"}
	}
	switch c.InitialClusterState {
	case "":
		c.InitialClusterState = "new"
	case "new", "existing":
	default:
		return c, nil, &ConfigError{"initial-cluster-state", c.InitialClusterState, `not "new" or "existing"`}
	}
	if len(c.ListenPeerURLs) == 0 {
		c.ListenPeerURLs = []string{defaultPeerURL}
	}
	if len(c.ListenClientURLs) == 0 {
		c.ListenClientURLs = []string{defaultClientURL}
	}
	if len(c.AdvertiseClientURLs) == 0 {
		c.AdvertiseClientURLs = c.ListenClientURLs
	}
	for _, f := range []struct {
		name string
		urls []string
	}{{"listen-peer-urls", c.ListenPeerURLs}, {"listen-client-urls", c.ListenClientURLs}, {"advertise-client-urls", c.AdvertiseClientURLs}} {
		if _, err := checkURLs(f.name, f.urls); err != nil {
			return c, nil, err
		}
		if u, ok := secure(f.urls); ok {
			return c, nil, &ConfigError{f.name, u, noTLS}
		}
	}
	if c.InitialCluster == "" {
		c.InitialCluster = c.Name + "=" + c.ListenPeerURLs[0]
	}
	members, err := parseInitialCluster(c.InitialCluster)
	if err != nil {
		return c, nil, err
	}
	if len(members[c.Name]) == 0 {
		return c, nil, &ConfigError{"initial-cluster", c.InitialCluster, fmt.Sprintf("no member named %q, this node's name", c.Name)}
	}
	peers, _ = checkURLs("initial-cluster", members[c.Name])
	return c, peers, nil
}

// parseInitialCluster reads name=URL pairs, separated by commas, into
// each name's URLs, as etcd's types.NewURLsMap.
func parseInitialCluster(s string) (map[string][]string, error) {
	members := map[string][]string{}
	for pair := range strings.SplitSeq(s, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || name == "" || u == "" {
			return nil, &ConfigError{"initial-cluster", s, fmt.Sprintf("%q is not name=URL", pair)}
		}
		if _, err := checkURLs("initial-cluster", []string{u}); err != nil {
			return nil, err
		}
		if _, ok := secure([]string{u}); ok {
			return nil, &ConfigError{"initial-cluster", u, noTLS}
		}
		members[name] = append(members[name], u)
	}
	return members, nil
}

// checkURLs parses URLs as etcd takes them: http or https with a host
// and a port and nothing else, or a unix or unixs socket's path.
func checkURLs(field string, us []string) ([]*url.URL, error) {
	if len(us) == 0 {
		return nil, &ConfigError{field, "", "no URL"}
	}
	var parsed []*url.URL
	for _, s := range us {
		u, err := url.Parse(s)
		if err != nil {
			return nil, &ConfigError{field, s, "not a URL such as http://127.0.0.1:2379"}
		}
		switch u.Scheme {
		case "http", "https":
			if u.Port() == "" || u.Hostname() == "" {
				return nil, &ConfigError{field, s, "a URL needs a host and a port"}
			}
			if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return nil, &ConfigError{field, s, "a URL has a scheme, a host and a port, and nothing more"}
			}
		case "unix", "unixs":
			if u.Host+u.Path == "" {
				return nil, &ConfigError{field, s, "a unix URL needs a socket's path"}
			}
		default:
			return nil, &ConfigError{field, s, `the scheme is not one of "http", "https", "unix" or "unixs"`}
		}
		parsed = append(parsed, u)
	}
	return parsed, nil
}

// noTLS says why a member's URL may not ask for TLS.
const noTLS = "a member of ours does not serve TLS: use http or unix"

// secure returns the first of the URLs that asks for TLS, which a member
// of ours does not set up.
func secure(us []string) (string, bool) {
	for _, u := range us {
		if strings.HasPrefix(u, "https:") || strings.HasPrefix(u, "unixs:") {
			return u, true
		}
	}
	return "", false
}
