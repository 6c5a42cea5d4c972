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
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
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
	MessageID  string `json:"message_id,omitempty"`
	// Fields are its other fields, "KEY=value" a line.
	Fields string `json:"fields,omitempty"`
	// Node is the cluster node whose journal has it, for the lines of
	// a cluster's nodes; "" for a daemon in none.
	Node string `json:"node,omitempty"`
}

// MarshalJSON writes the entry, with a message that is not UTF-8, which
// a JSON string cannot hold, as its bytes besides, so that a client
// reads the bytes a service wrote, as the journal keeps them.
func (e Entry) MarshalJSON() ([]byte, error) {
	w := entryJSON{entryFields: entryFields(e)}
	if !utf8.ValidString(e.Message) {
		w.MessageBytes = []byte(e.Message)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var w entryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Entry(w.entryFields)
	if w.MessageBytes != nil {
		e.Message = string(w.MessageBytes)
	}
	return nil
}

// entryFields are an Entry's fields, without its methods.
type entryFields Entry

type entryJSON struct {
	entryFields
	MessageBytes []byte `json:"message_bytes,omitempty"`
}

// A JournalQuery selects journal entries.
type JournalQuery struct {
	Units        []string
	Identifiers  []string // SYSLOG_IDENTIFIER=s
	Priorities   uint8    // bit p set for priority p; 0 for all
	Grep         string   // a Go regexp the message matches
	Since, Until uint64   // realtime µs; 0 for no bound
	Boot         string
	// Last and First are how many of the last, or of the first, entries
	// selected are returned; 0 for all.
	Last, First int
	// After selects the entries after a cursor, as journalctl -f
	// follows the journal.
	After int64
	// Cursors are, for the journal of a cluster, the After of each
	// node, by name ("" for a daemon in no cluster); a node not named
	// has none. A negative one is the node's end: none of its lines
	// so far, as journalctl -f follows a node that did not answer
	// before.
	Cursors map[string]int64 `json:",omitempty"`
}

// A Boot is a boot the journal has entries of, with the realtime of
// the first and the last, µs.
type Boot struct {
	ID    string `json:"id"`
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// A Vacuum asks for the journal's oldest entries to go, as journalctl
// --vacuum-time= and --vacuum-size=.
type Vacuum struct {
	Before   uint64 `json:"before"`    // realtime µs: the entries before go; 0 for none
	MaxBytes uint64 `json:"max_bytes"` // the oldest go until the database is no larger; 0 for no bound
}

// Vacuumed is what a Vacuum freed, in the state directory.
type Vacuumed struct {
	Freed uint64 `json:"freed"` // bytes
	Dir   string `json:"dir"`
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
	// Node is the cluster node it ran on; "" for a daemon in none.
	Node string `json:"node,omitempty"`
}

// A Backend answers the requests; the daemon is one.
type Backend interface {
	Timers(ctx context.Context) ([]Timer, error)
	Journal(ctx context.Context, q JournalQuery) ([]Entry, error)
	JournalUnits(ctx context.Context) ([]string, error)
	JournalBoots(ctx context.Context) ([]Boot, error)
	VacuumJournal(ctx context.Context, v Vacuum) (Vacuumed, error)
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
	// Through the directory opened, never following a symbolic link
	// put in its place: its target would be made 0700.
	dir, err := os.OpenFile(filepath.Dir(path), os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	err = dir.Chmod(0o700)
	dir.Close()
	if err != nil {
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

// MaxRequestBody bounds what the daemon reads of a request's body; a
// larger one is refused with 413 before it is held whole. Room for a
// command line as long as Linux's ARG_MAX allows (2 MiB of a 8 MiB
// stack), which systemd-run sends over D-Bus, and its quoting in JSON.
const MaxRequestBody = 4 << 20

// errTooLarge is the refusal of a larger body, told by the daemon, and
// by the client before it sends one.
var errTooLarge = fmt.Errorf("request body larger than %d bytes, refused", MaxRequestBody)

// limits bound what a client may take of the daemon: the size of a
// request's header, the time to send a request or to stay idle between
// requests, and the connections served at once (those beyond are
// answered errTooMany; systemd's CONNECTIONS_MAX). A response takes as long as it takes: a wait for a unit to
// end, or a start job, is not bounded.
var limits = struct {
	header                 int
	readHeader, read, idle time.Duration
	conns                  int
}{header: 256 << 10, readHeader: 10 * time.Second, read: 30 * time.Second, idle: 30 * time.Second, conns: 4096}

// Serve answers requests on l until ctx is done, refusing clients that
// are neither the daemon's user nor root. A backend with a Logger
// method is told there when connections are refused for their number.
func Serve(ctx context.Context, l net.Listener, b Backend) error {
	log := slog.New(slog.DiscardHandler)
	if lb, ok := b.(interface{ Logger() *slog.Logger }); ok {
		log = lb.Logger()
	}
	return serve(ctx, l, handler(b), log, "the control socket", true)
}

// ServeLimited serves h on l until ctx is done, with the control
// socket's limits, to every client: what named calls the listener in
// the log's words. [Trusted] tells h which clients the control socket
// would serve.
func ServeLimited(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger, what string) error {
	return serve(ctx, l, h, log, what, false)
}

// Trusted reports whether the client of a request that ServeLimited
// serves is the daemon's user or root, by its credentials on a Unix
// socket: one the control socket would serve.
func Trusted(ctx context.Context) bool { return ctx.Value(trustedKey{}) != nil }

// trustedKey marks the context of the requests of a trusted client.
type trustedKey struct{}

// serve serves h on l with the limits, only to trusted clients with
// onlyTrusted.
func serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger, what string, onlyTrusted bool) error {
	srv := &http.Server{Handler: refuseOver(h), MaxHeaderBytes: limits.header,
		ReadHeaderTimeout: limits.readHeader, ReadTimeout: limits.read,
		// A client gone idle is let go: a CLI keeps its connection open
		// until it exits, a long-lived client between its calls.
		IdleTimeout: limits.idle}
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if _, ok := c.(*overConn); ok {
			ctx = context.WithValue(ctx, refusedKey{}, true)
		}
		if !onlyTrusted && allowed(c) {
			ctx = context.WithValue(ctx, trustedKey{}, true)
		}
		return ctx
	}
	if onlyTrusted {
		srv.ConnState = func(c net.Conn, s http.ConnState) {
			if s == http.StateNew && !allowed(c) {
				c.Close()
			}
		}
	}
	done := make(chan struct{})
	go func() {
		// Owned by serve, which waits for it.
		defer close(done)
		<-ctx.Done()
		srv.Close()
	}()
	err := srv.Serve(newLimitListener(l, limits.conns, log, what))
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// handler routes the requests to the backend.
func handler(b Backend) http.Handler {
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
	mux.HandleFunc("GET /v1/journal/units", func(w http.ResponseWriter, r *http.Request) {
		units, err := b.JournalUnits(r.Context())
		reply(w, units, err)
	})
	mux.HandleFunc("GET /v1/journal/boots", func(w http.ResponseWriter, r *http.Request) {
		boots, err := b.JournalBoots(r.Context())
		reply(w, boots, err)
	})
	mux.HandleFunc("POST /v1/journal/vacuum", func(w http.ResponseWriter, r *http.Request) {
		var v Vacuum
		if !decode(w, r, &v) {
			return
		}
		done, err := b.VacuumJournal(r.Context(), v)
		reply(w, done, err)
	})
	serveUnits(mux, b)
	serveTransient(mux, b)
	serveCluster(mux, b)
	return mux
}

// errTooMany is the answer to a connection beyond the cap, in the words
// of systemd's bus_on_connection.
var errTooMany = errors.New("Too many concurrent connections, refusing")

// A limitListener accepts every connection at once, as systemd's
// bus_on_connection does: a client beyond the cap is not left waiting,
// unanswered, while its request may go stale, but told. Those within
// the cap hold a slot while open; the others are marked over.
type limitListener struct {
	net.Listener
	slots  chan struct{}
	log    *slog.Logger
	what   string      // the listener, as the log names it
	warned atomic.Bool // since the cap was last reached
}

func newLimitListener(l net.Listener, n int, log *slog.Logger, what string) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), log: log, what: what}
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	select {
	case l.slots <- struct{}{}:
		l.warned.Store(false)
		return &limitConn{halfCloser: halfCloser{c}, release: func() { <-l.slots }}, nil
	default:
		if !l.warned.Swap(true) {
			l.log.Warn(fmt.Sprintf("%d connections to %s are open; those beyond are refused.", cap(l.slots), l.what))
		}
		return &overConn{halfCloser{c}}, nil
	}
}

// A halfCloser passes CloseWrite on to the connection it wraps, which
// Go's server half-closes before closing one whose request it did not
// read whole (a body refused), for the client to read the response.
type halfCloser struct{ net.Conn }

func (c halfCloser) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// A limitConn gives its slot back once closed.
type limitConn struct {
	halfCloser
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// An overConn is a connection beyond the cap: its request is read, as
// any other's, to be answered errTooMany.
type overConn struct{ halfCloser }

// refusedKey marks the context of the requests of an overConn.
type refusedKey struct{}

// refuseOver answers the requests of a connection beyond the cap with
// 503 and errTooMany, and closes it.
func refuseOver(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(refusedKey{}) != nil {
			w.Header().Set("Connection", "close")
			replyStatus(w, http.StatusServiceUnavailable, errTooMany)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// allowed checks the peer's credentials: the same user, or root.
func allowed(c net.Conn) bool {
	switch w := c.(type) {
	case *limitConn:
		c = w.Conn
	case *overConn:
		c = w.Conn
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	uid, ok := peerUID(uc)
	return ok && (uid == 0 || uid == os.Getuid())
}

// decode reads a request's body into v, or replies with the error: no
// more of it than MaxRequestBody.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		replyStatus(w, http.StatusRequestEntityTooLarge, errTooLarge)
		return false
	}
	if err == nil {
		err = checkText(body)
	}
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		reply(w, nil, err)
		return false
	}
	return true
}

// reply answers with v, or with the error; a PartialError goes with v.
func reply(w http.ResponseWriter, v any, err error) {
	if p, ok := errors.AsType[*PartialError](err); ok {
		w.Header().Set(partialHeader, p.Error())
		err = nil
	}
	if err != nil {
		replyStatus(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && !rv.IsNil() {
		writeArray(w, rv)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// replyStatus replies with an error, which the client returns.
func replyStatus(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
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

// JournalUnits returns the units the journal has entries of.
func (c *Client) JournalUnits(ctx context.Context) ([]string, error) {
	var units []string
	err := c.get(ctx, "/v1/journal/units", &units)
	return units, err
}

// JournalBoots returns the boots the journal has entries of, oldest
// first.
func (c *Client) JournalBoots(ctx context.Context) ([]Boot, error) {
	var boots []Boot
	err := c.get(ctx, "/v1/journal/boots", &boots)
	return boots, err
}

// VacuumJournal deletes the journal's oldest entries, as v says.
func (c *Client) VacuumJournal(ctx context.Context, v Vacuum) (Vacuumed, error) {
	var done Vacuumed
	err := c.do(ctx, http.MethodPost, "/v1/journal/vacuum", v, &done)
	return done, err
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
			conn, err := d.DialContext(ctx, "unix", socket)
			if err != nil {
				return nil, err
			}
			// A socket another user made where the daemon's goes (in a
			// directory of /tmp they made first) is not asked: they would
			// read the requests and answer them.
			if uid, ok := peerUID(conn.(*net.UnixConn)); !ok || uid != os.Geteuid() && uid != 0 {
				conn.Close()
				return nil, fmt.Errorf("%s is not the daemon's socket (it was made by UID %d), refusing", socket, uid)
			}
			return conn, nil
		}}}
	})
	hc := c.hc
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		if len(b) > MaxRequestBody {
			return fmt.Errorf("api: %w", errTooLarge)
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
		return fmt.Errorf("api: %s", failure(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return err
	}
	if msg := resp.Header.Get(partialHeader); msg != "" {
		return &PartialError{Err: errors.New(msg)}
	}
	return nil
}

// failure is what a response other than 200 says: the daemon's error,
// or, from what answers before the daemon's handlers (Go's server
// refusing a header too large, in plain text), its text or its status.
func failure(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err == nil && e.Error != "" {
		return e.Error
	} else if text := strings.TrimSpace(string(body)); err != nil && text != "" && utf8.ValidString(text) {
		return text
	}
	return resp.Status
}
