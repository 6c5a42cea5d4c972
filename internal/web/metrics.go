package web

import (
	"cmp"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"sundial.dev/sundial/internal/manager"
)

// The metrics are built as client_model's families directly, not
// through a registry's collector: a daemon of 10,000 timers has some
// 400,000 series, and a constant metric each, with the registry's checks
// and sorting, took a scrape ten times its goal. The families of one
// set of units are laid out once, their values set at each scrape.

// The label names.
var (
	unitLabel       = "unit"
	serviceLabel    = "service"
	scheduleLabel   = "schedule"
	persistentLabel = "persistent"
	reasonLabel     = "reason"
	resultLabel     = "result"
)

// scrapeTimeout bounds the wait for the daemon's loop at a scrape.
const scrapeTimeout = 10 * time.Second

// A gatherer builds the daemon's metric families from a snapshot taken
// at each scrape: the manager keeps plain numbers. It keeps the layout
// of the last scrape, for the next to reuse while the units are the
// same (they change only at a reload).
type gatherer struct {
	src   Source
	build [3]string

	mu   sync.Mutex
	idle *layout // nil while a scrape uses it
}

// Gather returns the families of a scrape, the caller's to keep.
func (g *gatherer) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	l, err := g.gather(ctx)
	if err != nil {
		return nil, err
	}
	return l.families, nil
}

// gather takes a snapshot and sets a layout's values from it: the idle
// one if it has the snapshot's units, else a new one. The caller gives
// it back with release once it has encoded the families.
func (g *gatherer) gather(ctx context.Context) (*layout, error) {
	s, err := g.src.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	l := g.idle
	g.idle = nil
	g.mu.Unlock()
	if l == nil || !l.fits(s) {
		l = newLayout(s)
	}
	f := filler{l: l}
	f.fill(s, g.build)
	if !l.built {
		l.sort()
		l.built = true
	}
	return l, nil
}

func (g *gatherer) release(l *layout) {
	g.mu.Lock()
	g.idle = l
	g.mu.Unlock()
}

// A layout is the families of one set of units, with their labels, and
// where their values are, to set at each scrape.
type layout struct {
	built    bool
	timers   []manager.TimerStatus // the units and labels it was laid out for
	services []string
	durBins  []int // the buckets of each service's durations
	latBins  int

	families                   []*dto.MetricFamily // by name
	timerLabels, serviceLabels [][]*dto.LabelPair  // each unit's label
	values                     [][]float64         // the values of each series call, in order
	hists                      [][]dto.Histogram   // the histograms of each histograms call, in order
	text                       []byte              // the text format's buffer, kept for the next scrape
}

func newLayout(s manager.Snapshot) *layout {
	l := &layout{timers: s.Timers, latBins: len(s.Lateness.Bounds)}
	for _, t := range s.Timers {
		l.timerLabels = append(l.timerLabels, []*dto.LabelPair{{Name: &unitLabel, Value: &t.Name}})
	}
	for _, sv := range s.Services {
		l.services = append(l.services, sv.Name)
		l.serviceLabels = append(l.serviceLabels, []*dto.LabelPair{{Name: &unitLabel, Value: &sv.Name}})
		l.durBins = append(l.durBins, len(sv.Duration.Bounds))
	}
	return l
}

// sort puts each family's series in the order of their label values,
// as a registry does: the values set at each scrape stay where they are
// laid out.
func (l *layout) sort() {
	// A family of no series is left out (none of a daemon of no
	// timers), as a registry leaves it out: the formats have none.
	l.families = slices.DeleteFunc(l.families, func(mf *dto.MetricFamily) bool { return len(mf.Metric) == 0 })
	for _, mf := range l.families {
		slices.SortStableFunc(mf.Metric, func(a, b *dto.Metric) int {
			for i := range min(len(a.Label), len(b.Label)) {
				if c := strings.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
					return c
				}
			}
			return len(a.Label) - len(b.Label)
		})
	}
}

// fits reports whether the layout has the snapshot's units, with the
// same labels and buckets.
func (l *layout) fits(s manager.Snapshot) bool {
	if len(s.Timers) != len(l.timers) || len(s.Services) != len(l.services) || len(s.Lateness.Bounds) != l.latBins {
		return false
	}
	for i, t := range s.Timers {
		o := l.timers[i]
		if t.Name != o.Name || t.Unit != o.Unit || t.Persistent != o.Persistent || !slices.Equal(t.Schedule, o.Schedule) {
			return false
		}
	}
	for i, sv := range s.Services {
		if sv.Name != l.services[i] || len(sv.Duration.Bounds) != l.durBins[i] {
			return false
		}
	}
	return true
}

// A filler sets a layout's values in the order it laid them out, which
// its first pass does.
type filler struct {
	l      *layout
	family *dto.MetricFamily // the family being laid out
	nv, nh int               // the next values' and histograms' index
}

// start begins a family.
func (f *filler) start(name, help string, typ dto.MetricType) {
	if f.l.built {
		return
	}
	f.family = &dto.MetricFamily{Name: &name, Help: &help, Type: typ.Enum()}
	f.l.families = append(f.l.families, f.family)
}

// series sets n gauges or counters of the family, the i-th to v(i),
// laid out with the labels labels(i).
func (f *filler) series(n int, v func(int) float64, labels func(int) []*dto.LabelPair) {
	if !f.l.built {
		values, metrics := make([]float64, n), make([]dto.Metric, n)
		gauge := f.family.GetType() == dto.MetricType_GAUGE
		var gauges []dto.Gauge
		var counters []dto.Counter
		if gauge {
			gauges = make([]dto.Gauge, n)
		} else {
			counters = make([]dto.Counter, n)
		}
		for i := range n {
			m := &metrics[i]
			m.Label = labels(i)
			if gauge {
				gauges[i].Value = &values[i]
				m.Gauge = &gauges[i]
			} else {
				counters[i].Value = &values[i]
				m.Counter = &counters[i]
			}
			f.family.Metric = append(f.family.Metric, m)
		}
		f.l.values = append(f.l.values, values)
	}
	values := f.l.values[f.nv]
	f.nv++
	for i := range values {
		values[i] = v(i)
	}
}

// histograms sets n histograms of the family, the i-th to h(i), laid
// out with the labels labels(i).
func (f *filler) histograms(n int, h func(int) manager.Histogram, labels func(int) []*dto.LabelPair) {
	if !f.l.built {
		hists, metrics := make([]dto.Histogram, n), make([]dto.Metric, n)
		for i := range n {
			src := h(i)
			hh := &hists[i]
			hh.SampleCount, hh.SampleSum = new(uint64), new(float64)
			buckets := make([]dto.Bucket, len(src.Bounds))
			counts := make([]uint64, len(src.Bounds))
			for j := range buckets {
				buckets[j].UpperBound, buckets[j].CumulativeCount = &src.Bounds[j], &counts[j]
				hh.Bucket = append(hh.Bucket, &buckets[j])
			}
			metrics[i].Label, metrics[i].Histogram = labels(i), hh
			f.family.Metric = append(f.family.Metric, &metrics[i])
		}
		f.l.hists = append(f.l.hists, hists)
	}
	hists := f.l.hists[f.nh]
	f.nh++
	for i := range hists {
		src, hh := h(i), &hists[i]
		*hh.SampleCount, *hh.SampleSum = src.Count, src.Sum
		for j, b := range hh.Bucket {
			*b.CumulativeCount = src.Counts[j]
		}
	}
}

// fill sets the metrics' values from the snapshot; laying them out, it
// makes the families in their names' order.
func (f *filler) fill(s manager.Snapshot, build [3]string) {
	l := f.l
	const gauge, counter = dto.MetricType_GAUGE, dto.MetricType_COUNTER
	none := func(int) []*dto.LabelPair { return nil }
	timer := func(i int) []*dto.LabelPair { return l.timerLabels[i] }
	service := func(i int) []*dto.LabelPair { return l.serviceLabels[i] }
	stamps := func(v func(manager.ServiceStatus) time.Time) func(int) float64 {
		return func(i int) float64 { return stamp(v(s.Services[i])) }
	}

	f.start("sundial_build_info", "The daemon's build: its version, VCS revision and Go version; always 1.", gauge)
	f.series(1, func(int) float64 { return 1 }, func(int) []*dto.LabelPair {
		return []*dto.LabelPair{{Name: ptr("goversion"), Value: &build[2]}, {Name: ptr("revision"), Value: &build[1]},
			{Name: ptr("version"), Value: &build[0]}}
	})
	f.start("sundial_journal_lines_dropped_total", "Journal lines that could not be written (the disk full) and were dropped.", counter)
	f.series(1, func(int) float64 { return float64(s.JournalDropped) }, none)
	f.start("sundial_journal_lines_written_total", "Journal lines written to the store.", counter)
	f.series(1, func(int) float64 { return float64(s.JournalWritten) }, none)

	f.start("sundial_service_failed", "1 while the service is in the failed state, else 0.", gauge)
	f.series(len(s.Services), func(i int) float64 { return boolValue(s.Services[i].Active == "failed") }, service)
	f.start("sundial_service_last_end_timestamp_seconds", "When the service's last run ended; 0 for never.", gauge)
	f.series(len(s.Services), stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastEnd }), service)
	f.start("sundial_service_last_exit_status", "The exit status (or signal number) of the main process of the service's last run.", gauge)
	f.series(len(s.Services), func(i int) float64 { return float64(s.Services[i].LastExitStatus) }, service)
	f.start("sundial_service_last_failure_timestamp_seconds", "When the service's last failed run ended; 0 for never.", gauge)
	f.series(len(s.Services), stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastFailure }), service)
	f.start("sundial_service_last_start_timestamp_seconds", "When the service's last run started; 0 for never.", gauge)
	f.series(len(s.Services), stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastStart }), service)
	f.start("sundial_service_last_success_timestamp_seconds", "When the service's last successful run ended; 0 for never.", gauge)
	f.series(len(s.Services), stamps(func(sv manager.ServiceStatus) time.Time { return sv.LastSuccess }), service)
	f.start("sundial_service_run_duration_seconds", "How long the service's runs took.", dto.MetricType_HISTOGRAM)
	f.histograms(len(s.Services), func(i int) manager.Histogram { return s.Services[i].Duration }, service)
	f.start("sundial_service_running", "1 while a run of the service runs, else 0.", gauge)
	f.series(len(s.Services), func(i int) float64 { return boolValue(s.Services[i].Running) }, service)
	f.start("sundial_service_runs_total", "Runs of the service that ended, by systemd's result word.", counter)
	for r := range manager.RunResults {
		f.series(len(s.Services), func(i int) float64 { return float64(s.Services[i].Runs[r]) }, func(i int) []*dto.LabelPair {
			return []*dto.LabelPair{{Name: &resultLabel, Value: &manager.RunResults[r]}, l.serviceLabels[i][0]}
		})
	}

	f.start("sundial_store_writable", "1 while writes to the store succeed, else 0.", gauge)
	f.series(1, func(int) float64 { return boolValue(s.StoreWritable) }, none)

	f.start("sundial_timer_active", "1 if the timer is active (waiting, running or elapsed), else 0.", gauge)
	f.series(len(s.Timers), func(i int) float64 { return boolValue(s.Timers[i].Active) }, timer)
	f.start("sundial_timer_catch_up_triggers_total",
		"Triggers for elapses the timer missed (the daemon down, the machine asleep), each folding those missed into one.", counter)
	f.series(len(s.Timers), func(i int) float64 { return float64(s.Timers[i].CatchUps) }, timer)
	f.start("sundial_timer_enabled", "1 if timers.target wants the timer (it is enabled), else 0.", gauge)
	f.series(len(s.Timers), func(i int) float64 { return boolValue(s.Timers[i].Enabled) }, timer)
	f.start("sundial_timer_info", "A timer: the unit it activates, its schedule (its settings, joined by \"; \"), and whether it is Persistent=.", gauge)
	f.series(len(s.Timers), func(int) float64 { return 1 }, func(i int) []*dto.LabelPair {
		t := s.Timers[i]
		return []*dto.LabelPair{{Name: &persistentLabel, Value: ptr(strconv.FormatBool(t.Persistent))},
			{Name: &scheduleLabel, Value: ptr(strings.Join(t.Schedule, "; "))}, {Name: &serviceLabel, Value: &t.Unit}, l.timerLabels[i][0]}
	})
	f.start("sundial_timer_last_trigger_timestamp_seconds", "When the timer last triggered; 0 for never.", gauge)
	f.series(len(s.Timers), func(i int) float64 { return stamp(s.Timers[i].LastTrigger) }, timer)
	f.start("sundial_timer_lateness_seconds", "How long after its elapse each trigger came.", dto.MetricType_HISTOGRAM)
	f.histograms(1, func(int) manager.Histogram { return s.Lateness }, none)
	f.start("sundial_timer_next_elapse_timestamp_seconds", "When the timer elapses next, as a wall-clock time also for its monotonic settings; 0 for none.", gauge)
	f.series(len(s.Timers), func(i int) float64 { return stamp(s.Timers[i].Next) }, timer)
	f.start("sundial_timer_skipped_runs_total",
		"Elapses of the timer that started no run, by reason: already-running (its unit still ran) or refused (its unit could not be started).", counter)
	for r := range manager.SkipReasons {
		f.series(len(s.Timers), func(i int) float64 { return float64(s.Timers[i].Skipped[r]) }, func(i int) []*dto.LabelPair {
			return []*dto.LabelPair{{Name: &reasonLabel, Value: &manager.SkipReasons[r]}, l.timerLabels[i][0]}
		})
	}
}

func ptr[T any](v T) *T { return &v }

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
		l, err := g.gather(ctx)
		if err != nil {
			s.logger().Error("a scrape failed", "err", err)
			http.Error(w, "the daemon's metrics could not be gathered: "+err.Error(), http.StatusInternalServerError)
			return
		}
		defer g.release(l)
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
			// The fastest level: a scrape of 30 MB is mostly repeats.
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
			t := textWriter{w: out, buf: l.text[:0]}
			for _, mf := range l.families {
				err = cmp.Or(err, t.family(mf))
			}
			err = cmp.Or(err, t.flush())
			l.text = t.buf
		} else {
			for _, mf := range l.families {
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
// names gzip (or *) with a weight above 0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if strings.HasPrefix(q, "q=") {
			if w, err := strconv.ParseFloat(q[2:], 64); err == nil && w == 0 {
				return false
			}
		}
		return true
	}
	return false
}
