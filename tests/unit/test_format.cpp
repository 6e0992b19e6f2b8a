// On-disk format: encode/decode round trips, and every corrupt superblock,
// inode and directory record field rejected with a message naming it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <functional>
#include <string>

#include "mpagefs/image/format.hpp"
#include "mpagefs/util/le.hpp"

using namespace mpagefs;

namespace {

SuperBlock good_super() {
  const Geometry g = compute_geometry(8 << 20, 1024, 0);
  SuperBlock sb;
  sb.blocks_count = g.blocks_count;
  sb.inodes_count = g.inodes_count;
  sb.free_blocks_count = 100;
  sb.free_inodes_count = 10;
  sb.block_bitmap = g.block_bitmap;
  sb.block_bitmap_blocks = g.block_bitmap_blocks;
  sb.inode_bitmap = g.inode_bitmap;
  sb.inode_bitmap_blocks = g.inode_bitmap_blocks;
  sb.inode_table = g.inode_table;
  sb.inode_table_blocks = g.inode_table_blocks;
  sb.first_data_block = g.first_data_block;
  sb.mkfs_time = 1700000000;
  sb.uuid[0] = 0xAB;
  sb.volume_name[0] = 'v';
  return sb;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(Super, RoundTrip) {
  const SuperBlock sb = good_super();
  const auto raw = encode_super(sb);
  SuperBlock back = decode_super(raw);
  EXPECT_EQ(back.checksum, super_checksum(raw));
  back.checksum = sb.checksum;
  EXPECT_EQ(back, sb);
  EXPECT_NO_THROW(validate_super(raw, uint64_t{sb.blocks_count} * 1024));
}

TEST(Super, LayoutMatchesHeader) {
  SuperBlock sb = good_super();
  sb.blocks_count = 0x11223344;
  const auto raw = encode_super(sb);
  // s_magic at 0 as "FGPM", s_blocks_count little-endian at its offset.
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(raw.data()), 4), "FGPM");
  const size_t off = offsetof(struct mpagefs_super_block, s_blocks_count);
  EXPECT_EQ(raw[off], 0x44);
  EXPECT_EQ(raw[off + 3], 0x11);
  // The checksum is crc32c of the first 252 bytes, stored little-endian.
  EXPECT_EQ(get_le32(raw, MPAGEFS_SUPER_CSUM_OFFSET), super_checksum(raw));
}

struct SuperCase {
  const char* name;
  std::function<void(SuperBlock&)> corrupt;
  const char* message;  // substring the error must contain
};

class SuperCorrupt : public ::testing::TestWithParam<SuperCase> {};

TEST_P(SuperCorrupt, Rejected) {
  SuperBlock sb = good_super();
  GetParam().corrupt(sb);
  const auto raw = encode_super(sb);  // a valid checksum over the bad field
  const std::string err = error_of([&] { validate_super(raw, uint64_t{8} << 20); });
  EXPECT_NE(err.find(GetParam().message), std::string::npos) << "got: " << err;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, SuperCorrupt,
    ::testing::Values(
        SuperCase{"magic", [](SuperBlock& s) { s.magic = 0xEF53; }, "s_magic"},
        SuperCase{"version", [](SuperBlock& s) { s.version = 2; }, "s_version"},
        SuperCase{"log_small", [](SuperBlock& s) { s.log_block_size = 9; }, "s_log_block_size"},
        SuperCase{"log_big", [](SuperBlock& s) { s.log_block_size = 13; }, "s_log_block_size"},
        SuperCase{"inode_size", [](SuperBlock& s) { s.inode_size = 256; }, "s_inode_size"},
        SuperCase{"incompat", [](SuperBlock& s) { s.feature_incompat = 1; }, "s_feature_incompat"},
        SuperCase{"blocks_zero", [](SuperBlock& s) { s.blocks_count = 0; }, "s_blocks_count"},
        SuperCase{"blocks_past_device", [](SuperBlock& s) { s.blocks_count = 9000; },
                  "exceeds the device"},
        SuperCase{"inodes_zero", [](SuperBlock& s) { s.inodes_count = 0; }, "s_inodes_count"},
        SuperCase{"bbitmap_on_super", [](SuperBlock& s) { s.block_bitmap = 0; }, "s_block_bitmap"},
        SuperCase{"bbitmap_short", [](SuperBlock& s) { s.block_bitmap_blocks = 0; },
                  "s_block_bitmap_blocks"},
        SuperCase{"ibitmap_overlap", [](SuperBlock& s) { s.inode_bitmap = s.block_bitmap; },
                  "s_inode_bitmap"},
        SuperCase{"ibitmap_short", [](SuperBlock& s) { s.inode_bitmap_blocks = 0; },
                  "s_inode_bitmap_blocks"},
        SuperCase{"itable_overlap", [](SuperBlock& s) { s.inode_table = s.inode_bitmap; },
                  "s_inode_table"},
        SuperCase{"itable_short", [](SuperBlock& s) { s.inode_table_blocks = 1; },
                  "s_inode_table_blocks"},
        SuperCase{"first_data_inside_table", [](SuperBlock& s) { --s.first_data_block; },
                  "s_first_data_block"},
        SuperCase{"first_data_gap", [](SuperBlock& s) { ++s.first_data_block; },
                  "s_first_data_block"},
        SuperCase{"first_data_past_end",
                  [](SuperBlock& s) { s.blocks_count = s.first_data_block; }, "s_first_data_block"},
        SuperCase{"free_blocks", [](SuperBlock& s) { s.free_blocks_count = s.blocks_count + 1; },
                  "s_free_blocks_count"},
        // The kernel's caps: no more free blocks than the data area less the
        // root directory's block, no more free inodes than all but the root.
        SuperCase{"free_blocks_metadata",
                  [](SuperBlock& s) { s.free_blocks_count = s.blocks_count - s.first_data_block; },
                  "s_free_blocks_count"},
        SuperCase{"free_inodes", [](SuperBlock& s) { s.free_inodes_count = s.inodes_count + 1; },
                  "s_free_inodes_count"},
        SuperCase{"free_inodes_root", [](SuperBlock& s) { s.free_inodes_count = s.inodes_count; },
                  "s_free_inodes_count"},
        SuperCase{"root_ino", [](SuperBlock& s) { s.root_ino = 2; }, "s_root_ino"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Super, FreeCountsAtTheirCapsAreAccepted) {
  SuperBlock sb = good_super();
  sb.free_blocks_count = sb.blocks_count - sb.first_data_block - 1;
  sb.free_inodes_count = sb.inodes_count - 1;
  EXPECT_NO_THROW(validate_super(encode_super(sb), uint64_t{8} << 20));
}

TEST(Super, ErrorsFieldIsWhereTheHeaderSays) {
  SuperBlock sb = good_super();
  EXPECT_EQ(sb.errors, uint32_t{MPAGEFS_ERRORS_CONTINUE});  // mke2fs's default
  sb.errors = MPAGEFS_ERRORS_PANIC;
  const auto raw = encode_super(sb);
  EXPECT_EQ(offsetof(struct mpagefs_super_block, s_errors), 84U);
  EXPECT_EQ(get_le32(raw, offsetof(struct mpagefs_super_block, s_errors)), 3U);
  EXPECT_EQ(decode_super(raw).errors, uint32_t{MPAGEFS_ERRORS_PANIC});
}

TEST(Super, ErrorsPolicyIsExt2s) {
  // 1 and 3 stand; 0 (unset), 2 and anything unknown mean remount-ro.
  EXPECT_EQ(effective_errors_policy(MPAGEFS_ERRORS_CONTINUE), uint32_t{MPAGEFS_ERRORS_CONTINUE});
  EXPECT_EQ(effective_errors_policy(MPAGEFS_ERRORS_PANIC), uint32_t{MPAGEFS_ERRORS_PANIC});
  EXPECT_EQ(effective_errors_policy(MPAGEFS_ERRORS_RO), uint32_t{MPAGEFS_ERRORS_RO});
  EXPECT_EQ(effective_errors_policy(0), uint32_t{MPAGEFS_ERRORS_RO});
  EXPECT_EQ(effective_errors_policy(77), uint32_t{MPAGEFS_ERRORS_RO});
  EXPECT_EQ(errors_policy_name(MPAGEFS_ERRORS_RO), "remount-ro");
  EXPECT_EQ(errors_policy_name(0), "");
}

TEST(Super, ChecksumMismatchRejected) {
  auto raw = encode_super(good_super());
  raw[offsetof(struct mpagefs_super_block, s_free_blocks_count)] ^= 1;
  EXPECT_NE(error_of([&] { validate_super(raw, 8 << 20); }).find("s_checksum"), std::string::npos);
  auto raw2 = encode_super(good_super());
  raw2[MPAGEFS_SUPER_CSUM_OFFSET] ^= 0x80;
  EXPECT_NE(error_of([&] { validate_super(raw2, 8 << 20); }).find("s_checksum"), std::string::npos);
}

Inode good_file() {
  Inode in;
  in.mode = S_IFREG | 0644;
  in.links_count = 1;
  in.uid = 1000;
  in.gid = 100;
  in.size = 17 * 1024;
  in.atime = -5;
  in.mtime = 1700000000;
  in.ctime = 1700000001;
  in.mtime_nsec = 999999999;
  in.blocks = 18;
  for (uint32_t i = 0; i < kNBlocks - 2; ++i) in.block[i] = 300 + i;
  in.generation = 7;
  return in;
}

TEST(InodeCodec, RoundTrip) {
  const Inode in = good_file();
  const auto raw = encode_inode(in);
  EXPECT_EQ(decode_inode(raw), in);
  EXPECT_EQ(get_le16(raw, offsetof(struct mpagefs_inode, i_mode)), in.mode);
  EXPECT_EQ(get_le32(raw, offsetof(struct mpagefs_inode, i_block) + 4 * 12), 312U);
  EXPECT_NO_THROW(validate_inode(in, 5, good_super()));
}

struct InodeCase {
  const char* name;
  std::function<void(Inode&)> corrupt;
  const char* message;
};

class InodeCorrupt : public ::testing::TestWithParam<InodeCase> {};

TEST_P(InodeCorrupt, Rejected) {
  Inode in = good_file();
  GetParam().corrupt(in);
  const Inode decoded = decode_inode(encode_inode(in));
  const std::string err = error_of([&] { validate_inode(decoded, 5, good_super()); });
  EXPECT_NE(err.find(GetParam().message), std::string::npos) << "got: " << err;
  EXPECT_NE(err.find("inode 5"), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, InodeCorrupt,
    ::testing::Values(
        InodeCase{"mode_type", [](Inode& i) { i.mode = 0170644; }, "i_mode"},
        InodeCase{"mode_zero", [](Inode& i) { i.mode = 0; }, "i_mode"},
        InodeCase{"links", [](Inode& i) { i.links_count = 0; }, "i_links_count"},
        InodeCase{"size_limit", [](Inode& i) { i.size = max_file_size(1024) + 1; }, "i_size"},
        InodeCase{"dir_size_zero", [](Inode& i) { i.mode = S_IFDIR | 0755; i.size = 0; }, "directory i_size"},
        InodeCase{"dir_size_partial", [](Inode& i) { i.mode = S_IFDIR | 0755; i.size = 1500; }, "directory i_size"},
        InodeCase{"symlink_empty", [](Inode& i) { i.mode = S_IFLNK | 0777; i.size = 0; }, "symlink i_size"},
        InodeCase{"symlink_long", [](Inode& i) { i.mode = S_IFLNK | 0777; i.size = 4096; }, "symlink i_size"},
        InodeCase{"fast_symlink_blocks", [](Inode& i) { i.mode = S_IFLNK | 0777; i.size = 10; i.blocks = 1; }, "i_blocks"},
        InodeCase{"special_size", [](Inode& i) { i.mode = S_IFIFO | 0644; i.size = 1; }, "special file"},
        InodeCase{"blocks_too_many", [](Inode& i) { i.blocks = 1U << 30; }, "i_blocks"},
        InodeCase{"nsec", [](Inode& i) { i.ctime_nsec = 1000000000; }, "nanoseconds"},
        InodeCase{"ptr_metadata", [](Inode& i) { i.block[0] = 5; }, "i_block[0]"},
        InodeCase{"ptr_past_end", [](Inode& i) { i.block[3] = 8192; }, "i_block[3]"},
        InodeCase{"ind_past_end", [](Inode& i) { i.block[MPAGEFS_IND_BLOCK] = 100000; }, "i_block[12]"},
        InodeCase{"tind_metadata", [](Inode& i) { i.block[MPAGEFS_TIND_BLOCK] = 1; }, "i_block[14]"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(InodeCodec, FastSymlinkTextIsNotPointers) {
  Inode in;
  in.mode = S_IFLNK | 0777;
  in.links_count = 1;
  in.size = 59;
  in.block.fill(0xFFFFFFFFU);  // would be out of range as pointers
  EXPECT_TRUE(is_fast_symlink(in));
  EXPECT_NO_THROW(validate_inode(in, 3, good_super()));
  EXPECT_THROW(validate_inode(in, 0, good_super()), FormatError);
  EXPECT_THROW(validate_inode(in, good_super().inodes_count + 1, good_super()), FormatError);
}

TEST(Limits, MaxFileSize) {
  EXPECT_EQ(max_file_blocks(1024), 12ULL + 256 + 65536 + 16777216);
  EXPECT_EQ(max_file_blocks(4096), 12ULL + 1024 + 1048576 + 1073741824);
  EXPECT_EQ(max_file_size(2048), (12ULL + 512 + 512 * 512 + 512ULL * 512 * 512) * 2048);
}

TEST(Dirent, RoundTrip) {
  const std::vector<Dirent> in{{1, 0, MPAGEFS_FT_DIR, "."},
                               {1, 0, MPAGEFS_FT_DIR, ".."},
                               {7, 0, MPAGEFS_FT_REG_FILE, std::string(255, 'n')},
                               {9, 0, MPAGEFS_FT_SYMLINK, "abcd"}};
  const auto block = encode_dir_block(in, 1024);
  ASSERT_EQ(block.size(), 1024U);
  const auto out = parse_dir_block(block, 16);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].inode, in[i].inode);
    EXPECT_EQ(out[i].file_type, in[i].file_type);
    EXPECT_EQ(out[i].name, in[i].name);
  }
  EXPECT_EQ(out[0].rec_len, 12);  // "." then ".." at offset 12, as ext2
  EXPECT_EQ(out[1].rec_len, 12);
  EXPECT_EQ(out[2].rec_len, dirent_len(255));
  EXPECT_EQ(out[3].rec_len, 1024 - 24 - dirent_len(255));  // the last one reaches the end
}

TEST(Dirent, EmptyBlockIsOneFreeRecord) {
  const auto out = parse_dir_block(encode_dir_block({}, 2048), 16);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].inode, 0U);
  EXPECT_EQ(out[0].rec_len, 2048);
}

TEST(Dirent, EncodeRejectsBadNames) {
  EXPECT_THROW(encode_dir_block({{1, 0, 1, ""}}, 1024), FormatError);
  EXPECT_THROW(encode_dir_block({{1, 0, 1, std::string(256, 'x')}}, 1024), FormatError);
  std::vector<Dirent> many(5, Dirent{1, 0, 1, std::string(250, 'x')});
  EXPECT_THROW(encode_dir_block(many, 1024), FormatError);
}

struct DirentCase {
  const char* name;
  std::function<void(std::vector<uint8_t>&)> corrupt;  // on a block "." ".." "file"
  const char* message;
};

class DirentCorrupt : public ::testing::TestWithParam<DirentCase> {};

TEST_P(DirentCorrupt, Rejected) {
  auto block = encode_dir_block({{1, 0, MPAGEFS_FT_DIR, "."},
                                 {1, 0, MPAGEFS_FT_DIR, ".."},
                                 {3, 0, MPAGEFS_FT_REG_FILE, "file"}},
                                1024);
  GetParam().corrupt(block);
  const std::string err = error_of([&] { parse_dir_block(block, 16); });
  EXPECT_NE(err.find(GetParam().message), std::string::npos) << "got: " << err;
}

// The third record starts at offset 24.
INSTANTIATE_TEST_SUITE_P(
    Fields, DirentCorrupt,
    ::testing::Values(
        DirentCase{"rec_len_small", [](auto& b) { put_le16(b, 28, 4); }, "below 8"},
        DirentCase{"rec_len_unaligned", [](auto& b) { put_le16(b, 28, 1002); }, "multiple of 4"},
        DirentCase{"rec_len_past_block", [](auto& b) { put_le16(b, 28, 1004); }, "crosses the block end"},
        DirentCase{"rec_len_short_for_name", [](auto& b) { b[18] = 5; }, "too small for name_len"},
        DirentCase{"name_len_zero", [](auto& b) { b[30] = 0; }, "name_len is 0"},
        DirentCase{"inode_range", [](auto& b) { put_le32(b, 24, 17); }, "inode 17 outside"},
        DirentCase{"file_type", [](auto& b) { b[31] = MPAGEFS_FT_MAX; }, "file_type"},
        DirentCase{"slash", [](auto& b) { b[33] = '/'; }, "'/'"},
        DirentCase{"ends_early", [](auto& b) { put_le16(b, 28, 996); }, "header crosses"},
        DirentCase{"zero_rec_len", [](auto& b) { put_le16(b, 28, 500); }, "rec_len 0 below 8"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Dirent, FreeRecordsAreKept) {
  auto block = encode_dir_block({{1, 0, 2, "."}, {1, 0, 2, ".."}, {3, 0, 1, "gone"}}, 1024);
  put_le32(block, 24, 0);  // deleted: inode 0, name bytes ignored
  const auto out = parse_dir_block(block, 16);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[2].inode, 0U);
}

TEST(Geometry, DefaultsAndRounding) {
  const Geometry g = compute_geometry(64 << 20, 1024, 0);
  EXPECT_EQ(g.blocks_count, 65536U);
  EXPECT_EQ(g.inodes_count, 16384U);  // one per 4 KiB
  EXPECT_EQ(g.block_bitmap, 1U);
  EXPECT_EQ(g.block_bitmap_blocks, 8U);
  EXPECT_EQ(g.inode_bitmap, 9U);
  EXPECT_EQ(g.inode_bitmap_blocks, 2U);
  EXPECT_EQ(g.inode_table, 11U);
  EXPECT_EQ(g.inode_table_blocks, 2048U);
  EXPECT_EQ(g.first_data_block, 2059U);
  // At least 16 inodes, rounded up to fill the table's last block.
  EXPECT_EQ(compute_geometry(16 << 10, 1024, 0).inodes_count, 16U);
  EXPECT_EQ(compute_geometry(1 << 20, 4096, 33).inodes_count, 64U);
  // A partial last block is ignored.
  EXPECT_EQ(compute_geometry((1 << 20) + 1000, 1024, 0).blocks_count, 1024U);
}

TEST(Geometry, Rejects) {
  EXPECT_THROW(compute_geometry(1 << 20, 512, 0), FormatError);
  EXPECT_THROW(compute_geometry(1 << 20, 3000, 0), FormatError);
  EXPECT_THROW(compute_geometry(4096, 1024, 0), FormatError);  // no room for the root
  EXPECT_THROW(compute_geometry(1 << 20, 1024, 100000), FormatError);
}

}  // namespace
