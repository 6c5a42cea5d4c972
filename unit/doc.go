// Package unit reads systemd unit files as systemd 254 does: the syntax of
// sections, assignments, comments and continued lines; unit names,
// templates and instances; the search paths, drop-ins, aliases and masks;
// specifiers; and the typed settings of the Unit, Timer, Service and
// Install sections, with systemd's defaults and value syntax.
//
// # Diagnostics
//
// Mistakes are reported as systemd reports them, with the same words and
// the same line numbers (`Unknown key 'Frobnicate' in section [Timer],
// ignoring.`), as a list of [Diagnostic] values with the column added.
// Most mistakes only make systemd ignore the line; those that make it
// refuse the unit are errors.
package unit
