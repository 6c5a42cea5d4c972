package service

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"sundial.dev/sundial/unit"
)

// The manager's side of sd_notify: each activation that takes
// notifications has a datagram socket of its own, named to its processes
// by NOTIFY_SOCKET, where they send lines of NAME=value. systemd has one
// socket and tells units apart by the sender's cgroup; here the socket
// tells the activation, and the sender's PID (SCM_CREDENTIALS) says
// whether NotifyAccess= lets it be heard.

// notifyBufferMax is NOTIFY_BUFFER_MAX, PIPE_BUF: longer messages are
// ignored.
const notifyBufferMax = 4096

// notifyAccess is NotifyAccess=, as service_add_extras settles it: main
// for the notify types and with WatchdogSec=, unless set otherwise than
// to none.
func notifyAccess(s *unit.ServiceSection) string {
	if (s.NotifyAccess == "" || s.NotifyAccess == "none") && (isNotify(s.Type) || s.WatchdogSec != 0) {
		return "main"
	}
	if s.NotifyAccess == "" {
		return "none"
	}
	return s.NotifyAccess
}

// isNotify reports whether the type's start ends with READY=1;
// notify-reload is notify as far as the start goes.
func isNotify(typ string) bool { return typ == "notify" || typ == "notify-reload" }

// A note is what the activation is to act on from one message: a new
// main process (checked already), readiness, stopping. The rest of a
// message is dealt with as it comes.
type note struct {
	state           State // the state it came in
	mainPID         int
	privileged      bool // sent by root
	ready, stopping bool
}

// A notifySocket is an activation's socket.
type notifySocket struct {
	conn *net.UnixConn
	path string
	done chan struct{} // closed when the reader has returned

	// The activation's own end, for its markers (see syncNotify).
	client *net.UnixConn
	token  string
	seq    int
	synced chan int
}

// openNotify sets up the activation's socket, if the service takes
// notifications, and starts reading it.
func (r *Run) openNotify() error {
	access := notifyAccess(r.spec.Service)
	if access == "none" {
		return nil
	}
	dir := r.spec.NotifyDir
	if dir == "" {
		dir = os.TempDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "notify-"+rand.Text())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	n := &notifySocket{conn: conn, path: path, done: make(chan struct{}), token: rand.Text(), synced: make(chan int, 1)}
	err = passCredentials(conn)
	if err == nil {
		n.client, err = net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	}
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if c := r.spec.Credential; err == nil && c != nil {
		err = os.Chown(path, int(c.Uid), int(c.Gid))
	}
	if err != nil {
		if n.client != nil {
			n.client.Close()
		}
		conn.Close()
		os.Remove(path)
		return err
	}
	r.access, r.configuredAccess = access, access
	r.notify, r.wake = n, make(chan struct{}, 1)
	go func() {
		// Owned by the activation: it ends when finish closes the socket.
		defer close(n.done)
		r.readNotifications(conn)
	}()
	return nil
}

// closeNotify closes the socket, removes its name and waits for the
// reader to return.
func (r *Run) closeNotify() {
	if r.notify == nil {
		return
	}
	r.notify.client.Close()
	r.notify.conn.Close()
	<-r.notify.done
	os.Remove(r.notify.path)
}

// syncTag begins the activation's markers.
const syncTag = "X_SUNDIAL_SYNC="

// syncNotify waits until the messages sent before now have been taken,
// by sending a marker after them: what a process sent comes before its
// end is acted on, as systemd dispatches its socket before SIGCHLD.
func (r *Run) syncNotify() {
	n := r.notify
	if n == nil {
		return
	}
	n.seq++
	if _, err := n.client.Write([]byte(syncTag + n.token + "-" + strconv.Itoa(n.seq))); err != nil {
		return
	}
	for {
		select {
		case seq := <-n.synced:
			if seq == n.seq {
				return
			}
		case <-n.done:
			return
		}
	}
}

// isSync reports whether the message is the activation's marker, and
// passes it on.
func (n *notifySocket) isSync(msg []byte, pid int) bool {
	v, ok := strings.CutPrefix(string(msg), syncTag+n.token+"-")
	if !ok || credentialsKnown && pid != os.Getpid() {
		return false
	}
	if seq, err := strconv.Atoi(v); err == nil {
		n.synced <- seq
	}
	return true
}

// notifyEnv returns the environment of a process to be started: with
// NOTIFY_SOCKET if NotifyAccess= lets it be heard, as
// service_exec_needs_notify_socket decides.
func (r *Run) notifyEnv(env []string, main bool) []string {
	if r.notify == nil {
		return env
	}
	r.mu.Lock()
	access := r.access
	r.mu.Unlock()
	if access == "all" || access == "exec" || main && access == "main" {
		return unit.MergeEnv(slices.Clip(env), "NOTIFY_SOCKET="+r.notify.path)
	}
	return env
}

func (r *Run) readNotifications(conn *net.UnixConn) {
	buf := make([]byte, notifyBufferMax)
	oob := make([]byte, syscall.CmsgSpace(4*768)+credentialsSpace)
	for {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		closeRights(oob[:oobn])
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			r.log(slog.LevelError, "Failed to receive notification message: %s", ErrnoText(err))
			return
		}
		r.notification(buf[:n], flags, oob[:oobn])
	}
}

// closeRights closes the descriptors a message carried (FDSTORE=1, which
// is not kept).
func closeRights(oob []byte) {
	msgs, _ := syscall.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if fds, err := syscall.ParseUnixRights(&m); err == nil {
			for _, fd := range fds {
				syscall.Close(fd)
			}
		}
	}
}

// notification takes one message, as manager_dispatch_notify_fd and
// service_notify_message. What it logs is logged once r.mu is released.
func (r *Run) notification(msg []byte, flags int, oob []byte) {
	pid, uid, ok := credentials(oob)
	if r.notify.isSync(msg, pid) {
		return
	}
	switch {
	case credentialsKnown && (!ok || pid <= 0):
		r.log(slog.LevelWarn, "Received notify message without valid credentials. Ignoring.")
		return
	case flags&syscall.MSG_CTRUNC != 0:
		r.log(slog.LevelWarn, "Got notification message with truncated control data (too many fds sent?), ignoring.")
		return
	case flags&syscall.MSG_TRUNC != 0:
		r.log(slog.LevelWarn, "Received notify message exceeded maximum size. Ignoring.")
		return
	case len(msg) > 1 && bytes.IndexByte(msg[:len(msg)-1], 0) >= 0:
		r.log(slog.LevelWarn, "Received notify message with embedded NUL bytes. Ignoring.")
		return
	}
	tags := strings.Split(strings.TrimSuffix(strings.TrimSuffix(string(msg), "\x00"), "\n"), "\n")
	var logs []func()
	say := func(level slog.Level, format string, args ...any) {
		logs = append(logs, func() { r.log(level, format, args...) })
	}
	defer func() {
		for _, l := range logs {
			l()
		}
	}()
	r.mu.Lock()
	if !r.authorized(pid, say) {
		r.mu.Unlock()
		return
	}
	say(slog.LevelDebug, "Got notification message from PID %d (%s)", pid, strings.Join(tags, ", "))
	n := note{state: r.state, privileged: ok && uid == 0, ready: slices.Contains(tags, "READY=1"), stopping: slices.Contains(tags, "STOPPING=1")}
	if v, found := tag(tags, "MAINPID="); found && mainPIDState(r.state) {
		if p, err := parsePID(v); err != nil {
			say(slog.LevelWarn, "Failed to parse MAINPID=%s field in notification message, ignoring: %s", v, ErrnoText(err))
		} else if p != r.mainPID && r.newMainPID(p, n.privileged, say) {
			// Taken at once, as what follows is heard from it.
			n.mainPID, r.mainPID = p, p
		}
	}
	status, statusChanged := r.status, false
	if v, found := tag(tags, "STATUS="); found {
		t := v
		if !utf8.ValidString(v) {
			say(slog.LevelWarn, "Status message in notification message is not UTF-8 clean, ignoring.")
			t = ""
		}
		status, statusChanged = t, t != r.status
		r.status = t
	}
	if v, found := tag(tags, "NOTIFYACCESS="); found {
		switch v {
		case "none", "main", "exec", "all":
			r.access = v
		default:
			// Not a value: the override is gone, as systemd's is.
			say(slog.LevelWarn, "Failed to parse NOTIFYACCESS= field value '%s' in notification message, ignoring: %s", v, ErrnoText(syscall.EINVAL))
			r.access = r.configuredAccess
		}
	}
	if v, found := tag(tags, "ERRNO="); found {
		if e, err := parseErrno(v); err != nil {
			say(slog.LevelWarn, "Failed to parse ERRNO= field value '%s' in notification message: %s", v, ErrnoText(err))
		} else {
			r.statusErrno = e
		}
	}
	if n.mainPID != 0 || n.ready || n.stopping {
		r.notes = append(r.notes, n)
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
	if statusChanged && r.spec.Status != nil {
		r.spec.Status(status)
	}
}

// tag returns the value of the first line of the name.
func tag(tags []string, prefix string) (string, bool) {
	for _, t := range tags {
		if v, ok := strings.CutPrefix(t, prefix); ok {
			return v, true
		}
	}
	return "", false
}

// parseErrno is systemd's parse_errno: 0 to 4095.
func parseErrno(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, syscall.ERANGE
	case err != nil:
		return 0, syscall.EINVAL
	case n < 0 || n > 4095:
		return 0, syscall.ERANGE
	}
	return n, nil
}

// authorized is service_notify_message_authorized: whether NotifyAccess=
// lets the sender be heard. Without credentials, as on systems that do
// not pass them on datagram sockets, the sender counts as the main
// process. r.mu is held; say logs.
func (r *Run) authorized(pid int, say func(slog.Level, string, ...any)) bool {
	if r.access == "none" {
		say(slog.LevelWarn, "Got notification message from PID %d, but reception is disabled.", pid)
		return false
	}
	if !credentialsKnown || r.access == "all" {
		return true
	}
	main, control := r.mainPID, r.controlPID
	if pid == main && main != 0 || r.access == "exec" && pid == control && control != 0 {
		return true
	}
	switch {
	case r.access == "main" && main != 0:
		say(slog.LevelWarn, "Got notification message from PID %d, but reception only permitted for main PID %d", pid, main)
	case r.access == "main":
		say(slog.LevelWarn, "Got notification message from PID %d, but reception only permitted for main PID which is currently not known", pid)
	case main != 0 && control != 0:
		say(slog.LevelWarn, "Got notification message from PID %d, but reception only permitted for main PID %d and control PID %d", pid, main, control)
	case main != 0:
		say(slog.LevelWarn, "Got notification message from PID %d, but reception only permitted for main PID %d", pid, main)
	case control != 0:
		say(slog.LevelWarn, "Got notification message from PID %d, but reception only permitted for control PID %d", pid, control)
	default:
		say(slog.LevelWarn, "Got notification message from PID %d, but reception only permitted for main PID and control PID which are currently not known", pid)
	}
	return false
}

// takeNotes acts on the notes that have come, in their order, as
// service_notify_message: MAINPID= changes the main process, STOPPING=1
// and READY=1 set the notify state (the last one wins). It reports
// whether READY=1 came while a notify service was starting, and then
// leaves the notes after it for the state that follows.
func (r *Run) takeNotes() (ready bool) {
	r.mu.Lock()
	notes := r.notes
	r.notes = nil
	r.mu.Unlock()
	for i, n := range notes {
		if n.mainPID != 0 && (r.main == nil || r.main.pid != n.mainPID || r.main.reaped()) {
			r.setMain(r.adopt(n.mainPID))
		}
		switch {
		case n.stopping:
			r.notifyStopping = true
		case n.ready:
			r.notifyStopping = false
			if n.state == Start && r.state == Start && isNotify(r.spec.Service.Type) {
				r.mu.Lock()
				r.notes = append(notes[i+1:], r.notes...)
				r.mu.Unlock()
				if i+1 < len(notes) {
					select {
					case r.wake <- struct{}{}:
					default:
					}
				}
				return true
			}
		}
	}
	return false
}

// mainPIDState reports whether MAINPID= counts in the state.
func mainPIDState(s State) bool {
	switch s {
	case Start, StartPost, Running, Stop, StopSigterm, StopSigkill, StopPost, FinalSigterm, FinalSigkill:
		return true
	}
	return false
}

// newMainPID reports whether MAINPID= may make the process the main one:
// one not of the service's groups only if root asks. r.mu is held; say
// logs.
func (r *Run) newMainPID(pid int, privileged bool, say func(slog.Level, string, ...any)) bool {
	switch r.suitableMainPID(pid, slog.LevelWarn, say) {
	case -1:
		return false
	case 0:
		if !privileged {
			say(slog.LevelWarn, "New main PID %d does not belong to service, refusing.", pid)
			return false
		}
		say(slog.LevelDebug, "New main PID %d does not belong to service, but we'll accept it as the request to change it came from a privileged process.", pid)
	}
	return true
}
