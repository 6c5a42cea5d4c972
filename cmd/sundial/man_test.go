package main

import (
	"os"
	"regexp"
	"testing"
)

// TestManPage checks that docs/sundial.1 is what "sundial man" prints,
// made from the help texts as they are (go generate, or -u, makes it
// again).
func TestManPage(t *testing.T) {
	const path = "../../docs/sundial.1"
	if *update {
		if err := os.WriteFile(path, []byte(manPage()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != manPage() {
		t.Errorf("%s is not what sundial man prints; run go generate ./cmd/sundial", path)
	}
}

// TestHelpListsEveryVerb checks that the help of sundial, and of systemctl,
// names each verb of systemctl sundial has, and each tool it stands in
// for.
func TestHelpListsEveryVerb(t *testing.T) {
	named := func(usage, verb string) bool {
		return regexp.MustCompile(`(^|[\s,])` + regexp.QuoteMeta(verb) + `([\s,]|$)`).MatchString(usage)
	}
	for verb := range systemctlVerbs {
		if !named(sundialUsage, verb) {
			t.Errorf("sundial --help does not name %s", verb)
		}
		if !named(systemctlUsage, verb) {
			t.Errorf("systemctl --help does not name %s", verb)
		}
	}
	for name := range personalities {
		if !named(sundialUsage, name) {
			t.Errorf("sundial --help does not name %s", name)
		}
	}
}
