package service

import (
	"hash/fnv"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"sundial.dev/sundial/unit"
)

// The user IDs of DynamicUser=, as DYNAMIC_UID_MIN and DYNAMIC_UID_MAX.
const (
	dynamicUIDMin = 61184
	dynamicUIDMax = 65519
)

// A dynamicUser is a user ID held for the services of one DynamicUser=
// name, as dynamic-user.c's DynamicUser: a file named by the ID in the
// manager's directory of them holds the name, and each service running
// as it holds a shared lock on the file, so that the ID is given to
// no other name meanwhile, by this manager or another using the same
// directory. Where no name service knows the dynamic users, the name
// resolves to nothing outside the service's environment ($USER).
type dynamicUser struct {
	UID  uint32
	file *os.File
}

// dynamicUsersMu orders the manager's own allocations, which file locks
// do not tell apart within one process.
var dynamicUsersMu sync.Mutex

// acquireDynamicUser returns the user ID for name, as
// dynamic_user_realize: the one a running service of the same name
// holds, or a free one of the range, neither a user's nor a group's
// known to the system, trying first one the name hashes to (systemd
// hashes with siphash24; here FNV-1a), then the others in turn.
func acquireDynamicUser(dir, name string) (*dynamicUser, error) {
	dynamicUsersMu.Lock()
	defer dynamicUsersMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	const n = dynamicUIDMax - dynamicUIDMin + 1
	first := h.Sum32() % n
	for i := uint32(0); i < n; i++ {
		uid := dynamicUIDMin + (first+i)%n
		d, err := claimUID(dir, uid, name)
		if err != nil || d != nil {
			return d, err
		}
	}
	return nil, syscall.EBUSY
}

// claimUID takes uid for name if it is free or name's already, or
// returns nil.
func claimUID(dir string, uid uint32, name string) (*dynamicUser, error) {
	id := strconv.FormatUint(uint64(uid), 10)
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		// Held: by services of the same name, it is theirs to share.
		b, _ := os.ReadFile(f.Name())
		if string(b) == name && syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB) == nil {
			return &dynamicUser{UID: uid, file: f}, nil
		}
		f.Close()
		return nil, nil
	}
	// Free here; a user or group of the system's keeps it.
	if _, err := user.LookupId(id); err == nil {
		f.Close()
		return nil, nil
	}
	if _, err := user.LookupGroupId(id); err == nil {
		f.Close()
		return nil, nil
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteAt([]byte(name), 0); err != nil {
		f.Close()
		return nil, err
	}
	if err := syscall.Flock(fd, syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return &dynamicUser{UID: uid, file: f}, nil
}

// release gives the ID up, as dynamic_user_unref: once no service holds
// it, its file goes.
func (d *dynamicUser) release() {
	dynamicUsersMu.Lock()
	defer dynamicUsersMu.Unlock()
	if syscall.Flock(int(d.file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		os.Remove(d.file.Name())
	}
	d.file.Close()
}

// privateKind reports whether the directories of a type are made
// private for DynamicUser=: those of State, Cache and Logs, which
// outlive the service, as setup_exec_directory has it.
func privateKind(t int) bool { return t >= 1 && t <= 3 }

// privateRoots are the base/private directories of the service's
// private directories, over which its mount namespace puts an empty
// tmpfs, with only its own bound in, as compile_bind_mounts: the
// directory itself is root's alone, so that no other dynamic user,
// which may once have had the same ID, reaches another's.
func privateRoots(s *unit.ServiceSection, bases ExecBases) []string {
	var out []string
	for _, d := range execDirsOf(s, bases) {
		if d.Private {
			out = append(out, filepath.Join(d.Base, "private"))
		}
	}
	return out
}

// privateDir makes base/private, mode 0700, and returns the directory
// for the service's name below it; one of the name made before as an
// ordinary directory, by a service without DynamicUser=, is moved
// there, as setup_exec_directory does.
func privateDir(base, name string) (string, error) {
	root := filepath.Join(base, "private")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	if err := os.Mkdir(root, 0o700); err != nil && !os.IsExist(err) {
		return "", err
	}
	if err := os.Chmod(root, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(root, name)
	old := filepath.Join(base, name)
	if st, err := os.Lstat(old); err == nil && st.IsDir() {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", err
			}
			if err := os.Rename(old, p); err != nil {
				return "", err
			}
		}
	}
	return p, nil
}

// linkPrivate makes base/name a relative symbolic link to
// private/name, as symlink_idempotent, replacing one that differs.
func linkPrivate(base, name string) error {
	link := filepath.Join(base, name)
	target, err := filepath.Rel(filepath.Dir(link), filepath.Join(base, "private", name))
	if err != nil {
		return err
	}
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	os.Remove(link)
	return os.Symlink(target, link)
}
