// mkfs --populate allocation: the ext2 shapes the read-path tests rely on
// (data 0-11, IND, data 12-16; ...DIND, IND, data 268-299), sparse files,
// the fragmented layout, and the owner map over the whole image.
#include <gtest/gtest.h>

#include <algorithm>

#include "mpagefs/image/image.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

TEST(Layout, SeventeenBlocksAtOneK) {
  MemoryBlockIo dev(4 << 20);
  const SourceNode root = SourceNode::dir("", {SourceNode::file("f17", pattern(17 * 1024, 1))});
  make_filesystem(dev, options(1024), &root);
  MpagefsImage img(dev);
  const FileMap m = img.map_file(img.resolve("/f17"));
  ASSERT_FALSE(m.runs.empty());
  const uint64_t d = m.runs[0].physical;
  EXPECT_EQ(m.runs, (std::vector<DataRun>{{0, d, 12}, {12, d + 13, 5}}));
  EXPECT_EQ(m.indirect, (std::vector<IndirectBlock>{{d + 12, 1, 12}}));
  EXPECT_TRUE(m.holes().empty());
  EXPECT_EQ(img.inode(img.resolve("/f17")).fs_blocks, 18U);
}

TEST(Layout, ThreeHundredBlocksAtOneK) {
  MemoryBlockIo dev(4 << 20);
  const SourceNode root = SourceNode::dir("", {SourceNode::file("f300", pattern(300 * 1024, 2))});
  make_filesystem(dev, options(1024), &root);
  MpagefsImage img(dev);
  const FileMap m = img.map_file(img.resolve("/f300"));
  ASSERT_FALSE(m.runs.empty());
  const uint64_t d = m.runs[0].physical;
  // As /work/shared/reference/ext2-traces.md: data 0-11, IND, data 12-267,
  // DIND, IND, data 268-299.
  EXPECT_EQ(m.runs, (std::vector<DataRun>{{0, d, 12}, {12, d + 13, 256}, {268, d + 271, 32}}));
  EXPECT_EQ(m.indirect, (std::vector<IndirectBlock>{
                            {d + 12, 1, 12}, {d + 269, 2, 268}, {d + 270, 1, 268}}));
  EXPECT_EQ(img.inode(img.resolve("/f300")).fs_blocks, 303U);
}

TEST(Layout, FilesFollowEachOtherInNameOrder) {
  MemoryBlockIo dev(4 << 20);
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::file("b", pattern(2048, 3)), SourceNode::file("a", pattern(3072, 4))});
  make_filesystem(dev, options(1024), &root);
  MpagefsImage img(dev);
  const FileMap a = img.map_file(img.resolve("/a"));
  const FileMap b = img.map_file(img.resolve("/b"));
  ASSERT_EQ(a.runs.size(), 1U);
  ASSERT_EQ(b.runs.size(), 1U);
  EXPECT_EQ(b.runs[0].physical, a.runs[0].physical + 3);
  // The root directory's first block comes right before them.
  const FileMap r = img.map_file(MPAGEFS_ROOT_INO);
  EXPECT_EQ(r.runs, (std::vector<DataRun>{{0, img.super().first_data_block, 1}}));
  EXPECT_EQ(a.runs[0].physical, img.super().first_data_block + 1U);
}

TEST(Layout, SparseFileHasNoBlocksForHoles) {
  MemoryBlockIo dev(4 << 20);
  const uint64_t bs = 1024;
  // Data in blocks 20-21 (partly) and 300; the rest holes; 400 blocks long.
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::sparse_file("s", 400 * bs,
                                   {{20 * bs + 100, pattern(1500, 5)}, {300 * bs, "tail"}}),
           SourceNode::sparse_file("empty", 1 << 20, {})});
  make_filesystem(dev, options(1024), &root);
  MpagefsImage img(dev);
  const uint32_t ino = img.resolve("/s");
  const FileMap m = img.map_file(ino);
  const uint64_t d = m.runs.at(0).physical;
  // IND before block 20, DIND and IND before block 300, nothing else.
  EXPECT_EQ(m.runs, (std::vector<DataRun>{{20, d, 2}, {300, d + 4, 1}}));
  EXPECT_EQ(m.indirect, (std::vector<IndirectBlock>{{d - 1, 1, 12}, {d + 2, 2, 268},
                                                     {d + 3, 1, 268}}));
  EXPECT_EQ(m.holes(), (std::vector<Hole>{{0, 20}, {22, 278}, {301, 99}}));
  EXPECT_EQ(img.inode(ino).fs_blocks, 6U);
  std::string expect(400 * bs, '\0');
  expect.replace(20 * bs + 100, 1500, pattern(1500, 5));
  expect.replace(300 * bs, 4, "tail");
  EXPECT_EQ(as_string(img.read_file(ino)), expect);

  const uint32_t empty = img.resolve("/empty");
  const FileMap e = img.map_file(empty);
  EXPECT_TRUE(e.runs.empty());
  EXPECT_TRUE(e.indirect.empty());
  EXPECT_EQ(img.inode(empty).fs_blocks, 0U);
  EXPECT_EQ(as_string(img.read_file(empty)), std::string(1 << 20, '\0'));
}

void expect_fragmented(uint32_t bs, uint32_t run) {
  MemoryBlockIo dev(8 << 20);
  const uint64_t nblocks = 300;
  const std::string content = pattern(nblocks * bs - 7, 6);
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::file("frag", content), SourceNode::file("next", pattern(5000, 7))});
  make_filesystem(dev, options(bs, Layout::Fragmented, run), &root);
  MpagefsImage img(dev);
  const uint32_t ino = img.resolve("/frag");
  const FileMap m = img.map_file(ino);
  std::vector<uint64_t> phys(nblocks, 0);
  for (const DataRun& r : m.runs)
    for (uint64_t i = 0; i < r.count; ++i) phys.at(r.logical + i) = r.physical + i;
  for (uint64_t l = 0; l + 1 < nblocks; ++l) {
    ASSERT_NE(phys[l], 0U);
    const bool same_run = (l + 1) % run != 0;
    if (same_run) {
      // Adjacent, unless indirect blocks were placed in between (ext2 style).
      ASSERT_GT(phys[l + 1], phys[l]);
      for (uint64_t b = phys[l] + 1; b < phys[l + 1]; ++b)
        EXPECT_TRUE(std::any_of(m.indirect.begin(), m.indirect.end(),
                                [b](const IndirectBlock& ib) { return ib.physical == b; }))
            << "gap inside a run at logical " << l;
    } else {
      EXPECT_GT(phys[l + 1], phys[l] + 1) << "logical " << l << " and the next are adjacent";
    }
  }
  EXPECT_EQ(as_string(img.read_file(ino)), content);
  EXPECT_EQ(as_string(img.read_file(img.resolve("/next"))), pattern(5000, 7));
  EXPECT_NO_THROW(img.owner_map());
}

TEST(Layout, FragmentedRunsOfOne) { expect_fragmented(1024, 1); }
TEST(Layout, FragmentedRunsOfThree) { expect_fragmented(1024, 3); }
TEST(Layout, FragmentedFourK) { expect_fragmented(4096, 1); }

TEST(OwnerMap, ClassifiesEveryUsedBlock) {
  MemoryBlockIo dev(4 << 20);
  std::vector<SourceNode> many;
  for (int i = 0; i < 60; ++i)
    many.push_back(SourceNode::file("file-with-a-long-name-" + std::to_string(i), "x"));
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::file("f300", pattern(300 * 1024, 2)), SourceNode::dir("d", std::move(many)),
           SourceNode::symlink("slow", std::string(100, 'y'))});
  make_filesystem(dev, options(1024), &root);
  MpagefsImage img(dev);
  const BlockOwnerMap om = img.owner_map();
  const SuperBlock& sb = img.super();

  EXPECT_EQ(om.lookup(0)->kind, BlockKind::Super);
  EXPECT_EQ(om.lookup(sb.block_bitmap)->kind, BlockKind::BlockBitmap);
  EXPECT_EQ(om.lookup(sb.inode_bitmap)->kind, BlockKind::InodeBitmap);
  EXPECT_EQ(om.lookup(sb.inode_table + 5)->kind, BlockKind::InodeTable);
  EXPECT_EQ(om.lookup(sb.inode_table + 5)->logical, 5U);

  const uint32_t f = img.resolve("/f300");
  const FileMap m = img.map_file(f);
  const uint64_t d = m.runs[0].physical;
  EXPECT_EQ(om.lookup(d + 3), (BlockOwner{BlockKind::Data, f, 3, "/f300"}));
  EXPECT_EQ(om.lookup(d + 12), (BlockOwner{BlockKind::Ind, f, 12, "/f300"}));
  EXPECT_EQ(om.lookup(d + 13), (BlockOwner{BlockKind::Data, f, 12, "/f300"}));
  EXPECT_EQ(om.lookup(d + 269), (BlockOwner{BlockKind::Dind, f, 268, "/f300"}));
  EXPECT_EQ(om.lookup(d + 270), (BlockOwner{BlockKind::Ind, f, 268, "/f300"}));
  EXPECT_EQ(om.lookup(d + 271), (BlockOwner{BlockKind::Data, f, 268, "/f300"}));
  EXPECT_EQ(om.lookup(sb.first_data_block), (BlockOwner{BlockKind::Dir, 1, 0, "/"}));
  const FileMap dm = img.map_file(img.resolve("/d"));
  ASSERT_GT(dm.size_blocks, 1U);  // 60 long names need several blocks
  EXPECT_EQ(om.lookup(dm.runs.back().physical + dm.runs.back().count - 1)->kind, BlockKind::Dir);
  EXPECT_EQ(om.lookup(dm.runs[0].physical)->path, "/d");
  const FileMap sm = img.map_file(img.resolve("/slow"));
  EXPECT_EQ(om.lookup(sm.runs.at(0).physical)->path, "/slow");

  // Owned blocks are exactly the blocks the bitmap marks used.
  uint64_t owned = 0;
  for (const auto& [first, run] : om.runs()) owned += run.count;
  EXPECT_EQ(owned, img.used_blocks_in_bitmap());
  EXPECT_EQ(owned, uint64_t{sb.blocks_count} - sb.free_blocks_count);
  EXPECT_FALSE(om.lookup(sb.blocks_count - 1).has_value());
}

TEST(OwnerMap, BuildOwnerMapAutodetects) {
  MemoryBlockIo dev(1 << 20);
  make_filesystem(dev, options(2048));
  const BlockOwnerMap om = build_owner_map(dev);
  EXPECT_EQ(om.block_size(), 2048U);
  EXPECT_EQ(om.lookup(0)->kind, BlockKind::Super);
  MemoryBlockIo junk(1 << 20);
  EXPECT_THROW(build_owner_map(junk), FormatError);
}

}  // namespace
