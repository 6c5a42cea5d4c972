package unit

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultExecSearchPath is where systemd looks for a command named
// without a slash (its DEFAULT_PATH).
var DefaultExecSearchPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// FindExecutable finds a command's executable as systemd's
// find_executable does: a name with a slash is the file itself, a name
// without one is looked for in the directories of search, or
// DefaultExecSearchPath if search is nil; directories that may not be
// read are passed over. The file must be a regular file that may be
// executed. The error is an errno: ENOENT, EACCES, EISDIR, ….
func FindExecutable(name string, search []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name)
	}
	if search == nil {
		search = DefaultExecSearchPath
	}
	last := error(eNOENT)
	for _, dir := range search {
		p := filepath.Join(dir, name)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if err != eACCES {
			last = err
		}
	}
	return "", last
}

// checkExecutable is systemd's check_x_access.
func checkExecutable(p string) error {
	info, err := os.Stat(p)
	if err != nil {
		return fsErrno(err)
	}
	switch {
	case info.IsDir():
		return eISDIR
	case info.Mode()&fs.ModeType != 0:
		return eBADFD
	}
	return accessExec(p, info)
}
