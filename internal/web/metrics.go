package web

import (
	"context"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"sundial.dev/sundial/internal/manager"
)

// The metrics' descriptions, fixed: the collector describes them all
// whatever units there are, and registers as a checked collector.
var (
	timerInfoDesc = prometheus.NewDesc("sundial_timer_info",
		"A timer: the unit it activates, its schedule (its settings, joined by \"; \"), and whether it is Persistent=.",
		[]string{"unit", "service", "schedule", "persistent"}, nil)
	timerNextDesc = prometheus.NewDesc("sundial_timer_next_elapse_timestamp_seconds",
		"When the timer elapses next, as a wall-clock time also for its monotonic settings; 0 for none.", []string{"unit"}, nil)
	timerLastDesc = prometheus.NewDesc("sundial_timer_last_trigger_timestamp_seconds",
		"When the timer last triggered; 0 for never.", []string{"unit"}, nil)
	timerEnabledDesc = prometheus.NewDesc("sundial_timer_enabled",
		"1 if timers.target wants the timer (it is enabled), else 0.", []string{"unit"}, nil)
	timerActiveDesc = prometheus.NewDesc("sundial_timer_active",
		"1 if the timer is active (waiting, running or elapsed), else 0.", []string{"unit"}, nil)
	timerCatchUpDesc = prometheus.NewDesc("sundial_timer_catch_up_triggers_total",
		"Triggers for elapses the timer missed (the daemon down, the machine asleep), each folding those missed into one.", []string{"unit"}, nil)
	timerSkippedDesc = prometheus.NewDesc("sundial_timer_skipped_runs_total",
		"Elapses of the timer that started no run, by reason: already-running (its unit still ran) or refused (its unit could not be started).",
		[]string{"unit", "reason"}, nil)
	latenessDesc = prometheus.NewDesc("sundial_timer_lateness_seconds",
		"How long after its elapse each trigger came.", nil, nil)
	serviceRunsDesc = prometheus.NewDesc("sundial_service_runs_total",
		"Runs of the service that ended, by systemd's result word.", []string{"unit", "result"}, nil)
	serviceDurationDesc = prometheus.NewDesc("sundial_service_run_duration_seconds",
		"How long the service's runs took.", []string{"unit"}, nil)
	serviceStartDesc = prometheus.NewDesc("sundial_service_last_start_timestamp_seconds",
		"When the service's last run started; 0 for never.", []string{"unit"}, nil)
	serviceEndDesc = prometheus.NewDesc("sundial_service_last_end_timestamp_seconds",
		"When the service's last run ended; 0 for never.", []string{"unit"}, nil)
	serviceSuccessDesc = prometheus.NewDesc("sundial_service_last_success_timestamp_seconds",
		"When the service's last successful run ended; 0 for never.", []string{"unit"}, nil)
	serviceFailureDesc = prometheus.NewDesc("sundial_service_last_failure_timestamp_seconds",
		"When the service's last failed run ended; 0 for never.", []string{"unit"}, nil)
	serviceExitDesc = prometheus.NewDesc("sundial_service_last_exit_status",
		"The exit status (or signal number) of the main process of the service's last run.", []string{"unit"}, nil)
	serviceRunningDesc = prometheus.NewDesc("sundial_service_running",
		"1 while a run of the service runs, else 0.", []string{"unit"}, nil)
	serviceFailedDesc = prometheus.NewDesc("sundial_service_failed",
		"1 while the service is in the failed state, else 0.", []string{"unit"}, nil)
	journalWrittenDesc = prometheus.NewDesc("sundial_journal_lines_written_total",
		"Journal lines written to the store.", nil, nil)
	journalDroppedDesc = prometheus.NewDesc("sundial_journal_lines_dropped_total",
		"Journal lines that could not be written (the disk full) and were dropped.", nil, nil)
	storeWritableDesc = prometheus.NewDesc("sundial_store_writable",
		"1 while writes to the store succeed, else 0.", nil, nil)
	buildInfoDesc = prometheus.NewDesc("sundial_build_info",
		"The daemon's build: its version, VCS revision and Go version; always 1.", []string{"version", "revision", "goversion"}, nil)
)

// A collector emits the daemon's metrics from a snapshot taken at each
// scrape, as constant metrics: the manager keeps plain numbers.
type collector struct {
	src   Source
	build [3]string
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{timerInfoDesc, timerNextDesc, timerLastDesc, timerEnabledDesc, timerActiveDesc,
		timerCatchUpDesc, timerSkippedDesc, latenessDesc, serviceRunsDesc, serviceDurationDesc, serviceStartDesc,
		serviceEndDesc, serviceSuccessDesc, serviceFailureDesc, serviceExitDesc, serviceRunningDesc, serviceFailedDesc,
		journalWrittenDesc, journalDroppedDesc, storeWritableDesc, buildInfoDesc} {
		ch <- d
	}
}

// scrapeTimeout bounds the wait for the daemon's loop at a scrape.
const scrapeTimeout = 10 * time.Second

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1, c.build[:]...)
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	s, err := c.src.Snapshot(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(timerInfoDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	// Each metric for all units in turn, the units by name and the
	// labels before them in order: as the registry sorts each metric's
	// series, which then costs it a pass, not a sort, for many units.
	for _, t := range s.Timers {
		gauge(timerInfoDesc, 1, t.Name, t.Unit, strings.Join(t.Schedule, "; "), strconv.FormatBool(t.Persistent))
	}
	gauges(ch, s.Timers, func(t manager.TimerStatus) string { return t.Name }, []gaugeOf[manager.TimerStatus]{
		{timerNextDesc, func(t manager.TimerStatus) float64 { return stamp(t.Next) }},
		{timerLastDesc, func(t manager.TimerStatus) float64 { return stamp(t.LastTrigger) }},
		{timerEnabledDesc, func(t manager.TimerStatus) float64 { return boolValue(t.Enabled) }},
		{timerActiveDesc, func(t manager.TimerStatus) float64 { return boolValue(t.Active) }},
	})
	for _, t := range s.Timers {
		counter(timerCatchUpDesc, t.CatchUps, t.Name)
	}
	for _, i := range sortedIndex(manager.SkipReasons) {
		for _, t := range s.Timers {
			counter(timerSkippedDesc, t.Skipped[i], t.Name, manager.SkipReasons[i])
		}
	}
	ch <- histogram(latenessDesc, s.Lateness)
	for _, i := range sortedIndex(manager.RunResults) {
		for _, sv := range s.Services {
			counter(serviceRunsDesc, sv.Runs[i], sv.Name, manager.RunResults[i])
		}
	}
	for _, sv := range s.Services {
		ch <- histogram(serviceDurationDesc, sv.Duration, sv.Name)
	}
	gauges(ch, s.Services, func(sv manager.ServiceStatus) string { return sv.Name }, []gaugeOf[manager.ServiceStatus]{
		{serviceStartDesc, func(sv manager.ServiceStatus) float64 { return stamp(sv.LastStart) }},
		{serviceEndDesc, func(sv manager.ServiceStatus) float64 { return stamp(sv.LastEnd) }},
		{serviceSuccessDesc, func(sv manager.ServiceStatus) float64 { return stamp(sv.LastSuccess) }},
		{serviceFailureDesc, func(sv manager.ServiceStatus) float64 { return stamp(sv.LastFailure) }},
		{serviceExitDesc, func(sv manager.ServiceStatus) float64 { return float64(sv.LastExitStatus) }},
		{serviceRunningDesc, func(sv manager.ServiceStatus) float64 { return boolValue(sv.Running) }},
		{serviceFailedDesc, func(sv manager.ServiceStatus) float64 { return boolValue(sv.Active == "failed") }},
	})
	counter(journalWrittenDesc, s.JournalWritten)
	counter(journalDroppedDesc, s.JournalDropped)
	gauge(storeWritableDesc, boolValue(s.StoreWritable))
}

// A gaugeOf is a gauge of a unit, labelled with its name.
type gaugeOf[T any] struct {
	desc *prometheus.Desc
	v    func(T) float64
}

// gauges emits each gauge for all the units in turn.
func gauges[T any](ch chan<- prometheus.Metric, units []T, name func(T) string, metrics []gaugeOf[T]) {
	for _, m := range metrics {
		for _, u := range units {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, m.v(u), name(u))
		}
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

func histogram(d *prometheus.Desc, h manager.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets, labels...)
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

// newRegistry is the daemon's own registry: its collector, and Go's and
// the process's.
func newRegistry(src Source, build [3]string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src: src, build: build},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
