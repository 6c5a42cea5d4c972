package main

import (
	"os"
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
