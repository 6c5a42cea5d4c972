// Package service runs the processes of services as systemd's service.c
// runs them: the Exec…= commands of an activation in their order, each in
// a process group of its own, their output as lines, and the outcome
// named as systemd names it (code=exited, status=1/FAILURE; the result
// exit-code).
//
// A [Run] is one activation. Its Wait returns once every process it
// stopped has been reaped and its output delivered; processes that the
// service's settings leave running (KillMode=none, SendSIGKILL=no) are
// left, as systemd leaves them in the unit's cgroup.
package service
