package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sundial.dev/sundial/internal/api"
)

// outputModes are journalctl's -o modes, as -o help lists them.
var outputModes = []string{"short", "short-full", "short-iso", "short-iso-precise", "short-precise", "short-monotonic",
	"short-delta", "short-unix", "verbose", "export", "json", "json-pretty", "json-sse", "json-seq", "cat", "with-unit"}

// quietModes are the modes that imply -q: no "-- Boot" or "-- No
// entries --" lines in their output.
var quietModes = []string{"export", "json", "json-pretty", "json-sse", "json-seq", "cat"}

// A journalPrinter writes entries in an output mode, as journalctl's
// show_journal_entry, keeping what the next entry's line depends on.
type journalPrinter struct {
	c    *cli
	o    *journalOptions
	host string
	// The boot and monotonic time of the entry before, for "-- Boot"
	// lines and short-delta.
	boot      string
	monotonic uint64
}

func (o *journalOptions) printer(c *cli) *journalPrinter {
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	return &journalPrinter{c: c, o: o, host: host}
}

// hostOf is the host an entry is shown of: its cluster node's name, by
// default the node's host name, or this host.
func (p *journalPrinter) hostOf(e api.Entry) string {
	if e.Node != "" {
		return e.Node
	}
	return p.host
}

// print writes entries, with a "-- Boot ID --" line where the boot
// changes, unless quiet.
func (p *journalPrinter) print(entries []api.Entry) {
	var b bytes.Buffer
	for _, e := range entries {
		if p.boot != "" && e.Boot != p.boot && !p.o.quiet {
			fmt.Fprintf(&b, "-- Boot %s --\n", e.Boot)
		}
		p.entry(&b, e)
		p.boot, p.monotonic = e.Boot, e.Monotonic
	}
	p.c.stdout.Write(b.Bytes())
}

// printJournal writes entries as journalctl does in the output mode, as
// systemctl status shows a unit's last lines. With none, it says so, if
// told to.
func printJournal(c *cli, entries []api.Entry, output string, none bool) {
	o := &journalOptions{output: output}
	o.quiet = slices.Contains(quietModes, output)
	o.printer(c).print(entries)
	if len(entries) == 0 && none && !o.quiet {
		fmt.Fprintln(c.stdout, "-- No entries --")
	}
}

// A field is one of an entry's fields, in the order journalctl shows
// them.
type field struct{ name, value string }

// fields are an entry's fields: those of the journal's own (the
// "__" ones and _BOOT_ID) first, then those the entry carries. The
// daemon's messages name their unit as systemd's manager does, in
// UNIT= or USER_UNIT= (among their fields) and INVOCATION_ID= or
// USER_INVOCATION_ID=; the lines of a unit's processes as journald
// does, in _SYSTEMD_UNIT= or _SYSTEMD_USER_UNIT= and
// _SYSTEMD_INVOCATION_ID=.
func (p *journalPrinter) fields(e api.Entry) []field {
	fs := []field{
		{"__CURSOR", strconv.FormatInt(e.Cursor, 10)},
		{"__REALTIME_TIMESTAMP", strconv.FormatUint(e.Realtime, 10)},
		{"__MONOTONIC_TIMESTAMP", strconv.FormatUint(e.Monotonic, 10)},
		{"_BOOT_ID", e.Boot},
		{"PRIORITY", strconv.Itoa(e.Priority)},
		{"SYSLOG_IDENTIFIER", e.Identifier},
	}
	if e.MessageID != "" {
		fs = append(fs, field{"MESSAGE_ID", e.MessageID})
	}
	for l := range strings.Lines(e.Fields) {
		if k, v, ok := strings.Cut(strings.TrimSuffix(l, "\n"), "="); ok {
			fs = append(fs, field{k, v})
		}
	}
	fs = append(fs, field{"MESSAGE", e.Message}, field{"_PID", strconv.Itoa(e.PID)}, field{"_HOSTNAME", p.hostOf(e)})
	manager := slices.ContainsFunc(fs, func(f field) bool { return f.name == "UNIT" || f.name == "USER_UNIT" })
	unitField, invocationField := "_SYSTEMD_UNIT", "_SYSTEMD_INVOCATION_ID"
	switch {
	case manager && slices.ContainsFunc(fs, func(f field) bool { return f.name == "USER_UNIT" }):
		unitField, invocationField = "", "USER_INVOCATION_ID"
	case manager:
		unitField, invocationField = "", "INVOCATION_ID"
	case p.o.user:
		unitField = "_SYSTEMD_USER_UNIT"
	}
	if e.Unit != "" && unitField != "" {
		fs = append(fs, field{unitField, e.Unit})
	}
	if e.Invocation != "" {
		fs = append(fs, field{invocationField, e.Invocation})
	}
	return fs
}

// processUnit is the unit of the process that wrote an entry, which
// -o with-unit shows: none for the daemon's own messages.
func processUnit(fs []field) string {
	for _, f := range fs {
		if f.name == "_SYSTEMD_UNIT" || f.name == "_SYSTEMD_USER_UNIT" {
			return f.value
		}
	}
	return ""
}

// selected are the fields --output-fields= leaves: in the export and
// json modes, the journal's own ones always, as journalctl prints them.
func (p *journalPrinter) selected(fs []field) []field {
	if p.o.fields == nil {
		return fs
	}
	own := p.o.output != "verbose"
	return slices.DeleteFunc(fs, func(f field) bool {
		return !(own && (strings.HasPrefix(f.name, "__") || f.name == "_BOOT_ID")) && !slices.Contains(p.o.fields, f.name)
	})
}

func (p *journalPrinter) entry(b *bytes.Buffer, e api.Entry) {
	t := time.UnixMicro(int64(e.Realtime)).In(time.Local)
	if p.o.utc {
		t = t.UTC()
	}
	switch p.o.output {
	case "cat":
		if p.o.fields == nil {
			b.WriteString(e.Message + "\n")
			break
		}
		// The value of each field named that the entry has, a line
		// each, as output_cat_field.
		fs := p.fields(e)
		for _, name := range p.o.fields {
			if i := slices.IndexFunc(fs, func(f field) bool { return f.name == name }); i >= 0 {
				b.WriteString(fs[i].value + "\n")
			}
		}
	case "json", "json-pretty", "json-sse", "json-seq":
		p.json(b, p.selected(p.fields(e)))
	case "export":
		for _, f := range p.selected(p.fields(e)) {
			exportField(b, f)
		}
		b.WriteByte('\n')
	case "verbose":
		fmt.Fprintf(b, "%s [%d]\n", t.Format("Mon 2006-01-02 15:04:05.000000 MST"), e.Cursor)
		for _, f := range p.selected(p.fields(e)) {
			if strings.HasPrefix(f.name, "__") {
				continue
			}
			if !p.o.all && !printable(f.value, true) {
				fmt.Fprintf(b, "    %s=[%s blob data]\n", f.name, formatBytes(uint64(len(f.value))))
				continue
			}
			fmt.Fprintf(b, "    %s=", f.name)
			writeLines(b, f.value, len("    "+f.name+"="))
		}
		p.catalog(b, e)
	default:
		lineStart := b.Len()
		b.WriteString(p.stamp(t, e))
		if !p.o.noHostname {
			b.WriteString(" " + p.hostOf(e))
		}
		who := e.Identifier
		if u := processUnit(p.fields(e)); p.o.output == "with-unit" && u != "" {
			who = u
		}
		fmt.Fprintf(b, " %s[%d]: ", who, e.PID)
		msg := e.Message
		if !p.o.all {
			msg = stripTabANSI(msg)
		}
		if !p.o.all && !printable(msg, true) {
			fmt.Fprintf(b, "[%s blob data]\n", formatBytes(uint64(len(msg))))
		} else {
			writeLines(b, msg, len(b.Bytes())-lineStart)
		}
		p.catalog(b, e)
	}
}

// stamp is the time a short mode begins its line with, as journalctl's
// output_timestamp_realtime and output_timestamp_monotonic.
func (p *journalPrinter) stamp(t time.Time, e api.Entry) string {
	switch p.o.output {
	case "short-precise":
		return t.Format("Jan 02 15:04:05.000000")
	case "short-iso":
		// strftime's %z: systemd 255 put a colon into it.
		return t.Format("2006-01-02T15:04:05-0700")
	case "short-iso-precise":
		return t.Format("2006-01-02T15:04:05.000000-0700")
	case "short-full", "with-unit":
		return t.Format("Mon 2006-01-02 15:04:05 MST")
	case "short-unix":
		return fmt.Sprintf("%d.%06d", e.Realtime/1e6, e.Realtime%1e6)
	case "short-monotonic":
		return fmt.Sprintf("[%5d.%06d]", e.Monotonic/1e6, e.Monotonic%1e6)
	case "short-delta":
		// No delta for the first entry of a boot: blanks as wide.
		delta := strings.Repeat(" ", len(" <    0.000000 >"))
		if p.boot == e.Boot && e.Monotonic >= p.monotonic {
			d := e.Monotonic - p.monotonic
			delta = fmt.Sprintf(" <%5d.%06d >", d/1e6, d%1e6)
		}
		return fmt.Sprintf("[%5d.%06d%s]", e.Monotonic/1e6, e.Monotonic%1e6, delta)
	}
	return t.Format("Jan 02 15:04:05")
}

// json writes the fields as journalctl's json modes: an object of
// strings, compact, or with a tab a level and " : " in json-pretty,
// framed for server-sent events in json-sse, and as an RFC 7464
// record in json-seq.
func (p *journalPrinter) json(b *bytes.Buffer, fs []field) {
	pretty := p.o.output == "json-pretty"
	switch p.o.output {
	case "json-sse":
		b.WriteString("data: ")
	case "json-seq":
		b.WriteByte(0x1e)
	}
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		if pretty {
			b.WriteString("\n\t")
		}
		jsonString(b, f.name)
		if pretty {
			b.WriteString(" : ")
		} else {
			b.WriteByte(':')
		}
		switch {
		case !p.o.all && len(f.name)+1+len(f.value) >= jsonThreshold:
			b.WriteString("null")
		case printable(f.value, true):
			jsonString(b, f.value)
		default:
			jsonBytes(b, f.value, pretty)
		}
	}
	if pretty {
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	if p.o.output == "json-sse" {
		b.WriteByte('\n')
	}
}

// exportField writes a field in the journal export format: "NAME=value"
// if the value is printable text on one line, else the name, its length as 64
// bits, little-endian, and the value.
func exportField(b *bytes.Buffer, f field) {
	if printable(f.value, false) {
		b.WriteString(f.name + "=" + f.value + "\n")
		return
	}
	b.WriteString(f.name + "\n")
	binary.Write(b, binary.LittleEndian, uint64(len(f.value)))
	b.WriteString(f.value + "\n")
}

// jsonThreshold is the size of a field from which the json modes show
// null in place of its value, unless -a, as logs-show.c's JSON_THRESHOLD.
const jsonThreshold = 4096

// jsonString writes s as a JSON string, escaped as systemd's
// json_variant_dump escapes it (no HTML escapes, as Go's encoder makes).
func jsonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < ' ':
			fmt.Fprintf(b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// jsonBytes writes a value that is not printable text as the json modes
// do, an array of its bytes' numbers, as json_variant_new_array_bytes.
func jsonBytes(b *bytes.Buffer, s string, pretty bool) {
	b.WriteByte('[')
	for i := 0; i < len(s); i++ {
		switch {
		case pretty && i > 0:
			b.WriteString(",\n\t\t")
		case pretty:
			b.WriteString("\n\t\t")
		case i > 0:
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(s[i])))
	}
	if pretty {
		b.WriteString("\n\t")
	}
	b.WriteByte(']')
}

// printable reports whether s is text journalctl shows as it is, as
// utf8_is_printable_newline() in basic/utf8.c: valid UTF-8 without
// control characters but tabs, and newlines if newline.
func printable(s string, newline bool) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < ' ' && r != '\t' && (r != '\n' || !newline) || 0x7f <= r && r <= 0x9f
	})
}

// stripTabANSI is a message as the short modes show it, as
// strip_tab_ansi() in basic/string-util.c: a tab made eight spaces,
// colour sequences (ESC [ digits, ";" or ":" up to "m") and operating
// system commands (ESC ] up to BEL or ESC \\) taken out, and carriage
// returns at the end of a line dropped; a sequence cut short is kept.
func stripTabANSI(s string) string {
	if !strings.ContainsAny(s, "\t\x1b\r") {
		return s
	}
	var out strings.Builder
	crs := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			crs++
			continue
		}
		if c == '\n' {
			crs = 0
		}
		out.WriteString(strings.Repeat("\r", crs))
		crs = 0
		switch {
		case c == '\t':
			out.WriteString("        ")
		case c == 0x1b && i+1 < len(s) && (s[i+1] == '[' || s[i+1] == ']'):
			if end := escapeEnd(s[i+1:]); end > 0 {
				i += end
				continue
			}
			out.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// escapeEnd is the length of the colour sequence or operating system
// command s begins with, after its ESC, or 0 if it is not one or is cut
// short.
func escapeEnd(s string) int {
	for i := 1; i < len(s); i++ {
		c := s[i]
		if s[0] == '[' {
			switch {
			case c == 'm':
				return i + 1
			case !('0' <= c && c <= '9' || c == ';' || c == ':'):
				return 0
			}
			continue
		}
		switch {
		case c == 0x07:
			return i + 1
		case c == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return 0
		case c < 0x20 || c > 0x7e:
			return 0
		}
	}
	return 0
}

// writeLines writes a value of several lines as print_multiline() in
// shared/logs-show.c: the lines after the first indented by indent
// columns, a newline at the end of the last not made a line of its own.
func writeLines(b *bytes.Buffer, s string, indent int) {
	if s == "" {
		b.WriteByte('\n')
		return
	}
	first := true
	for l := range strings.Lines(s) {
		if !first {
			b.WriteString(strings.Repeat(" ", indent))
		}
		first = false
		b.WriteString(strings.TrimSuffix(l, "\n") + "\n")
	}
}
