package main

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sundial.dev/sundial/internal/api"
	"sundial.dev/sundial/unit"
)

// systemctl's exit statuses, as LSB's for init scripts.
const (
	exitNotRunning   = 3 // program is not running
	exitNoSuchUnit   = 4 // program or service status is unknown
	exitNotInstalled = 5
	// exitNotImplemented is LSB's "unimplemented feature", which
	// systemctl exits with for a job type not applicable.
	exitNotImplemented = 3
)

// mangle makes unit names of what systemctl is given, as
// unit_name_mangle_with_suffix does, saying so where it escapes one
// (unless --quiet): a name with no unit type is a service's, and
// characters no unit name has are escaped. operation is "" for the verbs
// that take glob patterns (expand_unit_names), else what the names are
// for, as mangle_names is told it ("to mask"); a name with a slash is
// a path there, and left as it is.
func (o *systemctlOptions) mangle(c *cli, operation string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if strings.Contains(n, "/") {
			continue
		}
		m, notice, ok := mangleUnitName(n, operation, ".service", operation == "")
		if notice != "" && !o.quiet {
			c.errorf("%s", notice)
		}
		if ok {
			out[i] = m
		}
	}
	return out
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// expand replaces the glob patterns among names by the units in memory
// that match them, as systemctl does for the verbs that take patterns.
func expand(ctx context.Context, client *api.Client, names []string) ([]string, error) {
	if !slices.ContainsFunc(names, isGlob) {
		return names, nil
	}
	units, err := client.Units(ctx, nil, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if !isGlob(n) {
			out = append(out, n)
			continue
		}
		for _, u := range units {
			if ok, _ := path.Match(n, u.Name); ok && !slices.Contains(out, u.Name) {
				out = append(out, u.Name)
			}
		}
	}
	return out, nil
}

// jobVerb asks the daemon for a job on each unit: start, stop, restart,
// try-restart, reload, reload-or-restart, kill, clean, reset-failed, and
// the changes of unit files, enable, disable, reenable, mask, unmask,
// link and revert; it waits for them unless --no-block. With --now, enable,
// disable and mask then start or stop the units, as enable_unit does by
// calling verb_start: a failure of either is the exit status.
func jobVerb(c *cli, o *systemctlOptions, verb string, names []string) int {
	if installVerbs[verb] {
		names = absolutePaths(names)
	}
	status := requestJobs(c, o, verb, names)
	if status != 0 || !o.now || verb != "enable" && verb != "disable" && verb != "mask" {
		return status
	}
	then := "start"
	if verb != "enable" {
		then = "stop"
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return requestJobs(c, o, then, names)
}

// installVerbs are the verbs that change unit files, as
// install_client_side would have systemctl change them itself.
var installVerbs = map[string]bool{"enable": true, "disable": true, "reenable": true, "mask": true, "unmask": true, "link": true, "revert": true}

// absolutePaths makes the paths among names absolute, as mangle_names
// does with path_make_absolute_cwd.
func absolutePaths(names []string) []string {
	out := slices.Clone(names)
	for i, n := range out {
		if strings.Contains(n, "/") {
			if abs, err := filepath.Abs(n); err == nil {
				out[i] = abs
			}
		}
	}
	return out
}

// requestJobs asks for one verb's jobs, and reports how they went.
func requestJobs(c *cli, o *systemctlOptions, verb string, names []string) int {
	ctx := context.Background()
	client := o.client()
	operation := ""
	if installVerbs[verb] {
		operation = "to " + verb
	}
	names, err := expand(ctx, client, o.mangle(c, operation, names))
	if err == nil && verb == "reset-failed" && len(names) == 0 {
		var units []api.Unit
		units, err = client.Units(ctx, nil, false)
		for _, u := range units {
			if u.Active == "failed" {
				names = append(names, u.Name)
			}
		}
	}
	if err != nil {
		return o.failed(c, client, "list units", err)
	}
	if len(names) == 0 {
		return 0
	}
	if verb == "mask" || verb == "unmask" {
		if err := noteMissing(ctx, c, client, names); err != nil {
			return o.failed(c, client, "list unit files", err)
		}
	}
	req := api.JobRequest{Verb: verb, Units: names, NoBlock: o.noBlock, Signal: o.signal, Whom: o.whom, What: o.what, Runtime: o.runtime}
	results, err := client.Jobs(ctx, req)
	if err != nil {
		return o.failed(c, client, verb+" units", err)
	}
	status := 0
	for _, r := range results {
		// As install_changes_dump and verb_enable: --quiet leaves out
		// the changes and the note about installation config.
		for _, line := range r.Changes {
			if !o.quiet {
				c.errorf("%s", line)
			}
		}
		for _, note := range r.Notes {
			if !o.quiet {
				c.errorf("%s", note)
			}
		}
		if r.Error != "" {
			c.errorf("%s", refusedText(verb, r))
			if hint := refusedHint(o, verb, r); hint != "" {
				c.errorf("%s", hint)
			}
			if installVerbs[verb] {
				// enable_unit returns the bus error as it is: 1.
				status = firstStatus(status, 1)
			} else {
				status = firstStatus(status, refusedStatus(r.Code))
			}
			continue
		}
		if msg := jobFailure(o, r); msg != "" {
			if !o.quiet {
				c.errorf("%s", msg)
			}
			status = firstStatus(status, 1)
		}
	}
	if verb == "stop" && !o.quiet {
		warnTriggers(ctx, c, client, names)
	}
	return status
}

// noteMissing says which of the units to mask or unmask do not exist,
// as verb_enable does before it asks the manager, with unit_exists: not
// found and inactive, or for a template, no file of it.
func noteMissing(ctx context.Context, c *cli, client *api.Client, names []string) error {
	for _, n := range names {
		if strings.Contains(n, "/") {
			continue
		}
		if un, err := unit.ParseName(n); err == nil && un.Template {
			files, err := client.UnitFileList(ctx)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(files, func(f api.UnitFile) bool { return filepath.Base(f.Path) == n }) {
				c.errorf("Unit %s does not exist, proceeding anyway.", n)
			}
			continue
		}
		units, err := client.Units(ctx, []string{n}, false)
		if err != nil {
			return err
		}
		if len(units) == 1 && units[0].Load == "not-found" && units[0].Active == "inactive" {
			c.errorf("Unit %s does not exist, proceeding anyway.", n)
		}
	}
	return nil
}

// warnTriggers warns of the units stopped that an active timer can
// start again.
func warnTriggers(ctx context.Context, c *cli, client *api.Client, names []string) {
	units, err := client.Units(ctx, names, false)
	if err != nil {
		return
	}
	for _, u := range units {
		var by []string
		for _, t := range u.TriggeredBy {
			if t.Active == "active" || t.Active == "reloading" {
				by = append(by, "  "+t.Name)
			}
		}
		if len(by) > 0 {
			c.errorf("Warning: Stopping %s, but it can still be activated by:\n%s", u.Name, strings.Join(by, "\n"))
		}
	}
}

// firstStatus keeps the first failure's exit status.
func firstStatus(status, next int) int {
	if status != 0 {
		return status
	}
	return next
}

// refusedHint is the line systemctl adds to a refused job, but for the
// units not found or masked.
func refusedHint(o *systemctlOptions, verb string, r api.JobResult) string {
	switch verb {
	case "start", "stop", "restart", "try-restart", "reload-or-restart", "reload":
	default:
		return ""
	}
	if r.Code == "not-found" || r.Code == "not-loaded" || r.Code == "masked" || r.Code == "not-applicable" {
		return ""
	}
	scope, user := "system", ""
	if o.user {
		scope, user = "user", " --user"
	}
	dashes := ""
	if strings.HasPrefix(r.Unit, "-") {
		dashes = " --"
	}
	return fmt.Sprintf("See %s logs and 'systemctl%s status%s %s' for details.", scope, user, dashes, r.Unit)
}

// refusedText is systemctl's error when the daemon refused a job.
func refusedText(verb string, r api.JobResult) string {
	switch verb {
	case "enable", "disable", "reenable", "mask", "unmask", "link", "revert":
		return fmt.Sprintf("Failed to %s unit: %s", verb, r.Error)
	case "reset-failed":
		return fmt.Sprintf("Failed to reset failed state of unit %s: %s", r.Unit, r.Error)
	case "clean", "kill":
		return fmt.Sprintf("Failed to %s unit %s: %s", verb, r.Unit, r.Error)
	}
	return fmt.Sprintf("Failed to %s %s: %s", verb, r.Unit, r.Error)
}

// refusedStatus is the exit status of a refusal, as systemctl maps bus
// errors to LSB's statuses.
func refusedStatus(code string) int {
	switch code {
	case "not-found", "not-loaded":
		return exitNotInstalled
	case "refused":
		return exitNoSuchUnit
	case "not-applicable":
		return exitNotImplemented
	}
	return 1
}

// jobFailure is what systemctl says of a job that did not end "done";
// "" for one that did.
func jobFailure(o *systemctlOptions, r api.JobResult) string {
	user := ""
	if o.user {
		user = " --user"
	}
	switch r.Result {
	case "", "done", "skipped":
		return ""
	case "canceled":
		return fmt.Sprintf("Job for %s canceled.", r.Unit)
	case "timeout":
		return fmt.Sprintf("Job for %s timed out.", r.Unit)
	case "assert":
		return fmt.Sprintf("Assertion failed on job for %s.", r.Unit)
	case "invalid":
		return fmt.Sprintf("%s is not active, cannot reload.", r.Unit)
	case "dependency":
		// Without --user, as systemd's: only the hint below has it.
		return fmt.Sprintf("A dependency job for %s failed. See 'journalctl -xe' for details.", r.Unit)
	}
	if !strings.HasSuffix(r.Unit, ".service") {
		return "Job failed. See \"journalctl -xe\" for details."
	}
	quoted := quoteUnitName(r.Unit)
	hint := fmt.Sprintf("See \"systemctl%s status %s\" and \"journalctl%s -xeu %s\" for details.", user, quoted, user, quoted)
	if why, ok := failureExplanations[r.ServiceResult]; ok {
		return fmt.Sprintf("Job for %s failed because %s.\n%s", r.Unit, why, hint)
	}
	return fmt.Sprintf("Job for %s failed.\n%s", r.Unit, hint)
}

// failureExplanations are systemctl's words for the results of a failed
// service.
var failureExplanations = map[string]string{
	"resources": "of unavailable resources or another system error",
	"protocol":  "the service did not take the steps required by its unit configuration",
	"timeout":   "a timeout was exceeded",
	"exit-code": "the control process exited with error code",
	"signal":    "a fatal signal was delivered to the control process",
	"core-dump": "a fatal signal was delivered causing the control process to dump core",
	"watchdog":  "the service failed to send watchdog ping",
	// systemctl's table names "start-limit", which no result is: a
	// service that hit its start limit gets the plain words.
}

// daemonReload is systemctl daemon-reload.
func daemonReload(c *cli, o *systemctlOptions, _ string, _ []string) int {
	client := o.client()
	if err := client.Reload(context.Background()); err != nil {
		return o.failed(c, client, "reload daemon", err)
	}
	return 0
}

// quoteUnitName is systemd's shell_maybe_quote for a valid unit name, of
// whose characters only the backslash needs quoting for a shell.
func quoteUnitName(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `\`, `\\`) + `"`
}
