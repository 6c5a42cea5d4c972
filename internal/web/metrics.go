package web

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"sundial.dev/sundial/internal/cluster"
	"sundial.dev/sundial/internal/manager"
)

// The metrics are not collected through a registry: a daemon of 10,000
// timers has some 400,000 series, and a constant metric each, with the
// registry's checks and sorting and expfmt's, took a scrape ten times
// its goal. fill walks a snapshot's metrics once, into a sink: the text
// format's writer for a scrape, client_model's families for the other
// formats and for client_golang's test helpers.

// scrapeTimeout bounds the wait for the daemon's loop at a scrape.
const scrapeTimeout = 10 * time.Second

// A label is a label's name and value.
type label struct{ name, value string }

// A labelSet is a series' labels, by name, kept off the heap.
type labelSet struct {
	l [4]label
	n int
}

func labels(l ...label) labelSet {
	var ls labelSet
	ls.n = copy(ls.l[:], l)
	return ls
}

// A sink takes the metrics fill walks: each family, then its series,
// in their labels' order.
type sink interface {
	family(name, help string, typ dto.MetricType)
	// series takes n gauges or counters, the i-th of value v(i) and
	// labels l(i).
	series(n int, v func(int) float64, l func(int) labelSet)
	// histograms takes n histograms, the i-th h(i) of labels l(i).
	histograms(n int, h func(int) manager.Histogram, l func(int) labelSet)
}

// A gatherer gathers the daemon's metrics from a snapshot taken at each
// scrape: the manager keeps plain numbers.
type gatherer struct {
	src     Source
	cluster ClusterSource // nil for a daemon of no cluster
	build   [3]string

	mu sync.Mutex
	// The order of the timers' info series, by their labels' values,
	// kept while the timers and their schedules stay the same (they
	// change only at a reload).
	infoOf    []manager.TimerStatus
	infoOrder []int
}

// Gather returns the daemon's families, as a registry would: in their
// names' order, each family's series in their labels' order, none
// without series.
func (g *gatherer) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	s, err := g.src.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return g.families(s, g.clusterReport()), nil
}

// clusterReport is the daemon's node's report, nil for no cluster.
func (g *gatherer) clusterReport() *cluster.Report {
	if g.cluster == nil {
		return nil
	}
	r := g.cluster.ClusterReport()
	return &r
}

// families are the snapshot's families, and the cluster's if c is set.
func (g *gatherer) families(s manager.Snapshot, c *cluster.Report) []*dto.MetricFamily {
	var f familySink
	g.fill(&f, s, c)
	return slices.DeleteFunc(f.families, func(mf *dto.MetricFamily) bool { return len(mf.Metric) == 0 })
}

// order is the order of the snapshot's timers' info series.
func (g *gatherer) order(s manager.Snapshot) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	same := len(g.infoOf) == len(s.Timers)
	for i := 0; same && i < len(s.Timers); i++ {
		t, o := s.Timers[i], g.infoOf[i]
		same = t.Name == o.Name && t.Unit == o.Unit && t.Persistent == o.Persistent && slices.Equal(t.Schedule, o.Schedule)
	}
	if !same {
		keys := make([][4]string, len(s.Timers))
		g.infoOrder = make([]int, len(s.Timers))
		for i, t := range s.Timers {
			keys[i] = [4]string{strconv.FormatBool(t.Persistent), strings.Join(t.Schedule, "; "), t.Unit, t.Name}
			g.infoOrder[i] = i
		}
		slices.SortFunc(g.infoOrder, func(a, b int) int { return slices.Compare(keys[a][:], keys[b][:]) })
		g.infoOf = s.Timers
	}
	return g.infoOrder
}

// fill walks the snapshot's metrics, and the cluster's if c is set, into
// the sink, the families in their names' order, each family's series in
// their labels' order.
func (g *gatherer) fill(k sink, s manager.Snapshot, c *cluster.Report) {
	const gauge, counter = dto.MetricType_GAUGE, dto.MetricType_COUNTER
	none := func(int) labelSet { return labelSet{} }
	timer := func(i int) labelSet { return labels(label{"unit", s.Timers[i].Name}) }
	service := func(i int) labelSet { return labels(label{"unit", s.Services[i].Name}) }
	stamps := func(v func(manager.ServiceStatus) time.Time) func(int) float64 {
		return func(i int) float64 { return stamp(v(s.Services[i])) }
	}
	nt, ns := len(s.Timers), len(s.Services)

	k.family("sundial_build_info", "The daemon's build: its version, VCS revision and Go version; always 1.", gauge)
	k.series(1, func(int) float64 { return 1 }, func(int) labelSet {
		return labels(label{"goversion", g.build[2]}, label{"revision", g.build[1]}, label{"version", g.build[0]})
	})
	if c != nil {
		fillCluster(k, c)
	}
	k.family("sundial_journal_lines_dropped_total", "Journal lines that could not be written (the disk full) and were dropped.", counter)
	k.series(1, func(int) float64 { return float64(s.JournalDropped) }, none)
	k.family("sundial_journal_lines_written_total", "Journal lines written to the store.", counter)
	k.series(1, func(int) float64 { return float64(s.JournalWritten) }, none)

	k.family("sundial_service_failed", "1 while the service is in the failed state, else 0.", gauge)
	k.series(ns, func(i int) float64 { return boolValue(s.Services[i].Active == "failed") }, service)
	k.family("sundial_service_last_end_timestamp_seconds", "When the service's last run ended; 0 for never.", gauge)
	k.series(ns, stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastEnd }), service)
	k.family("sundial_service_last_exit_status", "The exit status (or signal number) of the main process of the service's last run.", gauge)
	k.series(ns, func(i int) float64 { return float64(s.Services[i].LastExitStatus) }, service)
	k.family("sundial_service_last_failure_timestamp_seconds", "When the service's last failed run ended; 0 for never.", gauge)
	k.series(ns, stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastFailure }), service)
	k.family("sundial_service_last_start_timestamp_seconds", "When the service's last run started; 0 for never.", gauge)
	k.series(ns, stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastStart }), service)
	k.family("sundial_service_last_success_timestamp_seconds", "When the service's last successful run ended; 0 for never.", gauge)
	k.series(ns, stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastSuccess }), service)
	k.family("sundial_service_run_duration_seconds", "How long the service's runs took.", dto.MetricType_HISTOGRAM)
	k.histograms(ns, func(i int) manager.Histogram { return s.Services[i].Duration }, service)
	k.family("sundial_service_running", "1 while a run of the service runs, else 0.", gauge)
	k.series(ns, func(i int) float64 { return boolValue(s.Services[i].Running) }, service)
	// By result, then unit: the labels' order, result before unit.
	k.family("sundial_service_runs_total", "Runs of the service that ended, by systemd's result word.", counter)
	for _, r := range sortedIndex(manager.RunResults) {
		k.series(ns, func(i int) float64 { return float64(s.Services[i].Runs[r]) }, func(i int) labelSet {
			return labels(label{"result", manager.RunResults[r]}, label{"unit", s.Services[i].Name})
		})
	}

	k.family("sundial_store_writable", "1 while writes to the store succeed, else 0.", gauge)
	k.series(1, func(int) float64 { return boolValue(s.StoreWritable) }, none)

	k.family("sundial_timer_active", "1 if the timer is active (waiting, running or elapsed), else 0.", gauge)
	k.series(nt, func(i int) float64 { return boolValue(s.Timers[i].Active) }, timer)
	k.family("sundial_timer_catch_up_triggers_total",
		"Triggers for elapses the timer missed (the daemon down, the machine asleep), each folding those missed into one.", counter)
	k.series(nt, func(i int) float64 { return float64(s.Timers[i].CatchUps) }, timer)
	k.family("sundial_timer_enabled", "1 if timers.target wants the timer (it is enabled), else 0.", gauge)
	k.series(nt, func(i int) float64 { return boolValue(s.Timers[i].Enabled) }, timer)
	k.family("sundial_timer_info", "A timer: the unit it activates, its schedule (its settings, joined by \"; \"), and whether it is Persistent=.", gauge)
	order := g.order(s)
	k.series(nt, func(int) float64 { return 1 }, func(i int) labelSet {
		t := s.Timers[order[i]]
		return labels(label{"persistent", strconv.FormatBool(t.Persistent)}, label{"schedule", strings.Join(t.Schedule, "; ")},
			label{"service", t.Unit}, label{"unit", t.Name})
	})
	k.family("sundial_timer_last_trigger_timestamp_seconds", "When the timer last triggered; 0 for never.", gauge)
	k.series(nt, func(i int) float64 { return stamp(s.Timers[i].LastTrigger) }, timer)
	k.family("sundial_timer_lateness_seconds", "How long after its elapse each trigger came.", dto.MetricType_HISTOGRAM)
	k.histograms(1, func(int) manager.Histogram { return s.Lateness }, none)
	k.family("sundial_timer_next_elapse_timestamp_seconds", "When the timer elapses next, as a wall-clock time also for its monotonic settings; 0 for none.", gauge)
	k.series(nt, func(i int) float64 { return stamp(s.Timers[i].Next) }, timer)
	k.family("sundial_timer_skipped_runs_total",
		"Elapses of the timer that started no run, by reason: already-running (its unit still ran) or refused (its unit could not be started).", counter)
	for _, r := range sortedIndex(manager.SkipReasons) {
		k.series(nt, func(i int) float64 { return float64(s.Timers[i].Skipped[r]) }, func(i int) labelSet {
			return labels(label{"reason", manager.SkipReasons[r]}, label{"unit", s.Timers[i].Name})
		})
	}
}

// fillCluster walks the metrics of the daemon's node of a cluster into
// the sink: each series there from the start, at 0 before the node has
// joined. They are named after etcd's own (etcd_server_is_leader,
// etcd_server_has_leader) and Consul's terms won (consul.raft.state.leader).
func fillCluster(k sink, c *cluster.Report) {
	const gauge, counter = dto.MetricType_GAUGE, dto.MetricType_COUNTER
	none := func(int) labelSet { return labelSet{} }
	one := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	op := func(i int) labelSet { return labels(label{"op", c.Requests[i].Op}) }
	n := len(c.Requests)
	k.family("sundial_cluster_etcd_request_duration_seconds", "How long the node's requests to etcd took, by operation (a gRPC method of etcd's).", dto.MetricType_HISTOGRAM)
	k.histograms(n, func(i int) manager.Histogram {
		d := c.Requests[i].Duration
		return manager.Histogram{Bounds: d.Bounds, Counts: d.Counts, Count: d.Count, Sum: d.Sum}
	}, op)
	k.family("sundial_cluster_etcd_request_failures_total", "The node's requests to etcd that failed (no answer in time, or an error), by operation.", counter)
	k.series(n, func(i int) float64 { return float64(c.Requests[i].Failures) }, op)
	k.family("sundial_cluster_has_leader", "1 while a node is known to lead the cluster's timers, else 0 (also while etcd has no quorum).", gauge)
	k.series(1, one(boolValue(c.Leader != "")), none)
	k.family("sundial_cluster_healthy", "1 while the etcd endpoint the node uses answers, with a Raft leader and no alarm, else 0.", gauge)
	k.series(1, one(boolValue(c.Healthy)), none)
	k.family("sundial_cluster_is_leader", "1 while this node leads the cluster's timers, else 0.", gauge)
	k.series(1, one(boolValue(c.Leading())), none)
	k.family("sundial_cluster_joined", "1 once the node has joined its cluster (its etcd member serves, or its endpoints answered), else 0.", gauge)
	k.series(1, one(boolValue(c.Joined)), none)
	k.family("sundial_cluster_leader_terms_lost_total", "Terms of leadership of the cluster's timers this node lost: deposed, resigned, or their lease expired.", counter)
	k.series(1, one(float64(c.TermsLost)), none)
	k.family("sundial_cluster_leader_terms_won_total", "Terms of leadership of the cluster's timers this node won.", counter)
	k.series(1, one(float64(c.TermsWon)), none)
	k.family("sundial_cluster_node_info", "The node: its name in the cluster; always 1.", gauge)
	k.series(1, one(1), func(int) labelSet { return labels(label{"node", c.Node}) })
	k.family("sundial_cluster_nodes", "The nodes of the cluster that live (their keys in etcd), as this node sees them; 0 while etcd has no quorum.", gauge)
	k.series(1, one(float64(c.Nodes)), none)
	k.family("sundial_cluster_triggers_total",
		"Triggers of cluster timers this node made as the leader, by result: committed, deposed (refused by the fence: the term had ended), stale (the stamp moved, or the elapse had its run), failed (etcd did not answer).", counter)
	for _, r := range sortedIndex(cluster.TriggerResults) {
		k.series(1, one(float64(c.Triggers[r])), func(int) labelSet { return labels(label{"result", cluster.TriggerResults[r]}) })
	}
}

// sortedIndex is the indexes of words, in the order of the words.
func sortedIndex(words []string) []int {
	idx := make([]int, len(words))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(words[a], words[b]) })
	return idx
}

// A familySink makes client_model's families, leaving out those with
// no series (none of a daemon of no timers), as a registry does.
type familySink struct {
	families []*dto.MetricFamily
}

func (f *familySink) family(name, help string, typ dto.MetricType) {
	f.families = append(f.families, &dto.MetricFamily{Name: &name, Help: &help, Type: typ.Enum()})
}

func (f *familySink) add(l labelSet, m *dto.Metric) {
	for _, p := range l.l[:l.n] {
		m.Label = append(m.Label, &dto.LabelPair{Name: &p.name, Value: &p.value})
	}
	mf := f.families[len(f.families)-1]
	mf.Metric = append(mf.Metric, m)
}

func (f *familySink) series(n int, v func(int) float64, l func(int) labelSet) {
	gauge := f.families[len(f.families)-1].GetType() == dto.MetricType_GAUGE
	for i := range n {
		value := v(i)
		m := &dto.Metric{}
		if gauge {
			m.Gauge = &dto.Gauge{Value: &value}
		} else {
			m.Counter = &dto.Counter{Value: &value}
		}
		f.add(l(i), m)
	}
}

func (f *familySink) histograms(n int, h func(int) manager.Histogram, l func(int) labelSet) {
	for i := range n {
		src := h(i)
		hh := &dto.Histogram{SampleCount: &src.Count, SampleSum: &src.Sum}
		for j := range src.Bounds {
			hh.Bucket = append(hh.Bucket, &dto.Bucket{UpperBound: &src.Bounds[j], CumulativeCount: &src.Counts[j]})
		}
		f.add(l(i), &dto.Metric{Histogram: hh})
	}
}

// stamp is a time in seconds since the epoch; 0 for none.
func stamp(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e6
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// buildInfo is the binary's version, VCS revision and Go version.
func buildInfo() [3]string {
	out := [3]string{"(devel)", "unknown", "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	out[0], out[2] = bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			out[1] = s.Value
		}
	}
	if out[0] == "" {
		out[0] = "(devel)"
	}
	return out
}

// runtimeRegistry is the registry of Go's and the process's metrics,
// scraped beside the daemon's.
func runtimeRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metrics serves a scrape: the daemon's families and the runtime's,
// encoded straight to the response in the format the scraper asks for,
// gzipped if it takes gzip. A daemon that does not answer fails it.
func (s *Server) metrics(g *gatherer, runtime prometheus.Gatherer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout)
		defer cancel()
		snap, err := g.src.Snapshot(ctx)
		if err != nil {
			s.logger().Error("a scrape failed", "err", err)
			http.Error(w, "the daemon's metrics could not be gathered: "+err.Error(), http.StatusInternalServerError)
			return
		}
		report := g.clusterReport()
		runtimeFamilies, err := runtime.Gather()
		if err != nil {
			s.logger().Error("a scrape failed", "err", err)
			http.Error(w, "the runtime's metrics could not be gathered: "+err.Error(), http.StatusInternalServerError)
			return
		}

		format := expfmt.Negotiate(r.Header)
		h := w.Header()
		h.Set("Content-Type", string(format))
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead {
			return
		}
		var out io.Writer = w
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			// The fastest level, of klauspost/compress's gzip (which
			// client_golang's own handler uses), near twice as fast
			// as compress/gzip's: Prometheus asks for gzip, and a
			// scrape is some 30 MB, mostly repeats.
			gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
			defer gz.Close()
			out = gz
		}
		// The runtime's families (go_, process_) sort before the
		// daemon's (sundial_), which the text format writes fastest.
		enc := expfmt.NewEncoder(out, format)
		for _, mf := range runtimeFamilies {
			err = cmp.Or(err, enc.Encode(mf))
		}
		if format.FormatType() == expfmt.TypeTextPlain {
			t := &textWriter{w: out, buf: make([]byte, 0, textFlush+4096)}
			g.fill(t, snap, report)
			err = cmp.Or(err, t.flush())
		} else {
			for _, mf := range g.families(snap, report) {
				err = cmp.Or(err, enc.Encode(mf))
			}
		}
		if c, ok := enc.(expfmt.Closer); ok {
			err = cmp.Or(err, c.Close())
		}
		if err != nil {
			s.logger().Debug("a scrape was cut short", "err", err)
		}
	}
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip: it
// names gzip with a weight above 0, or, naming no gzip, * so.
func acceptsGzip(header string) bool {
	gzip, star := -1, -1 // 0 refused, 1 taken, -1 not named
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		taken := 1
		if q, ok := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q="); ok {
			if w, err := strconv.ParseFloat(q, 64); err == nil && w == 0 {
				taken = 0
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzip = taken
		case "*":
			star = taken
		}
	}
	if gzip >= 0 {
		return gzip == 1
	}
	return star == 1
}
