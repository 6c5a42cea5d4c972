// Package api is the daemon's control interface: HTTP with JSON over a
// Unix socket that only the daemon's user (and root) may use. The
// commands (systemctl, journalctl) are its clients.
package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// A Timer is what list-timers shows of a timer.
type Timer struct {
	Unit      string `json:"unit"`
	Activates string `json:"activates"`
	State     string `json:"state"` // dead, waiting, running, elapsed, failed
	// Next is the next elapse in realtime µs (the earlier of the
	// realtime one and the monotonic one, converted); 0 for none.
	Next uint64 `json:"next"`
	// LastTrigger and LastTriggerMonotonic are its last trigger, in
	// realtime and monotonic µs; 0 for none.
	LastTrigger          uint64 `json:"last_trigger"`
	LastTriggerMonotonic uint64 `json:"last_trigger_monotonic"`
	// Monotonic is the daemon's monotonic clock when it answered, for
	// how long ago LastTriggerMonotonic was.
	Monotonic uint64 `json:"monotonic"`
}

// An Entry is a journal entry, as the journal keeps it.
type Entry struct {
	Cursor     int64  `json:"cursor"`
	Realtime   uint64 `json:"realtime"`
	Monotonic  uint64 `json:"monotonic"`
	Boot       string `json:"boot"`
	Unit       string `json:"unit"`
	Invocation string `json:"invocation"`
	PID        int    `json:"pid"`
	Identifier string `json:"identifier"`
	Priority   int    `json:"priority"`
	Message    string `json:"message"`
}

// A JournalQuery selects journal entries.
type JournalQuery struct {
	Units        []string
	Since, Until uint64 // realtime µs; 0 for no bound
	Boot         string
	Last         int // only the last so many; 0 for all
	// After selects the entries after a cursor, as journalctl -f
	// follows the journal.
	After int64
}

// A Run is one activation in the run history.
type Run struct {
	ID         int64  `json:"id"`
	Unit       string `json:"unit"`
	Timer      string `json:"timer"`
	Reason     string `json:"reason"`
	Invocation string `json:"invocation"`
	Started    uint64 `json:"started"` // realtime µs
	Ended      uint64 `json:"ended"`   // 0 while running
	State      string `json:"state"`   // running, ended, interrupted
	Result     string `json:"result"`
	ExitCode   string `json:"exit_code"`
	ExitStatus int    `json:"exit_status"`
}

// A Backend answers the requests; the daemon is one.
type Backend interface {
	Timers(ctx context.Context) ([]Timer, error)
	Journal(ctx context.Context, q JournalQuery) ([]Entry, error)
	Runs(ctx context.Context, unit string, last int) ([]Run, error)
	UnitBackend
	TransientBackend
}

// SocketPath is where the daemon of the scope listens:
// $XDG_RUNTIME_DIR/sundial/control for a user's, /run/sundial/control
// for the system's.
func SocketPath(user bool) string {
	if user {
		if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
			return filepath.Join(d, "sundial", "control")
		}
		return filepath.Join(os.TempDir(), fmt.Sprintf("sundial-%d", os.Getuid()), "control")
	}
	return "/run/sundial/control"
}

// Listen creates the socket, in a directory only its owner may enter,
// replacing a stale one. The socket is made under another name and
// renamed once it listens, so that a client that finds it can connect:
// between bind and listen, a connection is refused.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp := path + ".new"
	os.Remove(tmp)
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, err
	}
	// Closing the listener must not remove the name it was made under.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	return l, nil
}

// Serve answers requests on l until ctx is done, refusing clients that
// are neither the daemon's user nor root.
func Serve(ctx context.Context, l net.Listener, b Backend) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/timers", func(w http.ResponseWriter, r *http.Request) {
		timers, err := b.Timers(r.Context())
		reply(w, timers, err)
	})
	mux.HandleFunc("GET /v1/runs", func(w http.ResponseWriter, r *http.Request) {
		last, _ := strconv.Atoi(r.URL.Query().Get("last"))
		runs, err := b.Runs(r.Context(), r.URL.Query().Get("unit"), last)
		reply(w, runs, err)
	})
	mux.HandleFunc("POST /v1/journal", func(w http.ResponseWriter, r *http.Request) {
		var q JournalQuery
		if !decode(w, r, &q) {
			return
		}
		entries, err := b.Journal(r.Context(), q)
		reply(w, entries, err)
	})
	serveUnits(mux, b)
	serveTransient(mux, b)
	// A client gone idle is let go: a CLI keeps its connection open until
	// it exits, a long-lived client between its calls.
	srv := &http.Server{Handler: mux, IdleTimeout: 30 * time.Second}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew && !allowed(c) {
			c.Close()
		}
	}
	done := make(chan struct{})
	go func() {
		// Owned by Serve, which waits for it.
		defer close(done)
		<-ctx.Done()
		srv.Close()
	}()
	err := srv.Serve(l)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// allowed checks the peer's credentials: the same user, or root.
func allowed(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	uid, ok := peerUID(uc)
	return ok && (uid == 0 || uid == os.Getuid())
}

// decode reads a request's body into v, or replies with the error.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		reply(w, nil, err)
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && !rv.IsNil() {
		writeArray(w, rv)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// writeArray writes a slice as Encode does, an element at a time: a
// list of many timers or units is not held whole as text.
func writeArray(w io.Writer, rv reflect.Value) {
	bw := bufio.NewWriter(w)
	bw.WriteByte('[')
	for i := range rv.Len() {
		b, err := json.Marshal(rv.Index(i).Interface())
		if err != nil {
			return // the array unfinished: the client fails to read it
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
	}
	bw.WriteString("]\n")
	bw.Flush()
}

// A Client talks to the daemon. Its zero value uses the system's socket.
type Client struct {
	// Socket is the daemon's socket; "" is SocketPath(false).
	Socket string

	once sync.Once
	hc   *http.Client // its connections, used again from call to call
}

// ErrNoDaemon is returned when no daemon listens on the socket.
var ErrNoDaemon = errors.New("api: no daemon listening")

// Timers returns the daemon's timers.
func (c *Client) Timers(ctx context.Context) ([]Timer, error) {
	var timers []Timer
	err := c.get(ctx, "/v1/timers", &timers)
	return timers, err
}

// Runs returns the last runs of a unit ("" for all; last 0 for all),
// oldest first.
func (c *Client) Runs(ctx context.Context, unit string, last int) ([]Run, error) {
	var runs []Run
	err := c.get(ctx, "/v1/runs?"+url.Values{"unit": {unit}, "last": {strconv.Itoa(last)}}.Encode(), &runs)
	return runs, err
}

// Journal returns the journal entries the query selects, oldest first.
func (c *Client) Journal(ctx context.Context, q JournalQuery) ([]Entry, error) {
	var entries []Entry
	err := c.do(ctx, http.MethodPost, "/v1/journal", q, &entries)
	return entries, err
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodGet, path, nil, v)
}

func (c *Client) do(ctx context.Context, method, path string, body, v any) error {
	c.once.Do(func() {
		socket := c.Socket
		if socket == "" {
			socket = SocketPath(false)
		}
		c.hc = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}
	})
	hc := c.hc
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://sundial"+path, rd)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return ErrNoDaemon
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("api: %s", e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
