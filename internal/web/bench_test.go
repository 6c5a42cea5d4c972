package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"sundial.dev/sundial/internal/manager"
	"sundial.dev/sundial/internal/store"
)

// newBigFake is a daemon of n timers, each with its service, and runs
// runs spread over the last week, one in ten failed.
func newBigFake(n, runs int) *fakeSource {
	f := &fakeSource{snap: manager.Snapshot{Now: pinned, StoreWritable: true,
		Lateness: manager.Histogram{Bounds: manager.LatenessBuckets, Counts: make([]uint64, len(manager.LatenessBuckets))}}}
	for i := range n {
		timer, service := fmt.Sprintf("job-%05d.timer", i), fmt.Sprintf("job-%05d.service", i)
		f.snap.Timers = append(f.snap.Timers, manager.TimerStatus{Name: timer, Unit: service, Enabled: true, Active: true, State: "waiting",
			Result: "success", Schedule: []string{fmt.Sprintf("OnCalendar=*-*-* %02d:%02d:00", i%24, i%60)},
			Next: pinned.Add(time.Duration(i%1440) * time.Minute), LastTrigger: pinned.Add(-time.Duration(i%1440) * time.Minute),
			Skipped: make([]uint64, len(manager.SkipReasons))})
		sv := manager.ServiceStatus{Name: service, Active: "inactive", Sub: "dead", Result: "success",
			LastStart: pinned.Add(-time.Hour), LastEnd: pinned.Add(-time.Hour + time.Second), LastSuccess: pinned.Add(-time.Hour + time.Second),
			Runs: make([]uint64, len(manager.RunResults)), Duration: manager.Histogram{Bounds: manager.DurationBuckets, Counts: make([]uint64, len(manager.DurationBuckets))}}
		sv.Runs[0] = uint64(runs / n)
		if i%10 == 0 {
			sv.Active, sv.Result, sv.LastFailure = "failed", "exit-code", sv.LastEnd
		}
		f.snap.Services = append(f.snap.Services, sv)
	}
	week := 7 * 24 * time.Hour
	for i := range runs {
		start := pinned.Add(-week + time.Duration(i)*week/time.Duration(runs))
		r := store.Run{ID: int64(i + 1), Unit: fmt.Sprintf("job-%05d.service", i%n), Timer: fmt.Sprintf("job-%05d.timer", i%n),
			Reason: "OnCalendar", Started: µs(start), Ended: µs(start.Add(time.Duration(i%90) * time.Second)), State: store.RunEnded,
			Result: "success", ExitCode: "exited"}
		if i%10 == 0 {
			r.Result, r.ExitStatus = "exit-code", 1
		}
		f.runs = append(f.runs, r)
	}
	return f
}

// A countingWriter is a response sent to a client that reads it as it
// comes: it counts the body and keeps none of it, as a connection
// does, so that a benchmark measures the handler and not a buffer
// growing to tens of megabytes.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

// cpuTime is the CPU time the process has spent, in user and system
// mode.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchGet measures a GET of path, with the request's headers (name,
// value pairs), and prints the goal beside.
func benchGet(b *testing.B, path string, goal time.Duration, header ...string) {
	h := newTestServer(newBigFake(10_000, 100_000)).Handler()
	size := 0
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		w := &countingWriter{header: http.Header{}}
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, w.code)
		}
		size = w.n
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	// The CPU time the process spent, the collector's too: on a machine
	// others load, the time on the clock says more of them than of us.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(goal.Milliseconds()), "goal-ms")
	b.ReportMetric(float64(size), "bytes")
}

// BenchmarkPage renders the main page of a daemon of 10,000 timers and
// 100,000 runs: goal under 200 ms.
func BenchmarkPage(b *testing.B) { benchGet(b, "/", 200*time.Millisecond) }

// BenchmarkScrape scrapes the metrics of a daemon of 10,000 timers and
// their services: goal under 100 ms.
func BenchmarkScrape(b *testing.B) { benchGet(b, "/metrics", 100*time.Millisecond) }

// BenchmarkScrapeGzip is the scrape as Prometheus asks for it, gzipped.
func BenchmarkScrapeGzip(b *testing.B) {
	benchGet(b, "/metrics", 100*time.Millisecond, "Accept-Encoding", "gzip")
}
