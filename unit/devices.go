package unit

import (
	"math"
	"slices"
	"strings"

	"sundial.dev/sundial/timespan"
)

// labelSetting is config_parse_exec_selinux_context,
// config_parse_exec_apparmor_profile and
// config_parse_exec_smack_process_label: a label with specifiers, after
// "-" if a failure to apply it is fine; without the "-", a value that
// cannot be expanded refuses the unit.
func labelSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	v, ignore := strings.CutPrefix(a.Value, "-")
	if _, err := c.x.full(v); err != nil {
		c.log(a, severity(!ignore), "Failed to resolve unit specifiers in '%s'%s: %s", v, ignoring(!ignore), strerror(err))
		return fatalErr(!ignore)
	}
	return nil
}

// A deviceValue is how one of the settings of a device and a value
// (IODeviceWeight= and the like) reads its value, and the words of its
// messages: what it calls the device and the value.
type deviceValue struct {
	device, value string
	check         func(c *settingCtx, a *Assignment, v string)
	deprecated    bool // a BlockIO…= setting, which says it is
}

// deviceValues are the settings of a device and a value, by parser.
var deviceValues = map[string]deviceValue{
	"io_device_weight": {"path", "weight", func(c *settingCtx, a *Assignment, v string) {
		if _, err := parseWeight(v, 1, 10000); err != nil {
			c.warn(a, "IO weight '%s' invalid, ignoring: %s", v, strerror(err))
		}
	}, false},
	"io_device_latency": {"path", "latency", func(c *settingCtx, a *Assignment, v string) {
		if _, err := timespan.Parse(v); err != nil {
			c.warn(a, "Failed to parse timer value, ignoring: %s", v)
		}
	}, false},
	"io_limit": {"node", "bandwidth", func(c *settingCtx, a *Assignment, v string) {
		if n, err := ParseSize(v, 1000); v != "infinity" && (err != nil || n == 0) {
			c.warn(a, "Invalid IO limit '%s', ignoring.", v)
		}
	}, false},
	"blockio_device_weight": {"node", "weight", func(c *settingCtx, a *Assignment, v string) {
		if _, err := parseWeight(v, 10, 1000); err != nil {
			c.warn(a, "Invalid block IO weight '%s', ignoring: %s", v, strerror(err))
		}
	}, true},
	"blockio_bandwidth": {"node", "bandwidth", func(c *settingCtx, a *Assignment, v string) {
		if n, err := ParseSize(v, 1000); err != nil || n == 0 {
			c.warn(a, "Invalid Block IO Bandwidth '%s', ignoring.", v)
		}
	}, true},
}

// parseWeight is cg_weight_parse and its kin for a value not empty: a
// number in lo..hi; EINVAL or ERANGE.
func parseWeight(v string, lo, hi uint64) (uint64, error) {
	n, err := parseUint(v, 0, false, math.MaxUint64)
	if err == nil && (n < lo || n > hi) {
		err = eRANGE
	}
	return n, err
}

// deviceValueSetting is config_parse_io_device_weight and the other
// parsers of a device and a value: "DEVICE VALUE"; empty resets.
func deviceValueSetting(parser string) setter {
	d := deviceValues[parser]
	return func(c *settingCtx, a *Assignment) error {
		if d.deprecated {
			c.warn(a, "Unit uses %s=; please use IO*= settings instead. Support for %s= will be removed soon.", a.Key, a.Key)
		}
		if a.Value == "" {
			return nil
		}
		w := words{s: a.Value}
		path, more, err := w.next("", extractUnquote)
		if err != nil {
			c.warn(a, "Failed to extract device %s and %s from '%s', ignoring.", d.device, d.value, a.Value)
			return nil
		}
		rest := w.rest()
		if !more || rest == "" {
			c.warn(a, "Invalid device %s or %s specified in '%s', ignoring.", d.device, d.value, a.Value)
			return nil
		}
		p, err := c.x.path(path)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", path, strerror(err))
			return nil
		}
		if _, err := c.checkPathAs(a, p, anyPath, false); err != nil {
			return nil
		}
		d.check(c, a, rest)
		return nil
	}
}

// deviceAllowSetting is config_parse_device_allow: a device node below
// /dev, or "block-" or "char-" and a driver, then the rights "r", "w" and
// "m".
func deviceAllowSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	w := words{s: a.Value}
	path, more, err := w.next("", extractUnquote)
	if err != nil || !more {
		c.warn(a, "Failed to extract device path and rights from '%s', ignoring.", a.Value)
		return nil
	}
	p, err := c.x.path(path)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", path, strerror(err))
		return nil
	}
	if !strings.HasPrefix(p, "block-") && !strings.HasPrefix(p, "char-") {
		if p, err = c.checkPathAs(a, p, anyPath, false); err != nil {
			return nil
		}
		// valid_device_node_path
		if !pathStartsWith(p, "/dev") && !pathStartsWith(p, "/run/systemd/inaccessible") || strings.HasSuffix(p, "/") || !validPath(p) {
			c.warn(a, "Invalid device node path '%s', ignoring.", p)
			return nil
		}
	}
	if rights := w.rest(); strings.Trim(rights, "rwm") != "" {
		c.warn(a, "Invalid device rights '%s', ignoring.", rights)
	}
	return nil
}

// pathStartsWith is systemd's path_startswith for a prefix without a
// trailing slash: p is the prefix, or below it.
func pathStartsWith(p, prefix string) bool {
	rest, ok := strings.CutPrefix(p, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// pathsSetting is config_parse_colon_separated_paths (colons), for
// ExecSearchPath=, and config_parse_unit_path_strv_printf, for a socket's
// Symlinks= (words): absolute paths with specifiers; the first bad one
// ends the list.
func pathsSetting(colons bool) setter {
	seps, flags, msg := "", extractUnquote, "Invalid syntax, ignoring: %s"
	if colons {
		seps, flags, msg = ":", extractDontCoalesceSeparators, "Failed to extract first word, ignoring: %s"
	}
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			return nil
		}
		w := words{s: a.Value}
		for {
			word, more, err := w.next(seps, flags)
			if err != nil {
				c.warn(a, msg, a.Value)
				return nil
			}
			if !more {
				return nil
			}
			p, err := c.x.path(word)
			if err != nil {
				c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", word, strerror(err))
				return nil
			}
			if _, err := c.checkPath(a, p, false); err != nil {
				return nil
			}
		}
	}
}

// pathSpecSetting is config_parse_path_spec, for a path unit's
// PathExists= and the like: an absolute path with specifiers.
func pathSpecSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	p, err := c.x.path(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", a.Value, strerror(err))
		return nil
	}
	c.checkPath(a, p, false)
	return nil
}

// logExtraFieldsSetting is config_parse_log_extra_fields: "FIELD=value"
// words, with a journal field's name.
func logExtraFieldsSetting(c *settingCtx, a *Assignment) error {
	c.eachWord(a, a.Value, extractCUnescape|extractUnquote, "Invalid syntax, ignoring: %s", func(word string) {
		k, err := c.x.full(word)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", word, strerror(err))
			return
		}
		name, _, ok := strings.Cut(k, "=")
		switch {
		case !ok:
			c.warn(a, "Log field lacks '=' character, ignoring: %s", k)
		case !journalFieldValid(name):
			c.warn(a, "Log field name is invalid, ignoring: %s", k)
		}
	})
	return nil
}

// journalFieldValid is journal_field_valid for a field a unit may set:
// 1 to 64 upper-case letters, digits and '_', neither a digit nor '_'
// first.
func journalFieldValid(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '_' || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// interfaceNameValid is ifname_valid_full: not "." or "..", nor "all"
// or "default", printable ASCII but ' ', ':', '/' and '%', not all
// digits, shorter than IFNAMSIZ, or with alternative, than ALTIFNAMSIZ.
func interfaceNameValid(s string, alternative bool) bool {
	limit := 16
	if alternative {
		limit = 128
	}
	if s == "" || len(s) >= limit || s == "." || s == ".." || s == "all" || s == "default" {
		return false
	}
	numeric := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 127 || c == ':' || c == '/' || c == '%' {
			return false
		}
		numeric = numeric && c >= '0' && c <= '9'
	}
	return !numeric
}

// bindToDeviceSetting is config_parse_socket_bindtodevice: an interface
// name, or "*" or empty for none.
func bindToDeviceSetting(c *settingCtx, a *Assignment) error {
	if a.Value != "" && a.Value != "*" && !interfaceNameValid(a.Value, false) {
		c.warn(a, "Invalid interface name, ignoring: %s", a.Value)
	}
	return nil
}

// networkInterfacesSetting is config_parse_restrict_network_interfaces:
// interface names, after "~" for those denied.
func networkInterfacesSetting(c *settingCtx, a *Assignment) error {
	c.eachWord(a, strings.TrimPrefix(a.Value, "~"), extractUnquote, "Trailing garbage in "+a.Key+", ignoring: %s", func(word string) {
		if !interfaceNameValid(word, true) {
			c.warn(a, "Invalid interface name, ignoring: %s", word)
		}
	})
	return nil
}

// disableControllersSetting is config_parse_disable_controllers:
// controller names, of which one at least must be known.
func disableControllersSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	known := false
	w := words{s: a.Value}
	for {
		word, more, err := w.next("", 0)
		if err != nil {
			known = false
			break
		}
		if !more {
			break
		}
		known = known || slices.Contains(cgroupControllers, word)
	}
	if !known {
		c.warn(a, "Invalid cgroup string: %s, ignoring", a.Value)
	}
	return nil
}
