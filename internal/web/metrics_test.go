package web

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "write the golden files")

var testBuild = [3]string{"v1.2.3", "abc123", "go1.26.8"}

// TestMetrics checks the names, types, help and values of the metrics
// of a daemon at a pinned time against testdata/metrics.txt.
func TestMetrics(t *testing.T) {
	c := collector{src: newFake(), build: testBuild}
	golden := filepath.Join("testdata", "metrics.txt")
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range families {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(golden, text.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(string(want))); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsPresent checks that a daemon whose units never ran has
// every series of each unit, at 0, as it has after.
func TestMetricsPresent(t *testing.T) {
	f := newFake()
	for i := range f.snap.Services {
		s := &f.snap.Services[i]
		for j := range s.Runs {
			s.Runs[j] = 0
		}
	}
	count := func(f *fakeSource) int { return testutil.CollectAndCount(collector{src: f, build: testBuild}) }
	if n, m := count(f), count(newFake()); n != m {
		t.Errorf("%d series before the first runs, %d after", n, m)
	}
	// Per timer 5 + 1 + 2 skip reasons; per service 11 results + the
	// histogram + 7; the lateness, the journal, the store, the build.
	if n, want := count(f), 2*8+2*(11+1+7)+5; n != want {
		t.Errorf("%d series, want %d", n, want)
	}
}

// TestMetricsHandler scrapes /metrics: the daemon's, Go's and the
// process's metrics, in Prometheus's text format; a daemon that does
// not answer fails the scrape.
func TestMetricsHandler(t *testing.T) {
	f := newFake()
	h := newTestServer(f).Handler()
	get := func() *http.Response {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Result()
	}
	resp := get()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"\nsundial_timer_next_elapse_timestamp_seconds{unit=\"backup.timer\"} 1.7961804e+09\n",
		"\ngo_goroutines ", "\nprocess_open_fds ", "\nsundial_build_info{"} {
		if !strings.Contains("\n"+string(body), want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	f.err = errors.New("stopping")
	if resp := get(); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("scrape of a daemon that does not answer: status %d, want 500", resp.StatusCode)
	}
}
