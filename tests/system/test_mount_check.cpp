// find_mount (image/sys/mount_check.hpp) matching a mount table by device or
// inode number (with a table written here, so nothing is mounted).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "image/sys/mount_check.hpp"
#include "mpagefs/image/blockio.hpp"
#include "mpagefs/image/fs_probe.hpp"
#include "mpagefs/image/mkfs.hpp"
#include "mpagefs/util/le.hpp"
#include "temp_dir.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;

namespace {
std::string write_table(const mpagefs::testing::TempDir& dir, const std::string& text) {
  const std::string path = dir / "mounts";
  std::ofstream(path) << text;
  return path;
}

TEST(FindMount, RegularFileByInode) {
  mpagefs::testing::TempDir dir;
  const std::string img = dir / "a.img";
  std::ofstream(img) << "x";
  std::ofstream(dir / "b.img") << "x";
  // A hard link is the same file under another name: found by inode.
  ASSERT_EQ(::link(img.c_str(), (dir / "link.img").c_str()), 0);
  const std::string table =
      write_table(dir, "proc /proc proc rw 0 0\n" + dir / "link.img" + " /mnt/a mpagefs rw 0 0\n");
  const auto m = find_mount(img, table);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->target, "/mnt/a");
  EXPECT_EQ(find_mount(dir / "b.img", table), std::nullopt);
  EXPECT_THROW(find_mount(dir / "missing.img", table), IoError);
  EXPECT_THROW(find_mount(img, dir / "no-table"), IoError);
}

TEST(FindMount, BlockDeviceByDeviceNumber) {
  // Any block device of this machine, named through a symlink: only stat()ed.
  std::string dev;
  for (const char* d : {"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1"}) {
    struct stat st {};
    if (::stat(d, &st) == 0 && S_ISBLK(st.st_mode)) {
      dev = d;
      break;
    }
  }
  if (dev.empty()) GTEST_SKIP() << "no block device to stat";
  mpagefs::testing::TempDir dir;
  const std::string alias = dir / "alias";
  std::filesystem::create_symlink(dev, alias);
  const std::string table = write_table(dir, dev + " /mnt/d ext4 rw 0 0\n");
  const auto m = find_mount(alias, table);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->target, "/mnt/d");
  EXPECT_EQ(find_mount(alias, write_table(dir, "/dev/null /mnt/n none rw 0 0\n")), std::nullopt);
}

// The root filesystem as the kernel lists it when mounted from root=:
// "/dev/root", a name without a node; found by its mount point's device.
// Uses a block-device mount of this machine (stat() only), if it has one.
TEST(FindMount, DevRootByTheMountPointsDevice) {
  std::ifstream in("/proc/self/mounts");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const MountEntry& m : parse_mount_table(text)) {
    struct stat src {};
    struct stat mnt {};
    if (::stat(m.source.c_str(), &src) != 0 || !S_ISBLK(src.st_mode) || ::stat(m.target.c_str(), &mnt) != 0 ||
        mnt.st_dev != src.st_rdev)
      continue;
    mpagefs::testing::TempDir dir;
    const std::string table = write_table(dir, "/dev/root " + m.target + " ext4 rw 0 0\n");
    const auto found = find_mount(m.source, table);
    ASSERT_TRUE(found.has_value()) << m.source;
    EXPECT_EQ(found->target, m.target);
    EXPECT_EQ(find_mount(m.source, write_table(dir, "/dev/root /proc proc rw 0 0\n")), std::nullopt);
    return;
  }
  GTEST_SKIP() << "no block device mounted here";
}

}  // namespace
