package web

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// A textWriter writes the daemon's families in Prometheus's text format
// 0.0.4, as expfmt writes them byte for byte, through a buffer kept
// from scrape to scrape. It checks no names (the families' are fixed
// and valid) and knows only the types the daemon makes: expfmt's
// per-sample checks and writes took most of a scrape of 400,000 series.
type textWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// textFlush is the size at which the buffer is written out.
const textFlush = 64 << 10

func (t *textWriter) family(mf *dto.MetricFamily) error {
	name := mf.GetName()
	if mf.Help != nil {
		t.buf = append(t.buf, "# HELP "...)
		t.buf = append(t.buf, name...)
		t.buf = append(t.buf, ' ')
		t.buf = appendEscaped(t.buf, mf.GetHelp(), false)
		t.buf = append(t.buf, '\n')
	}
	t.buf = append(t.buf, "# TYPE "...)
	t.buf = append(t.buf, name...)
	switch mf.GetType() {
	case dto.MetricType_GAUGE:
		t.buf = append(t.buf, " gauge\n"...)
	case dto.MetricType_COUNTER:
		t.buf = append(t.buf, " counter\n"...)
	case dto.MetricType_HISTOGRAM:
		t.buf = append(t.buf, " histogram\n"...)
	default:
		return fmt.Errorf("%s: a %s is not written", name, mf.GetType())
	}
	for _, m := range mf.Metric {
		switch {
		case m.Gauge != nil:
			t.sample(name, "", m.Label, nil, m.Gauge.GetValue())
		case m.Counter != nil:
			t.sample(name, "", m.Label, nil, m.Counter.GetValue())
		case m.Histogram != nil:
			h := m.Histogram
			infSeen := false
			for _, b := range h.Bucket {
				t.sample(name, "_bucket", m.Label, b.UpperBound, float64(b.GetCumulativeCount()))
				infSeen = infSeen || math.IsInf(b.GetUpperBound(), +1)
			}
			if !infSeen {
				inf := math.Inf(+1)
				t.sample(name, "_bucket", m.Label, &inf, float64(h.GetSampleCount()))
			}
			t.sample(name, "_sum", m.Label, nil, h.GetSampleSum())
			t.sample(name, "_count", m.Label, nil, float64(h.GetSampleCount()))
		default:
			return fmt.Errorf("%s: a series of no type the family's", name)
		}
		if len(t.buf) >= textFlush {
			t.flush()
		}
	}
	return t.err
}

// sample writes a line: the name and suffix, the labels and le if not
// nil, and the value.
func (t *textWriter) sample(name, suffix string, labels []*dto.LabelPair, le *float64, v float64) {
	b := append(t.buf, name...)
	b = append(b, suffix...)
	if len(labels) > 0 || le != nil {
		sep := byte('{')
		for _, l := range labels {
			b = append(b, sep)
			b = append(b, l.GetName()...)
			b = append(b, '=', '"')
			b = appendEscaped(b, l.GetValue(), true)
			b = append(b, '"')
			sep = ','
		}
		if le != nil {
			b = append(b, sep)
			b = append(b, `le="`...)
			b = appendFloat(b, *le)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	t.buf = append(b, '\n')
}

func (t *textWriter) flush() error {
	if t.err == nil && len(t.buf) > 0 {
		_, t.err = t.w.Write(t.buf)
	}
	t.buf = t.buf[:0]
	return t.err
}

// appendEscaped appends s with backslashes and newlines escaped, and
// double quotes too in a label's value, as the text format has them.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends v as the text format writes a value.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
