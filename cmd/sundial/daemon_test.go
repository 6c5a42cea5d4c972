package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// countingWriter counts the writes it is given.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestBatchWriter writes lines from several goroutines at once: each
// goroutine's lines come out whole and in order, all of them by Close,
// in fewer writes than lines, and a write after Close goes out at once.
func TestBatchWriter(t *testing.T) {
	w := &countingWriter{}
	b := newBatchWriter(w)
	const writers, lines = 4, 5000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(b, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	b.Close()
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q out of order (next of g%d: %d)", l, g, next[g])
		}
		next[g]++
	}
	if len(got) != writers*lines {
		t.Errorf("%d lines, want %d", len(got), writers*lines)
	}
	if w.writes >= writers*lines {
		t.Errorf("%d writes for %d lines", w.writes, len(got))
	}
	fmt.Fprintln(b, "after")
	if !strings.HasSuffix(w.String(), "after\n") {
		t.Error("a write after Close is not written")
	}
}
