// Package service runs the processes of services as systemd's service.c
// runs them: the Exec…= commands of an activation in their order, each in
// a process group of its own, their output as lines, and the outcome
// named as systemd names it (code=exited, status=1/FAILURE; the result
// exit-code).
//
// A [Run] is one activation. It starts no goroutine that outlives it: its
// Wait returns once every process it started has been reaped and every
// output line delivered.
package service
