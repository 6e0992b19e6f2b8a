// fs_probe.hpp - what mkfs must know before it overwrites a device (pure
// parts; the system part is mount_check.hpp): which filesystem the device
// already holds, found by its magic number as blkid does, and the mount
// table's lines (/proc/self/mounts).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpagefs/image/blockio.hpp"

namespace mpagefs {

// The filesystem whose signature `dev` carries: "mpagefs", "ext2", "ext3",
// "ext4" (by the journal and ext4-only feature bits, as blkid names them),
// "vfat", "xfs", "btrfs" or "swap"; nullopt when none (a zeroed or new
// device).  Reads at most the first 68 KiB; a device too small for a
// signature's offset does not carry it.
std::optional<std::string> probe_filesystem(const BlockIo& dev);

// One line of /proc/self/mounts (fstab(5)'s fields, octal escapes such as
// \040 for a space decoded).
struct MountEntry {
  std::string source;  // "/dev/vdc", "tmpfs", ...
  std::string target;  // the mount point
  std::string fstype;
};

// The entries of a mount table's text; lines with fewer than three fields
// are skipped.
std::vector<MountEntry> parse_mount_table(std::string_view text);

}  // namespace mpagefs
