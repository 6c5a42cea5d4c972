package unit

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestExecuteBits: a regular file without execute bits is refused where
// files have them (Unix, Plan 9), and may be run where they have none
// (Windows, WebAssembly), so that verify does not call every program
// there not executable.
func TestExecuteBits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var want error
	switch runtime.GOOS {
	case "windows", "js", "wasip1":
	default:
		want = eACCES
	}
	if _, err := FindExecutable(p, nil); err != want {
		t.Errorf("FindExecutable of a file of mode 0644 on %s: %v, want %v", runtime.GOOS, err, want)
	}
}
