package service

import (
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadLines: a service's output is cut into lines as journald's
// stdout_stream_scan cuts it, however the stream delivers it.
func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", lineMax)
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"a\x00b\nc", []string{"a", "b", "c"}},
		{"a\r\n", []string{"a\r"}},
		{long + "y\n", []string{long, "y"}},
		{long + "\n", []string{long, ""}},
		{long[1:] + "\n", []string{long[1:]}},
		{long + long + "z", []string{long, long, "z"}},
		{long[10:] + "\x00" + long, []string{long[10:], long}},
		{"", nil},
	} {
		for _, r := range []func(string) io.Reader{
			func(s string) io.Reader { return strings.NewReader(s) },
			func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
			func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		} {
			var got []string
			readLines(r(tt.in), func(s string) { got = append(got, s) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("%.20q…: %d lines %.40q, want %d %.40q", tt.in, len(got), got, len(tt.want), tt.want)
			}
		}
	}
}

// TestJournalMessage: a line's "<N>" prefix, as syslog_parse_priority
// reads it without a facility, and the empty lines journald drops.
func TestJournalMessage(t *testing.T) {
	for _, tt := range []struct {
		in     string
		prefix bool
		msg    string
		prio   int
		ok     bool
	}{
		{"hello", true, "hello", 6, true},
		{"<3>error", true, "error", 3, true},
		{"<03>error", true, "error", 3, true},
		{"<007>debug", true, "debug", 7, true},
		{"<8>x", true, "<8>x", 6, true},
		{"<13>x", true, "<13>x", 6, true},
		{"<0003>x", true, "<0003>x", 6, true},
		{"<>x", true, "<>x", 6, true},
		{"<a>x", true, "<a>x", 6, true},
		{"<3>error", false, "<3>error", 6, true},
		{"<3>", true, "", 3, false},
		{"", true, "", 6, false},
		{" ", true, " ", 6, true},
	} {
		msg, prio, ok := JournalMessage(tt.in, tt.prefix, 6)
		if msg != tt.msg || prio != tt.prio || ok != tt.ok {
			t.Errorf("JournalMessage(%q, %v) = %q, %d, %v; want %q, %d, %v", tt.in, tt.prefix, msg, prio, ok, tt.msg, tt.prio, tt.ok)
		}
	}
}
