// format.cpp - encode/decode of the superblock and inodes, and the checks
// every reader (and the kernel module) applies before trusting them.
#include "mpagefs/image/format.hpp"

#include <cstddef>
#include <cstring>
#include <fmt/format.h>

#include "mpagefs/util/crc32c.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

namespace {
using SB = struct mpagefs_super_block;
using IN = struct mpagefs_inode;

uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
}  // namespace

std::array<uint8_t, kSuperSize> encode_super(const SuperBlock& sb) {
  std::array<uint8_t, kSuperSize> raw{};
  std::span<uint8_t> r(raw);
  put_le32(r, offsetof(SB, s_magic), sb.magic);
  put_le32(r, offsetof(SB, s_version), sb.version);
  put_le32(r, offsetof(SB, s_log_block_size), sb.log_block_size);
  put_le32(r, offsetof(SB, s_inode_size), sb.inode_size);
  put_le32(r, offsetof(SB, s_feature_compat), sb.feature_compat);
  put_le32(r, offsetof(SB, s_feature_incompat), sb.feature_incompat);
  put_le32(r, offsetof(SB, s_feature_ro_compat), sb.feature_ro_compat);
  put_le32(r, offsetof(SB, s_state), sb.state);
  put_le32(r, offsetof(SB, s_blocks_count), sb.blocks_count);
  put_le32(r, offsetof(SB, s_free_blocks_count), sb.free_blocks_count);
  put_le32(r, offsetof(SB, s_inodes_count), sb.inodes_count);
  put_le32(r, offsetof(SB, s_free_inodes_count), sb.free_inodes_count);
  put_le32(r, offsetof(SB, s_block_bitmap), sb.block_bitmap);
  put_le32(r, offsetof(SB, s_block_bitmap_blocks), sb.block_bitmap_blocks);
  put_le32(r, offsetof(SB, s_inode_bitmap), sb.inode_bitmap);
  put_le32(r, offsetof(SB, s_inode_bitmap_blocks), sb.inode_bitmap_blocks);
  put_le32(r, offsetof(SB, s_inode_table), sb.inode_table);
  put_le32(r, offsetof(SB, s_inode_table_blocks), sb.inode_table_blocks);
  put_le32(r, offsetof(SB, s_first_data_block), sb.first_data_block);
  put_le32(r, offsetof(SB, s_root_ino), sb.root_ino);
  put_le32(r, offsetof(SB, s_mount_count), sb.mount_count);
  put_le32(r, offsetof(SB, s_errors), sb.errors);
  put_le64(r, offsetof(SB, s_mkfs_time), sb.mkfs_time);
  put_le64(r, offsetof(SB, s_mount_time), sb.mount_time);
  put_le64(r, offsetof(SB, s_write_time), sb.write_time);
  std::memcpy(&raw[offsetof(SB, s_uuid)], sb.uuid.data(), sb.uuid.size());
  std::memcpy(&raw[offsetof(SB, s_volume_name)], sb.volume_name.data(), sb.volume_name.size());
  put_le32(r, MPAGEFS_SUPER_CSUM_OFFSET, super_checksum(raw));
  return raw;
}

SuperBlock decode_super(std::span<const uint8_t> raw) {
  if (raw.size() < kSuperSize) throw FormatError("superblock: short buffer");
  SuperBlock sb;
  sb.magic = get_le32(raw, offsetof(SB, s_magic));
  sb.version = get_le32(raw, offsetof(SB, s_version));
  sb.log_block_size = get_le32(raw, offsetof(SB, s_log_block_size));
  sb.inode_size = get_le32(raw, offsetof(SB, s_inode_size));
  sb.feature_compat = get_le32(raw, offsetof(SB, s_feature_compat));
  sb.feature_incompat = get_le32(raw, offsetof(SB, s_feature_incompat));
  sb.feature_ro_compat = get_le32(raw, offsetof(SB, s_feature_ro_compat));
  sb.state = get_le32(raw, offsetof(SB, s_state));
  sb.blocks_count = get_le32(raw, offsetof(SB, s_blocks_count));
  sb.free_blocks_count = get_le32(raw, offsetof(SB, s_free_blocks_count));
  sb.inodes_count = get_le32(raw, offsetof(SB, s_inodes_count));
  sb.free_inodes_count = get_le32(raw, offsetof(SB, s_free_inodes_count));
  sb.block_bitmap = get_le32(raw, offsetof(SB, s_block_bitmap));
  sb.block_bitmap_blocks = get_le32(raw, offsetof(SB, s_block_bitmap_blocks));
  sb.inode_bitmap = get_le32(raw, offsetof(SB, s_inode_bitmap));
  sb.inode_bitmap_blocks = get_le32(raw, offsetof(SB, s_inode_bitmap_blocks));
  sb.inode_table = get_le32(raw, offsetof(SB, s_inode_table));
  sb.inode_table_blocks = get_le32(raw, offsetof(SB, s_inode_table_blocks));
  sb.first_data_block = get_le32(raw, offsetof(SB, s_first_data_block));
  sb.root_ino = get_le32(raw, offsetof(SB, s_root_ino));
  sb.mount_count = get_le32(raw, offsetof(SB, s_mount_count));
  sb.errors = get_le32(raw, offsetof(SB, s_errors));
  sb.mkfs_time = get_le64(raw, offsetof(SB, s_mkfs_time));
  sb.mount_time = get_le64(raw, offsetof(SB, s_mount_time));
  sb.write_time = get_le64(raw, offsetof(SB, s_write_time));
  std::memcpy(sb.uuid.data(), &raw[offsetof(SB, s_uuid)], sb.uuid.size());
  std::memcpy(sb.volume_name.data(), &raw[offsetof(SB, s_volume_name)], sb.volume_name.size());
  sb.checksum = get_le32(raw, MPAGEFS_SUPER_CSUM_OFFSET);
  return sb;
}

uint32_t super_checksum(std::span<const uint8_t> raw) {
  return crc32c(raw.first(MPAGEFS_SUPER_CSUM_OFFSET));
}

void validate_super(std::span<const uint8_t> raw, uint64_t device_bytes) {
  if (raw.size() < kSuperSize) throw FormatError("superblock: short buffer");
  const SuperBlock sb = decode_super(raw);
  // Identity first, so a foreign image is named as such, not as a bad crc.
  if (sb.magic != MPAGEFS_MAGIC)
    throw FormatError(fmt::format("s_magic {:#010x} is not mpagefs ({:#010x})", sb.magic,
                                  MPAGEFS_MAGIC));
  // Then the checksum, as the kernel does: any later message is about a
  // superblock that was written that way.
  const uint32_t crc = super_checksum(raw);
  if (crc != sb.checksum)
    throw FormatError(fmt::format("s_checksum {:#010x} does not match crc32c {:#010x}",
                                  sb.checksum, crc));
  validate_super_fields(sb, device_bytes);
}

void validate_super_fields(const SuperBlock& sb, uint64_t device_bytes) {
  auto fail = [](const std::string& m) { throw FormatError(m); };
  if (sb.magic != MPAGEFS_MAGIC) fail(fmt::format("s_magic {:#010x} is not mpagefs", sb.magic));
  if (sb.version != MPAGEFS_VERSION) fail(fmt::format("s_version {} unsupported", sb.version));
  if (sb.log_block_size < MPAGEFS_MIN_BLOCK_LOG || sb.log_block_size > MPAGEFS_MAX_BLOCK_LOG)
    fail(fmt::format("s_log_block_size {} not in {}..{} (1024..4096 bytes)", sb.log_block_size,
                     MPAGEFS_MIN_BLOCK_LOG, MPAGEFS_MAX_BLOCK_LOG));
  if (sb.inode_size != MPAGEFS_INODE_SIZE)
    fail(fmt::format("s_inode_size {} (expected {})", sb.inode_size, MPAGEFS_INODE_SIZE));
  if (sb.feature_incompat & ~static_cast<uint32_t>(MPAGEFS_FEATURE_INCOMPAT_SUPP))
    fail(fmt::format("s_feature_incompat {:#x} has unknown features", sb.feature_incompat));
  const uint64_t bs = sb.block_size();
  const uint64_t bits = bs * 8;
  if (sb.blocks_count == 0) fail("s_blocks_count is 0");
  if (device_bytes != 0 && uint64_t{sb.blocks_count} * bs > device_bytes)
    fail(fmt::format("s_blocks_count {} exceeds the device ({} blocks)", sb.blocks_count,
                     device_bytes / bs));
  if (sb.inodes_count == 0) fail("s_inodes_count is 0");
  // Regions in the order of the header, not overlapping, inside the fs.
  if (sb.block_bitmap <= MPAGEFS_SUPER_BLOCKNR)
    fail(fmt::format("s_block_bitmap {} overlaps the superblock", sb.block_bitmap));
  if (uint64_t{sb.block_bitmap_blocks} < div_up(sb.blocks_count, bits))
    fail(fmt::format("s_block_bitmap_blocks {} too small for {} blocks", sb.block_bitmap_blocks,
                     sb.blocks_count));
  if (sb.inode_bitmap < uint64_t{sb.block_bitmap} + sb.block_bitmap_blocks)
    fail(fmt::format("s_inode_bitmap {} overlaps the block bitmap", sb.inode_bitmap));
  if (uint64_t{sb.inode_bitmap_blocks} < div_up(sb.inodes_count, bits))
    fail(fmt::format("s_inode_bitmap_blocks {} too small for {} inodes", sb.inode_bitmap_blocks,
                     sb.inodes_count));
  if (sb.inode_table < uint64_t{sb.inode_bitmap} + sb.inode_bitmap_blocks)
    fail(fmt::format("s_inode_table {} overlaps the inode bitmap", sb.inode_table));
  if (uint64_t{sb.inode_table_blocks} < div_up(uint64_t{sb.inodes_count} * kInodeSize, bs))
    fail(fmt::format("s_inode_table_blocks {} too small for {} inodes", sb.inode_table_blocks,
                     sb.inodes_count));
  if (sb.first_data_block != uint64_t{sb.inode_table} + sb.inode_table_blocks)
    fail(fmt::format("s_first_data_block {} is not the end of the inode table ({})",
                     sb.first_data_block, uint64_t{sb.inode_table} + sb.inode_table_blocks));
  if (sb.first_data_block >= sb.blocks_count)
    fail(fmt::format("s_first_data_block {} not below s_blocks_count {}", sb.first_data_block,
                     sb.blocks_count));
  // The kernel's caps (check_super): the data area less the root
  // directory's block, every inode but the root.
  if (sb.free_blocks_count > sb.blocks_count - sb.first_data_block - 1)
    fail(fmt::format("s_free_blocks_count {} exceeds the {} blocks of the data area that can be free",
                     sb.free_blocks_count, sb.blocks_count - sb.first_data_block - 1));
  if (sb.free_inodes_count > sb.inodes_count - 1)
    fail(fmt::format("s_free_inodes_count {} exceeds s_inodes_count {} less the root inode",
                     sb.free_inodes_count, sb.inodes_count));
  if (sb.root_ino != MPAGEFS_ROOT_INO)
    fail(fmt::format("s_root_ino {} (expected {})", sb.root_ino, MPAGEFS_ROOT_INO));
}

uint32_t effective_errors_policy(uint32_t s_errors) {
  if (s_errors == MPAGEFS_ERRORS_CONTINUE || s_errors == MPAGEFS_ERRORS_PANIC) return s_errors;
  return MPAGEFS_ERRORS_UNSET;
}

std::string_view errors_policy_name(uint32_t s_errors) {
  switch (s_errors) {
    case MPAGEFS_ERRORS_CONTINUE: return "continue";
    case MPAGEFS_ERRORS_RO: return "remount-ro";
    case MPAGEFS_ERRORS_PANIC: return "panic";
    default: return "";
  }
}

std::array<uint8_t, kInodeSize> encode_inode(const Inode& in) {
  std::array<uint8_t, kInodeSize> raw{};
  std::span<uint8_t> r(raw);
  put_le16(r, offsetof(IN, i_mode), in.mode);
  put_le16(r, offsetof(IN, i_links_count), in.links_count);
  put_le32(r, offsetof(IN, i_uid), in.uid);
  put_le32(r, offsetof(IN, i_gid), in.gid);
  put_le32(r, offsetof(IN, i_flags), in.flags);
  put_le64(r, offsetof(IN, i_size), in.size);
  put_le64(r, offsetof(IN, i_atime), static_cast<uint64_t>(in.atime));
  put_le64(r, offsetof(IN, i_mtime), static_cast<uint64_t>(in.mtime));
  put_le64(r, offsetof(IN, i_ctime), static_cast<uint64_t>(in.ctime));
  put_le32(r, offsetof(IN, i_atime_nsec), in.atime_nsec);
  put_le32(r, offsetof(IN, i_mtime_nsec), in.mtime_nsec);
  put_le32(r, offsetof(IN, i_ctime_nsec), in.ctime_nsec);
  put_le32(r, offsetof(IN, i_blocks), in.blocks);
  for (uint32_t i = 0; i < kNBlocks; ++i) put_le32(r, offsetof(IN, i_block) + 4 * i, in.block[i]);
  put_le32(r, offsetof(IN, i_generation), in.generation);
  return raw;
}

Inode decode_inode(std::span<const uint8_t> raw) {
  if (raw.size() < kInodeSize) throw FormatError("inode: short buffer");
  Inode in;
  in.mode = get_le16(raw, offsetof(IN, i_mode));
  in.links_count = get_le16(raw, offsetof(IN, i_links_count));
  in.uid = get_le32(raw, offsetof(IN, i_uid));
  in.gid = get_le32(raw, offsetof(IN, i_gid));
  in.flags = get_le32(raw, offsetof(IN, i_flags));
  in.size = get_le64(raw, offsetof(IN, i_size));
  in.atime = static_cast<int64_t>(get_le64(raw, offsetof(IN, i_atime)));
  in.mtime = static_cast<int64_t>(get_le64(raw, offsetof(IN, i_mtime)));
  in.ctime = static_cast<int64_t>(get_le64(raw, offsetof(IN, i_ctime)));
  in.atime_nsec = get_le32(raw, offsetof(IN, i_atime_nsec));
  in.mtime_nsec = get_le32(raw, offsetof(IN, i_mtime_nsec));
  in.ctime_nsec = get_le32(raw, offsetof(IN, i_ctime_nsec));
  in.blocks = get_le32(raw, offsetof(IN, i_blocks));
  for (uint32_t i = 0; i < kNBlocks; ++i) in.block[i] = get_le32(raw, offsetof(IN, i_block) + 4 * i);
  in.generation = get_le32(raw, offsetof(IN, i_generation));
  return in;
}

uint64_t max_file_blocks(uint32_t block_size) {
  const uint64_t p = block_size / 4;
  return kNDirBlocks + p + p * p + p * p * p;
}

uint64_t max_file_size(uint32_t block_size) { return max_file_blocks(block_size) * block_size; }

bool is_fast_symlink(const Inode& inode) {
  return mode_is_lnk(inode.mode) && inode.size < kFastSymlinkMax;
}

bool has_block_map(const Inode& inode) {
  return mode_is_reg(inode.mode) || mode_is_dir(inode.mode) ||
         (mode_is_lnk(inode.mode) && !is_fast_symlink(inode));
}

// The kernel's mpagefs_check_inode(), rule for rule.
void validate_inode(const Inode& in, uint32_t ino, const SuperBlock& sb) {
  auto fail = [ino](const std::string& m) {
    throw FormatError(fmt::format("inode {}: {}", ino, m));
  };
  if (ino == 0 || ino > sb.inodes_count)
    throw FormatError(fmt::format("inode {} outside 1..{}", ino, sb.inodes_count));
  const uint32_t bs = sb.block_size();
  switch (in.mode & kIfmt) {
    case kIfreg: case kIfdir: case kIflnk: case kIfchr: case kIfblk: case kIfifo:
    case kIfsock:
      break;
    default:
      fail(fmt::format("i_mode {:#o}: unknown file type", in.mode));
  }
  if (in.links_count == 0) fail("i_links_count is 0 on an inode in use");
  if (in.size > max_file_size(bs))
    fail(fmt::format("i_size {} exceeds the {}-byte limit for {}-byte blocks", in.size,
                     max_file_size(bs), bs));
  if (mode_is_dir(in.mode) && (in.size == 0 || in.size % bs != 0))
    fail(fmt::format("directory i_size {} is not a non-zero multiple of {}", in.size, bs));
  if (mode_is_lnk(in.mode) && (in.size == 0 || in.size >= 4096))
    fail(fmt::format("symlink i_size {} not in 1..4095", in.size));
  if (!mode_is_reg(in.mode) && !mode_is_dir(in.mode) && !mode_is_lnk(in.mode) && in.size != 0)
    fail(fmt::format("special file with i_size {}", in.size));
  if (in.blocks > sb.blocks_count - sb.first_data_block || (!has_block_map(in) && in.blocks != 0))
    fail(fmt::format("i_blocks {} is impossible", in.blocks));
  constexpr uint32_t kNsecPerSec = 1000000000;
  if (in.atime_nsec >= kNsecPerSec || in.mtime_nsec >= kNsecPerSec || in.ctime_nsec >= kNsecPerSec)
    fail("nanoseconds out of range in a timestamp");
  if (!has_block_map(in)) return;  // i_block holds text (or nothing)
  for (uint32_t i = 0; i < kNBlocks; ++i) {
    const uint32_t b = in.block[i];
    if (b != 0 && (b < sb.first_data_block || b >= sb.blocks_count))
      fail(fmt::format("i_block[{}] = {} outside the data area {}..{}", i, b,
                       sb.first_data_block, sb.blocks_count - 1));
  }
}

uint8_t file_type_of_mode(uint16_t mode) {
  switch (mode & kIfmt) {
    case kIfreg: return MPAGEFS_FT_REG_FILE;
    case kIfdir: return MPAGEFS_FT_DIR;
    case kIflnk: return MPAGEFS_FT_SYMLINK;
    case kIfchr: return MPAGEFS_FT_CHRDEV;
    case kIfblk: return MPAGEFS_FT_BLKDEV;
    case kIfifo: return MPAGEFS_FT_FIFO;
    case kIfsock: return MPAGEFS_FT_SOCK;
    default: return MPAGEFS_FT_UNKNOWN;
  }
}

Geometry compute_geometry(uint64_t device_bytes, uint32_t block_size, uint32_t inodes) {
  if (block_size != 1024 && block_size != 2048 && block_size != 4096)
    throw FormatError(fmt::format("block size {} is not 1024, 2048 or 4096", block_size));
  Geometry g;
  g.block_size = block_size;
  const uint64_t blocks = std::min<uint64_t>(device_bytes / block_size, UINT32_MAX);
  const uint64_t per_block = block_size / kInodeSize;
  uint64_t want = inodes != 0 ? inodes : std::max<uint64_t>(kMinInodes, device_bytes / kBytesPerInode);
  // Fill the last inode table block (as mke2fs does), within 32 bits.
  want = std::min<uint64_t>(div_up(want, per_block) * per_block, UINT32_MAX / per_block * per_block);
  const uint64_t bits = uint64_t{block_size} * 8;
  const uint64_t bbb = div_up(std::max<uint64_t>(blocks, 1), bits);
  const uint64_t ibb = div_up(want, bits);
  const uint64_t itb = want / per_block;
  const uint64_t first_data = 1 + bbb + ibb + itb;
  if (first_data + 1 > blocks)
    throw FormatError(fmt::format(
        "device too small: {} blocks of {} bytes, but the metadata for {} inodes needs {} blocks "
        "plus one for the root directory",
        blocks, block_size, want, first_data));
  g.blocks_count = static_cast<uint32_t>(blocks);
  g.inodes_count = static_cast<uint32_t>(want);
  g.block_bitmap = 1;
  g.block_bitmap_blocks = static_cast<uint32_t>(bbb);
  g.inode_bitmap = g.block_bitmap + g.block_bitmap_blocks;
  g.inode_bitmap_blocks = static_cast<uint32_t>(ibb);
  g.inode_table = g.inode_bitmap + g.inode_bitmap_blocks;
  g.inode_table_blocks = static_cast<uint32_t>(itb);
  g.first_data_block = static_cast<uint32_t>(first_data);
  return g;
}

}  // namespace mpagefs
