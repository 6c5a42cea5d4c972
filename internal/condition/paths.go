package condition

import (
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func testPathExists(p string, _ []string) (bool, error) { return exists(p), nil }

func testPathIsDirectory(p string, _ []string) (bool, error) {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir(), nil
}

func testPathIsSymbolicLink(p string, _ []string) (bool, error) {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&os.ModeSymlink != 0, nil
}

func testPathIsMountPoint(p string, _ []string) (bool, error) {
	return isMountPoint(p), nil
}

// testPathIsReadWrite is condition_test_path_is_read_write: a path that
// does not exist is not read-write; one that cannot be checked is.
func testPathIsReadWrite(p string, _ []string) (bool, error) {
	ro, err := readOnlyFS(p)
	return !ro && err != syscall.ENOENT, nil
}

func testPathIsEncrypted(p string, _ []string) (bool, error) {
	return isEncrypted(p), nil
}

// hiddenOrBackup is hidden_or_backup_file: the names dir_is_empty skips.
func hiddenOrBackup(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return true
	}
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return false
	}
	switch name[i+1:] {
	case "rpmnew", "rpmsave", "rpmorig", "dpkg-old", "dpkg-new", "dpkg-tmp",
		"dpkg-dist", "dpkg-bak", "dpkg-backup", "dpkg-remove", "ucf-new",
		"ucf-old", "ucf-dist", "swp", "bak", "old", "new":
		return true
	}
	return false
}

// testDirectoryNotEmpty is condition_test_directory_not_empty: entries
// other than hidden and backup files; a directory that cannot be read
// counts as not empty.
func testDirectoryNotEmpty(p string, _ []string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		e := errnoOf(err)
		return e != syscall.ENOENT && e != syscall.ENOTDIR, nil
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(64)
		for _, n := range names {
			if !hiddenOrBackup(n) {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			e := errnoOf(err)
			return e != syscall.ENOENT && e != syscall.ENOTDIR, nil
		}
	}
}

func testFileNotEmpty(p string, _ []string) (bool, error) {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0, nil
}

func testFileIsExecutable(p string, _ []string) (bool, error) {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0, nil
}

// testPathExistsGlob is condition_test_path_exists_glob: glob(3) with
// GLOB_BRACE finds a match.
func testPathExistsGlob(p string, _ []string) (bool, error) {
	for _, pat := range expandBraces(p) {
		if globExists("", strings.Split(pat, "/")) {
			return true, nil
		}
	}
	return false, nil
}

// expandBraces expands the first "{a,b}" of p, and so on: glob's
// GLOB_BRACE. An unbalanced brace is itself.
func expandBraces(p string) []string {
	start := -1
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == '{' {
			start = i
			break
		}
	}
	if start < 0 {
		return []string{p}
	}
	depth, last := 0, start+1
	var alts []string
	for i := start; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case ',':
			if depth == 1 {
				alts = append(alts, p[last:i])
				last = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				alts = append(alts, p[last:i])
				var out []string
				for _, a := range alts {
					out = append(out, expandBraces(p[:start]+a+p[i+1:])...)
				}
				return out
			}
		}
	}
	return []string{p}
}

// hasMagic reports whether a path component has glob characters.
func hasMagic(s string) bool { return strings.ContainsAny(s, "*?[") }

// globExists reports whether the components, from dir, match a path.
// A leading '.' is matched only by a '.' in the pattern, as glob(3) does
// without GLOB_PERIOD.
func globExists(dir string, comps []string) bool {
	for len(comps) > 0 && !hasMagic(comps[0]) {
		if dir == "" && comps[0] == "" {
			dir = "/"
		} else if dir == "/" || dir == "" {
			dir += unescape(comps[0])
		} else if comps[0] != "" {
			dir += "/" + unescape(comps[0])
		}
		comps = comps[1:]
	}
	if len(comps) == 0 {
		_, err := os.Lstat(dir)
		return err == nil
	}
	d := dir
	if d == "" {
		d = "."
	}
	f, err := os.Open(d)
	if err != nil {
		return false
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		if strings.HasPrefix(n, ".") && !strings.HasPrefix(comps[0], ".") {
			continue
		}
		if !match(comps[0], n) {
			continue
		}
		next := n
		if dir == "/" {
			next = "/" + n
		} else if dir != "" {
			next = dir + "/" + n
		}
		if len(comps) == 1 {
			return true
		}
		if fi, err := os.Stat(next); err == nil && fi.IsDir() && globExists(next, comps[1:]) {
			return true
		}
	}
	return false
}

// unescape drops the backslashes that quote a component's characters.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// A stamp is a modification time, as systemd compares them.
type stamp struct{ sec, nsec int64 }

// lstatTimes is the modification time lstat gives.
func lstatTimes(p string) (stamp, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return stamp{}, errnoOf(err)
	}
	t := fi.ModTime()
	return stamp{t.Unix(), int64(t.Nanosecond())}, nil
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// safeAtou64 is safe_atou64, in base 10.
func safeAtou64(s string) (uint64, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, syscall.EINVAL
	}
	return strconv.ParseUint(s, 10, 64)
}
