package cluster

import (
	"bytes"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{DataDir: "d"}, `cluster: name "": a node needs a name`},
		{Config{Name: "a/b", DataDir: "d"}, `cluster: name "a/b": a name holds no "/", "=" or ","`},
		{Config{Name: "a"}, `cluster: data-dir "": a member needs a data directory`},
		{Config{Name: "a", DataDir: "d", InitialClusterState: "old"}, `cluster: initial-cluster-state "old": not "new" or "existing"`},
		{Config{Name: "a", DataDir: "d", ListenPeerURLs: []string{"127.0.0.1:2380"}},
			`cluster: listen-peer-urls "127.0.0.1:2380": not a URL such as http://127.0.0.1:2379`},
		{Config{Name: "a", DataDir: "d", ListenPeerURLs: []string{"localhost:2380"}},
			`cluster: listen-peer-urls "localhost:2380": the scheme is not one of "http", "https", "unix" or "unixs"`},
		{Config{Name: "a", DataDir: "d", ListenClientURLs: []string{"http://127.0.0.1"}},
			`cluster: listen-client-urls "http://127.0.0.1": a URL needs a host and a port`},
		{Config{Name: "a", DataDir: "d", AdvertiseClientURLs: []string{"http://127.0.0.1:2379/v3"}},
			`cluster: advertise-client-urls "http://127.0.0.1:2379/v3": a URL has a scheme, a host and a port, and nothing more`},
		{Config{Name: "a", DataDir: "d", ListenClientURLs: []string{"https://127.0.0.1:2379"}},
			`cluster: listen-client-urls "https://127.0.0.1:2379": a member of ours does not serve TLS: use http or unix`},
		{Config{Name: "a", DataDir: "d", ListenPeerURLs: []string{"unix://"}}, `cluster: listen-peer-urls "unix://": a unix URL needs a socket's path`},
		{Config{Name: "a", DataDir: "d", InitialCluster: "b=http://127.0.0.1:2380"},
			`cluster: initial-cluster "b=http://127.0.0.1:2380": no member named "a", this node's name`},
		{Config{Name: "a", DataDir: "d", InitialCluster: "a=http://127.0.0.1:2380,b"},
			`cluster: initial-cluster "a=http://127.0.0.1:2380,b": "b" is not name=URL`},
		{Config{Name: "a", DataDir: "d", InitialCluster: "a=http://127.0.0.1:2380,b=http://h"},
			`cluster: initial-cluster "http://h": a URL needs a host and a port`},
		{Config{Name: "a", DataDir: "d", Cert: "c.pem", Key: "k.pem"}, `cluster: cacert "": TLS files are for a client of endpoints`},
		{Config{Name: "a", Endpoints: []string{"http://127.0.0.1:2379"}, DataDir: "d"}, `cluster: data-dir "d": a client of endpoints hosts no member`},
		{Config{Name: "a", Endpoints: []string{"http://127.0.0.1:2379"}, Cert: "c.pem"}, `cluster: cert "c.pem": a client certificate goes with its key`},
		{Config{Name: "a", Endpoints: []string{"ftp://h:1"}}, `cluster: endpoints "ftp://h:1": the scheme is not one of "http", "https", "unix" or "unixs"`},
	} {
		_, _, err := tc.cfg.check()
		if err == nil || err.Error() != tc.want {
			t.Errorf("check(%+v) = %v, want %s", tc.cfg, err, tc.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, peers, err := Config{Name: "a", DataDir: "d", ListenPeerURLs: []string{"http://127.0.0.1:2480"},
		InitialCluster: "a=http://127.0.0.1:2480,b=http://127.0.0.1:2580"}.check()
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0].String() != "http://127.0.0.1:2480" {
		t.Errorf("peers = %v, want a's URL in the initial cluster", peers)
	}
	if cfg.InitialClusterState != "new" || cfg.ListenClientURLs[0] != defaultClientURL || cfg.AdvertiseClientURLs[0] != defaultClientURL ||
		cfg.LeaseTTL != DefaultLeaseTTL || cfg.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("check set %+v", cfg)
	}
	cfg, _, err = Config{Name: "solo", DataDir: "d"}.check()
	if err != nil || cfg.InitialCluster != "solo="+defaultPeerURL {
		t.Errorf("check of a name alone = %q, %v; want it at the default peer URL", cfg.InitialCluster, err)
	}
	// What waits on a lease counts from the life etcd grants.
	cfg, _, err = Config{Name: "solo", DataDir: "d", LeaseTTL: 1500 * time.Millisecond}.check()
	if err != nil || cfg.LeaseTTL != 2*time.Second {
		t.Errorf("check of LeaseTTL 1.5s = %v, %v; want the 2s etcd grants", cfg.LeaseTTL, err)
	}
}

// etcd's log reaches the slog handler from warnings up, with its fields,
// but for routine warnings, and nothing once closing.
func TestLog(t *testing.T) {
	var buf bytes.Buffer
	var closing atomic.Bool
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	lg := zapLogger(h, &closing).With(zap.String("member", "a"))
	lg.Info("elected leader")
	lg.Warn("slow fdatasync", zap.Duration("took", 1500e6), zap.Int("count", 3))
	lg.Warn("simple token is not cryptographically signed")
	lg.Warn("Failed to detect schema version", zap.String("error", "missing term information"))
	lg.Warn("Failed to detect schema version", zap.String("error", "bad"))
	lg.Error("lost leader")
	// Said again and again: once, then once more a while later, with
	// how many were not.
	core := lg.Core()
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for i := range 1001 {
		e := zapcore.Entry{Level: zapcore.WarnLevel, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Message: "failed to publish local member to cluster through raft"}
		if ce := core.Check(e, nil); ce != nil {
			ce.Write(zap.Error(errors.New("etcdserver: too many requests")))
		}
	}
	closing.Store(true)
	lg.Error("setting up serving from embedded etcd failed.")
	want := `level=WARN msg="slow fdatasync" count=3 member=a took=1.5s
level=WARN msg="Failed to detect schema version" error=bad member=a
level=ERROR msg="lost leader" member=a
level=WARN msg="failed to publish local member to cluster through raft" error="etcdserver: too many requests" member=a
level=WARN msg="failed to publish local member to cluster through raft" error="etcdserver: too many requests" member=a repeated=999
`
	if buf.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestConfigLease(t *testing.T) {
	for _, tc := range []struct{ ttl, want time.Duration }{
		{0, DefaultLeaseTTL},
		{time.Second, time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
		{2100 * time.Millisecond, 3 * time.Second},
	} {
		if got := (Config{LeaseTTL: tc.ttl}).Lease(); got != tc.want {
			t.Errorf("Lease of LeaseTTL %v = %v; want %v", tc.ttl, got, tc.want)
		}
	}
}
