// mount_check.hpp - is a device or image mounted?  mkfs asks before it
// writes (the pure table parser is in image/fs_probe.hpp).
#pragma once

#include <optional>
#include <string>

#include "mpagefs/image/fs_probe.hpp"

namespace mpagefs {

// The mount of `path` in the mount table `table` (default: this process's,
// /proc/self/mounts), matched by device number as mke2fs does, not by name:
// a block device matches an entry whose source is the same device (st_rdev,
// whatever link names it; "/dev/root" by the device of its mount point,
// as mke2fs does); a regular file matches an entry whose source is
// that file (st_dev and st_ino) or a loop device backed by it
// (/sys/dev/block/M:m/loop/backing_file).  nullopt when not mounted.
// Throws IoError when `path` or the table cannot be read.
std::optional<MountEntry> find_mount(const std::string& path,
                                     const std::string& table = "/proc/self/mounts");

}  // namespace mpagefs
