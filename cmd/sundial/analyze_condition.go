package main

import (
	"os"
	"strings"

	"sundial.dev/sundial/internal/condition"
	"sundial.dev/sundial/unit"
)

// whitespace is systemd's WHITESPACE.
const whitespace = " \t\n\r"

// condition is systemd-analyze condition (analyze-condition.c): the
// conditions and asserts given are read as test.service would read them,
// or with --unit= those of a unit file are, then tested, asserts first,
// each list in systemd's order, each result logged; the status is 1
// unless all hold.
func (a *analyzer) condition(args []string) int {
	u := &unit.Unit{Name: "test.service", Type: unit.Service}
	if a.unitFile != "" && len(args) > 0 {
		a.errorf("No conditions can be passed if --unit= is used.")
		return 1
	}
	// The test manager's runtime directory, which manager_new looks up
	// before anything is read: a user manager's is $XDG_RUNTIME_DIR, an
	// absolute path (xdg_user_runtime_dir), or there is no manager. Even
	// --quiet says so.
	if a.scope == unit.UserScope && !strings.HasPrefix(os.Getenv("XDG_RUNTIME_DIR"), "/") {
		a.errorf("Failed to lookup RuntimeDirectory path: No such device or address")
		a.errorf("Failed to initialize manager: No such device or address")
		return 1
	}
	if a.unitFile != "" {
		if u = unit.LoadFile(a.unitFile, unit.VerifyOptions{Scope: a.scope, Log: func(l string) { a.errorf("%s", l) }}); u == nil {
			return 1
		}
	}
	loader := &unit.Loader{Scope: a.scope}
	for _, line := range args {
		// The name begins the argument, as parse_condition's startswith
		// finds it: white space may follow it, not come before.
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimRight(key, whitespace)
		kind, _, known := condition.Lookup(key)
		if !ok || !known {
			a.errorf("Cannot parse \"%s\".", line)
			return 1
		}
		before := len(u.Diagnostics)
		loader.AddCondition(u, unit.Assignment{Section: "Unit", Key: key, Value: strings.TrimLeft(value, whitespace),
			Pos: unit.Pos{File: "(cmdline)"}}, condition.TakesPath(kind))
		for _, d := range u.Diagnostics[before:] {
			a.errorf("%s", d)
		}
	}
	env := os.Environ()
	asserts := a.testConditions(u.Name, "Assert", u.Unit.Asserts, env)
	conditions := a.testConditions(u.Name, "Condition", u.Unit.Conditions, env)
	if asserts && conditions {
		return 0
	}
	return 1
}

// testConditions tests a list as condition_test_list, and logs each
// result and the outcome as systemd-analyze does, unless --quiet.
func (a *analyzer) testConditions(name, prefix string, list []unit.Condition, env []string) bool {
	ok, tested := condition.List(list, env)
	if a.quiet {
		return ok
	}
	for _, t := range tested {
		switch {
		case t.Err != nil:
			a.errorf("%s: Couldn't determine result for %s, assuming failed: %s", name, condition.Format(prefix, t.Condition), condition.Strerror(t.Err))
		case t.OK:
			a.errorf("%s: %s succeeded.", name, condition.Format(prefix, t.Condition))
		default:
			a.errorf("%s: %s failed.", name, condition.Format(prefix, t.Condition))
		}
	}
	if len(list) > 0 {
		outcome := "failed"
		if ok {
			outcome = "succeeded"
		}
		a.errorf("%ss %s.", prefix, outcome)
	}
	return ok
}
