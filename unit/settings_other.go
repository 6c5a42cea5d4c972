package unit

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/netip"
	"slices"
	"strings"
)

// expandedSetting is the parsers of a string with specifiers that then
// must be valid, as config_parse_reboot_parameter, config_parse_fdname
// and config_parse_log_namespace: empty clears it; expanding names the
// value quoted (or not); invalid is the message of an invalid value.
func expandedSetting(quoted bool, valid func(string) bool, invalid string) setter {
	failed := "Failed to resolve unit specifiers in %s, ignoring: %s"
	if quoted {
		failed = "Failed to resolve unit specifiers in '%s', ignoring: %s"
	}
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			return nil
		}
		v, err := c.x.full(a.Value)
		switch {
		case err != nil:
			c.warn(a, failed, a.Value, strerror(err))
		case !valid(v):
			c.warn(a, invalid, v)
		}
		return nil
	}
}

// rebootArgumentValid is reboot_parameter_is_valid: ASCII, at most
// NAME_MAX bytes.
func rebootArgumentValid(s string) bool { return asciiValid(s) && len(s) <= nameMax }

// logNamespaceValid is log_namespace_name_valid: a file name that is a
// unit's instance, and fits beside a machine ID.
func logNamespaceValid(s string) bool {
	valid := validFilename(s) && len(s) <= nameMax-33
	for i := 0; valid && i < len(s); i++ {
		valid = validNameChar(s[i]) || s[i] == '@'
	}
	return valid
}

// socketProtocolSetting is config_parse_socket_protocol: of the IP
// protocols, by name or number, SCTP and UDP-Lite only.
func socketProtocolSetting(c *settingCtx, a *Assignment) error {
	n, err := SafeAtoi(a.Value)
	if !strings.EqualFold(a.Value, "sctp") && !strings.EqualFold(a.Value, "udplite") && (err != nil || n != 132 && n != 136) {
		c.warn(a, "Failed to parse socket protocol, ignoring: %s", a.Value)
	}
	return nil
}

// timestampingSetting is config_parse_socket_timestamping, with
// socket_timestamping_from_string_harder: a precision, by one of its
// names, or a boolean.
func timestampingSetting(c *settingCtx, a *Assignment) error {
	names := []string{"off", "us", "ns", "usec", "µs", "μs", "nsec"}
	if _, ok := ParseBoolean(a.Value); !ok && !slices.Contains(names, a.Value) {
		c.warn(a, "Failed to parse timestamping precision, ignoring: %s", a.Value)
	}
	return nil
}

// bindIPv6OnlySetting is config_parse_socket_bind: "default", "both",
// "ipv6-only", or a boolean.
func bindIPv6OnlySetting(c *settingCtx, a *Assignment) error {
	if _, ok := ParseBoolean(a.Value); !ok && !slices.Contains([]string{"default", "both", "ipv6-only"}, a.Value) {
		c.warn(a, "Failed to parse bind IPv6 only value, ignoring: %s", a.Value)
	}
	return nil
}

// swapPrioritySetting is config_parse_swap_priority: -1 to 32767, or
// empty for the default.
func swapPrioritySetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	n, err := SafeAtoi(a.Value)
	switch {
	case err != nil:
		c.warn(a, "Invalid swap priority '%s', ignoring.", a.Value)
	case n < -1:
		c.warn(a, "Sorry, swap priorities smaller than -1 may only be assigned by the kernel itself, ignoring: %s", a.Value)
	case n > math.MaxInt16:
		c.warn(a, "Swap priority out of range, ignoring: %s", a.Value)
	}
	return nil
}

// credentialNameValid is credential_name_valid: a file name that is
// also a name for file descriptors.
func credentialNameValid(s string) bool { return validFilename(s) && validFDName(s) }

// setCredentialSetting is config_parse_set_credential: "NAME:DATA", the
// data with C escapes (or for SetCredentialEncrypted=, in Base64, which
// is not checked here).
func setCredentialSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	w := words{s: a.Value}
	word, more, err := w.next(":", extractDontCoalesceSeparators)
	if err != nil {
		c.warn(a, "Failed to extract credential name, ignoring: %s", a.Value)
		return nil
	}
	if !more || w.rest() == "" {
		c.warn(a, "Invalid syntax, ignoring: %s", a.Value)
		return nil
	}
	c.credentialName(a, word)
	return nil
}

// credentialName expands a credential's name and checks it, as
// config_parse_set_credential and config_parse_load_credential do.
func (c *settingCtx) credentialName(a *Assignment, name string) bool {
	k, err := c.x.full(name)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in \"%s\", ignoring: %s", name, strerror(err))
		return false
	}
	if !credentialNameValid(k) {
		c.warn(a, "Credential name \"%s\" not valid, ignoring.", k)
		return false
	}
	return true
}

// loadCredentialSetting is config_parse_load_credential: "NAME[:SOURCE]",
// the source an absolute, normalized path or a credential's name.
func loadCredentialSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	w := words{s: a.Value}
	word, more, err := w.next(":", extractDontCoalesceSeparators)
	if err != nil || !more {
		c.warn(a, "Invalid syntax, ignoring: %s", a.Value)
		return nil
	}
	if !c.credentialName(a, word) {
		return nil
	}
	source := w.rest()
	if source == "" {
		return nil
	}
	q, err := c.x.path(source)
	switch {
	case err != nil:
		c.warn(a, "Failed to resolve unit specifiers in \"%s\", ignoring: %s", source, strerror(err))
	case strings.HasPrefix(q, "/") && !simplePathNormalized(q), !strings.HasPrefix(q, "/") && !credentialNameValid(q):
		c.warn(a, "Credential source \"%s\" not valid, ignoring.", q)
	}
	return nil
}

// simplePathNormalized is path_is_normalized: a valid path with no "."
// or ".." component, nor repeated slashes.
func simplePathNormalized(p string) bool {
	return validPath(p) && normalizedPath(p) && (simplePath(p) || p == "/")
}

// delegateSetting is config_parse_delegate: a boolean, or the controllers
// to delegate; only services and scopes take it.
func delegateSetting(c *settingCtx, a *Assignment) error {
	if c.u.Type != Service && c.u.Type != Scope {
		c.warn(a, "Delegate= setting not supported for this unit type, ignoring.")
		return nil
	}
	if _, ok := ParseBoolean(a.Value); ok || a.Value == "" {
		return nil
	}
	c.eachWord(a, a.Value, extractUnquote, "Invalid syntax, ignoring: %s", func(word string) {
		if !slices.Contains(cgroupControllers, word) {
			c.warn(a, "Invalid controller name '%s', ignoring", word)
		}
	})
	return nil
}

// addressPrefixesSetting is config_parse_in_addr_prefixes, for
// IPAddressAllow= and IPAddressDeny=: "any", "localhost", "link-local",
// "multicast", or addresses with a prefix length.
func addressPrefixesSetting(c *settingCtx, a *Assignment) error {
	c.eachWord(a, a.Value, 0, "Invalid syntax, ignoring: %s", func(word string) {
		if !slices.Contains([]string{"any", "localhost", "link-local", "multicast"}, word) && !addressPrefixValid(word) {
			c.warn(a, "Address prefix is invalid, ignoring assignment: %s", word)
		}
	})
	return nil
}

// addressPrefixValid is in_addr_prefix_from_string_auto: an IPv4 or
// IPv6 address as inet_pton reads it, with a prefix length after "/"
// that fits it.
func addressPrefixValid(s string) bool {
	addr, length, hasLength := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return false
	}
	if !hasLength {
		return true
	}
	n, err := parseUint(length, 0, false, 255)
	return err == nil && int(n) <= ip.BitLen()
}

// unbase64 is systemd's unbase64mem: Base64 with its padding, white
// space ignored, the bits left over zero.
func unbase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(" \t\n\r\v\f", r) {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.Strict().DecodeString(s)
}

// inputDataSetting is config_parse_exec_input_data: Base64 data for the
// standard input; empty resets it.
func inputDataSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	if b, err := unbase64(a.Value); err != nil || len(b) == 0 {
		c.warn(a, "Failed to decode base64 data, ignoring: %s", a.Value)
	}
	return nil
}

// rootHashSetting is config_parse_exec_root_hash: the path of a file
// that holds the hash, or the hash in hexadecimal, 16 bytes at least.
func rootHashSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" || strings.HasPrefix(a.Value, "/") {
		return nil
	}
	b, err := hex.DecodeString(a.Value)
	switch {
	case err != nil:
		c.warn(a, "Failed to decode RootHash=, ignoring: %s", a.Value)
	case len(b) < 16:
		c.warn(a, "RootHash= is too short, ignoring: %s", a.Value)
	}
	return nil
}

// rootHashSignatureSetting is config_parse_exec_root_hash_sig: the path
// of a file that holds the signature, or it in Base64 after "base64:".
func rootHashSignatureSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" || strings.HasPrefix(a.Value, "/") {
		return nil
	}
	v, ok := strings.CutPrefix(a.Value, "base64:")
	if !ok {
		c.warn(a, "Failed to decode RootHashSignature=, not a path but doesn't start with 'base64:', ignoring: %s", a.Value)
		return nil
	}
	if _, err := unbase64(v); err != nil {
		c.warn(a, "Failed to decode RootHashSignature=, ignoring: %s", a.Value)
	}
	return nil
}

// bpfAttachTypes are the names bpf_cgroup_attach_type_from_string knows.
var bpfAttachTypes = []string{"ingress", "egress", "sock_create", "sock_ops", "device", "bind4", "bind6", "connect4",
	"connect6", "post_bind4", "post_bind6", "sendmsg4", "sendmsg6", "sysctl", "recvmsg4", "recvmsg6", "getsockopt",
	"setsockopt"}

// bpfProgramSetting is config_parse_bpf_foreign_program: "TYPE:PATH", a
// program pinned in the BPF file system and where it attaches.
func bpfProgramSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	w := words{s: a.Value}
	kind, more, err := w.next(":", 0)
	if err != nil {
		c.warn(a, "Failed to parse foreign BPF program, ignoring: %s", a.Value)
		return nil
	}
	path := w.rest()
	if !more || path == "" {
		c.warn(a, "Invalid syntax in %s=, ignoring: %s", a.Key, a.Value)
		return nil
	}
	if !slices.Contains(bpfAttachTypes, kind) {
		c.warn(a, "Unknown BPF attach type=%s, ignoring: %s", kind, a.Value)
		return nil
	}
	p, err := c.x.path(path)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", path, a.Value)
		return nil
	}
	c.checkPath(a, p, false)
	return nil
}

// sliceSetting is config_parse_unit_slice: the name of a slice unit,
// with specifiers; one that is no unit's name, or a slice's instance,
// is not loaded, and one of another type is not assigned
// (unit_set_slice).
func sliceSetting(c *settingCtx, a *Assignment) error {
	k, err := c.x.name(a.Value)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", a.Value, strerror(err))
		return nil
	}
	n, _ := ParseName(k)
	switch {
	case ValidName(k, Template) && !ValidName(k, Plain|Instance):
		c.warn(a, "Failed to load slice unit %s, ignoring: Unit name %s is missing the instance name.", k, k)
	case !ValidName(k, Plain|Instance):
		c.warn(a, "Failed to load slice unit %s, ignoring: Unit name %s is not valid.", k, k)
	case n.Type == Slice && n.Instance != "":
		// Slices have no instances.
		c.warn(a, "Failed to load slice unit %s, ignoring: %s", k, strerror(eINVAL))
	case n.Type != Slice:
		c.warn(a, "Failed to assign slice %s to unit %s, ignoring: %s", k, c.u.Name, strerror(eINVAL))
	}
	return nil
}
