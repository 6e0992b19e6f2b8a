// mkfs --populate then read back: every byte, every attribute, at 1, 2 and
// 4 KiB blocks, with sizes around each mapping level (direct, IND, DIND,
// TIND); deterministic output; clear errors for what cannot be made.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "mpagefs/image/image.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

class RoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RoundTrip, EveryFileByteExact) {
  const uint32_t bs = GetParam();
  const uint64_t p = bs / 4;
  // Sizes at the edges of each level, up to just past the first DIND block.
  const std::vector<uint64_t> sizes{0,  1,  bs - 1, bs, bs + 1, 12 * bs - 1, 12 * bs, 12 * bs + 1,
                                    (12 + p) * bs, (12 + p) * bs + 5};
  std::vector<SourceNode> files;
  for (size_t i = 0; i < sizes.size(); ++i) {
    SourceNode f = SourceNode::file("f" + std::to_string(i), pattern(sizes[i], static_cast<uint32_t>(i)));
    f.mode = static_cast<uint16_t>(0600 + i);
    f.uid = 1000 + static_cast<uint32_t>(i);
    f.gid = 2000;
    f.mtime = 1600000000 + static_cast<int64_t>(i);
    f.mtime_nsec = 123;
    files.push_back(std::move(f));
  }
  std::vector<SourceNode> many;
  for (int i = 0; i < 200; ++i)
    many.push_back(SourceNode::file("entry-" + std::to_string(i) + std::string(40, 'z'), std::to_string(i)));
  files.push_back(SourceNode::dir("many", std::move(many)));
  files.push_back(SourceNode::dir("a", {SourceNode::dir("b", {SourceNode::file("deep", "deep\n")})}));
  files.push_back(SourceNode::symlink("fast", std::string(59, 'f')));
  files.push_back(SourceNode::symlink("slow", std::string(60, 's')));
  files.push_back(SourceNode::symlink("slower", std::string(4095, 'S')));
  SourceNode root = SourceNode::dir("", std::move(files));
  root.mode = 0750;

  MemoryBlockIo dev(16 << 20);
  const MkfsResult res = make_filesystem(dev, options(bs), &root);
  EXPECT_EQ(res.files, sizes.size() + 201);
  EXPECT_EQ(res.dirs, 4U);  // root, many, a, a/b
  EXPECT_EQ(res.symlinks, 3U);
  MpagefsImage img(dev);
  EXPECT_EQ(img.block_size(), bs);

  for (size_t i = 0; i < sizes.size(); ++i) {
    const uint32_t ino = img.resolve("/f" + std::to_string(i));
    const InodeInfo in = img.inode(ino);
    EXPECT_EQ(in.size, sizes[i]);
    EXPECT_EQ(in.mode, S_IFREG | (0600 + i));
    EXPECT_EQ(in.uid, 1000 + i);
    EXPECT_EQ(in.gid, 2000U);
    EXPECT_EQ(in.mtime, 1600000000 + static_cast<int64_t>(i));
    EXPECT_EQ(in.links, 1);
    EXPECT_EQ(as_string(img.read_file(ino)), pattern(sizes[i], static_cast<uint32_t>(i)))
        << "file of " << sizes[i] << " bytes";
  }
  const FileMap last = img.map_file(img.resolve("/f9"));
  ASSERT_EQ(last.indirect.size(), 3U);
  EXPECT_EQ(last.indirect[1].level, 2);

  const uint32_t many_ino = img.resolve("/many");
  const auto entries = img.list_dir(many_ino);
  ASSERT_EQ(entries.size(), 202U);
  EXPECT_EQ(entries[0].name, ".");
  EXPECT_EQ(entries[0].ino, many_ino);
  EXPECT_EQ(entries[1].name, "..");
  EXPECT_EQ(entries[1].ino, MPAGEFS_ROOT_INO);
  for (size_t k = 3; k < entries.size(); ++k) EXPECT_LT(entries[k - 1].name, entries[k].name);
  EXPECT_GT(img.inode(many_ino).size, bs);
  EXPECT_EQ(as_string(img.read_file(img.resolve("/many/entry-7" + std::string(40, 'z')))), "7");
  EXPECT_EQ(as_string(img.read_file(img.resolve("/a/b/deep"))), "deep\n");
  EXPECT_EQ(img.lookup(img.resolve("/a/b"), ".."), img.resolve("/a"));

  // Links: root has "." "..", and ".." of many and a; a has b.
  EXPECT_EQ(img.inode(MPAGEFS_ROOT_INO).links, 4);
  EXPECT_EQ(img.inode(MPAGEFS_ROOT_INO).mode, S_IFDIR | 0750);
  EXPECT_EQ(img.inode(img.resolve("/a")).links, 3);
  EXPECT_EQ(img.inode(img.resolve("/a/b")).links, 2);

  EXPECT_EQ(img.read_symlink(img.resolve("/fast")), std::string(59, 'f'));
  EXPECT_TRUE(img.inode(img.resolve("/fast")).fast_symlink);
  EXPECT_EQ(img.inode(img.resolve("/fast")).fs_blocks, 0U);
  EXPECT_EQ(img.read_symlink(img.resolve("/slow")), std::string(60, 's'));
  EXPECT_FALSE(img.inode(img.resolve("/slow")).fast_symlink);
  EXPECT_EQ(img.read_symlink(img.resolve("/slower")), std::string(4095, 'S'));

  // Free counts are exact and every used block has an owner.
  EXPECT_EQ(img.super().free_blocks_count, img.blocks_count() - img.used_blocks_in_bitmap());
  EXPECT_EQ(img.super().free_inodes_count, img.inodes_count() - img.inodes_in_use().size());
  uint64_t owned = 0;
  const BlockOwnerMap om = img.owner_map();
  for (const auto& [first, run] : om.runs()) owned += run.count;
  EXPECT_EQ(owned, img.used_blocks_in_bitmap());
  EXPECT_THROW(img.resolve("/nope"), FormatError);
  EXPECT_THROW(img.resolve("/f1/x"), FormatError);  // not a directory
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, RoundTrip, ::testing::Values(1024U, 2048U, 4096U));

// A file reaching into the triple-indirect range, cheap because it is
// sparse: data at the start, just before the TIND range and inside it.
void expect_tind(uint32_t bs) {
  const uint64_t p = bs / 4;
  const uint64_t tind_first = 12 + p + p * p;
  const uint64_t size = (tind_first + 3) * bs + 100;
  const std::string head = pattern(3 * bs, 1);
  const std::string before = pattern(bs, 2);
  const std::string tail = pattern(2 * bs + 50, 3);
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::sparse_file("big", size, {{0, head},
                                                 {(tind_first - 1) * bs, before},
                                                 {(tind_first + 1) * bs + 50, tail}})});
  MemoryBlockIo dev(4 << 20);
  make_filesystem(dev, options(bs), &root);
  MpagefsImage img(dev);
  const uint32_t ino = img.resolve("/big");
  const FileMap m = img.map_file(ino);
  EXPECT_EQ(m.size, size);
  const uint64_t d = m.runs.at(0).physical;
  EXPECT_EQ(m.runs, (std::vector<DataRun>{{0, d, 3},
                                          {tind_first - 1, d + 5, 1},
                                          {tind_first + 1, d + 9, 3}}));
  // DIND+IND before the last DIND block; TIND, DIND, IND before the TIND data.
  EXPECT_EQ(m.indirect, (std::vector<IndirectBlock>{{d + 3, 2, 12 + p},
                                                    {d + 4, 1, tind_first - p},
                                                    {d + 6, 3, tind_first},
                                                    {d + 7, 2, tind_first},
                                                    {d + 8, 1, tind_first}}));
  EXPECT_EQ(img.inode(ino).fs_blocks, 12U);
  EXPECT_EQ(as_string(img.read_range(m, 0, 3 * bs)), head);
  EXPECT_EQ(as_string(img.read_range(m, (tind_first - 1) * bs, bs)), before);
  EXPECT_EQ(as_string(img.read_range(m, (tind_first + 1) * bs + 50, size)), tail);
  EXPECT_EQ(as_string(img.read_range(m, 5 * bs, 2 * bs)), std::string(2 * bs, '\0'));
  EXPECT_EQ(as_string(img.read_range(m, (tind_first + 1) * bs, 50)), std::string(50, '\0'));
  EXPECT_EQ(img.owner_map().lookup(d + 6)->kind, BlockKind::Tind);
}

TEST(RoundTripTind, OneK) { expect_tind(1024); }
TEST(RoundTripTind, FourK) { expect_tind(4096); }

TEST(RoundTripTind, WholeFileAtOneK) {
  // 65 MiB read back in full: holes as zeros, data where it was.
  const uint64_t tind_first = 12 + 256 + 65536;
  const uint64_t size = (tind_first + 2) * 1024;
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::sparse_file("big", size, {{(tind_first + 1) * 1024, pattern(1024, 9)}})});
  MemoryBlockIo dev(1 << 20);
  make_filesystem(dev, options(1024), &root);
  MpagefsImage img(dev);
  std::string expect(size, '\0');
  expect.replace((tind_first + 1) * 1024, 1024, pattern(1024, 9));
  EXPECT_EQ(as_string(img.read_file(img.resolve("/big"))), expect);
}

TEST(Mkfs, EmptyFilesystem) {
  MemoryBlockIo dev(1 << 20);
  const MkfsResult r = make_filesystem(dev, options(1024));
  MpagefsImage img(dev);
  const InodeInfo root = img.inode(MPAGEFS_ROOT_INO);
  EXPECT_EQ(root.mode, S_IFDIR | 0755);
  EXPECT_EQ(root.links, 2);
  EXPECT_EQ(root.size, 1024U);
  const auto e = img.list_dir(MPAGEFS_ROOT_INO);
  ASSERT_EQ(e.size(), 2U);
  EXPECT_EQ(e[0].name, ".");
  EXPECT_EQ(e[1].name, "..");
  EXPECT_EQ(e[1].ino, MPAGEFS_ROOT_INO);
  EXPECT_EQ(img.super().state, static_cast<uint32_t>(MPAGEFS_STATE_CLEAN));
  EXPECT_EQ(img.super().mkfs_time, 1700000000U);
  EXPECT_EQ(img.super().uuid, uuid_from_seed(42));
  EXPECT_EQ(r.free_blocks, img.blocks_count() - img.super().first_data_block - 1);
  EXPECT_EQ(r.free_inodes, img.inodes_count() - 1);
  EXPECT_EQ(img.inodes_in_use(), std::vector<uint32_t>{1});
}

TEST(Mkfs, Deterministic) {
  const SourceNode root = SourceNode::dir(
      "", {SourceNode::file("z", pattern(5000, 1)), SourceNode::file("a", pattern(70000, 2)),
           SourceNode::dir("d", {SourceNode::symlink("l", "target")})});
  MemoryBlockIo a(2 << 20);
  MemoryBlockIo b(2 << 20);
  b.bytes().assign(b.size(), 0x5A);  // old content must not matter for metadata
  make_filesystem(a, options(1024), &root);
  make_filesystem(b, options(1024), &root);
  MpagefsImage ia(a);
  MpagefsImage ib(b);
  const uint64_t meta = uint64_t{ia.super().first_data_block} * 1024;
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().begin() + static_cast<ptrdiff_t>(meta),
                         b.bytes().begin()));
  for (const char* path : {"/a", "/z", "/d"})
    EXPECT_EQ(ia.map_file(ia.resolve(path)).runs, ib.map_file(ib.resolve(path)).runs);
  EXPECT_EQ(ia.read_file(ia.resolve("/a")), ib.read_file(ib.resolve("/a")));
}

std::string mkfs_error(uint64_t dev_size, const MkfsOptions& o, const SourceNode& root) {
  MemoryBlockIo dev(dev_size);
  try {
    make_filesystem(dev, o, &root);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(Mkfs, NoSpace) {
  const std::string err = mkfs_error(
      256 << 10, options(1024), SourceNode::dir("", {SourceNode::file("big", pattern(300 << 10, 1))}));
  EXPECT_NE(err.find("/big: no space left"), std::string::npos) << err;
}

TEST(Mkfs, TooManyInodes) {
  std::vector<SourceNode> files;
  for (int i = 0; i < 20; ++i) files.push_back(SourceNode::file("f" + std::to_string(i), "x"));
  MkfsOptions o = options(1024);
  o.inodes = 16;
  const std::string err = mkfs_error(1 << 20, o, SourceNode::dir("", std::move(files)));
  EXPECT_NE(err.find("no free inode"), std::string::npos) << err;
}

TEST(Mkfs, BadNames) {
  EXPECT_NE(mkfs_error(1 << 20, options(1024),
                       SourceNode::dir("", {SourceNode::file(std::string(256, 'n'), "")}))
                .find("name of 256 bytes"),
            std::string::npos);
  EXPECT_NO_THROW({
    MemoryBlockIo dev(1 << 20);
    const SourceNode ok = SourceNode::dir("", {SourceNode::file(std::string(255, 'n'), "x")});
    make_filesystem(dev, options(1024), &ok);
    EXPECT_EQ(MpagefsImage(dev).list_dir(1).back().name, std::string(255, 'n'));
  });
  EXPECT_NE(mkfs_error(1 << 20, options(1024),
                       SourceNode::dir("", {SourceNode::file("x", ""), SourceNode::file("x", "")}))
                .find("duplicate"),
            std::string::npos);
  EXPECT_NE(mkfs_error(1 << 20, options(1024),
                       SourceNode::dir("", {SourceNode::symlink("l", std::string(4096, 'l'))}))
                .find("symlink target"),
            std::string::npos);
}

TEST(Mkfs, TooSmallDevice) {
  MemoryBlockIo dev(8 << 10);
  EXPECT_THROW(make_filesystem(dev, options(4096)), FormatError);
}

}  // namespace
