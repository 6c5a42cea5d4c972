package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// A node joins an etcd that serves its clients over TLS and asks them
// for a certificate, with the CA, certificate and key it is given
// (--etcd-cacert, --etcd-cert, --etcd-key). Refused, without a
// certificate or trusting another CA, Open says why within its deadline.
func TestClientTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an etcd member")
	}
	dir := t.TempDir()
	ca, caKey := testCert(t, dir, "ca", nil, nil)
	testCert(t, dir, "server", ca, caKey)
	testCert(t, dir, "client", ca, caKey)

	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = "tls", filepath.Join(dir, "data")
	// Its log goes to the test's, quiet about its own closing.
	var closing atomic.Bool
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(slog.NewTextHandler(t.Output(), nil), &closing))
	peer, _ := url.Parse("unix://" + filepath.Join(dir, "peer"))
	client, _ := url.Parse("https://127.0.0.1:0")
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.InitialCluster = "tls=" + peer.String()
	cfg.UnsafeNoFsync = true
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server-key.pem"),
		TrustedCAFile: filepath.Join(dir, "ca.pem"), ClientCertAuth: true}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closing.Store(true)
		e.Close()
	})
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatal(err)
	}
	endpoint := "https://" + e.Clients[0].Addr().String()

	c := testOpen(t, Config{Name: "b", Endpoints: []string{endpoint}, CACert: filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client-key.pem")})
	if got := nodes(t, c); !slices.Equal(got, []string{"b"}) {
		t.Errorf("nodes = %q; want b joined", got)
	}

	// Refused: each says why, from the handshake.
	other := t.TempDir()
	testCert(t, other, "ca", nil, nil)
	for _, c := range []struct {
		what, cacert, cert, key, want string
	}{
		{"without a certificate", filepath.Join(dir, "ca.pem"), "", "", "tls: certificate required"},
		{"trusting another CA", filepath.Join(other, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"),
			"x509: certificate signed by unknown authority"},
	} {
		_, err := Open(t.Context(), Config{Name: "c", Endpoints: []string{endpoint}, CACert: c.cacert, Cert: c.cert, Key: c.key,
			RequestTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "TLS with "+endpoint+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open %s = %v; want it refused, with %q", c.what, err, c.want)
		}
	}
}

// testCert writes name.pem and name-key.pem in dir: a certificate for
// 127.0.0.1 signed by parent with its key, or a CA's of its own if parent
// is nil. It returns the certificate and its key.
func testCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{name + ".pem": {Type: "CERTIFICATE", Bytes: der}, name + "-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
