// The ext2 reader on images made by mkfs.ext2 and debugfs (e2fsprogs): the
// layouts the read-path comparison relies on, file contents, owner map.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "image/sys/file_blockio.hpp"
#include "mpagefs/image/ext2.hpp"
#include "mpagefs/image/image.hpp"
#include "temp_dir.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

bool have_e2fsprogs() {
  return std::system("command -v mkfs.ext2 >/dev/null 2>&1 && command -v debugfs >/dev/null 2>&1") == 0;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// mkfs.ext2 an image of `size_k` KiB and write the files into its root.
void make_ext2(const TempDir& t, uint32_t bs, uint32_t size_k,
               const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string img = t / "ext2.img";
  std::string cmd = "mkfs.ext2 -q -F -b " + std::to_string(bs) + " " + img + " " +
                    std::to_string(size_k) + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const auto& [name, content] : files) {
    write_file(t / ("src-" + name), content);
    cmd = "debugfs -w -R \"write " + (t / ("src-" + name)) + " " + name + "\" " + img +
          " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

TEST(Ext2Reader, SeventeenBlocksAtOneK) {
  if (!have_e2fsprogs()) GTEST_SKIP() << "e2fsprogs not installed";
  TempDir t;
  const std::string f17 = pattern(17 * 1024, 1);
  const std::string f300 = pattern(300 * 1024 - 10, 2);
  ASSERT_NO_FATAL_FAILURE(make_ext2(t, 1024, 4096, {{"f17", f17}, {"f300", f300}}));
  FileBlockIo dev(t / "ext2.img", FileBlockIo::Mode::ReadOnly);
  const auto img = open_image(dev);
  ASSERT_EQ(img->type(), "ext2");
  EXPECT_EQ(img->block_size(), 1024U);

  const uint32_t ino = img->resolve("/f17");
  const FileMap m = img->map_file(ino);
  const uint64_t d = m.runs.at(0).physical;
  EXPECT_EQ(m.runs, (std::vector<DataRun>{{0, d, 12}, {12, d + 13, 5}}));
  EXPECT_EQ(m.indirect, (std::vector<IndirectBlock>{{d + 12, 1, 12}}));
  EXPECT_EQ(as_string(img->read_file(ino)), f17);

  const uint32_t ino300 = img->resolve("/f300");
  const FileMap m3 = img->map_file(ino300);
  const uint64_t d3 = m3.runs.at(0).physical;
  EXPECT_EQ(m3.runs, (std::vector<DataRun>{{0, d3, 12}, {12, d3 + 13, 256}, {268, d3 + 271, 32}}));
  EXPECT_EQ(m3.indirect, (std::vector<IndirectBlock>{
                             {d3 + 12, 1, 12}, {d3 + 269, 2, 268}, {d3 + 270, 1, 268}}));
  EXPECT_EQ(as_string(img->read_file(ino300)), f300);

  const BlockOwnerMap om = build_owner_map(dev);
  EXPECT_EQ(om.lookup(1)->kind, BlockKind::Super);  // 1 KiB blocks: superblock in block 1
  EXPECT_EQ(om.lookup(2)->kind, BlockKind::GroupDesc);
  EXPECT_EQ(om.lookup(d + 12), (BlockOwner{BlockKind::Ind, ino, 12, "/f17"}));
  EXPECT_EQ(om.lookup(d + 13), (BlockOwner{BlockKind::Data, ino, 12, "/f17"}));
  EXPECT_EQ(om.lookup(d3 + 269), (BlockOwner{BlockKind::Dind, ino300, 268, "/f300"}));
  const auto* e2 = dynamic_cast<const Ext2Image*>(img.get());
  ASSERT_NE(e2, nullptr);
  EXPECT_EQ(om.lookup(e2->groups()[0].inode_table)->kind, BlockKind::InodeTable);
  EXPECT_EQ(om.lookup(e2->groups()[0].block_bitmap)->kind, BlockKind::BlockBitmap);
  const uint32_t root_block = static_cast<uint32_t>(img->map_file(2).runs.at(0).physical);
  EXPECT_EQ(om.lookup(root_block), (BlockOwner{BlockKind::Dir, 2, 0, "/"}));

  // Every block ext2 counts as used is owned, except the resize inode's
  // reserved GDT area that only its DIND points into (counted as
  // GroupDesc) - so the owned count equals the used count exactly.
  uint64_t owned = 0;
  for (const auto& [first, run] : om.runs()) owned += run.count;
  EXPECT_EQ(owned, img->blocks_count() - e2->super().free_blocks_count - e2->super().first_data_block);

  std::vector<std::string> names;
  for (const DirEntryInfo& de : img->list_dir(2)) names.push_back(de.name);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "lost+found", "f17", "f300"}));
}

TEST(Ext2Reader, FourKWithDind) {
  if (!have_e2fsprogs()) GTEST_SKIP() << "e2fsprogs not installed";
  TempDir t;
  const std::string big = pattern((12 + 1024 + 20) * 4096 + 123, 3);
  ASSERT_NO_FATAL_FAILURE(make_ext2(t, 4096, 16384, {{"big", big}}));
  FileBlockIo dev(t / "ext2.img", FileBlockIo::Mode::ReadOnly);
  const auto img = open_image(dev);
  EXPECT_EQ(img->block_size(), 4096U);
  const uint32_t ino = img->resolve("big");
  const FileMap m = img->map_file(ino);
  ASSERT_EQ(m.indirect.size(), 3U);
  EXPECT_EQ(m.indirect[1].level, 2);
  EXPECT_EQ(m.indirect[1].first_logical, 12U + 1024);
  EXPECT_EQ(as_string(img->read_file(ino)), big);
  const BlockOwnerMap om = build_owner_map(dev);
  EXPECT_EQ(om.lookup(0)->kind, BlockKind::Super);  // superblock at byte 1024 of block 0
  EXPECT_EQ(om.lookup(m.indirect[2].physical)->kind, BlockKind::Ind);
}

TEST(Ext2Reader, RejectsBadSuperblock) {
  std::vector<uint8_t> raw(1024, 0);
  raw[56] = 0x53;
  raw[57] = 0xEF;
  EXPECT_THROW(decode_ext2_super(raw, 1 << 20), FormatError);  // zero counts
  MemoryBlockIo dev(1 << 20);
  dev.write(1024, raw);
  EXPECT_THROW(open_image(dev), FormatError);
}

}  // namespace
