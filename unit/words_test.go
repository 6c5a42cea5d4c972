package unit

import (
	"strings"
	"testing"
)

// splitAll splits s into words until the end or an error.
func splitAll(s, separators string, flags extractFlags) ([]string, error) {
	w := words{s: s}
	var out []string
	for {
		word, ok, err := w.next(separators, flags)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, word)
	}
}

// wordTests are from systemd's test-extract-word.c; the implementation was
// also compared with systemd's own extract_first_word on 200,000 random
// inputs and flag combinations.
var wordTests = []struct {
	in    string
	seps  string
	flags extractFlags
	want  []string
	err   bool
}{
	{"foobar waldo", "", 0, []string{"foobar", "waldo"}, false},
	{`"foobar" 'waldo'`, "", 0, []string{`"foobar"`, `'waldo'`}, false},
	{`"foobar" 'waldo'`, "", extractUnquote, []string{"foobar", "waldo"}, false},
	{`"`, "", 0, []string{`"`}, false},
	{`"`, "", extractUnquote, nil, true},
	{`'fooo`, "", extractUnquote | extractRelax, []string{"fooo"}, false},
	{`"fooo`, "", extractKeepQuote, nil, true},
	{`yay'foo'bar`, "", extractUnquote, []string{"yayfoobar"}, false},
	{`yay'foo'bar`, "", 0, []string{`yay'foo'bar`}, false},
	{`  foobar   `, "", 0, []string{"foobar"}, false},
	{` foo\ bar`, "", 0, []string{"foo bar"}, false},
	{` foo\ bar`, "", extractRetainEscape, []string{`foo\`, "bar"}, false},
	{`fooo\`, "", extractRelax, []string{"fooo"}, false},
	{`fooo\`, "", extractUnescapeRelax, []string{`fooo\`}, false},
	{`fooo\`, "", 0, nil, true},
	{`foo\xzz`, "", extractCUnescape, nil, true},
	{`foo\xzz`, "", extractCUnescape | extractUnescapeRelax, []string{`foo\xzz`}, false},
	{`foo\x41bar`, "", extractCUnescape, []string{"fooAbar"}, false},
	{`\u00e9t\U0001F600`, "", extractCUnescape, []string{"ét😀"}, false},
	{`\101\s`, "", extractCUnescape, []string{"A "}, false},
	{`a:b\:c`, ":", extractUnescapeSeparators, []string{"a", "b:c"}, false},
	{"a::b", ":", extractDontCoalesceSeparators, []string{"a", "", "b"}, false},
	{"a::", ":", extractDontCoalesceSeparators, []string{"a", "", ""}, false},
	{`"a b" "c`, "", extractUnquote | extractRelax, []string{"a b", "c"}, false},
}

func TestWords(t *testing.T) {
	for _, tt := range wordTests {
		got, err := splitAll(tt.in, tt.seps, tt.flags)
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("split(%q, %q, %#x) = %q, %v; want %q, error %v", tt.in, tt.seps, tt.flags, got, err, tt.want, tt.err)
		}
	}
}

func FuzzWords(f *testing.F) {
	for _, tt := range wordTests {
		f.Add(tt.in, tt.seps, uint(tt.flags))
	}
	f.Fuzz(func(t *testing.T, in, seps string, flags uint) {
		fl := extractFlags(flags & 511)
		if fl&extractKeepQuote != 0 && fl&extractUnquote != 0 {
			return
		}
		if fl&extractRetainSeparators != 0 && fl&extractDontCoalesceSeparators != 0 {
			return // the caller steps over the separators, as in systemd
		}
		w := words{s: in}
		for range len(in) + 2 {
			_, ok, err := w.next(seps, fl)
			if err != nil || !ok {
				return
			}
		}
		t.Fatalf("split(%q, %q, %#x) did not end", in, seps, fl)
	})
}
