package web

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"sundial.dev/sundial/internal/manager"
)

// A textWriter is the sink of a scrape in Prometheus's text format
// 0.0.4: it writes each series as it comes, as expfmt would write the
// families client_model's sink makes, byte for byte (a test compares
// them), through a buffer. It checks no names (the daemon's are fixed
// and valid) and keeps no series.
type textWriter struct {
	w   io.Writer
	buf []byte
	err error

	// The family whose header waits for its first series: a family of
	// none is left out.
	name, help string
	typ        dto.MetricType
	pending    bool

	// The le labels of the last bounds written, formatted.
	bounds []float64
	les    []string
}

// textFlush is the size at which the buffer is written out.
const textFlush = 64 << 10

func (t *textWriter) family(name, help string, typ dto.MetricType) {
	t.name, t.help, t.typ, t.pending = name, help, typ, true
}

// header writes the family's HELP and TYPE lines, before its first
// series.
func (t *textWriter) header() {
	if !t.pending {
		return
	}
	t.pending = false
	t.buf = append(t.buf, "# HELP "...)
	t.buf = append(t.buf, t.name...)
	t.buf = append(t.buf, ' ')
	t.buf = appendEscaped(t.buf, t.help, false)
	t.buf = append(t.buf, "\n# TYPE "...)
	t.buf = append(t.buf, t.name...)
	t.buf = append(t.buf, ' ')
	t.buf = append(t.buf, strings.ToLower(t.typ.String())...)
	t.buf = append(t.buf, '\n')
}

func (t *textWriter) series(n int, v func(int) float64, l func(int) labelSet) {
	if n > 0 {
		t.header()
	}
	for i := range n {
		t.sample("", l(i), "", v(i))
		t.fill()
	}
}

func (t *textWriter) histograms(n int, h func(int) manager.Histogram, l func(int) labelSet) {
	if n > 0 {
		t.header()
	}
	for i := range n {
		src, ls := h(i), l(i)
		if !slices.Equal(src.Bounds, t.bounds) {
			t.bounds, t.les = src.Bounds, nil
			for _, b := range src.Bounds {
				t.les = append(t.les, string(appendFloat(nil, b)))
			}
		}
		for j, c := range src.Counts {
			t.sample("_bucket", ls, t.les[j], float64(c))
		}
		if len(src.Bounds) == 0 || !math.IsInf(src.Bounds[len(src.Bounds)-1], +1) {
			t.sample("_bucket", ls, "+Inf", float64(src.Count))
		}
		t.sample("_sum", ls, "", src.Sum)
		t.sample("_count", ls, "", float64(src.Count))
		t.fill()
	}
}

// sample writes a line: the family's name and the suffix, the labels,
// le if not "", and the value.
func (t *textWriter) sample(suffix string, ls labelSet, le string, v float64) {
	b := append(t.buf, t.name...)
	b = append(b, suffix...)
	if ls.n > 0 || le != "" {
		sep := byte('{')
		for _, l := range ls.l[:ls.n] {
			b = append(b, sep)
			b = append(b, l.name...)
			b = append(b, '=', '"')
			b = appendEscaped(b, l.value, true)
			b = append(b, '"')
			sep = ','
		}
		if le != "" {
			b = append(b, sep)
			b = append(b, `le="`...)
			b = append(b, le...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	t.buf = append(b, '\n')
}

// fill writes the buffer out once it holds enough.
func (t *textWriter) fill() {
	if len(t.buf) >= textFlush {
		t.flush()
	}
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
	i := 0 // what needs none, by a loop: faster than ContainsAny's set
	for i < len(s) && s[i] != '\\' && s[i] != '\n' && s[i] != '"' {
		i++
	}
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
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
