package service

import (
	"bytes"
	"slices"
	"testing"
)

// TestReadPrograms: the programs are read as written, and a setup cut
// short anywhere, between two programs too, is refused.
func TestReadPrograms(t *testing.T) {
	for _, progs := range [][][]byte{nil, {{1, 2, 3}}, {{1, 2, 3}, {}, {4, 5, 6, 7, 8}}} {
		b := writePrograms(nil, progs)
		got, err := readPrograms(bytes.NewReader(b))
		if err != nil || !slices.EqualFunc(got, progs, bytes.Equal) {
			t.Errorf("%v: read %v, %v", progs, got, err)
		}
		for n := range len(b) {
			if got, err := readPrograms(bytes.NewReader(b[:n])); err == nil {
				t.Errorf("%v cut to %d bytes: read %v", progs, n, got)
			}
		}
	}
}
