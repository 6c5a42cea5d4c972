package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/internal/clock"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
)

// A Source is what the server shows and acts on: the daemon's manager.
type Source interface {
	Snapshot(ctx context.Context) (manager.Snapshot, error)
	Ping(ctx context.Context) error
	History(ctx context.Context, units []string, since uint64, n int) ([]store.Run, error)
	HistoryRun(ctx context.Context, id int64) (store.Run, error)
	// Runs are a unit's last n runs, oldest first: in a cluster, those
	// of every node, each with its node.
	Runs(ctx context.Context, unit string, n int) ([]api.Run, error)
	Journal(ctx context.Context, f store.Filter) ([]store.Entry, error)
	Status(ctx context.Context, name string) (api.Unit, error)
	UnitFiles(ctx context.Context, name string) ([][2]string, error)
	Act(ctx context.Context, verb, name string) error
	// Location is the daemon's time zone, as its timers' calendar
	// settings are read in: it follows /etc/localtime's changes.
	Location(ctx context.Context) (*time.Location, error)
}

// A ClusterSource is the daemon's node of a cluster, for the metrics and
// the readiness check: what it last saw of its cluster and has counted.
// ClusterReport answers at once: a scrape never waits for etcd.
type ClusterSource interface {
	ClusterReport() cluster.Report
}

// A Server serves the page, the metrics and the health checks of a
// daemon. Its fields are set before Handler or Serve is called, and not
// changed after.
type Server struct {
	Source Source
	// Token, if set, lets a client that is not the daemon's user on a
	// Unix socket act (start, stop): sent as the X-Sundial-Token header
	// or the token form field.
	Token  string
	Clock  clock.Clock  // nil: the real one
	Logger *slog.Logger // nil: discard
	// Cluster is the daemon's node, if it is one of a cluster.
	Cluster ClusterSource
}

// TokenHeader is the header that carries the token.
const TokenHeader = "X-Sundial-Token"

// healthTimeout bounds the wait for the daemon's loop to answer a
// health check.
const healthTimeout = 5 * time.Second

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics(&gatherer{src: s.Source, cluster: s.Cluster, build: buildInfo()}, runtimeRegistry()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		health(w, s.Source.Ping(ctx))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		snap, err := s.Source.Snapshot(ctx)
		if err == nil && !snap.StoreWritable {
			err = errors.New("the store cannot be written")
		}
		if err == nil && s.Cluster != nil {
			err = clusterReady(s.Cluster.ClusterReport())
		}
		health(w, err)
	})
	s.pages(mux)
	return mux
}

// clusterReady says what keeps a node of a cluster from being ready: it
// has not joined, its etcd endpoint is not healthy, or no leader of the
// cluster's timers is known; nil for nothing.
func clusterReady(r cluster.Report) error {
	switch {
	case !r.Joined:
		return errors.New(strings.Join(r.Problems, "; "))
	case !r.Healthy || r.Leader == "":
		return fmt.Errorf("the cluster: %s", strings.Join(r.Problems, "; "))
	}
	return nil
}

// health answers a health check: 200 "ok", or 503 and why not.
func health(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ok: %v\n", err)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// now is the time in the daemon's zone.
func (s *Server) now(ctx context.Context) time.Time {
	return clock.Or(s.Clock).Now().RealtimeTime(s.zone(ctx))
}

// zone is the daemon's time zone, which every page shows its times in
// as the main page does (the snapshot's); the process's, which may
// differ (TZ= aside, /etc/localtime changed since it started), only
// while the daemon does not answer.
func (s *Server) zone(ctx context.Context) *time.Location {
	if loc, err := s.Source.Location(ctx); err == nil {
		return loc
	}
	return time.Local
}

// Serve serves the handler on l until ctx is done, with the limits of
// the control socket.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return api.ServeLimited(ctx, l, s.Handler(), s.logger(), "the web server")
}

// mayAct reports whether the request may change something: from the
// daemon's user on a Unix socket, or with the token.
func (s *Server) mayAct(r *http.Request) bool {
	if api.Trusted(r.Context()) {
		return true
	}
	if s.Token == "" {
		return false
	}
	got := r.Header.Get(TokenHeader)
	if got == "" {
		got = r.PostFormValue("token")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) == 1
}

// Listen listens on addr: a host:port, or the path of a Unix socket
// (one with a slash). Whoever may enter the socket's directory may
// connect to it, and read: the socket is open to all, its directory
// the daemon's user's to choose. A socket left by an earlier run is
// replaced, and removed when the listener closes. The socket is made
// under a name of its own and renamed to addr once open to all, so
// that whoever finds addr finds it as it will stay.
func Listen(addr string) (net.Listener, error) {
	if !IsUnix(addr) {
		return net.Listen("tcp", addr)
	}
	if fi, err := os.Lstat(addr); err == nil && fi.Mode().Type() != fs.ModeSocket {
		return nil, &net.OpError{Op: "listen", Net: "unix", Addr: &net.UnixAddr{Name: addr, Net: "unix"}, Err: syscall.EADDRINUSE}
	}
	tmp := filepath.Join(filepath.Dir(addr), "."+filepath.Base(addr)+"~")
	os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(false)
	err = os.Chmod(tmp, 0o666)
	if err == nil {
		err = os.Rename(tmp, addr)
	}
	if err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &unixListener{l, addr}, nil
}

// A unixListener removes its socket's path when it closes.
type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	return err
}

// IsUnix reports whether Listen takes addr for a Unix socket's path.
func IsUnix(addr string) bool { return strings.Contains(addr, "/") }

// WriteToken makes a new token and writes it to path, only its owner's
// (the directory made so too), for the clients that act over TCP.
func WriteToken(path string) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp := path + ".new"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return token, nil
}

// writePage sends a page rendered whole: never half of one.
func writePage(w http.ResponseWriter, status int, contentType string, buf *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

var _ prometheus.Gatherer = (*gatherer)(nil)
