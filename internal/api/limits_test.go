package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sundial.dev/sundial/internal/await"
)

// deadline is how long a test waits for what must happen.
const deadline = 30 * time.Second

// serveLimited serves b with the limits set, until the test ends, and
// returns the socket.
func serveLimited(t *testing.T, b Backend, set func()) string {
	t.Helper()
	saved := limits
	set()
	sock := filepath.Join(t.TempDir(), "control")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Serve(ctx, l, b) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		limits = saved
	})
	return sock
}

// dial connects to the socket, with the test's deadline on its reads.
func dial(t *testing.T, sock string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(deadline))
	return c
}

// timers is a backend with a timer to list.
var timers = fakeBackend{[]Timer{{Unit: "a.timer"}}}

const getTimers = "GET /v1/timers HTTP/1.1\r\nHost: sundial\r\n\r\n"

// answer sends a request on c and reads its response.
func answer(t *testing.T, c net.Conn, r *bufio.Reader, req string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// closedByDaemon reads c until the daemon closes it: it fails the test
// if c stays open until the deadline.
func closedByDaemon(t *testing.T, c net.Conn, r io.Reader) {
	t.Helper()
	_, err := io.Copy(io.Discard, r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %v", deadline)
	}
}

// A bigBody is a body of 16 MiB: a JSON string going on, counting what is
// read of it.
type bigBody struct{ read int64 }

func (b *bigBody) Read(p []byte) (int, error) {
	p = p[:min(int64(len(p)), 16<<20-b.read)]
	if len(p) == 0 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = 'a'
	}
	if b.read == 0 {
		p[0] = '"'
	}
	b.read += int64(len(p))
	return len(p), nil
}

// TestBodyTooLarge: a body beyond MaxRequestBody is refused with 413 and
// a message, once the handler has read no more than the limit; the
// client refuses to send one, in the same words.
func TestBodyTooLarge(t *testing.T) {
	for _, path := range []string{"/v1/jobs", "/v1/journal", "/v1/transient"} {
		body := &bigBody{}
		req := httptest.NewRequest(http.MethodPost, path, body)
		rec := httptest.NewRecorder()
		handler(fakeBackend{}).ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), errTooLarge.Error()) {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body.String())
		}
		// The decoder's buffer may run ahead of the limit by a read.
		if body.read > MaxRequestBody+64<<10 {
			t.Errorf("%s: %d bytes read of the body, limit %d", path, body.read, MaxRequestBody)
		}
	}

	sock := serveLimited(t, timers, func() {})
	c := dial(t, sock)
	r := bufio.NewReader(c)
	big := strings.Repeat("a", MaxRequestBody+1)
	resp := answer(t, c, r, "POST /v1/jobs HTTP/1.1\r\nHost: sundial\r\nContent-Length: "+strconv.Itoa(len(big)+2)+"\r\n\r\n\""+big+"\"")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over the socket: %s", resp.Status)
	}
	client := &Client{Socket: sock}
	_, err := client.Jobs(context.Background(), JobRequest{Verb: "start", Units: []string{big}})
	if err == nil || err.Error() != "api: "+errTooLarge.Error() {
		t.Errorf("Jobs with a large request: %v", err)
	}
	if _, err := client.Jobs(context.Background(), JobRequest{Verb: "start", Units: []string{"a.timer"}}); err != nil {
		t.Errorf("Jobs after: %v", err)
	}
}

// TestSlowHeader: a client that sends part of a header and no more is
// let go.
func TestSlowHeader(t *testing.T) {
	sock := serveLimited(t, timers, func() {
		// The other limits far beyond the test's deadline: only the
		// header's may end the connection in time.
		limits.readHeader, limits.read, limits.idle = 50*time.Millisecond, 10*deadline, 10*deadline
	})
	c := dial(t, sock)
	io.WriteString(c, "GET /v1/timers HTTP/1.1\r\nHost: sund")
	closedByDaemon(t, c, c)
}

// TestIdle: a connection idle after its request is let go, however long
// the request took to answer; one that waits for its answer is not.
func TestIdle(t *testing.T) {
	short := func() {
		limits.idle, limits.read, limits.readHeader = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	}
	sock := serveLimited(t, timers, short)
	c := dial(t, sock)
	r := bufio.NewReader(c)
	if resp := answer(t, c, r, getTimers); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s", resp.Status)
	}
	closedByDaemon(t, c, r)

	// A wait answered after longer than every limit on reading.
	waiter := &blockingBackend{waiting: make(chan struct{}), release: make(chan struct{})}
	sock = serveLimited(t, waiter, short)
	c = dial(t, sock)
	r = bufio.NewReader(c)
	io.WriteString(c, "GET /v1/wait?unit=r.service HTTP/1.1\r\nHost: sundial\r\n\r\n")
	<-waiter.waiting
	// Past every limit on reading: a second request's header would have
	// been cut off by now.
	second := dial(t, sock)
	io.WriteString(second, "GET /v1/tim")
	closedByDaemon(t, second, second)
	close(waiter.release)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the wait's answer: %v, %v", resp, err)
	}
}

// A blockingBackend's WaitInactive waits until released, and fails if
// its request's context ends first (the daemon gave up on the client).
type blockingBackend struct {
	fakeBackend
	waiting, release chan struct{}
}

func (b *blockingBackend) WaitInactive(ctx context.Context, name string) (Unit, error) {
	close(b.waiting)
	select {
	case <-b.release:
		return Unit{Name: name, Active: "inactive"}, nil
	case <-ctx.Done():
		return Unit{}, fmt.Errorf("the wait's request ended before its answer: %w", context.Cause(ctx))
	}
}

// A jobsBackend counts the jobs asked of it, and logs to a buffer.
type jobsBackend struct {
	fakeBackend
	jobs atomic.Int32
	log  *slog.Logger
}

func (b *jobsBackend) Jobs(ctx context.Context, req JobRequest) ([]JobResult, error) {
	b.jobs.Add(1)
	return b.fakeBackend.Jobs(ctx, req)
}

func (b *jobsBackend) Logger() *slog.Logger { return b.log }

// TestConnectionCap: beyond the cap, a connection is accepted and its
// request answered at once with 503 and errTooMany, which the client
// returns, and not run then or later; the cap reached is logged once;
// once a connection within it ends, another is served.
func TestConnectionCap(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	b := &jobsBackend{log: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))}
	sock := serveLimited(t, b, func() { limits.conns = 2 })
	var open []net.Conn
	for range 2 {
		c := dial(t, sock)
		if resp := answer(t, c, bufio.NewReader(c), getTimers); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s", resp.Status)
		}
		open = append(open, c)
	}
	for range 2 {
		client := &Client{Socket: sock}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		_, err := client.Jobs(ctx, JobRequest{Verb: "stop", Units: []string{"a.service"}})
		cancel()
		if err == nil || err.Error() != "api: "+errTooMany.Error() {
			t.Errorf("Jobs beyond the cap: %v", err)
		}
	}
	if n := b.jobs.Load(); n != 0 {
		t.Errorf("%d jobs run beyond the cap", n)
	}
	open[0].Close()
	client := &Client{Socket: sock}
	// The slot comes back once the daemon has seen the close.
	await.Until(t, func() bool {
		_, err := client.Jobs(context.Background(), JobRequest{Verb: "stop", Units: []string{"a.service"}})
		if err != nil && err.Error() != "api: "+errTooMany.Error() {
			t.Fatalf("Jobs once a connection closed: %v", err)
		}
		return err == nil
	}, "a connection served once another closed")
	if n := b.jobs.Load(); n != 1 {
		t.Errorf("%d jobs run, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "2 connections to the control socket are open; those beyond are refused."); n != 1 {
		t.Errorf("the cap logged %d times:\n%s", n, logs.String())
	}
}

// A lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A namesBackend returns a unit for each name asked.
type namesBackend struct{ fakeBackend }

func (namesBackend) Units(_ context.Context, names []string, _ bool) ([]Unit, error) {
	units := make([]Unit, len(names))
	for i, n := range names {
		units[i] = Unit{Name: n}
	}
	return units, nil
}

// TestManyNames: as many names as systemctl show may be given, longer
// together than a request's header may be, are asked and answered.
func TestManyNames(t *testing.T) {
	sock := serveLimited(t, namesBackend{}, func() {})
	names := make([]string, 1400)
	for i := range names {
		names[i] = strings.Repeat("a", 200) + strconv.Itoa(10000+i) + ".service"
	}
	units, err := (&Client{Socket: sock}).Units(context.Background(), names, true)
	if err != nil || len(units) != len(names) || units[len(names)-1].Name != names[len(names)-1] {
		t.Fatalf("Units of %d names: %d units, %v", len(names), len(units), err)
	}
}

// TestFailureText: a refusal the daemon's handlers did not write (Go's
// server's, in plain text) is told in its words, or by its status; the
// daemon's own by its error.
func TestFailureText(t *testing.T) {
	for _, tt := range []struct {
		status            int
		contentType, body string
		want              string
	}{
		{http.StatusInternalServerError, "application/json", `{"error":"unit not found"}` + "\n", "unit not found"},
		{http.StatusRequestHeaderFieldsTooLarge, "text/plain; charset=utf-8", "431 Request Header Fields Too Large", "431 Request Header Fields Too Large"},
		{http.StatusBadRequest, "", "", "400 Bad Request"},
		{http.StatusBadGateway, "application/json", "{}", "502 Bad Gateway"},
	} {
		rec := httptest.NewRecorder()
		if tt.contentType != "" {
			rec.Header().Set("Content-Type", tt.contentType)
		}
		rec.WriteHeader(tt.status)
		io.WriteString(rec, tt.body)
		if got := failure(rec.Result()); got != tt.want {
			t.Errorf("%d %q: %q, want %q", tt.status, tt.body, got, tt.want)
		}
	}

	// Over the socket, from Go's server itself.
	sock := serveLimited(t, timers, func() { limits.header = 1 << 10 })
	_, err := (&Client{Socket: sock}).UnitFiles(context.Background(), strings.Repeat("a", 16<<10)+".service")
	if err == nil || err.Error() != "api: 431 Request Header Fields Too Large" {
		t.Errorf("UnitFiles with a header too large: %v", err)
	}
}

// TestLongCommandLine: a transient unit with a command line as long as
// Linux's ARG_MAX lets one be (2 MiB), with quotes to escape in JSON,
// is sent and taken, as systemd-run's over D-Bus.
func TestLongCommandLine(t *testing.T) {
	sock := serveLimited(t, timers, func() {})
	cmd := strings.Repeat(`"a" `, (2<<20)/4)
	res, err := (&Client{Socket: sock}).Transient(context.Background(), TransientRequest{
		Units: []TransientUnit{{Name: "run-1.service", Settings: []Setting{{Section: "Service", Key: "ExecStart", Value: cmd}}}}})
	if err != nil || res.Result != cmd {
		t.Fatalf("Transient with a command line of %d bytes: %v", len(cmd), err)
	}
}

// TestCloseWrite: a connection accepted, within the cap or beyond,
// half-closes as the socket under it does: the client reads the end of
// what was sent while the connection is still open.
func TestCloseWrite(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control")
	raw, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(raw, 1, slog.New(slog.DiscardHandler), "the control socket")
	defer l.Close()
	for _, kind := range []string{"within the cap", "beyond it"} {
		c := dial(t, sock)
		sc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		cw, ok := sc.(interface{ CloseWrite() error })
		if !ok {
			t.Fatalf("%s: %T has no CloseWrite", kind, sc)
		}
		io.WriteString(sc, "ok")
		if err := cw.CloseWrite(); err != nil {
			t.Fatalf("%s: CloseWrite: %v", kind, err)
		}
		if b, err := io.ReadAll(c); err != nil || string(b) != "ok" {
			t.Errorf("%s: read %q, %v", kind, b, err)
		}
	}
}
