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
	mrand "math/rand/v2"
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
	// An address of a loopback network of the test's own, as
	// testMembers's, for etcd to advertise the URL it listens on.
	ip := net.IPv4(127, byte(1+mrand.IntN(254)), byte(mrand.IntN(256)), 1)
	ca, caKey := testCert(t, dir, "ca", ip, nil, nil)
	testCert(t, dir, "server", ip, ca, caKey)
	testCert(t, dir, "client", ip, ca, caKey)

	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = "tls", filepath.Join(dir, "data")
	// Its log goes to the test's, quiet about its own closing.
	var closing atomic.Bool
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(slog.NewTextHandler(t.Output(), nil), &closing))
	peer, _ := url.Parse("unix://" + filepath.Join(dir, "peer"))
	client, _ := url.Parse("https://" + ip.String() + ":2379")
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
	endpoint := client.String()

	c := testOpen(t, Config{Name: "b", Endpoints: []string{endpoint}, CACert: filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client-key.pem")})
	if got := nodes(t, c); !slices.Equal(got, []string{"b"}) {
		t.Errorf("nodes = %q; want b joined", got)
	}
	// Its status asks the member at its URL, over TLS too.
	if st := c.Status(t.Context()); !st.Healthy || len(st.Members) != 1 || !st.Members[0].Healthy {
		t.Errorf("Status over TLS = %+v; want healthy, and its member", st)
	}

	// Refused: each says why, from the handshake.
	other := t.TempDir()
	testCert(t, other, "ca", ip, nil, nil)
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

// testCert writes name.pem and name-key.pem in dir: a certificate for ip
// signed by parent with its key, or a CA's of its own if parent is nil.
// It returns the certificate and its key.
func testCert(t *testing.T, dir, name string, ip net.IP, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{ip}}
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
