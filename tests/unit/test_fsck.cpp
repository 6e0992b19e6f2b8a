// fsck: clean images are clean; each kind of corruption is found, --repair
// fixes it, and a second check finds nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "mpagefs/fsck/fsck.hpp"
#include "mpagefs/util/le.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

SourceNode sample_tree() {
  return SourceNode::dir(
      "", {SourceNode::file("f17", pattern(17 * 1024, 2)),
           SourceNode::file("f300", pattern(300 * 1024, 1)),
           SourceNode::symlink("link", "f17"),
           SourceNode::dir("sub", {SourceNode::file("a", "alpha"), SourceNode::file("b", "beta"),
                                   SourceNode::dir("deeper")}),
           SourceNode::sparse_file("sparse", 100 * 1024, {{50 * 1024, "middle"}})});
}

std::string kinds(const std::vector<Finding>& fs) {
  std::string s;
  for (const Finding& f : fs) s += std::string(to_string(f.kind)) + ": " + f.message + "\n";
  return s;
}

struct Image {
  MemoryBlockIo dev{4 << 20};
  uint32_t bs;
  explicit Image(uint32_t block_size = 1024, Layout layout = Layout::Contiguous) : bs(block_size) {
    const SourceNode root = sample_tree();
    make_filesystem(dev, options(block_size, layout, 3), &root);
  }
  MpagefsImage img() { return MpagefsImage(dev); }
  uint32_t ino(const std::string& path) { return img().resolve(path); }
  Inode inode(uint32_t n) { return img().read_raw_inode(n); }
  void put_inode(uint32_t n, const Inode& in) {
    dev.write(img().inode_offset(n), encode_inode(in));
  }
  void edit_inode(const std::string& path, const std::function<void(Inode&)>& f) {
    const uint32_t n = ino(path);
    Inode in = inode(n);
    f(in);
    put_inode(n, in);
  }
  SuperBlock super() { return img().super(); }
  void put_super(const SuperBlock& sb) { dev.write(0, encode_super(sb)); }
  std::span<uint8_t> block(uint64_t b) {
    return std::span<uint8_t>(dev.bytes()).subspan(b * bs, bs);
  }
  void flip_bit(uint64_t first_block, uint64_t bit) {
    uint8_t& byte = dev.bytes()[first_block * bs + bit / 8];
    byte = static_cast<uint8_t>(byte ^ (1U << (bit % 8)));
  }
  // Byte offset in the device of the record named `name` in directory `dir`.
  uint64_t dirent_at(const std::string& dir, const std::string& name) {
    const MpagefsImage i = img();
    const FileMap m = i.map_file(i.resolve(dir));
    for (const DataRun& r : m.runs)
      for (uint64_t k = 0; k < r.count; ++k) {
        const std::span<uint8_t> b = block(r.physical + k);
        for (size_t off = 0; off < bs;) {
          const DirentCheck c = check_dirent(b, off, i.inodes_count());
          if (c.dirent.inode != 0 && c.dirent.name == name) return (r.physical + k) * bs + off;
          off += c.dirent.rec_len;
        }
      }
    ADD_FAILURE() << "no entry " << name << " in " << dir;
    return 0;
  }
  void put32(uint64_t offset, uint32_t v) {
    put_le32(std::span<uint8_t>(dev.bytes()), offset, v);
  }
};

bool has(const std::vector<Finding>& fs, FindingKind k, uint32_t ino = 0, uint64_t block = 0) {
  return std::any_of(fs.begin(), fs.end(), [&](const Finding& f) {
    return f.kind == k && (ino == 0 || f.ino == ino) && (block == 0 || f.block == block);
  });
}

// The corruption is found (read-only check: exit 4, nothing written),
// repair exits 1, a second check is clean and the strict reader accepts
// the image again.
void found_then_repaired(Image& im, FindingKind k, uint32_t ino = 0, uint64_t block = 0) {
  const std::vector<uint8_t> before = im.dev.bytes();
  const FsckResult r = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(has(r.findings, k, ino, block))
      << "expected " << to_string(k) << " ino " << ino << " block " << block << " in\n"
      << kinds(r.findings);
  EXPECT_EQ(r.exit_code(), kFsckUncorrected);
  EXPECT_FALSE(r.repaired);
  EXPECT_TRUE(im.dev.bytes() == before) << "a check without --repair wrote to the image";

  const FsckResult fixed = fsck(im.dev, FsckOptions{true});
  EXPECT_EQ(fixed.exit_code(), kFsckCorrected) << kinds(fixed.remaining);
  EXPECT_TRUE(fixed.remaining.empty()) << kinds(fixed.remaining);
  EXPECT_EQ(fixed.passes, 2) << "one repair should be enough:\n" << kinds(fixed.findings);

  const FsckResult again = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(again.findings.empty()) << kinds(again.findings);
  EXPECT_EQ(again.exit_code(), kFsckClean);
  EXPECT_NO_THROW(im.img().owner_map());
}

TEST(Fsck, FreshImagesAreClean) {
  for (uint32_t bs : {1024U, 2048U, 4096U})
    for (Layout layout : {Layout::Contiguous, Layout::Fragmented}) {
      Image im(bs, layout);
      const FsckResult r = fsck(im.dev, FsckOptions{true});
      EXPECT_TRUE(r.findings.empty()) << bs << "\n" << kinds(r.findings);
      EXPECT_EQ(r.exit_code(), kFsckClean);
      EXPECT_FALSE(r.repaired);
      const SuperBlock sb = im.super();
      EXPECT_EQ(r.stats.blocks_used, sb.blocks_count - sb.free_blocks_count);
      EXPECT_EQ(r.stats.inodes_used, 9U);  // root, 3 files, link, sub, a, b, deeper
    }
}

TEST(Fsck, EmptyImageIsClean) {
  MemoryBlockIo dev(1 << 20);
  make_filesystem(dev, options(1024));
  const FsckResult r = fsck(dev, FsckOptions{});
  EXPECT_TRUE(r.findings.empty()) << kinds(r.findings);
  EXPECT_EQ(r.stats.inodes_used, 1U);
}

TEST(Fsck, NotMpagefsIsAnError) {
  MemoryBlockIo dev(1 << 20);
  EXPECT_THROW(fsck(dev, FsckOptions{}), FormatError);
}

TEST(Fsck, BlockBitmapBitMarkedFree) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  const uint64_t b = im.img().map_file(f17).runs.at(0).physical + 3;
  im.flip_bit(im.super().block_bitmap, b);
  found_then_repaired(im, FindingKind::BlockBitmap, 0, b);
  EXPECT_EQ(as_string(im.img().read_file(f17)), pattern(17 * 1024, 2));
}

TEST(Fsck, BlockBitmapBitMarkedUsed) {
  Image im;
  const uint64_t b = im.super().blocks_count - 2;
  im.flip_bit(im.super().block_bitmap, b);
  found_then_repaired(im, FindingKind::BlockBitmap, 0, b);
}

TEST(Fsck, MetadataBlockMarkedFree) {
  Image im;
  const uint64_t b = im.super().inode_table + 1;
  im.flip_bit(im.super().block_bitmap, b);
  found_then_repaired(im, FindingKind::BlockBitmap, 0, b);
}

TEST(Fsck, InodeBitmapBitClearedKeepsTheFile) {
  // e2fsck's rule: in use is decided by the inode and the tree, so a live
  // file whose bit was lost keeps its data; the bitmap is corrected.
  Image im;
  const uint32_t f300 = im.ino("/f300");
  im.flip_bit(im.super().inode_bitmap, f300 - 1);
  found_then_repaired(im, FindingKind::InodeBitmap, f300);
  EXPECT_EQ(as_string(im.img().read_file(f300)), pattern(300 * 1024, 1));
  EXPECT_EQ(im.ino("/f300"), f300);
}

TEST(Fsck, WrongFreeCounts) {
  Image im;
  SuperBlock sb = im.super();
  const SuperBlock good = sb;
  sb.free_blocks_count += 5;
  sb.free_inodes_count -= 2;
  im.put_super(sb);
  const FsckResult r = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(has(r.findings, FindingKind::FreeInodes)) << kinds(r.findings);
  found_then_repaired(im, FindingKind::FreeBlocks);
  EXPECT_EQ(im.super().free_blocks_count, good.free_blocks_count);
  EXPECT_EQ(im.super().free_inodes_count, good.free_inodes_count);
}

TEST(Fsck, FreeCountBeyondTotalIsRepairable) {
  Image im;
  SuperBlock sb = im.super();
  sb.free_blocks_count = sb.blocks_count + 10;
  im.put_super(sb);
  found_then_repaired(im, FindingKind::FreeBlocks);
}

TEST(Fsck, WrongLinkCounts) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  const uint32_t sub = im.ino("/sub");
  const uint16_t sub_links = im.inode(sub).links_count;
  EXPECT_EQ(sub_links, 3);  // entry in /, ".", deeper's ".."
  im.edit_inode("/f17", [](Inode& in) { in.links_count = 3; });
  im.edit_inode("/sub", [](Inode& in) { in.links_count = 2; });
  const FsckResult r = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(has(r.findings, FindingKind::LinkCount, sub)) << kinds(r.findings);
  found_then_repaired(im, FindingKind::LinkCount, f17);
  EXPECT_EQ(im.inode(f17).links_count, 1);
  EXPECT_EQ(im.inode(sub).links_count, sub_links);
}

TEST(Fsck, ZeroLinkCountOnAReachableFile) {
  Image im;
  const uint32_t a = im.ino("/sub/a");
  im.edit_inode("/sub/a", [](Inode& in) { in.links_count = 0; });
  found_then_repaired(im, FindingKind::LinkCount, a);
  EXPECT_EQ(as_string(im.img().read_file(a)), "alpha");
}

TEST(Fsck, CrossLinkedBlock) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  const uint32_t f300 = im.ino("/f300");
  ASSERT_LT(f17, f300);
  const uint32_t shared = im.inode(f17).block[0];
  const uint32_t lost = im.inode(f300).block[0];
  const uint32_t held = im.inode(f300).blocks;
  im.edit_inode("/f300", [shared](Inode& in) { in.block[0] = shared; });
  found_then_repaired(im, FindingKind::CrossLink, f300, shared);
  // The first claimant keeps the block; the other gets a copy of it in a
  // free block, and its old block (no longer referenced) is free.
  EXPECT_EQ(as_string(im.img().read_file(f17)), pattern(17 * 1024, 2));
  const uint32_t copy = im.inode(f300).block[0];
  EXPECT_NE(copy, 0U);
  EXPECT_NE(copy, shared);
  const std::string f300_data = as_string(im.img().read_file(f300));
  EXPECT_EQ(f300_data.substr(0, 1024), pattern(17 * 1024, 2).substr(0, 1024));
  EXPECT_EQ(f300_data.substr(1024), pattern(300 * 1024, 1).substr(1024));
  EXPECT_EQ(im.inode(f300).blocks, held);
  const auto owner = im.img().owner_map().lookup(lost);
  EXPECT_TRUE(!owner.has_value() || (owner->ino == f300 && lost == copy));
}

TEST(Fsck, CrossLinkedIndirectBlock) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  const uint32_t ind = im.inode(f17).block[MPAGEFS_IND_BLOCK];
  ASSERT_NE(ind, 0U);
  im.edit_inode("/f300", [ind](Inode& in) { in.block[MPAGEFS_IND_BLOCK] = ind; });
  found_then_repaired(im, FindingKind::CrossLink, im.ino("/f300"), ind);
  EXPECT_EQ(as_string(im.img().read_file(f17)), pattern(17 * 1024, 2));
}

TEST(Fsck, PointerIntoMetadata) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  const uint32_t itable = im.super().inode_table;
  im.edit_inode("/f17", [itable](Inode& in) { in.block[1] = itable; });
  found_then_repaired(im, FindingKind::BadPointer, f17, itable);
  EXPECT_EQ(im.inode(f17).block[1], 0U);
  const std::string content = as_string(im.img().read_file(f17));
  EXPECT_EQ(content.substr(0, 1024), pattern(17 * 1024, 2).substr(0, 1024));
  EXPECT_EQ(content.substr(1024, 1024), std::string(1024, '\0'));
}

TEST(Fsck, IndirectEntryPastTheDevice) {
  Image im;
  const uint32_t f300 = im.ino("/f300");
  const uint64_t ind = im.img().map_file(f300).indirect.at(0).physical;
  im.put32(ind * im.bs + 4 * 7, 0xFFFFFF00U);
  found_then_repaired(im, FindingKind::BadPointer, f300, 0xFFFFFF00U);
}

TEST(Fsck, IndirectLoop) {
  Image im;
  const uint32_t f300 = im.ino("/f300");
  const uint64_t dind = im.img().map_file(f300).indirect.at(1).physical;
  ASSERT_EQ(im.img().map_file(f300).indirect.at(1).level, 2);
  im.put32(dind * im.bs + 4 * 1, static_cast<uint32_t>(dind));
  found_then_repaired(im, FindingKind::IndirectLoop, f300, dind);
  EXPECT_EQ(as_string(im.img().read_file(f300)), pattern(300 * 1024, 1));
}

TEST(Fsck, TindFullOfItself) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  const uint32_t spare = im.super().blocks_count - 1;
  im.edit_inode("/f17", [spare](Inode& in) { in.block[MPAGEFS_TIND_BLOCK] = spare; });
  for (uint32_t i = 0; i < im.bs / 4; ++i) im.put32(uint64_t{spare} * im.bs + 4 * i, spare);
  found_then_repaired(im, FindingKind::IndirectLoop, f17, spare);
  EXPECT_EQ(as_string(im.img().read_file(f17)), pattern(17 * 1024, 2));
}

TEST(Fsck, WrongIBlocks) {
  Image im;
  const uint32_t f300 = im.ino("/f300");
  const uint32_t right = im.inode(f300).blocks;
  im.edit_inode("/f300", [](Inode& in) { in.blocks += 1; });
  found_then_repaired(im, FindingKind::InodeBlocks, f300);
  EXPECT_EQ(im.inode(f300).blocks, right);
}

TEST(Fsck, BlocksPastISize) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  im.edit_inode("/f17", [](Inode& in) { in.size = 1000; });
  found_then_repaired(im, FindingKind::InodeSize, f17);
  EXPECT_EQ(im.inode(f17).size, 17U * 1024);
}

TEST(Fsck, HugeDirectorySizeIsCutToItsBlocks) {
  Image im;
  const uint32_t sub = im.ino("/sub");
  im.edit_inode("/sub", [](Inode& in) { in.size = uint64_t{1} << 40; });
  found_then_repaired(im, FindingKind::InodeSize, sub);
  EXPECT_EQ(im.inode(sub).size, 1024U);
}

TEST(Fsck, HugeFileSizeIsCutToItsBlocks) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  im.edit_inode("/f17", [](Inode& in) { in.size = uint64_t{1} << 62; });
  found_then_repaired(im, FindingKind::InodeSize, f17);
  EXPECT_EQ(im.inode(f17).size, 17U * 1024);
}

TEST(Fsck, DirectoryHoleIsNotRepairable) {
  Image im;
  const uint32_t sub = im.ino("/sub");
  im.edit_inode("/sub", [](Inode& in) {
    in.block[3] = in.block[0];
    in.block[0] = 0;
  });
  const FsckResult r = fsck(im.dev, FsckOptions{true});
  EXPECT_TRUE(has(r.findings, FindingKind::DirHole, sub)) << kinds(r.findings);
  EXPECT_TRUE(has(r.remaining, FindingKind::DirHole, sub)) << kinds(r.remaining);
  EXPECT_EQ(r.exit_code(), kFsckUncorrected);
}

TEST(Fsck, UnknownModeIsCleared) {
  Image im;
  const uint32_t f17 = im.ino("/f17");
  im.edit_inode("/f17", [](Inode& in) { in.mode = 0170644; });
  const FsckResult r = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(has(r.findings, FindingKind::DirEntryFree)) << kinds(r.findings);
  found_then_repaired(im, FindingKind::InodeMode, f17);
  EXPECT_FALSE(im.img().lookup(1, "f17").has_value());
}

TEST(Fsck, BadRecordLengthCutsTheBlock) {
  Image im;
  const uint32_t root = im.super().root_ino;
  const uint64_t at = im.dirent_at("/", "link");
  std::span<uint8_t> bytes(im.dev.bytes());
  put_le16(bytes, at + 4, 6);  // below the header size: cannot step over it
  found_then_repaired(im, FindingKind::DirRecord, root);
  // What followed the bad record is gone and its inodes were freed.
  EXPECT_TRUE(im.img().lookup(root, "f300").has_value());
  EXPECT_FALSE(im.img().lookup(root, "link").has_value());
  EXPECT_FALSE(im.img().lookup(root, "sub").has_value());
}

TEST(Fsck, BadFileTypeByteFreesTheRecord) {
  Image im;
  const uint32_t root = im.super().root_ino;
  const uint32_t b = im.ino("/sub/b");
  im.dev.bytes()[im.dirent_at("/sub", "b") + 7] = 200;
  found_then_repaired(im, FindingKind::DirRecord, im.ino("/sub"));
  EXPECT_FALSE(im.img().lookup(im.ino("/sub"), "b").has_value());
  EXPECT_EQ(im.inode(b).mode, 0);  // the orphan was freed
  EXPECT_TRUE(im.img().lookup(root, "sub").has_value());
}

TEST(Fsck, FileTypeMismatch) {
  Image im;
  const uint32_t root = im.super().root_ino;
  im.dev.bytes()[im.dirent_at("/", "f17") + 7] = MPAGEFS_FT_SYMLINK;
  found_then_repaired(im, FindingKind::DirFileType, root);
  EXPECT_EQ(im.img().list_dir(root).at(2).file_type, MPAGEFS_FT_REG_FILE);
}

TEST(Fsck, EntryToAFreeInode) {
  // As if the kernel freed the inode but left its entry.
  Image im;
  const uint32_t root = im.super().root_ino;
  const uint32_t f17 = im.ino("/f17");
  im.put_inode(f17, Inode{});
  im.flip_bit(im.super().inode_bitmap, f17 - 1);
  const FsckResult r = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(has(r.findings, FindingKind::BlockBitmap)) << kinds(r.findings);
  found_then_repaired(im, FindingKind::DirEntryFree, root);
  EXPECT_FALSE(im.img().lookup(root, "f17").has_value());
  // "link" still names f17 by path: a dangling symlink is fine.
  EXPECT_EQ(im.img().read_symlink(im.ino("/link")), "f17");
}

TEST(Fsck, OrphanInodeIsFreed) {
  Image im;
  const SuperBlock before = im.super();
  const uint32_t f300 = im.ino("/f300");
  const uint32_t held = im.inode(f300).blocks;
  im.put32(im.dirent_at("/", "f300"), 0);  // the entry is gone, the inode is not
  found_then_repaired(im, FindingKind::Orphan, f300);
  EXPECT_EQ(im.inode(f300).mode, 0);
  EXPECT_EQ(im.super().free_blocks_count, before.free_blocks_count + held);
  EXPECT_EQ(im.super().free_inodes_count, before.free_inodes_count + 1);
}

TEST(Fsck, OrphanDirectoryFreesItsSubtree) {
  Image im;
  const uint32_t sub = im.ino("/sub");
  const uint32_t deeper = im.ino("/sub/deeper");
  const uint32_t root = im.super().root_ino;
  const uint16_t root_links = im.inode(root).links_count;
  im.put32(im.dirent_at("/", "sub"), 0);
  const FsckResult r = fsck(im.dev, FsckOptions{});
  EXPECT_TRUE(has(r.findings, FindingKind::Orphan, deeper)) << kinds(r.findings);
  EXPECT_TRUE(has(r.findings, FindingKind::LinkCount, root)) << kinds(r.findings);
  found_then_repaired(im, FindingKind::Orphan, sub);
  EXPECT_EQ(im.inode(root).links_count, root_links - 1);
  EXPECT_EQ(im.super().free_inodes_count, im.super().inodes_count - 5);
}

TEST(Fsck, WrongDotDot) {
  Image im;
  const uint32_t deeper = im.ino("/sub/deeper");
  const uint64_t dotdot = im.dirent_at("/sub/deeper", "..");
  im.put32(dotdot, deeper);
  found_then_repaired(im, FindingKind::DirDot, deeper);
  EXPECT_EQ(im.img().lookup(deeper, ".."), im.ino("/sub"));
}

TEST(Fsck, MissingDotIsNotRepairable) {
  Image im;
  const uint32_t deeper = im.ino("/sub/deeper");
  im.put32(im.dirent_at("/sub/deeper", "."), 0);
  const FsckResult r = fsck(im.dev, FsckOptions{true});
  EXPECT_TRUE(has(r.findings, FindingKind::DirDot, deeper)) << kinds(r.findings);
  EXPECT_EQ(r.exit_code(), kFsckUncorrected);
  EXPECT_FALSE(r.remaining.empty());
}

TEST(Fsck, DirectoryReachableTwice) {
  Image im;
  const uint32_t root = im.super().root_ino;
  const uint32_t sub = im.ino("/sub");
  const uint64_t at = im.dirent_at("/sub", "a");
  im.put32(at, im.ino("/sub/deeper"));
  im.dev.bytes()[at + 7] = MPAGEFS_FT_DIR;  // "a" is now a second name of deeper
  found_then_repaired(im, FindingKind::DirHardLink, sub);
  EXPECT_EQ(im.img().list_dir(root).size(), 7U);
}

TEST(Fsck, BadSuperblockChecksumIsRewritten) {
  Image im;
  im.dev.bytes()[offsetof(struct mpagefs_super_block, s_volume_name)] ^= 0x20;
  found_then_repaired(im, FindingKind::Superblock);
}

TEST(Fsck, ErrorsFlagIsCleared) {
  Image im;
  SuperBlock sb = im.super();
  sb.state = MPAGEFS_STATE_ERRORS;
  im.put_super(sb);
  found_then_repaired(im, FindingKind::Superblock);
  EXPECT_EQ(im.super().state, uint32_t{MPAGEFS_STATE_CLEAN});
}

TEST(Fsck, UnknownErrorsPolicyIsSetToWhatTheKernelApplies) {
  Image im;
  SuperBlock sb = im.super();
  sb.errors = 9;
  im.put_super(sb);
  found_then_repaired(im, FindingKind::Superblock);
  EXPECT_EQ(im.super().errors, uint32_t{MPAGEFS_ERRORS_RO});
}

TEST(Fsck, EveryErrorsPolicyIsClean) {
  for (const uint32_t policy : {0U, 1U, 2U, 3U}) {
    Image im;
    SuperBlock sb = im.super();
    sb.errors = policy;
    im.put_super(sb);
    const FsckResult r = fsck(im.dev, FsckOptions{false});
    EXPECT_TRUE(r.findings.empty()) << policy << ": " << kinds(r.findings);
  }
}

TEST(Fsck, BadGeometryIsNotRepairable) {
  Image im;
  SuperBlock sb = im.super();
  sb.inode_table = sb.blocks_count + 1;
  im.put_super(sb);
  const std::vector<uint8_t> before = im.dev.bytes();
  const FsckResult r = fsck(im.dev, FsckOptions{true});
  EXPECT_TRUE(has(r.findings, FindingKind::Superblock)) << kinds(r.findings);
  EXPECT_EQ(r.exit_code(), kFsckUncorrected);
  EXPECT_TRUE(im.dev.bytes() == before);
}

TEST(Fsck, SeveralCorruptionsAtOnce) {
  Image im(2048, Layout::Fragmented);
  const uint32_t f300 = im.ino("/f300");
  im.edit_inode("/f300", [](Inode& in) { in.blocks = 7; in.links_count = 9; });
  im.flip_bit(im.super().block_bitmap, im.super().blocks_count - 3);
  im.put32(im.dirent_at("/sub", "b"), 0);
  SuperBlock sb = im.super();
  sb.free_inodes_count = 3;
  im.put_super(sb);
  found_then_repaired(im, FindingKind::InodeBlocks, f300);
  EXPECT_EQ(as_string(im.img().read_file(f300)), pattern(300 * 1024, 1));
}

}  // namespace

#ifndef MPAGEFS_FSCK_SEED
#define MPAGEFS_FSCK_SEED 0x243F6A8885A308D3ULL
#define MPAGEFS_FSCK_ROUNDS 300
#endif

namespace {

constexpr int kRounds = MPAGEFS_FSCK_ROUNDS;

// Random byte damage to the metadata, directory and indirect blocks: fsck
// never throws or hangs, a repair that says "corrected" leaves an image a
// fresh check finds clean, and whatever is left is what a fresh check
// reports.
TEST(Fsck, RandomDamageIsRepairedOrReportedConsistently) {
  Image pristine;
  const MpagefsImage img = pristine.img();
  std::vector<uint64_t> targets;  // blocks worth damaging
  for (uint64_t b = 0; b < img.super().first_data_block; ++b) targets.push_back(b);
  for (const char* dir : {"/", "/sub", "/sub/deeper"})
    targets.push_back(img.map_file(img.resolve(dir)).runs.at(0).physical);
  for (const IndirectBlock& ib : img.map_file(img.resolve("/f300")).indirect)
    targets.push_back(ib.physical);
  uint64_t x = MPAGEFS_FSCK_SEED;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int corrected = 0;
  for (int round = 0; round < kRounds; ++round) {
    Image im;
    const int hits = 1 + static_cast<int>(rnd() % 4);
    for (int h = 0; h < hits; ++h) {
      const uint64_t b = targets[rnd() % targets.size()];
      // Bitmaps and the inode table are mostly empty: aim at their used start.
      const uint64_t span = b < img.super().first_data_block && b != 0 ? 64 : im.bs;
      im.dev.bytes()[b * im.bs + rnd() % span] ^= static_cast<uint8_t>(1 + rnd() % 255);
    }
    FsckResult r;
    ASSERT_NO_THROW(r = fsck(im.dev, FsckOptions{true})) << "round " << round;
    const FsckResult again = fsck(im.dev, FsckOptions{});
    if (r.exit_code() == kFsckCorrected) {
      ++corrected;
      EXPECT_TRUE(again.findings.empty()) << "round " << round << ":\n" << kinds(r.findings)
                                          << "then:\n" << kinds(again.findings);
    } else if (r.exit_code() == kFsckUncorrected) {
      EXPECT_EQ(kinds(again.findings), kinds(r.remaining)) << "round " << round;
      for (const Finding& f : again.findings)
        if (f.fixable) ADD_FAILURE() << "round " << round << ": fixable left: " << f.message;
    }
  }
  EXPECT_GT(corrected, 20);  // 27 with this seed: much damage hits unused bytes
}

}  // namespace
