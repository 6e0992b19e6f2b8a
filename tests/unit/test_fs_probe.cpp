// What mkfs checks before it overwrites: the filesystem signatures
// (probe_filesystem), the mount table's parser, and find_mount matching a
// mount table by device or inode number (with a table written here, so
// nothing is mounted).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mpagefs/blockio.hpp"
#include "mpagefs/fs_probe.hpp"
#include "mpagefs/le.hpp"
#include "mpagefs/mkfs.hpp"
#include "mpagefs/mount_check.hpp"
#include "test_image_util.hpp"
#include "test_tmpdir.hpp"

using namespace mpagefs;

namespace {

MemoryBlockIo zeros(uint64_t n = 1 << 20) { return MemoryBlockIo(n); }

void put(MemoryBlockIo& dev, size_t off, std::string_view s) {
  std::memcpy(dev.bytes().data() + off, s.data(), s.size());
}

// An ext2 superblock's magic and the given feature words.
void ext(MemoryBlockIo& dev, uint32_t compat, uint32_t incompat, uint32_t ro_compat) {
  std::span<uint8_t> b(dev.bytes());
  put_le16(b, 1024 + 56, 0xEF53);
  put_le32(b, 1024 + 0x5C, compat);
  put_le32(b, 1024 + 0x60, incompat);
  put_le32(b, 1024 + 0x64, ro_compat);
}

TEST(ProbeFilesystem, NothingOnAZeroedDevice) {
  EXPECT_EQ(probe_filesystem(zeros()), std::nullopt);
  EXPECT_EQ(probe_filesystem(zeros(512)), std::nullopt);  // shorter than every offset but FAT's
  EXPECT_EQ(probe_filesystem(zeros(0)), std::nullopt);
}

TEST(ProbeFilesystem, Mpagefs) {
  MemoryBlockIo dev(1 << 20);
  make_filesystem(dev, mpagefs::testing::options(1024));
  EXPECT_EQ(probe_filesystem(dev), "mpagefs");
}

TEST(ProbeFilesystem, Ext2Ext3Ext4AsBlkidNamesThem) {
  struct Case {
    uint32_t compat, incompat, ro_compat;
    const char* name;
  };
  for (const Case& c : {Case{0x38, 0x2, 0x3, "ext2"},          // ext_attr resize_inode dir_index; filetype
                        Case{0x3C, 0x2, 0x3, "ext3"},          // + has_journal
                        Case{0x3C, 0x2 | 0x40, 0x3, "ext4"},   // + extents
                        Case{0x38, 0x2, 0x3 | 0x400, "ext4"}}) {  // metadata_csum without a journal
    MemoryBlockIo dev = zeros();
    ext(dev, c.compat, c.incompat, c.ro_compat);
    EXPECT_EQ(probe_filesystem(dev), c.name) << c.name;
  }
}

TEST(ProbeFilesystem, OtherSignatures) {
  {
    MemoryBlockIo dev = zeros();
    put(dev, 54, "FAT16   ");
    dev.bytes()[510] = 0x55;
    dev.bytes()[511] = 0xAA;
    EXPECT_EQ(probe_filesystem(dev), "vfat");
    dev.bytes()[511] = 0;  // no boot sector signature: no FAT
    EXPECT_EQ(probe_filesystem(dev), std::nullopt);
  }
  {
    MemoryBlockIo dev = zeros();
    put(dev, 82, "FAT32   ");
    dev.bytes()[510] = 0x55;
    dev.bytes()[511] = 0xAA;
    EXPECT_EQ(probe_filesystem(dev), "vfat");
  }
  MemoryBlockIo xfs = zeros();
  put(xfs, 0, "XFSB");
  EXPECT_EQ(probe_filesystem(xfs), "xfs");
  MemoryBlockIo btrfs = zeros();
  put(btrfs, 65536 + 64, "_BHRfS_M");
  EXPECT_EQ(probe_filesystem(btrfs), "btrfs");
  MemoryBlockIo swap = zeros();
  put(swap, 4086, "SWAPSPACE2");
  EXPECT_EQ(probe_filesystem(swap), "swap");
}

TEST(MountTable, ParsesAndUnescapes) {
  const auto m = parse_mount_table(
      "proc /proc proc rw,relatime 0 0\n"
      "/dev/vdc /mnt/with\\040space mpagefs rw,boundary=on 0 0\n"
      "\n"
      "short line\n"
      "/tmp/a\\134b.img\t/mnt/x ext2 ro 0 0");
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[0].source, "proc");
  EXPECT_EQ(m[1].source, "/dev/vdc");
  EXPECT_EQ(m[1].target, "/mnt/with space");
  EXPECT_EQ(m[1].fstype, "mpagefs");
  EXPECT_EQ(m[2].source, "/tmp/a\\b.img");
  EXPECT_EQ(m[2].target, "/mnt/x");
}

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
