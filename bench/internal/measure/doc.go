// Package measure holds what the bench commands share: a figure printed
// beside its target, percentiles, and a process's memory read from /proc.
package measure
