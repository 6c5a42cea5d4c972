package unit

import (
	"fmt"
	"strings"
)

// A Type is the kind of a unit, named by its suffix.
type Type int

// The unit types, in systemd's order.
const (
	Service Type = iota
	Socket
	Target
	Device
	Mount
	Automount
	Swap
	Timer
	Path
	Slice
	Scope
	numTypes
)

var typeNames = [numTypes]string{
	"service", "socket", "target", "device", "mount", "automount",
	"swap", "timer", "path", "slice", "scope",
}

// String returns the type's suffix without the dot, e.g. "timer".
func (t Type) String() string {
	if t < 0 || t >= numTypes {
		return fmt.Sprintf("Type(%d)", int(t))
	}
	return typeNames[t]
}

// ParseType returns the type a suffix (without the dot) names.
func ParseType(s string) (Type, bool) {
	switch s {
	case "service":
		return Service, true
	case "socket":
		return Socket, true
	case "target":
		return Target, true
	case "device":
		return Device, true
	case "mount":
		return Mount, true
	case "automount":
		return Automount, true
	case "swap":
		return Swap, true
	case "timer":
		return Timer, true
	case "path":
		return Path, true
	case "slice":
		return Slice, true
	case "scope":
		return Scope, true
	}
	return 0, false
}

// MaxNameLength is one more than the longest unit name systemd accepts.
const MaxNameLength = 256

// NameKind selects the forms of unit names [ValidName] accepts.
type NameKind int

const (
	Plain    NameKind = 1 << iota // foo.service
	Instance                      // foo@bar.service
	Template                      // foo@.service
	AnyName  = Plain | Instance | Template
)

// validNameChar reports whether c may appear in a unit name besides '@'.
func validNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == ':' || c == '-' || c == '_' || c == '.' || c == '\\'
}

// ValidName reports whether name is a unit name of one of the given kinds,
// as systemd's unit_name_is_valid: letters, digits and ":-_.\" with at
// most one '@' (not first), then a dot and a unit type, shorter than
// [MaxNameLength].
func ValidName(name string, kinds NameKind) bool {
	if name == "" || len(name) >= MaxNameLength {
		return false
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return false
	}
	if _, ok := ParseType(name[dot+1:]); !ok {
		return false
	}
	at := -1
	for i := 0; i < dot; i++ {
		c := name[i]
		if c == '@' && at < 0 {
			at = i
		}
		if c != '@' && !validNameChar(c) {
			return false
		}
	}
	switch {
	case at == 0:
		return false
	case at < 0:
		return kinds&Plain != 0
	case dot > at+1:
		return kinds&Instance != 0
	default:
		return kinds&Template != 0
	}
}

// A Name is a unit name split into its parts: "foo@bar.timer" is prefix
// "foo", instance "bar" and type Timer. For a template ("foo@.timer") the
// instance is empty and Template is true.
type Name struct {
	Prefix   string
	Instance string
	Template bool
	Type     Type
}

// ParseName splits a valid unit name into its parts.
func ParseName(name string) (Name, error) {
	if !ValidName(name, AnyName) {
		return Name{}, fmt.Errorf("unit: invalid unit name %q", name)
	}
	dot := strings.LastIndexByte(name, '.')
	t, _ := ParseType(name[dot+1:])
	n := Name{Prefix: name[:dot], Type: t}
	if at := strings.IndexByte(name, '@'); at >= 0 {
		n.Prefix, n.Instance = name[:at], name[at+1:dot]
		n.Template = n.Instance == ""
	}
	return n, nil
}

// String joins the parts into a unit name.
func (n Name) String() string {
	if n.Instance != "" || n.Template {
		return n.Prefix + "@" + n.Instance + "." + n.Type.String()
	}
	return n.Prefix + "." + n.Type.String()
}

// TemplateName returns the template of an instance name: "foo@bar.timer"
// gives "foo@.timer". ok is false if name is not an instance or template.
func TemplateName(name string) (string, bool) {
	n, err := ParseName(name)
	if err != nil || (n.Instance == "" && !n.Template) {
		return "", false
	}
	n.Instance, n.Template = "", true
	return n.String(), true
}

const hexDigits = "0123456789abcdef"

// Escape escapes s for use in a unit name, as systemd-escape does: '/'
// becomes '-', and '-', '\', a leading '.' and every byte not allowed in
// unit names become "\xNN".
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '-' || c == '\\' || !validNameChar(c) || (i == 0 && c == '.'):
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape reverses [Escape]: '-' becomes '/' and "\xNN" the byte NN.
func Unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '-':
			b.WriteByte('/')
		case '\\':
			if i+3 >= len(s) || s[i+1] != 'x' {
				return "", fmt.Errorf("unit: bad escape in %q", s)
			}
			hi, lo := unhex(s[i+2]), unhex(s[i+3])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("unit: bad escape in %q", s)
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 3
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
