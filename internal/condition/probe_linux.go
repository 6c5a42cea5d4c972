package condition

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// readOnlyFS is path_is_read_only_fs: the file system is mounted
// read-only, or writing is refused with EROFS.
func readOnlyFS(p string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false, errnoOf(err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return true, nil
	}
	return unix.Access(p, unix.W_OK) == unix.EROFS, nil
}

// cpusInAffinity is cpus_in_affinity_mask.
func cpusInAffinity() (int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, errnoOf(err)
	}
	return set.Count(), nil
}

// physicalMemory is physical_memory: the machine's memory, or the limit
// of the cgroup systemd's root is in, if lower.
func physicalMemory() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	page := uint64(os.Getpagesize())
	mem := uint64(si.Totalram) * uint64(si.Unit) / page * page
	root := cgroupRoot()
	var limit string
	if unified, err := cgroupUnified(); err == nil && unified {
		limit, _ = readLine("/sys/fs/cgroup" + root + "/memory.max")
	} else if err == nil {
		limit, _ = readLine("/sys/fs/cgroup/memory" + root + "/memory.limit_in_bytes")
	}
	if n, err := safeAtou64(limit); err == nil && n/page*page < mem {
		return n / page * page
	}
	return mem
}

// isMountPoint is path_is_mount_point with AT_SYMLINK_FOLLOW: the kernel
// says whether the path is the root of a mount; where it cannot, the
// device differs from the parent's.
func isMountPoint(p string) bool {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_INO, &stx); err != nil {
		return false
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	}
	var parent unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, filepath.Join(p, ".."), 0, unix.STATX_INO, &parent); err != nil {
		return false
	}
	return stx.Dev_major != parent.Dev_major || stx.Dev_minor != parent.Dev_minor ||
		stx.Ino == parent.Ino
}

// isEncrypted is path_is_encrypted: the block device under the path is a
// dm-crypt device, or sits on one.
func isEncrypted(p string) bool {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return false
	}
	if unix.Major(st.Dev) == 0 {
		return false
	}
	return blockdevEncrypted("/sys/dev/block/"+devName(st.Dev), 20)
}

func devName(dev uint64) string {
	return itoa(uint64(unix.Major(dev))) + ":" + itoa(uint64(unix.Minor(dev)))
}

// blockdevEncrypted is blockdev_is_encrypted.
func blockdevEncrypted(sysfs string, depth int) bool {
	if depth <= 0 {
		return false
	}
	if uuid, err := readLine(sysfs + "/dm/uuid"); err == nil && strings.HasPrefix(uuid, "CRYPT-") {
		return true
	}
	slaves, err := os.ReadDir(sysfs + "/slaves")
	if err != nil {
		return false
	}
	for _, s := range slaves {
		dev, err := readLine(sysfs + "/slaves/" + s.Name() + "/dev")
		if err != nil {
			continue
		}
		if blockdevEncrypted("/sys/dev/block/"+dev, depth-1) {
			return true
		}
	}
	return false
}

// useAudit is use_audit: the kernel has an audit socket for us.
func useAudit() bool {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return err != unix.EAFNOSUPPORT && err != unix.EPROTONOSUPPORT && err != unix.EPERM
	}
	unix.Close(fd)
	return true
}

// cgroupUnified is cg_all_unified: /sys/fs/cgroup is cgroup2.
func cgroupUnified() (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup/", &st); err != nil {
		return false, errnoOf(err)
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return true, nil
	case unix.TMPFS_MAGIC:
		return false, nil
	}
	return false, syscall.ENOMEDIUM
}

// The errors of the probes that not every system has.
var (
	errNoData   error = unix.ENODATA
	errNoMedium error = unix.ENOMEDIUM
)
