package hygiene

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "sundial.dev/sundial"

// public are the packages other Go programs may import.
var public = []string{"calendar", "timespan", "unit"}

// testHelpers may import testing: they exist for tests and benchmarks.
var testHelpers = []string{"internal/oracle", "bench"}

// clockReaders may read the real clock; everything else is given the time.
var clockReaders = []string{"cmd/sundial", "internal/clock", "internal/oracle", "internal/await", "bench"}

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(p pkg) string {
	return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
}

func TestPublicImports(t *testing.T) {
	for _, p := range listPackages(t) {
		if !slices.Contains(public, rel(p)) {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") {
				if !slices.Contains(public, strings.TrimPrefix(imp, module+"/")) {
					t.Errorf("%s imports %s: public packages import only each other", p.ImportPath, imp)
				}
			} else if strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("%s imports %s: public packages need nothing outside the standard library", p.ImportPath, imp)
			}
		}
	}
}

func TestNoTestingInProduction(t *testing.T) {
	for _, p := range listPackages(t) {
		if slices.Contains(testHelpers, rel(p)) {
			continue
		}
		if slices.Contains(p.Imports, "testing") {
			t.Errorf("%s imports testing outside its tests", p.ImportPath)
		}
	}
}

// TestClock scans production code for calls that read or wait on the real
// clock outside the packages allowed to.
func TestClock(t *testing.T) {
	banned := []string{"Now", "Sleep", "After", "NewTimer", "AfterFunc", "Tick", "NewTicker", "Since", "Until"}
	for _, p := range listPackages(t) {
		if slices.Contains(clockReaders, rel(p)) {
			continue
		}
		fset := token.NewFileSet()
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && slices.Contains(banned, sel.Sel.Name) {
					t.Errorf("%s: time.%s: only %v read the clock", fset.Position(sel.Pos()), sel.Sel.Name, clockReaders)
				}
				return true
			})
		}
	}
}

// TestPackageDocs checks that each package has exactly one doc comment.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		fset := token.NewFileSet()
		var docs []string
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil {
				docs = append(docs, name)
			}
		}
		if len(docs) != 1 {
			t.Errorf("%s: package doc comments in %v, want exactly one", p.ImportPath, docs)
		}
	}
}

func TestMain(m *testing.M) {
	// go list must see the module, wherever go test runs the binary from.
	if err := os.Chdir("../.."); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
