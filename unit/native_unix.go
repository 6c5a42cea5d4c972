//go:build unix

package unit

import (
	"errors"
	"io/fs"
	"runtime"
	"syscall"
)

// nativeMasked is masked on the real file system: one stat that follows
// the links, as systemd's null_or_empty_path.
func nativeMasked(file string) (bool, error) {
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Stat(file, &st) }); err != nil {
		return false, &fs.PathError{Op: "stat", Path: file, Err: err}
	}
	return st.Mode&syscall.S_IFMT == syscall.S_IFCHR || st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Size == 0, nil
}

// nativeRead is read on the real file system.
func nativeRead(buf *[]byte, file string) ([]byte, int64, error) {
	// Plain system calls: an os.File costs as many again, to find out
	// that a unit file cannot be polled.
	fd, err := openRead(file)
	if err != nil {
		return nil, 0, &fs.PathError{Op: "open", Path: file, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := ignoringEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return nil, 0, &fs.PathError{Op: "stat", Path: file, Err: err}
	}
	regular := st.Mode&syscall.S_IFMT == syscall.S_IFREG
	start := len(*buf)
	b := (*buf)[:cap(*buf)]
	if regular && len(b)-start <= int(st.Size) {
		// Room for all of it and a byte more, read at once.
		b = append(b[:start], make([]byte, int(st.Size)+1)...)
		b = b[:cap(b)]
	}
	n := start
	for {
		if n == len(b) {
			b = append(b, make([]byte, max(4096, len(b)))...)
			b = b[:cap(b)]
		}
		m, err := syscall.Read(fd, b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			*buf = b[:start]
			return nil, 0, &fs.PathError{Op: "read", Path: file, Err: err}
		}
		n += m
		// A short read of a regular file is its end.
		if m == 0 || regular && n < len(b) {
			*buf = b[:n]
			return b[start:n], modTime(&st), nil
		}
	}
}

// openRead opens a file for reading, retrying when interrupted.
func openRead(file string) (fd int, err error) {
	err = ignoringEINTR(func() error {
		fd, err = syscall.Open(file, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		return err
	})
	return fd, err
}

// ignoringEINTR calls f again while it is interrupted.
func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

// sysErrno is the system's error number err carries, as an error that
// tells strerror's text, and as the errno of errnoTexts it is, if any.
func sysErrno(err error) (error, errno, bool) {
	e, ok := errors.AsType[syscall.Errno](err)
	return e, tableErrno(e, runtime.GOOS), ok
}

// hostErrnos are the errnos of errnoTexts found on every Unix, by the
// host's own constants: errnoTexts is by Linux's numbers, and darwin's
// and FreeBSD's differ (darwin's 65, EHOSTUNREACH, is Linux's ENOPKG).
var hostErrnos = map[syscall.Errno]errno{
	syscall.EPERM: ePERM, syscall.ENOENT: eNOENT, syscall.ESRCH: eSRCH, syscall.ENXIO: eNXIO,
	syscall.ENOEXEC: eNOEXEC, syscall.ENOMEM: eNOMEM, syscall.EACCES: eACCES, syscall.EEXIST: eEXIST,
	syscall.ENOTDIR: eNOTDIR, syscall.EISDIR: eISDIR, syscall.EINVAL: eINVAL, syscall.ERANGE: eRANGE,
	syscall.ENAMETOOLONG: eNAMETOOLONG, syscall.ENOSYS: eNOSYS, syscall.ELOOP: eLOOP,
	syscall.EBADMSG: eBADMSG, syscall.ENOBUFS: eNOBUFS,
}

// tableErrno is the errno of errnoTexts that a host's error number
// stands for on goos, or 0.
func tableErrno(e syscall.Errno, goos string) errno {
	switch goos {
	case "linux", "android":
		// The table's own numbers, those only Linux has too.
		if _, ok := errnoTexts[errno(e)]; ok {
			return errno(e)
		}
		return 0
	}
	return hostErrnos[e]
}

// accessExec is systemd's access(p, X_OK).
func accessExec(p string, _ fs.FileInfo) error {
	return fsErrno(syscall.Access(p, 1))
}
