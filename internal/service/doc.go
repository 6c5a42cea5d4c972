// Package service runs the processes of services as systemd's service.c
// runs them: the Exec…= commands of an activation in their order, each in
// a process group of its own, their output as lines, and the outcome
// named as systemd names it (code=exited, status=1/FAILURE; the result
// exit-code).
//
// Type=simple starts as its main process is forked: a command that then
// cannot be executed fails the service, not its start, as in systemd's
// child. Type=exec starts once its main process has been executed, and
// oneshot once its commands have ended. Type=notify (and notify-reload) starts once the service says
// READY=1 on the activation's notification socket, named to its
// processes by NOTIFY_SOCKET, as sd_notify does; the socket also takes
// STATUS=, ERRNO=, MAINPID=, STOPPING=1 and NOTIFYACCESS=. Type=forking
// starts once its first process has exited, and its main process is then
// read from PIDFile= or guessed: a process not a child of ours, watched
// until it is gone, how it ended not known; unless this process is a
// subreaper ([BecomeSubreaper], on Linux) with [Reap] reaping the orphans
// no one waits for, as the daemon is: then the main process is one of its
// children, waited for.
//
// The execution environment holds in every process from its start: a
// helper, the running binary started again, sets it up before it
// executes the command, in exec_child's order (see helper.go): the
// scheduling settings, the service's own directories (below [ExecBases]),
// Limit…= and UMask=, its namespaces, its groups, capabilities and user,
// the secure bits, no_new_privs and seccomp filters. A command has its
// standard input, output and error, and no other descriptor of the
// manager's process, as close_all_fds leaves it. A step that fails
// ends the command with systemd's exit status, before it runs;
// [Unhonoured] names the settings that cannot be had where the manager
// runs. The network and IPC namespaces are the activation's, shared by
// its commands, made by a manager that is root. A helper in a user
// namespace of its own (PrivateUsers=) lacks the host's privileges that
// systemd's child still has, making that namespace last: a manager that
// is root makes its scheduling settings and its /proc for it.
//
// What systemd's control group holds, an activation finds without one:
// its process groups, and on Linux the processes that left them (setsid,
// a double fork) but carry its INVOCATION_ID in their environment, as
// every process it starts does unless it clears it. KillMode= and
// systemctl kill signal them all; a subreaper reaps them.
//
// A [Run] is one activation. Its Wait returns once every process it
// stopped has been reaped and its output delivered; processes that the
// service's settings leave running (KillMode=none, SendSIGKILL=no) are
// left, as systemd leaves them in the unit's cgroup.
package service
