// Package hygiene checks rules the whole repository keeps: each package
// has one doc comment, the public packages depend only on the standard
// library and each other, production code does not import testing, and
// only the command reads the clock. It has tests only.
package hygiene
