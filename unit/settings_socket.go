package unit

import (
	"net/netip"
	"slices"
	"strings"
)

// serviceSocketsSetting is config_parse_service_sockets: the socket
// units that pass the service its sockets, with specifiers.
func serviceSocketsSetting(c *settingCtx, a *Assignment) error {
	c.eachWord(a, a.Value, 0, "Trailing garbage in sockets, ignoring: %s", func(word string) {
		k, err := c.x.name(word)
		switch {
		case err != nil:
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", word, strerror(err))
		case !strings.HasSuffix(k, ".socket"):
			c.warn(a, "Unit must be of type socket, ignoring: %s", k)
		case !c.ignoreDeps && !ValidName(c.u.resolveTemplate(k), Plain|Instance):
			// The dependencies systemd adds on it, Wants=, After= and
			// TriggeredBy=, fail alike.
			for range 2 {
				c.warn(a, "Failed to add dependency on %s, ignoring: %s", k, strerror(eINVAL))
			}
		}
	})
	return nil
}

// listenSetting is config_parse_socket_listen, for a socket's Listen…=
// setting of the kind arg: a path for files, a netlink family for
// ListenNetlink=, an address for the other sockets.
func listenSetting(arg string) setter {
	return func(c *settingCtx, a *Assignment) error {
		if a.Value == "" {
			return nil
		}
		k, err := c.x.path(a.Value)
		if err != nil {
			c.warn(a, "Failed to resolve unit specifiers in '%s', ignoring: %s", a.Value, strerror(err))
			return nil
		}
		switch {
		case arg != "SOCKET_SOCKET":
			if p, err := c.checkPath(a, k, false); err == nil && arg == "SOCKET_FIFO" {
				c.patchVarRun(a, p)
			}
			return nil
		case a.Key == "ListenNetlink":
			err = netlinkAddressValid(k)
		default:
			if strings.HasPrefix(k, "/") {
				k = c.patchVarRun(a, k)
			}
			var unix bool
			unix, err = socketAddressValid(k)
			if err == nil && !unix && a.Key == "ListenSequentialPacket" {
				c.warn(a, "Address family not supported, ignoring: %s", a.Value)
				return nil
			}
		}
		if err != nil {
			c.warn(a, "Failed to parse address value in '%s', ignoring: %s", k, strerror(err))
		}
		return nil
	}
}

// netlinkFamilies are the names netlink_family_from_string knows, by
// number.
var netlinkFamilies = []string{"route", "", "firewall", "inet-diag", "nflog", "xfrm", "selinux", "iscsi", "audit",
	"fib-lookup", "connector", "netfilter", "ip6-fw", "dnrtmsg", "kobject-uevent", "generic", "", "scsitransport",
	"ecryptfs", "rdma"}

// netlinkAddressValid is socket_address_parse_netlink: a netlink family,
// by name or number, then perhaps a multicast group's number.
func netlinkAddressValid(s string) error {
	w := words{s: s}
	family, more, err := w.next("", 0)
	switch {
	case err != nil:
		return err
	case !more:
		return eINVAL
	case family == "" || !slices.Contains(netlinkFamilies, family):
		if _, err := parseUint(family, 0, false, 1<<31-1); err != nil {
			return eINVAL
		}
	}
	if group := w.rest(); group != "" {
		_, err = parseUint(group, 0, false, 1<<32-1)
	}
	return err
}

// socketAddressValid is socket_address_parse: an AF_UNIX path or
// abstract name, an AF_VSOCK "vsock:CID:PORT", a port, or an IP address
// with a port. It reports whether the address is AF_UNIX's.
func socketAddressValid(s string) (unix bool, err error) {
	switch {
	case strings.HasPrefix(s, "/") || strings.HasPrefix(s, "@"):
		// sockaddr_un_set_path: sun_path holds 108 bytes, a NUL
		// byte at the end, for abstract names too.
		switch {
		case len(s) < 2, s[0] == '@' && len(s) >= 108:
			return true, eINVAL
		case len(s) >= 108:
			return true, eNAMETOOLONG
		}
		return true, nil
	case strings.HasPrefix(s, "vsock:"):
		return false, vsockAddressValid(s[len("vsock:"):])
	}
	_, err = parseIPPort(s)
	if err == eRANGE || err == nil {
		return false, err
	}
	return false, ipPortAddressValid(s)
}

// vsockAddressValid is socket_address_parse_vsock after its "vsock:":
// "[CID]:PORT".
func vsockAddressValid(s string) error {
	cid, port, ok := strings.Cut(s, ":")
	if !ok {
		return eINVAL
	}
	n, err := parseUint(port, 0, false, 1<<32-1)
	switch {
	case err != nil:
		return err
	case n == 1<<32-1:
		// VMADDR_PORT_ANY
		return eINVAL
	case cid != "":
		_, err = parseUint(cid, 0, false, 1<<32-1)
	}
	return err
}

// parseIPPort is parse_ip_port: a port number, 1 to 65535, with no
// white space before it.
func parseIPPort(s string) (uint64, error) {
	if s != "" && strings.ContainsRune(whitespace, rune(s[0])) {
		return 0, eINVAL
	}
	n, err := parseUint(s, 0, false, 65535)
	if err == nil && n == 0 {
		err = eINVAL
	}
	return n, err
}

// ipPortAddressValid is in_addr_port_ifindex_name_from_string_auto, as
// socket_address_parse calls it, with a port required: "IPV4:PORT" or
// "[IPV6]:PORT", perhaps with "%INTERFACE". Whether the interface is
// there is not looked at: that is the machine's business.
func ipPortAddressValid(s string) error {
	if strings.Contains(s, "#") {
		return eINVAL
	}
	if s, iface, ok := strings.Cut(s, "%"); ok {
		if !interfaceNameValid(iface, true) && strings.Trim(iface, "0123456789") != "" {
			return eINVAL
		}
		return ipPortAddressValid(s)
	}
	m := strings.LastIndexByte(s, ':')
	if m < 0 {
		if _, err := inAddr(s, false); err != nil {
			return err
		}
		// No port, no go.
		return eINVAL
	}
	if s[0] == '[' {
		if s[m-1] != ']' {
			return eINVAL
		}
		if _, err := parseIPPort(s[m+1:]); err != nil {
			return err
		}
		_, err := inAddr(s[1:m-1], true)
		return err
	}
	if _, err := inAddr(s, true); err == nil {
		// An IPv6 address without a port.
		return eINVAL
	}
	if _, err := inAddr(s[:m], false); err != nil {
		return err
	}
	_, err := parseIPPort(s[m+1:])
	return err
}

// inAddr is in_addr_from_string: an address of the family as inet_pton
// reads it.
func inAddr(s string, ipv6 bool) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" || ip.Is4() == ipv6 {
		return netip.Addr{}, eINVAL
	}
	return ip, nil
}

// socketBindSetting is config_parse_cgroup_socket_bind, for
// SocketBindAllow= and SocketBindDeny=: "[FAMILY:][PROTOCOL:]PORTS", as
// parse_socket_bind_item reads it.
func socketBindSetting(c *settingCtx, a *Assignment) error {
	if a.Value != "" && !socketBindItemValid(a.Value) {
		c.warn(a, "Unable to parse %s= assignment, ignoring: %s", a.Key, a.Value)
	}
	return nil
}

// socketBindItemValid is parse_socket_bind_item: its tokens, split at
// colons, are tried against the family, the protocol and the ports in
// turn, each part at most once and in that order.
func socketBindItemValid(s string) bool {
	parts := []func(string) bool{
		func(t string) bool { return t == "ipv4" || t == "ipv6" },
		func(t string) bool { return t == "tcp" || t == "udp" },
		func(t string) bool { return t == "any" || portRangeValid(t) },
	}
	w := words{s: s}
	for len(parts) > 0 {
		token, more, err := w.next(":", extractDontCoalesceSeparators)
		switch {
		case err != nil || more && token == "":
			return false
		case !more:
			return true
		}
		ok := false
		for len(parts) > 0 && !ok {
			ok = parts[0](token)
			parts = parts[1:]
		}
		if !ok {
			return false
		}
	}
	// Every part is read, and the string must end there.
	return w.done
}

// portRangeValid is parse_ip_port_range: a port, or "LOW-HIGH", both
// from 1 to 65535.
func portRangeValid(s string) bool {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err := parseUint(lo, 0, false, 65535)
	h, err2 := parseUint(hi, 0, false, 65535)
	return err == nil && err2 == nil && l > 0 && h > 0 && l <= h
}
