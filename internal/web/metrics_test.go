package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
)

var update = flag.Bool("update", false, "write the golden files")

var testBuild = [3]string{"v1.2.3", "abc123", "go1.26.8"}

// TestMetrics checks the names, types, help and values of the metrics
// of a daemon at a pinned time against testdata/metrics.txt, and of one
// that leads a cluster's timers against testdata/metrics-cluster.txt.
func TestMetrics(t *testing.T) {
	for _, tc := range []struct {
		golden  string
		cluster ClusterSource
	}{
		{"metrics.txt", nil},
		{"metrics-cluster.txt", &fakeCluster{r: leading()}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			testMetrics(t, &gatherer{src: newFake(), cluster: tc.cluster, build: testBuild}, filepath.Join("testdata", tc.golden))
		})
	}
}

func testMetrics(t *testing.T, g *gatherer, golden string) {
	if *update {
		families, err := g.Gather()
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
	if err := testutil.GatherAndCompare(g, strings.NewReader(string(want))); err != nil {
		t.Error(err)
	}
	// The checks a registry makes of a collector's metrics: names,
	// labels, no series twice.
	if _, err := (prometheus.Gatherers{g}).Gather(); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(g)
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
	count := func(f *fakeSource) int {
		families, err := (&gatherer{src: f, build: testBuild}).Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mf := range families {
			n += len(mf.Metric)
		}
		return n
	}
	if n, m := count(f), count(newFake()); n != m {
		t.Errorf("%d series before the first runs, %d after", n, m)
	}
	// Per timer 5 + 1 + 2 skip reasons; per service 11 results + the
	// histogram + 7; the lateness, the journal, the store, the build.
	if n, want := count(f), 2*8+2*(11+1+7)+5; n != want {
		t.Errorf("%d series, want %d", n, want)
	}
}

// TestClusterMetricsPresent checks that a node of a cluster that has not
// joined it has every series of the cluster's, as it has once it leads.
func TestClusterMetricsPresent(t *testing.T) {
	count := func(r cluster.Report) int {
		families, err := (&gatherer{src: newFake(), cluster: &fakeCluster{r: r}, build: testBuild}).Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mf := range families {
			if strings.HasPrefix(mf.GetName(), "sundial_cluster_") {
				n += len(mf.Metric)
			}
		}
		return n
	}
	// Per op, the histogram and its failures; the triggers by result;
	// 8 more.
	if n, m, want := count(unjoined()), count(leading()), 2*len(cluster.Ops)+len(cluster.TriggerResults)+8; n != want || m != want {
		t.Errorf("%d series of the cluster before the node joined, %d once it leads; want %d", n, m, want)
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

// expfmtText is families in the text format as client_golang writes it.
func expfmtText(t *testing.T, families []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// oddFake is the fake daemon with units whose names and schedules have
// what a label value escapes, and a bigger one's units beside.
func oddFake() *fakeSource {
	f := newBigFake(30, 300)
	odd := f.snap.Timers[0]
	odd.Name, odd.Unit = "a\"b\\c\nd-\\x2d\u00e9.timer", "a\"b\\c\nd-\\x2d\u00e9.service"
	odd.Schedule = []string{`OnCalendar=*-*-* 03:00:00`, "x\"\\\n"}
	odd.Next = pinned.Add(1234567 * time.Microsecond)
	f.snap.Timers = append([]manager.TimerStatus{odd}, f.snap.Timers...)
	sv := f.snap.Services[0]
	sv.Name = odd.Unit
	sv.Duration.Sum, sv.Duration.Count, sv.LastExitStatus = 1e-7, 1_000_000_000, -1
	f.snap.Services = append([]manager.ServiceStatus{sv}, f.snap.Services...)
	return f
}

// TestTextWriter checks that the scrape's own writer writes the text
// format as client_golang's writes the families of the daemon's
// metrics, byte for byte, with names and schedules that need escaping,
// values of all sizes, and no timers.
func TestTextWriter(t *testing.T) {
	none := newFake()
	none.snap.Timers, none.snap.Services = nil, nil
	lead := leading()
	for _, tc := range []struct {
		f *fakeSource
		c *cluster.Report
	}{{newFake(), nil}, {oddFake(), nil}, {none, nil}, {newFake(), &lead}} {
		g := &gatherer{src: tc.f, build: testBuild}
		var got bytes.Buffer
		w := textWriter{w: &got}
		g.fill(&w, tc.f.snap, tc.c)
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		if want := expfmtText(t, g.families(tc.f.snap, tc.c)); got.String() != want {
			t.Errorf("the writer's text differs from expfmt's:\n%s\nwant:\n%s", got.String(), want)
		}
	}
}

// TestScrapeChanges scrapes a daemon, changes its values, then its
// units, and checks that each scrape, reusing the order of the timers'
// info series or not, says what a first scrape of the daemon would.
func TestScrapeChanges(t *testing.T) {
	f := oddFake()
	h := newTestServer(f).Handler()
	scrape := func() string {
		_, body := serve(h, httptest.NewRequest("GET", "/metrics", nil))
		_, daemon, _ := strings.Cut(body, "\nsundial_build_info")
		return "sundial_build_info" + daemon
	}
	fresh := func() string {
		families, err := (&gatherer{src: f, build: buildInfo()}).Gather()
		if err != nil {
			t.Fatal(err)
		}
		text := expfmtText(t, families)
		return text[strings.Index(text, "sundial_build_info{"):]
	}
	steps := []func(){
		func() {},
		func() {
			f.snap.JournalWritten, f.snap.Timers[3].Next, f.snap.Services[2].Runs[4] = 7, pinned, 9
			f.snap.Services[2].Duration.Counts[3], f.snap.Lateness.Count = 5, 11
		},
		func() { f.snap.Timers[1].Schedule = []string{"OnCalendar=hourly"} },
		func() { f.snap.Timers, f.snap.Services = f.snap.Timers[:5], f.snap.Services[1:] },
		func() { f.snap.Timers, f.snap.Services = nil, nil },
	}
	for i, step := range steps {
		f.snap.Timers, f.snap.Services = slices.Clone(f.snap.Timers), slices.Clone(f.snap.Services)
		for j := range f.snap.Services {
			s := &f.snap.Services[j]
			s.Runs, s.Duration.Counts = slices.Clone(s.Runs), slices.Clone(s.Duration.Counts)
		}
		step()
		if got, want := scrape(), fresh(); got != want {
			t.Errorf("scrape %d:\n%s\nwant:\n%s", i, got, want)
		}
	}
}

// TestScrapeFormats scrapes gzipped, in protobuf, and by HEAD.
func TestScrapeFormats(t *testing.T) {
	h := newTestServer(newFake()).Handler()
	req := func(method string, header ...string) *http.Request {
		r := httptest.NewRequest(method, "/metrics", nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	_, plain := serve(h, req("GET"))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("GET", "Accept-Encoding", "deflate, gzip;q=0.8"))
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("a scrape that takes gzip: Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unzipped), "\nsundial_timer_info{") || strings.Count(string(unzipped), "\n") != strings.Count(plain, "\n") {
		t.Errorf("the gzipped scrape has %d lines, the plain one %d", strings.Count(string(unzipped), "\n"), strings.Count(plain, "\n"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req("GET", "Accept-Encoding", "gzip;q=0"))
	if rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("a scrape that refuses gzip got %q", rec.Header().Get("Content-Encoding"))
	}

	resp, body := serve(h, req("GET", "Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"))
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.ResponseFormat(resp.Header))
	names := map[string]bool{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		names[mf.GetName()] = true
	}
	if !names["sundial_service_runs_total"] || !names["go_goroutines"] {
		t.Errorf("a scrape in protobuf has the families %v", slices.Sorted(maps.Keys(names)))
	}

	resp, body = serve(h, req("HEAD"))
	if resp.StatusCode != http.StatusOK || body != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("HEAD: status %d, content type %q, body of %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                        false,
		"gzip":                    true,
		"identity":                false,
		"deflate, gzip;q=0.8":     true,
		"GZIP":                    true,
		"gzip;q=0":                false,
		"gzip; q=0.000":           false,
		"*":                       true,
		"*;q=0, gzip":             true,
		"gzip;q=0, *":             false,
		"*;q=0":                   false,
		"br;q=1.0, gzip;q=0.5, *": true,
		"x-gzip":                  true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
