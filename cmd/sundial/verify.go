package main

import (
	"errors"
	"os/exec"
	"strings"

	"sundial.dev/sundial/unit"
)

// verifier holds the options of the verify verb.
type verifier struct {
	scope     unit.RuntimeScope
	man       bool   // --man: check the man: pages of Documentation=
	recursive string // --recursive-errors
}

// verify is systemd-analyze verify: it checks unit files as the manager
// would load them, and fails if anything is wrong.
func (a *analyzer) verify(files []string) int {
	o := unit.VerifyOptions{Scope: a.scope, Recursive: a.recursive, Log: func(l string) { a.errorf("%s", l) }}
	if a.man {
		o.Man = runMan
	}
	if !unit.Verify(files, o) {
		return 1
	}
	return 0
}

// runMan shows a man page as systemd's show_man_page does, "foo(8)" as
// "man 8 foo", its output thrown away, and returns man's exit status.
func runMan(page string) (int, error) {
	args := []string{page}
	if strings.HasSuffix(page, ")") {
		if i := strings.LastIndexByte(page, '('); i >= 0 {
			args = []string{page[i+1 : len(page)-1], page[:i]}
		}
	}
	err := exec.Command("man", args...).Run()
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return exit.ExitCode(), nil
	}
	return 0, err
}
