package unit

import (
	"strings"

	"sundial.dev/sundial/calendar"
	"sundial.dev/sundial/timespan"
)

// stringSetting is config_parse_unit_string_printf: the value with its
// specifiers expanded; empty clears it.
func stringSetting(field func(*Unit) *string) setter {
	return func(c *settingCtx, a *Assignment) error {
		v, err := c.x.full(a.Value)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
			return nil
		}
		store(c, field, v)
		return nil
	}
}

// pathSetting is config_parse_unit_path_printf: an absolute, normalized
// path with its specifiers expanded; empty clears it.
func pathSetting(field func(*Unit) *string, fatal bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		v, err := c.x.path(a.Value)
		if err != nil {
			c.log(a, severity(fatal), "Failed to resolve unit specifiers in '%s'%s: %s", a.Value, ignoring(fatal), strerror(err))
			return fatalErr(fatal)
		}
		if v != "" {
			if v, err = c.checkPath(a, v, fatal); err != nil {
				return fatalErr(fatal)
			}
		}
		store(c, field, v)
		return nil
	}
}

func severity(fatal bool) Severity {
	if fatal {
		return Error
	}
	return Warning
}

func fatalErr(fatal bool) error {
	if fatal {
		return eNOEXEC
	}
	return nil
}

// checkPath is systemd's path_simplify_and_warn for an absolute path: it
// returns the simplified path, or logs why it is refused (at LOG_ERR even
// when only the assignment is dropped) and fails.
func (c *settingCtx) checkPath(a *Assignment, p string, fatal bool) (string, error) {
	return c.checkPathAs(a, p, absolutePath, fatal)
}

// The kinds of path path_simplify_and_warn may insist on.
const (
	anyPath      = iota
	absolutePath // PATH_CHECK_ABSOLUTE
	relativePath // PATH_CHECK_RELATIVE
)

// checkPathAs is path_simplify_and_warn with the check of kind, one of
// anyPath, absolutePath and relativePath.
func (c *settingCtx) checkPathAs(a *Assignment, p string, kind int, fatal bool) (string, error) {
	if !validUTF8(p) {
		c.log(a, Error, "String is not UTF-8 clean, ignoring assignment: %s", escapeInvalidUTF8(p))
		return "", eINVAL
	}
	abs := strings.HasPrefix(p, "/")
	if !abs && kind == absolutePath {
		c.log(a, Error, "%s= path is not absolute%s: %s", a.Key, ignoring(fatal), p)
		return "", eINVAL
	}
	if abs && kind == relativePath {
		c.log(a, Error, "%s= path is absolute%s: %s", a.Key, ignoring(fatal), p)
		return "", eINVAL
	}
	p = simplifyPath(p)
	if !validPath(p) {
		c.log(a, Error, "%s= path has invalid length (%d bytes)%s.", a.Key, len(p), ignoring(fatal))
		return "", eINVAL
	}
	if !normalizedPath(p) {
		c.log(a, Error, "%s= path is not normalized%s: %s", a.Key, ignoring(fatal), p)
		return "", eINVAL
	}
	return p, nil
}

// SimplifyPath is systemd's path_simplify: repeated slashes and "."
// components go, and so does a trailing slash; ".." stays.
func SimplifyPath(p string) string { return simplifyPath(p) }

// simplifyPath is systemd's path_simplify: repeated slashes and "."
// components go, and so does a trailing slash; ".." stays.
func simplifyPath(p string) string {
	if simplePath(p) {
		return p
	}
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			parts = append(parts, s)
		}
	}
	s := strings.Join(parts, "/")
	switch {
	case strings.HasPrefix(p, "/"):
		return "/" + s
	case s == "":
		return "."
	}
	return s
}

// simplePath reports whether simplifyPath leaves p as it is: it has
// components, none of them empty (but for the root before an absolute
// path's first) or ".".
func simplePath(p string) bool {
	rest := strings.TrimPrefix(p, "/")
	if rest == "" {
		return false
	}
	for rest != "" {
		c, r, _ := strings.Cut(rest, "/")
		if c == "" || c == "." || r == "" && len(c) < len(rest) {
			return false
		}
		rest = r
	}
	return true
}

// validPath is systemd's path_is_valid: not empty, at most PATH_MAX
// bytes, no component longer than NAME_MAX.
func validPath(p string) bool {
	if p == "" || len(p) >= 4096 {
		return false
	}
	for rest := p; ; {
		c, r, more := strings.Cut(rest, "/")
		if len(c) > 255 {
			return false
		}
		if !more {
			return true
		}
		rest = r
	}
}

// normalizedPath is systemd's path_is_normalized for a simplified path:
// no ".." component.
func normalizedPath(p string) bool {
	for rest := p; ; {
		c, r, more := strings.Cut(rest, "/")
		if c == ".." {
			return false
		}
		if !more {
			break
		}
		rest = r
	}
	return p != "."
}

// asciiValid is systemd's ascii_is_valid.
func asciiValid(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// documentationURLValid is systemd's documentation_url_is_valid.
func documentationURLValid(url string) bool {
	for _, prefix := range []string{"http://", "https://", "file:/", "info:", "man:"} {
		if rest, ok := strings.CutPrefix(url, prefix); ok {
			return rest != "" && asciiValid(rest)
		}
	}
	return false
}

// splitStrv splits a value as systemd's config_parse_strv: quoted words,
// escapes kept; ok is false on bad quoting.
func splitStrv(v string) (list []string, ok bool) {
	w := words{s: v}
	for {
		word, more, err := w.next("", extractUnquote|extractRetainEscape)
		if err != nil {
			return list, false
		}
		if !more {
			return list, true
		}
		list = append(list, word)
	}
}

// documentationSetting is config_parse_documentation.
func documentationSetting(c *settingCtx, a *Assignment) error {
	u := &c.u.Unit
	if a.Value == "" {
		u.Documentation = nil
		return nil
	}
	v, err := c.x.full(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
		return nil
	}
	list, ok := splitStrv(v)
	if !ok {
		c.warn(a, "Invalid syntax, ignoring: %s", v)
	}
	for _, url := range list {
		if documentationURLValid(url) {
			u.Documentation = append(u.Documentation, url)
		} else {
			c.warn(a, "Invalid URL, ignoring: %s", url)
		}
	}
	return nil
}

// depNames are the canonical names of the dependency settings, by the
// argument systemd's table gives their parser.
var depNames = map[string]string{
	"UNIT_REQUIRES": "Requires", "UNIT_REQUISITE": "Requisite", "UNIT_WANTS": "Wants",
	"UNIT_BINDS_TO": "BindsTo", "UNIT_UPHOLDS": "Upholds", "UNIT_CONFLICTS": "Conflicts",
	"UNIT_BEFORE": "Before", "UNIT_AFTER": "After", "UNIT_ON_SUCCESS": "OnSuccess",
	"UNIT_ON_FAILURE": "OnFailure", "UNIT_PROPAGATES_RELOAD_TO": "PropagatesReloadTo",
	"UNIT_RELOAD_PROPAGATED_FROM": "ReloadPropagatedFrom", "UNIT_PROPAGATES_STOP_TO": "PropagatesStopTo",
	"UNIT_STOP_PROPAGATED_FROM": "StopPropagatedFrom", "UNIT_PART_OF": "PartOf",
	"UNIT_JOINS_NAMESPACE_OF": "JoinsNamespaceOf",
}

// depsSetting is config_parse_unit_deps, and with obsolete
// config_parse_obsolete_unit_deps, for the dependency arg names.
func depsSetting(arg string, obsolete bool) setter {
	dep := depNames[arg]
	return func(c *settingCtx, a *Assignment) error {
		if obsolete {
			c.warn(a, "Unit dependency type %s= is obsolete, replacing by %s=, please update your unit file", a.Key, dep)
		}
		c.eachWord(a, a.Value, extractRetainEscape, "Invalid syntax, ignoring: %s", func(word string) {
			name, err := c.x.name(word)
			if err != nil {
				c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", word, strerror(err))
				return
			}
			if !c.addDep(dep, name) {
				c.warn(a, "Failed to add dependency on %s, ignoring: %s", c.u.resolveTemplate(name), eINVAL)
			}
		})
		return nil
	}
}

// addDep adds a dependency of the kind on the unit called name, a
// template standing for the unit's own instance, as systemd's
// unit_add_dependency_by_name; it reports false for a name that is none.
// A unit's dependencies on itself are dropped.
func (c *settingCtx) addDep(kind, name string) bool {
	name = c.u.resolveTemplate(name)
	if c.ignoreDeps {
		// systemd-analyze verify --recursive-errors=no neither loads
		// nor checks the units named.
		return true
	}
	if !ValidName(name, Plain|Instance) {
		return false
	}
	if c.u.hasName(name) {
		return true
	}
	if c.u.Unit.Deps == nil {
		c.u.Unit.Deps = map[string][]string{}
	}
	c.u.Unit.Deps[kind] = append(c.u.Unit.Deps[kind], name)
	return true
}

// resolveTemplate is systemd's resolve_template: a template named as a
// dependency stands for its instance of the unit's instance, or of the
// unit's prefix.
func (u *Unit) resolveTemplate(name string) string {
	if !ValidName(name, Template) {
		return name
	}
	inst := u.Instance
	if inst == "" {
		n, _ := ParseName(u.Name)
		inst = n.Prefix
	}
	return instanceName(name, inst)
}

// hasName reports whether name is one of the unit's names.
func (u *Unit) hasName(name string) bool {
	if name == u.Name {
		return true
	}
	for _, n := range u.Names {
		if n == name {
			return true
		}
	}
	return false
}

// mountsForSetting is config_parse_unit_requires_mounts_for: absolute
// paths, quoted as words, with specifiers; each bad one is dropped.
func mountsForSetting(c *settingCtx, a *Assignment) error {
	c.eachWord(a, a.Value, extractUnquote, "Invalid syntax, ignoring: %s", func(word string) {
		p, err := c.x.path(word)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", word, strerror(err))
			return
		}
		c.checkPath(a, p, false)
	})
	return nil
}

// conditionSetting is config_parse_unit_condition_path (path) and
// config_parse_unit_condition_string, for Condition… and Assert….
func conditionSetting(path bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		list := &c.u.Unit.Conditions
		kind, ok := strings.CutPrefix(a.Key, "Condition")
		if !ok {
			list, kind = &c.u.Unit.Asserts, strings.TrimPrefix(a.Key, "Assert")
		}
		if a.Value == "" {
			*list = nil
			return nil
		}
		v := a.Value
		cond := Condition{Kind: kind}
		skip := func(v string) string { return v }
		if !path {
			skip = func(v string) string { return strings.TrimLeft(v, whitespace) }
		}
		if cond.Trigger = v[0] == '|'; cond.Trigger {
			v = skip(v[1:])
		}
		if cond.Negate = v != "" && v[0] == '!'; cond.Negate {
			v = skip(v[1:])
		}
		var err error
		if path {
			if cond.Param, err = c.x.path(v); err != nil {
				c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", v, strerror(err))
				return nil
			}
			if cond.Param, err = c.checkPath(a, cond.Param, false); err != nil {
				return nil
			}
		} else if cond.Param, err = c.x.full(v); err != nil {
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", v, strerror(err))
			return nil
		}
		*list = append(*list, cond)
		return nil
	}
}

// jobTimeoutSetting is config_parse_job_timeout_sec (running false) and
// config_parse_job_running_timeout_sec: JobTimeoutSec= also sets the
// running timeout, unless that was set itself.
func jobTimeoutSetting(running bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		v, err := timespan.Parse(a.Value)
		if err != nil {
			c.warn(a, "Failed to parse %s= parameter, ignoring: %s", a.Key, a.Value)
			return nil
		}
		if v == 0 {
			v = timespan.Infinity
		}
		u := &c.u.Unit
		switch {
		case running:
			u.JobRunningTimeout, u.jobRunningTimeoutSet = v, true
		case !u.jobRunningTimeoutSet:
			u.JobRunningTimeout = v
			fallthrough
		default:
			u.JobTimeout = v
		}
		return nil
	}
}

// exitStatusSetting is config_parse_exit_status: 0..255, or -1 if empty.
func exitStatusSetting(field func(*Unit) *int) setter {
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			store(c, field, -1)
			return nil
		}
		n, err := parseUint(a.Value, 0, false, 255)
		if err != nil {
			c.warn(a, "Failed to parse exit status '%s', ignoring: %s", a.Value, strerror(err))
			return nil
		}
		store(c, field, int(n))
		return nil
	}
}

// jobModeIsolateSetting is config_parse_job_mode_isolate, the old
// OnFailureIsolate=.
func jobModeIsolateSetting(c *settingCtx, a *Assignment) error {
	v, ok := ParseBoolean(a.Value)
	if !ok {
		c.warn(a, "Failed to parse boolean, ignoring: %s", a.Value)
		return nil
	}
	c.u.Unit.OnFailureJobMode = "replace"
	if v {
		c.u.Unit.OnFailureJobMode = "isolate"
	}
	return nil
}

// timerSetting is config_parse_timer for the base.
func timerSetting(base TimerBase) setter {
	return func(c *settingCtx, a *Assignment) error {
		t := c.u.Timer
		if a.Value == "" {
			t.Values = nil
			return nil
		}
		v, err := c.x.full(a.Value)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
			return nil
		}
		tv := TimerValue{Base: base}
		if base == OnCalendar {
			if tv.Calendar, err = c.parseCalendar(v); err != nil {
				c.warn(a, "Failed to parse calendar specification, ignoring: %s", v)
				return nil
			}
		} else if tv.Span, err = timespan.Parse(v); err != nil {
			c.warn(a, "Failed to parse timer value, ignoring: %s", v)
			return nil
		}
		t.Values = append(t.Values, tv)
		return nil
	}
}

// maxCalendars bounds a loadCtx's cache of calendar specifications.
const maxCalendars = 1024

// parseCalendar is calendar.Parse, each unit given a Spec of its own. The
// Specs of one text are alike, so they come from a cache, and share the
// chains, which are not changed after parsing. A copy also leaves behind
// what the parser kept beside the Spec.
func (c *settingCtx) parseCalendar(v string) (*calendar.Spec, error) {
	if s, ok := c.calendars[v]; ok {
		cp := *s
		return &cp, nil
	}
	s, err := calendar.Parse(v)
	if err != nil {
		return nil, err
	}
	cp := *s
	if c.calendars != nil {
		if len(c.calendars) >= maxCalendars {
			clear(c.calendars)
		}
		c.calendars[strings.Clone(v)] = s
	}
	return &cp, nil
}

// triggerUnitSetting is config_parse_trigger_unit: the Unit= of timers
// and paths.
func triggerUnitSetting(c *settingCtx, a *Assignment) error {
	if c.u.trigger != "" {
		c.warn(a, "Multiple units to trigger specified, ignoring: %s", a.Value)
		return nil
	}
	name, err := c.x.name(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", a.Value, strerror(err))
		return nil
	}
	if !ValidName(name, AnyName) {
		c.warn(a, "Unit type not valid, ignoring: %s", a.Value)
		return nil
	}
	if c.u.hasName(name) {
		c.warn(a, "Units cannot trigger themselves, ignoring: %s", a.Value)
		return nil
	}
	name = c.u.resolveTemplate(name)
	if c.ignoreDeps {
		return nil
	}
	if !ValidName(name, Plain|Instance) {
		c.warn(a, "Failed to add trigger on %s, ignoring: %s", name, eINVAL)
		return nil
	}
	c.u.trigger = name
	return nil
}

// socketServiceSetting is config_parse_socket_service, a socket's
// Service=.
func socketServiceSetting(c *settingCtx, a *Assignment) error {
	name, err := c.x.name(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", a.Value, strerror(err))
		return nil
	}
	if !strings.HasSuffix(name, ".service") {
		c.warn(a, "Unit must be of type service, ignoring: %s", a.Value)
		return nil
	}
	if !ValidName(name, Plain|Instance) {
		c.warn(a, "Failed to load unit %s, ignoring: Unit name %s is not valid.", a.Value, name)
		return nil
	}
	c.u.trigger = name
	return nil
}

// installSetting keeps the words of an [Install] list as written.
func installSetting(field func(*Unit) *[]string) setter {
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			store(c, field, nil)
			return nil
		}
		list, _ := splitStrv(a.Value)
		if f := field(c.u); *f == nil {
			*f = list
		} else {
			*f = append(*f, list...)
		}
		return nil
	}
}

// AddCondition reads one Condition…= or Assert…= assignment into u, as
// the loader reads it from a unit file (config_parse_unit_condition_path
// where path is set, config_parse_unit_condition_string otherwise), with
// the loader's specifiers; what systemd would say about it is added to
// u.Diagnostics. Its value is taken as given: unlike a unit file's, it
// may end in white space. systemd-analyze condition reads its arguments
// so.
func (l *Loader) AddCondition(u *Unit, a Assignment, path bool) {
	x := l.specifiers(u)
	c := settingCtx{u: u, x: &x, scope: l.scope, argMaxV: l.argMax}
	conditionSetting(path)(&c, &a)
}
