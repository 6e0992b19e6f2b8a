// Corrupt images give FormatError naming the problem: never a crash, never
// a hang (looping indirect chains, pointers out of range, bad records).
#include <gtest/gtest.h>

#include <chrono>

#include "mpagefs/image/image.hpp"
#include "mpagefs/util/le.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

struct Fixture {
  MemoryBlockIo dev{4 << 20};
  uint32_t bs = 1024;
  Fixture() {
    const SourceNode root = SourceNode::dir(
        "", {SourceNode::file("f300", pattern(300 * 1024, 1)), SourceNode::file("f17", pattern(17 * 1024, 2))});
    make_filesystem(dev, options(1024), &root);
  }
  void put(uint64_t block, uint32_t index, uint32_t value) {
    put_le32(std::span<uint8_t>(dev.bytes()).subspan(block * bs), index * 4, value);
  }
  std::string error(const std::function<void(const MpagefsImage&)>& f) {
    try {
      const MpagefsImage img(dev);
      f(img);
    } catch (const FormatError& e) {
      return e.what();
    }
    return "";
  }
};

TEST(Corrupt, DindPointingToItselfIsALoop) {
  Fixture fx;
  const MpagefsImage img(fx.dev);
  const uint32_t ino = img.resolve("/f300");
  const uint64_t dind = img.map_file(ino).indirect.at(1).physical;
  fx.put(dind, 1, static_cast<uint32_t>(dind));
  const std::string err = fx.error([ino](const MpagefsImage& i) { i.map_file(ino); });
  EXPECT_NE(err.find("referenced twice"), std::string::npos) << err;
  EXPECT_NE(err.find("inode " + std::to_string(ino)), std::string::npos) << err;
}

TEST(Corrupt, TindFullOfItselfFailsFast) {
  // Every entry of a TIND block points back to it: without loop detection
  // this is 256^3 block reads.
  Fixture fx;
  const MpagefsImage img(fx.dev);
  const uint32_t ino = img.resolve("/f17");
  const uint64_t spare = img.super().blocks_count - 1;
  auto raw = encode_inode(img.raw_inode(ino));
  put_le32(raw, offsetof(struct mpagefs_inode, i_block) + 4 * MPAGEFS_TIND_BLOCK,
           static_cast<uint32_t>(spare));
  fx.dev.write(uint64_t{img.super().inode_table} * 1024 + (ino - 1) * kInodeSize, raw);
  for (uint32_t i = 0; i < 256; ++i) fx.put(spare, i, static_cast<uint32_t>(spare));
  const auto start = std::chrono::steady_clock::now();
  const std::string err = fx.error([ino](const MpagefsImage& i) { i.read_file(ino); });
  EXPECT_NE(err.find("loop"), std::string::npos) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Corrupt, IndirectEntryOutOfRange) {
  Fixture fx;
  const MpagefsImage img(fx.dev);
  const uint32_t ino = img.resolve("/f17");
  const uint64_t ind = img.map_file(ino).indirect.at(0).physical;
  fx.put(ind, 3, 0xFFFFFF00U);
  std::string err = fx.error([ino](const MpagefsImage& i) { i.map_file(ino); });
  EXPECT_NE(err.find("IND block " + std::to_string(ind) + " entry 3"), std::string::npos) << err;
  EXPECT_NE(err.find("outside the data area"), std::string::npos) << err;
  fx.put(ind, 3, 2);  // the inode bitmap
  err = fx.error([ino](const MpagefsImage& i) { i.read_file(ino); });
  EXPECT_NE(err.find("outside the data area"), std::string::npos) << err;
}

TEST(Corrupt, CrossLinkedBlockInOwnerMap) {
  Fixture fx;
  const MpagefsImage img(fx.dev);
  const FileMap a = img.map_file(img.resolve("/f300"));
  const uint64_t ind17 = img.map_file(img.resolve("/f17")).indirect.at(0).physical;
  fx.put(ind17, 0, static_cast<uint32_t>(a.runs[0].physical));  // f17's block 12 = f300's block 0
  const std::string err = fx.error([](const MpagefsImage& i) { i.owner_map(); });
  EXPECT_NE(err.find("claimed twice"), std::string::npos) << err;
}

TEST(Corrupt, DirectoryRecord) {
  Fixture fx;
  const uint64_t root_block = MpagefsImage(fx.dev).super().first_data_block;
  put_le16(std::span<uint8_t>(fx.dev.bytes()).subspan(root_block * 1024), 12 + 4, 6);  // ".." rec_len
  std::string err = fx.error([](const MpagefsImage& i) { i.resolve("/f17"); });
  EXPECT_NE(err.find("directory inode 1"), std::string::npos) << err;
  EXPECT_NE(err.find("rec_len 6"), std::string::npos) << err;
}

TEST(Corrupt, DirectoryEntryToFreeInode) {
  Fixture fx;
  const MpagefsImage img(fx.dev);
  const uint32_t ino = img.resolve("/f17");
  std::vector<uint8_t> zero(kInodeSize, 0);
  fx.dev.write(uint64_t{img.super().inode_table} * 1024 + (ino - 1) * kInodeSize, zero);
  const std::string err = fx.error([](const MpagefsImage& i) { i.owner_map(); });
  EXPECT_NE(err.find("i_mode"), std::string::npos) << err;
}

TEST(Corrupt, Superblock) {
  Fixture fx;
  fx.dev.bytes()[offsetof(struct mpagefs_super_block, s_inodes_count)] ^= 4;
  EXPECT_NE(fx.error([](const MpagefsImage&) {}).find("s_checksum"), std::string::npos);
  MemoryBlockIo tiny(100);
  EXPECT_THROW(open_image(tiny), FormatError);
  MemoryBlockIo zeros(1 << 20);
  EXPECT_THROW(open_image(zeros), FormatError);
}

TEST(Corrupt, TruncatedImage) {
  Fixture fx;
  // The superblock says 4096 blocks; the device now holds fewer.
  std::vector<uint8_t> head(fx.dev.bytes().begin(), fx.dev.bytes().begin() + (1 << 20));
  MemoryBlockIo cut(std::move(head));
  EXPECT_THROW(open_image(cut), FormatError);
}

TEST(Corrupt, InodeNumberOutOfRange) {
  Fixture fx;
  const MpagefsImage img(fx.dev);
  EXPECT_THROW(img.inode(0), FormatError);
  EXPECT_THROW(img.inode(img.inodes_count() + 1), FormatError);
  EXPECT_THROW(img.list_dir(img.resolve("/f17")), FormatError);  // not a directory
}

}  // namespace
