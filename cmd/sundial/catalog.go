package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// catalog writes the catalog's explanation of the entry's message, if
// it has one and -x asked for them, each line after "░░ " ("-- " where
// the locale is not UTF-8's), as journalctl's print_catalog.
func (p *journalPrinter) catalog(b *bytes.Buffer, e api.Entry) {
	text, ok := catalogEntries[e.MessageID]
	if !p.o.catalog || !ok {
		return
	}
	values := map[string]string{}
	for _, f := range p.fields(e) {
		values[f.name] = f.value
	}
	// As catalog.c's replace_var and lookup_field: a field the entry
	// lacks is replaced by its name.
	text = catalogVar.ReplaceAllStringFunc(text, func(v string) string {
		name := strings.Trim(v, "@")
		if value, ok := values[name]; ok {
			return value
		}
		return name
	})
	prefix := "--"
	if localeUTF8() {
		prefix = "░░"
	}
	for l := range strings.Lines(strings.TrimSpace(text)) {
		b.WriteString(prefix + " " + l)
	}
	b.WriteByte('\n')
}

var catalogVar = regexp.MustCompile(`@[A-Za-z0-9_]+@`)

// localeUTF8 is systemd's is_locale_utf8: $SYSTEMD_UTF8 if set, else
// whether the locale's character set is UTF-8, an unset locale
// counting as one.
func localeUTF8() bool {
	if v, ok := os.LookupEnv("SYSTEMD_UTF8"); ok {
		if b, ok := unit.ParseBoolean(v); ok {
			return b
		}
	}
	for _, name := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(name); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return true
}
