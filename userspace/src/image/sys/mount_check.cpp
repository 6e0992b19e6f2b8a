// mount_check.cpp - find_mount: is a device or image file mounted?  The
// mount table's sources compared by device number (or inode), as mke2fs's
// check_mntent_file does, plus loop devices' backing files.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "image/sys/mount_check.hpp"
#include "mpagefs/image/blockio.hpp"
#include "util/sys/files.hpp"

namespace mpagefs {

namespace {

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// The file a loop device reads, from sysfs; nullopt for other devices.
std::optional<struct stat> loop_backing_file(dev_t rdev) {
  std::ifstream in("/sys/dev/block/" + std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev)) +
                   "/loop/backing_file");
  std::string file;
  if (!in || !std::getline(in, file) || file.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return st;
}

}  // namespace

std::optional<MountEntry> find_mount(const std::string& path, const std::string& table) {
  struct stat want {};
  if (::stat(path.c_str(), &want) != 0) throw IoError("stat " + path + ": " + std::strerror(errno));
  const bool blockdev = S_ISBLK(want.st_mode);
  for (const MountEntry& m : parse_mount_table(read_file<IoError>(table))) {
    // The kernel names the root filesystem mounted from root= "/dev/root",
    // a node that rarely exists: its device is that of the mount point, as
    // mke2fs's check_mntent_file also asks.
    struct stat mnt {};
    if (blockdev && m.source == "/dev/root" && ::stat(m.target.c_str(), &mnt) == 0 && mnt.st_dev == want.st_rdev)
      return m;
    // Other sources that are no file ("tmpfs", "proc", a missing device)
    // cannot be ours.
    struct stat src {};
    if (m.source.empty() || m.source.front() != '/' || ::stat(m.source.c_str(), &src) != 0) continue;
    if (blockdev) {
      if (S_ISBLK(src.st_mode) && src.st_rdev == want.st_rdev) return m;
      continue;
    }
    if (S_ISREG(src.st_mode) && same_file(src, want)) return m;
    if (S_ISBLK(src.st_mode)) {
      const auto backing = loop_backing_file(src.st_rdev);
      if (backing && same_file(*backing, want)) return m;
    }
  }
  return std::nullopt;
}

}  // namespace mpagefs
