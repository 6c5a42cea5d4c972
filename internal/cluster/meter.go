package cluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"unicode"

	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc"

	"sundial.dev/sundial/internal/clock"
)

// A Meter counts what a node does with etcd, for its metrics: its
// requests by operation, with their durations and failures, the terms it
// won and lost, and its triggers by outcome. It is made before the node
// joins (Config.Meter), so that every count is there, at 0, from the
// start. Its methods may be called from several goroutines.
type Meter struct {
	clk clock.Clock

	mu       sync.Mutex
	requests map[string]*RequestStats // by op
	won      uint64
	lost     uint64
	triggers []uint64 // by TriggerResults
}

// Ops are the operations a node asks of etcd, each a gRPC method of
// etcd's named in snake case, as its requests are counted: range is a
// read (Get), txn a transaction, status the endpoint's health,
// move_leader the handing on of etcd's Raft leadership.
var Ops = []string{"lease_grant", "lease_revoke", "lease_time_to_live", "member_list", "move_leader", "put", "range", "status", "txn"}

// RequestBuckets are the bounds of the requests' durations, in seconds:
// from a member's answer on loopback, a millisecond, to the deadline of
// a request.
var RequestBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// TriggerResults are the outcomes of a trigger's transaction: committed;
// deposed, refused by the fence (the term had ended); stale, refused for
// a stamp moved or an elapse run since it was read; failed, with no
// answer from etcd.
var TriggerResults = []string{"committed", "deposed", "stale", "failed"}

// A Histogram counts observations in buckets, as Prometheus's does:
// Counts[i] those at or below Bounds[i].
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// RequestStats are a Meter's counts of one operation's requests.
type RequestStats struct {
	Op       string
	Failures uint64
	Duration Histogram // in seconds
}

// Stats are a Meter's counts at one moment.
type Stats struct {
	Requests []RequestStats // by Op
	// TermsWon counts the terms this node won; TermsLost those that
	// ended (deposed, resigned, or their lease expired). One more won
	// than lost: it leads.
	TermsWon, TermsLost uint64
	Triggers            []uint64 // by TriggerResults
}

// Leading reports whether the node leads the cluster's timers.
func (s Stats) Leading() bool { return s.TermsWon > s.TermsLost }

// NewMeter makes a meter that times requests by clk (nil: the real one).
func NewMeter(clk clock.Clock) *Meter {
	m := &Meter{clk: clock.Or(clk), requests: map[string]*RequestStats{}, triggers: make([]uint64, len(TriggerResults))}
	for _, op := range Ops {
		m.op(op)
	}
	return m
}

// op returns the counts of op, made if need be; m.mu held or m new.
func (m *Meter) op(op string) *RequestStats {
	r := m.requests[op]
	if r == nil {
		r = &RequestStats{Op: op, Duration: Histogram{Bounds: RequestBuckets, Counts: make([]uint64, len(RequestBuckets))}}
		m.requests[op] = r
	}
	return r
}

// Stats returns the meter's counts now.
func (m *Meter) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Stats{TermsWon: m.won, TermsLost: m.lost, Triggers: slices.Clone(m.triggers)}
	for _, r := range m.requests {
		r := *r
		r.Duration.Counts = slices.Clone(r.Duration.Counts)
		s.Requests = append(s.Requests, r)
	}
	slices.SortFunc(s.Requests, func(a, b RequestStats) int { return strings.Compare(a.Op, b.Op) })
	return s
}

// intercept times each of the client's requests (each attempt of the
// client's retries), as a gRPC interceptor of the client's connection.
func (m *Meter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := m.clk.Now().Monotonic
	err := invoker(ctx, method, req, reply, cc, opts...)
	took := float64(m.clk.Now().Monotonic-start) / 1e6
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.op(opName(method))
	if err != nil {
		r.Failures++
	}
	d := &r.Duration
	for i, b := range d.Bounds {
		if took <= b {
			d.Counts[i]++
		}
	}
	d.Count++
	d.Sum += took
	return err
}

// opName is a gRPC method's op: "/etcdserverpb.Lease/LeaseGrant" is
// lease_grant.
func opName(method string) string {
	name := method[strings.LastIndexByte(method, '/')+1:]
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// termBegan counts a term won, and lost once its lease ends.
func (m *Meter) termBegan(sess *concurrency.Session) {
	m.mu.Lock()
	m.won++
	m.mu.Unlock()
	context.AfterFunc(sess.Ctx(), func() {
		m.mu.Lock()
		m.lost++
		m.mu.Unlock()
	})
}

// triggered counts a trigger's outcome, err its transaction's.
func (m *Meter) triggered(err error) {
	i := 0
	switch {
	case errors.Is(err, ErrDeposed):
		i = 1
	case errors.Is(err, ErrStale):
		i = 2
	case err != nil:
		i = 3
	}
	m.mu.Lock()
	m.triggers[i]++
	m.mu.Unlock()
}
