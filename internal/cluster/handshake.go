package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"
)

// handshake tries a TLS handshake with each https endpoint as the
// client's config sets it up, and returns the first that fails, nil if
// none does. etcd refuses a client it does not trust, or one without a
// certificate where it asks for one, in the handshake, and the client
// retries in silence until a request's deadline: a node that cannot
// join says why with this. A server that asks for a certificate checks
// it after TLS 1.3's handshake, and says so on the first read: a read
// that waits until d is a handshake that held.
func handshake(ctx context.Context, cfg *tls.Config, endpoints []string, d time.Duration) error {
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "https" {
			continue
		}
		c := cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = u.Hostname()
		}
		dctx, cancel := context.WithTimeout(ctx, d)
		conn, err := (&tls.Dialer{Config: c}).DialContext(dctx, "tcp", u.Host)
		cancel()
		if err != nil {
			return fmt.Errorf("TLS with %s: %w", ep, err)
		}
		// The read ends with the server's word, or when d is up and the
		// connection closed.
		rctx, cancel := context.WithTimeout(ctx, d)
		var waited atomic.Bool
		stop := context.AfterFunc(rctx, func() {
			waited.Store(true)
			conn.Close()
		})
		_, err = conn.Read(make([]byte, 1))
		stop()
		cancel()
		conn.Close()
		if err != nil && !waited.Load() {
			return fmt.Errorf("TLS with %s: %w", ep, err)
		}
	}
	return nil
}

// handshakeWait bounds each endpoint's handshake, and the read after it.
const handshakeWait = time.Second
