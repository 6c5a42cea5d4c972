//go:build !unix

package unit

import (
	"io/fs"
	"os"
	"runtime"
)

// nativeMasked is masked on the real file system: a stat that follows
// the links, as systemd's null_or_empty_path.
func nativeMasked(file string) (bool, error) {
	info, err := os.Stat(file)
	if err != nil {
		return false, err
	}
	return isMask(file, info), nil
}

// nativeRead is read on the real file system, through os where there
// are no Unix system calls to read it with.
func nativeRead(buf *[]byte, file string) ([]byte, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return readFrom(buf, f)
}

// sysErrno is false: only Unix's error numbers are systemd's, and an
// error of another system is known by what it is (fs.ErrNotExist, …).
func sysErrno(error) (error, errno, bool) { return nil, 0, false }

// accessExec reads the file's execute bits, with no access(2) to ask,
// where there are any: Windows and WebAssembly's hosts have none (a
// file's mode never has them), and any regular file may be run.
func accessExec(_ string, info fs.FileInfo) error {
	if runtime.GOOS == "plan9" && info.Mode().Perm()&0o111 == 0 {
		return eACCES
	}
	return nil
}
