package cluster

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// etcdLogLevel is the least of etcd's messages passed on: it says much
// at info (each election, each snapshot), which the daemon's log does
// not want; what goes wrong it says at warn and above.
const etcdLogLevel = zapcore.WarnLevel

// routine are warnings etcd gives at every start of a member as we run
// it (no TLS, no auth, one port for gRPC and HTTP), and those of a new
// member's first start, with the error they carry ("" for any): they
// say nothing that is wrong, and are not passed on.
var routine = map[string]string{
	"Running http and grpc server on single port. This is not recommended for production.": "",
	"simple token is not cryptographically signed":                                         "",
	"Failed to detect schema version":                                                      "missing term information",
	"failed to update storage version":                                                     "cannot detect storage schema version: missing term information",
}

// repeatQuiet is how long a message of etcd's, once said, is not said
// again: a member far behind the others, as one started again is,
// warns "failed to publish local member to cluster through raft"
// thousands of times a second until it has caught up. The next one said
// carries how many were not (repeated=).
const repeatQuiet = 10 * time.Second

// zapLogger returns a zap.Logger, for etcd's server and client, that
// passes their messages on to h, but for routine ones, repeats within
// repeatQuiet, and all once closing is set: a member being stopped
// complains of its listeners closing, which is what was asked.
func zapLogger(h slog.Handler, closing *atomic.Bool) *zap.Logger {
	return zap.New(slogCore{h: h, closing: closing, said: &repeats{said: map[string]said{}}})
}

// slogCore is a zapcore.Core that writes to a slog.Handler.
type slogCore struct {
	h       slog.Handler
	closing *atomic.Bool
	said    *repeats
	fields  []zapcore.Field
}

// repeats are when each message was last passed on, by level and text,
// and how many of it were dropped since.
type repeats struct {
	mu   sync.Mutex
	said map[string]said
}

type said struct {
	at      time.Time
	dropped int
}

// pass reports whether a message at t is passed on, and how many of it
// were dropped since it last was.
func (r *repeats) pass(l zapcore.Level, msg string, t time.Time) (bool, int) {
	key := l.String() + " " + msg
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.said[key]
	if ok && t.Sub(s.at) < repeatQuiet {
		s.dropped++
		r.said[key] = s
		return false, 0
	}
	r.said[key] = said{at: t}
	return true, s.dropped
}

func (c slogCore) Enabled(l zapcore.Level) bool {
	return l >= etcdLogLevel && c.h.Enabled(context.Background(), slogLevel(l))
}

func (c slogCore) With(fields []zapcore.Field) zapcore.Core {
	return slogCore{h: c.h, closing: c.closing, said: c.said, fields: slices.Concat(c.fields, fields)}
}

func (c slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write hands the entry to the handler, its fields as attributes in the
// order of their keys.
func (c slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if c.closing.Load() {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range slices.Concat(c.fields, fields) {
		f.AddTo(enc)
	}
	if why, ok := routine[e.Message]; ok && (why == "" || enc.Fields["error"] == why) {
		return nil
	}
	pass, dropped := c.said.pass(e.Level, e.Message, e.Time)
	if !pass {
		return nil
	}
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, 0)
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		r.AddAttrs(slog.Any(k, enc.Fields[k]))
	}
	if dropped > 0 {
		r.AddAttrs(slog.Int("repeated", dropped))
	}
	return c.h.Handle(context.Background(), r)
}

func (slogCore) Sync() error { return nil }

// slogLevel is zap's level in slog's: panics and fatal errors are errors
// (zap itself panics or exits after writing them).
func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}
