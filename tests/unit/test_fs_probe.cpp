// What mkfs checks before it overwrites: the filesystem signatures
// (probe_filesystem) and the mount table's parser.  find_mount:
// tests/system/test_mount_check.cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mpagefs/image/blockio.hpp"
#include "mpagefs/image/fs_probe.hpp"
#include "mpagefs/image/mkfs.hpp"
#include "mpagefs/util/le.hpp"
#include "test_image_util.hpp"

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

}  // namespace
