package unit

import (
	"slices"
	"strings"
)

// inputTextSetting is config_parse_exec_input_text: a line of text for
// the standard input, with C escapes and specifiers; empty resets it.
func inputTextSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	text, err := cunescape(a.Value)
	if err != nil {
		c.warn(a, "Failed to decode C escaped text '%s', ignoring: %s", a.Value, strerror(eINVAL))
		return nil
	}
	if _, err := c.x.full(text); err != nil {
		c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", text, strerror(err))
	}
	return nil
}

// delegateSubgroupSetting is config_parse_delegate_subgroup: the name of
// a control group below the unit's, one that needs no escaping; only the
// unit types that may delegate take it.
func delegateSubgroupSetting(c *settingCtx, a *Assignment) error {
	switch {
	case c.u.Type != Service && c.u.Type != Scope:
		c.warn(a, "DelegateSubgroup= setting not supported for this unit type, ignoring.")
	case a.Value != "" && cgroupNeedsEscape(a.Value):
		c.warn(a, "Invalid control group name, ignoring: %s", a.Value)
	}
	return nil
}

// credentialGlobValid is credential_glob_valid: a credential's name, or
// the start of one followed by a "*", the only glob character allowed.
func credentialGlobValid(s string) bool {
	n := strings.IndexAny(s, "*?[]")
	switch {
	case s == "":
		return false
	case n < 0:
		return credentialNameValid(s)
	case s[n] != '*' || n != len(s)-1:
		return false
	}
	return n == 0 || credentialNameValid(s[:n])
}

// importCredentialSetting is config_parse_import_credential: a
// credential's name, or a glob of names, with specifiers.
func importCredentialSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	s, err := c.x.full(a.Value)
	switch {
	case err != nil:
		// systemd names the unresolved value it never got.
		c.warn(a, "Failed to resolve unit specifiers in \"(null)\", ignoring: %s", strerror(err))
	case !credentialGlobValid(s):
		c.warn(a, "Credential name or glob \"%s\" not valid, ignoring.", s)
	}
	return nil
}

// partitionDesignators are the names partition_designator_from_string
// knows.
var partitionDesignators = []string{"root", "usr", "home", "srv", "esp", "xbootldr", "swap", "root-verity",
	"usr-verity", "root-verity-sig", "usr-verity-sig", "tmp", "var"}

// colonWords splits s at colons as strv_split_colon_pairs and the
// parsers of images do, into at most n words, and returns them and what
// is left.
func colonWords(s string, n int) (got []string, rest string, err error) {
	return extractMany(s, ":", extractCUnescape|extractUnescapeSeparators, n)
}

// rootImageOptionsSetting is config_parse_root_image_options: words of
// "PARTITION:OPTIONS", or of "OPTIONS" for the root partition, split as
// strv_split_colon_pairs splits them.
func rootImageOptionsSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	type pair struct{ partition, options string }
	var pairs []pair
	w := words{s: a.Value}
	for {
		tuple, more, err := w.next("", extractUnquote|extractRetainEscape)
		if err == nil && !more {
			break
		}
		var got []string
		var rest string
		if err == nil {
			got, rest, err = colonWords(tuple, 2)
		}
		if err != nil || rest != "" {
			c.warn(a, "Failed to parse %s, ignoring: %s", a.Key, a.Value)
			return nil
		}
		switch len(got) {
		case 1:
			pairs = append(pairs, pair{"root", got[0]})
		case 2:
			pairs = append(pairs, pair{got[0], got[1]})
		}
	}
	for _, p := range pairs {
		c.mountOptions(a, p.partition, p.options)
	}
	return nil
}

// mountOptions checks the options of a partition of an image, as
// config_parse_root_image_options and config_parse_mount_images do.
func (c *settingCtx) mountOptions(a *Assignment, partition, options string) {
	if !slices.Contains(partitionDesignators, partition) {
		c.warn(a, "Invalid partition name %s, ignoring", partition)
		return
	}
	if _, err := c.x.full(options); err != nil {
		c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", options, strerror(err))
	}
}

// imagesSetting is config_parse_mount_images, and with extension
// config_parse_extension_images: words of "[-]SOURCE[:DESTINATION]
// [:PARTITION:OPTIONS...]", a destination only for mount images.
func imagesSetting(extension bool) setter {
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			return nil
		}
		n := 2
		if extension {
			n = 1
		}
		for tuple := range c.tuples(a) {
			paths, q, err := colonWords(tuple, n)
			if err != nil {
				c.warn(a, "Invalid syntax in %s=, ignoring: %s", a.Key, tuple)
				return nil
			}
			if len(paths) == 0 || !c.imagePaths(a, paths, extension) {
				continue
			}
			named := paths[0]
			if extension {
				named = ""
			}
			if !c.partitionOptions(a, q, named) {
				return nil
			}
		}
		return nil
	}
}

// imagePaths checks an image's source, and for a mount image its
// destination; it reports whether both are good.
func (c *settingCtx) imagePaths(a *Assignment, paths []string, extension bool) bool {
	s := strings.TrimPrefix(paths[0], "-")
	r, err := c.x.path(s)
	if err != nil {
		c.warn(a, "Failed to resolve unit specifiers in \"%s\", ignoring: %s", s, strerror(err))
		return false
	}
	if _, err := c.checkPath(a, r, false); err != nil {
		return false
	}
	if extension {
		return true
	}
	if len(paths) < 2 || paths[1] == "" {
		c.warn(a, "Missing destination in %s, ignoring: %s", a.Key, a.Value)
		return false
	}
	d, err := c.x.path(paths[1])
	if err != nil {
		c.warn(a, "Failed to resolve specifiers in \"%s\", ignoring: %s", paths[1], strerror(err))
		return false
	}
	_, err = c.checkPath(a, d, false)
	return err == nil
}

// partitionOptions checks the "PARTITION:OPTIONS" pairs after an image's
// paths, the last perhaps options alone for the root partition; it
// reports false where systemd stops reading the setting. Where options
// alone cannot be resolved, systemd names named (for mount images, their
// source), or the options when it is empty.
func (c *settingCtx) partitionOptions(a *Assignment, q, named string) bool {
	for {
		got, rest, err := colonWords(q, 2)
		if err != nil {
			c.warn(a, "Invalid syntax, ignoring: %s", q)
			return false
		}
		q = rest
		switch len(got) {
		case 0:
			return true
		case 1:
			if named == "" {
				named = got[0]
			}
			if _, err := c.x.full(got[0]); err != nil {
				c.warn(a, "Failed to resolve unit specifiers in %s, ignoring: %s", named, strerror(err))
			}
			return true
		}
		c.mountOptions(a, got[0], got[1])
	}
}

// fileSystemGroups are the groups of file systems filesystem_set_find
// knows.
var fileSystemGroups = []string{"@basic-api", "@anonymous", "@application", "@auxiliary-api", "@common-block",
	"@historical-block", "@network", "@privileged-api", "@security", "@temporary", "@known"}

// restrictFileSystemsSetting is config_parse_restrict_filesystems, with
// lsm_bpf_parse_filesystem: file systems, or groups of them, perhaps
// after a "~"; only the groups' names are checked.
func restrictFileSystemsSetting(c *settingCtx, a *Assignment) error {
	c.eachWord(a, strings.TrimPrefix(a.Value, "~"), extractUnquote, "Trailing garbage in "+a.Key+", ignoring: %s", func(word string) {
		if strings.HasPrefix(word, "@") && !slices.Contains(fileSystemGroups, word) {
			c.warn(a, "bpf-lsm: Unknown filesystem group, ignoring: %s", word)
		}
	})
	return nil
}

// openFileFlags are the names open_file_flags_from_string knows; the
// first three exclude each other.
var openFileFlags = []string{"read-only", "append", "truncate", "graceful"}

// openFileSetting is config_parse_open_file, with open_file_parse:
// "PATH[:FDNAME[:OPTIONS]]", the options separated by commas.
func openFileSetting(c *settingCtx, a *Assignment) error {
	if a.Value != "" && !openFileValid(a.Value) {
		c.warn(a, "Failed to parse OpenFile= setting, ignoring: %s", a.Value)
	}
	return nil
}

// openFileValid is open_file_parse and open_file_validate: an absolute
// path, a name for the file descriptor (by default the path's last
// component), and each option at most once.
func openFileValid(v string) bool {
	parts, rest, err := extractMany(v, ":", extractDontCoalesceSeparators|extractCUnescape, 3)
	if err != nil || len(parts) == 0 || rest != "" {
		return false
	}
	parts = append(parts, "", "")
	path, fdname, options := parts[0], parts[1], parts[2]
	var seen []string
	o := words{s: options}
	for {
		word, more, err := o.next(",", 0)
		if err != nil || more && (!slices.Contains(openFileFlags, word) || slices.Contains(seen, word)) {
			return false
		}
		if !more {
			break
		}
		seen = append(seen, word)
	}
	if fdname == "" {
		// path_extract_filename: the last component, which must be a
		// file's name.
		fdname = simplifyPath(path)
		fdname = fdname[strings.LastIndexByte(fdname, '/')+1:]
		if !validFilename(fdname) {
			return false
		}
	}
	exclusive := 0
	for _, f := range openFileFlags[:3] {
		if slices.Contains(seen, f) {
			exclusive++
		}
	}
	return validPath(path) && strings.HasPrefix(path, "/") && validFDName(fdname) && exclusive <= 1
}

// logFilterPatternsSetting is config_parse_log_filter_patterns: a
// regular expression, or after a "~" one whose matches are dropped. The
// expression is PCRE2's, whose errors this package does not reproduce;
// only the lone "~" is refused.
func logFilterPatternsSetting(c *settingCtx, a *Assignment) error {
	if a.Value == "~" {
		c.warn(a, "Regex pattern invalid, ignoring: %s=%s", a.Key, a.Value)
	}
	return nil
}

// imagePolicySetting is config_parse_image_policy, for RootImagePolicy=,
// MountImagePolicy= and ExtensionImagePolicy=: a policy systemd cannot
// read stops the unit from loading.
func imagePolicySetting(c *settingCtx, a *Assignment) error {
	if a.Value == "" {
		return nil
	}
	err := imagePolicyValid(a.Value)
	msg := "Failed to parse image policy, refusing: %s"
	switch err {
	case nil:
		return nil
	case eNOTUNIQ:
		msg = "Duplicate rule in image policy, refusing: %s"
	case eBADSLT:
		msg = "Unknown partition type in image policy, refusing: %s"
	case eBADRQC:
		msg = "Unknown partition policy flag in image policy, refusing: %s"
	}
	c.log(a, Error, msg, a.Value)
	return err
}

// partitionPolicyFlags are the names policy_flag_from_string_one knows.
var partitionPolicyFlags = []string{"verity", "signed", "encrypted", "unprotected", "unused", "absent", "open",
	"ignore", "read-only-on", "read-only-off", "growfs-on", "growfs-off"}

// imagePolicyValid is image_policy_from_string: "-", "*", "~", or rules
// "[PARTITION]=FLAG+FLAG…" separated by colons, a rule without a
// partition the default. Its errors tell a partition given twice
// (ENOTUNIQ), an unknown partition (EBADSLT) and an unknown flag
// (EBADRQC) from the rest (EINVAL).
func imagePolicyValid(s string) error {
	if s == "" || s == "-" || s == "*" || s == "~" {
		return nil
	}
	var seen []string
	w := words{s: s}
	for {
		rule, more, err := w.next(":", extractDontCoalesceSeparators)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		r := words{s: rule}
		d, more, err := r.next("=", extractDontCoalesceSeparators)
		switch {
		case err != nil:
			return err
		case !more || r.done:
			// No partition and flags, or no "=" between them.
			return eINVAL
		}
		d = strings.Trim(d, whitespace)
		switch {
		case slices.Contains(seen, d):
			return eNOTUNIQ
		case d != "" && !slices.Contains(partitionDesignators, d):
			return eBADSLT
		}
		seen = append(seen, d)
		if err := partitionPolicyFlagsValid(strings.Trim(r.rest(), whitespace)); err != nil {
			return err
		}
	}
}

// partitionPolicyFlagsValid is partition_policy_flags_from_string: "-"
// or nothing, or flags joined by "+".
func partitionPolicyFlagsValid(s string) error {
	if s == "" || s == "-" {
		return nil
	}
	w := words{s: s}
	for {
		f, more, err := w.next("+", extractDontCoalesceSeparators)
		switch {
		case err != nil:
			return err
		case !more:
			return nil
		case !slices.Contains(partitionPolicyFlags, strings.Trim(f, whitespace)):
			return eBADRQC
		}
	}
}
