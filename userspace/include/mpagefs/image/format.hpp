// format.hpp - host-endian views of mpagefs's on-disk structures
// (kmod/mpagefs_fs.h), their little-endian encode/decode, and validation
// with the same rules as the kernel module.  Pure functions only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include "mpagefs_fs.h"
}

namespace mpagefs {

inline constexpr uint32_t kNBlocks = MPAGEFS_N_BLOCKS;
inline constexpr uint32_t kNDirBlocks = MPAGEFS_NDIR_BLOCKS;
inline constexpr uint32_t kInodeSize = MPAGEFS_INODE_SIZE;
inline constexpr uint32_t kSuperSize = MPAGEFS_SUPER_SIZE;
inline constexpr uint32_t kFastSymlinkMax = kNBlocks * 4;  // 60 bytes, target < this

// i_mode's file type bits: the values of <sys/stat.h>'s S_IF*, which are
// the same on every Linux ABI and are what ext2 and mpagefs store on disk
// (defined here so that the format code needs no system header).
inline constexpr uint16_t kIfmt = 0170000;
inline constexpr uint16_t kIfsock = 0140000;
inline constexpr uint16_t kIflnk = 0120000;
inline constexpr uint16_t kIfreg = 0100000;
inline constexpr uint16_t kIfblk = 0060000;
inline constexpr uint16_t kIfdir = 0040000;
inline constexpr uint16_t kIfchr = 0020000;
inline constexpr uint16_t kIfifo = 0010000;
constexpr bool mode_is_dir(uint32_t mode) { return (mode & kIfmt) == kIfdir; }
constexpr bool mode_is_reg(uint32_t mode) { return (mode & kIfmt) == kIfreg; }
constexpr bool mode_is_lnk(uint32_t mode) { return (mode & kIfmt) == kIflnk; }

// Bad on-disk data (or an impossible request such as a too-small device).
// The message names the offending field.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SuperBlock {
  uint32_t magic = MPAGEFS_MAGIC;
  uint32_t version = MPAGEFS_VERSION;
  uint32_t log_block_size = MPAGEFS_MIN_BLOCK_LOG;
  uint32_t inode_size = MPAGEFS_INODE_SIZE;
  uint32_t feature_compat = 0;
  uint32_t feature_incompat = 0;
  uint32_t feature_ro_compat = 0;
  uint32_t state = MPAGEFS_STATE_CLEAN;
  uint32_t blocks_count = 0;
  uint32_t free_blocks_count = 0;
  uint32_t inodes_count = 0;
  uint32_t free_inodes_count = 0;
  uint32_t block_bitmap = 0;
  uint32_t block_bitmap_blocks = 0;
  uint32_t inode_bitmap = 0;
  uint32_t inode_bitmap_blocks = 0;
  uint32_t inode_table = 0;
  uint32_t inode_table_blocks = 0;
  uint32_t first_data_block = 0;
  uint32_t root_ino = MPAGEFS_ROOT_INO;
  uint32_t mount_count = 0;
  uint32_t errors = MPAGEFS_ERRORS_MKFS;  // s_errors: MPAGEFS_ERRORS_*, 0 = unset
  uint64_t mkfs_time = 0;
  uint64_t mount_time = 0;
  uint64_t write_time = 0;
  std::array<uint8_t, 16> uuid{};
  std::array<char, 16> volume_name{};
  uint32_t checksum = 0;  // as read; encode() computes a fresh one

  uint32_t block_size() const { return 1U << log_block_size; }
  bool operator==(const SuperBlock&) const = default;
};

// Encodes into exactly kSuperSize bytes, with a freshly computed checksum.
std::array<uint8_t, kSuperSize> encode_super(const SuperBlock& sb);
// Decodes kSuperSize bytes (no validation; checksum is the stored value).
SuperBlock decode_super(std::span<const uint8_t> raw);
// crc32c over the bytes before s_checksum.
uint32_t super_checksum(std::span<const uint8_t> raw);
// Throws FormatError naming the first bad field of the raw superblock
// (magic, version, block size, inode size, checksum, features, regions,
// counts, root inode).  device_bytes: size of the device (0 = unknown).
void validate_super(std::span<const uint8_t> raw, uint64_t device_bytes);
// Same checks on a decoded superblock, except the checksum.
void validate_super_fields(const SuperBlock& sb, uint64_t device_bytes);
// The errors= policy the kernel applies to a superblock without the mount
// option: s_errors when it is MPAGEFS_ERRORS_CONTINUE or _PANIC, else
// MPAGEFS_ERRORS_RO (ext2's rule: 0 and unknown values mean remount-ro).
uint32_t effective_errors_policy(uint32_t s_errors);
// "continue", "remount-ro", "panic" (the mount option's words), or "" for a
// value that is none of MPAGEFS_ERRORS_*.
std::string_view errors_policy_name(uint32_t s_errors);

struct Inode {
  uint16_t mode = 0;
  uint16_t links_count = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t flags = 0;
  uint64_t size = 0;
  int64_t atime = 0;
  int64_t mtime = 0;
  int64_t ctime = 0;
  uint32_t atime_nsec = 0;
  uint32_t mtime_nsec = 0;
  uint32_t ctime_nsec = 0;
  uint32_t blocks = 0;
  std::array<uint32_t, kNBlocks> block{};
  uint32_t generation = 0;
  bool operator==(const Inode&) const = default;
};

std::array<uint8_t, kInodeSize> encode_inode(const Inode& inode);
Inode decode_inode(std::span<const uint8_t> raw);

// Largest file a block size can map: (12 + p + p^2 + p^3) blocks, p = bs/4.
uint64_t max_file_blocks(uint32_t block_size);
uint64_t max_file_size(uint32_t block_size);
// Whether a symlink keeps its target in i_block: size < 60 (the kernel's
// rule; mkfs gives such a symlink no block).
bool is_fast_symlink(const Inode& inode);
// Whether i_block holds block pointers (regular, directory, slow symlink).
bool has_block_map(const Inode& inode);
// Throws FormatError naming the bad field of in-use inode `ino`, with the
// kernel's rules: known file type, non-zero link count, size limit,
// directory size a non-zero multiple of the block size, symlink size
// 1..4095, special files empty, i_blocks within the data area (0 without a
// block map), nanoseconds < 1e9, block pointers 0 or in
// [first_data_block, blocks_count).
void validate_inode(const Inode& inode, uint32_t ino, const SuperBlock& sb);

// One directory record, host view.
struct Dirent {
  uint32_t inode = 0;
  uint16_t rec_len = 0;
  uint8_t file_type = 0;
  std::string name;
};

// Record length a name needs.
constexpr uint32_t dirent_len(size_t name_len) {
  return static_cast<uint32_t>((name_len + MPAGEFS_DIRENT_HEADER + 3) & ~size_t{3});
}
// The record at byte `off` of a directory block, checked with the rules of
// parse_dir_block.  `error` is empty for a good record; `walkable` says
// whether rec_len can still be trusted to reach the next record (fsck
// clears a bad record it can step over, and cuts the block at one it
// cannot).
struct DirentCheck {
  Dirent dirent;
  std::string error;
  bool walkable = true;
};
DirentCheck check_dirent(std::span<const uint8_t> block, size_t off, uint32_t inodes_count);
// Parses one directory block; every record is checked: rec_len >= 8, a
// multiple of 4, inside the block, large enough for its name; a used record
// has a name of 1..255 bytes without '/' or NUL, an inode number in
// 1..inodes_count, a known file type.  The records must end exactly at the
// block end.  Free records (inode 0) are returned too.
std::vector<Dirent> parse_dir_block(std::span<const uint8_t> block, uint32_t inodes_count);
// Encodes records into one block: each rec_len is recomputed, the last one
// stretched to the block end.  Throws FormatError if they do not fit or a
// name is empty or longer than 255 bytes.
std::vector<uint8_t> encode_dir_block(const std::vector<Dirent>& entries, uint32_t block_size);
uint8_t file_type_of_mode(uint16_t mode);

// Where each region goes for a device of `blocks` blocks.
struct Geometry {
  uint32_t block_size = 0;
  uint32_t blocks_count = 0;
  uint32_t inodes_count = 0;
  uint32_t block_bitmap = 0;
  uint32_t block_bitmap_blocks = 0;
  uint32_t inode_bitmap = 0;
  uint32_t inode_bitmap_blocks = 0;
  uint32_t inode_table = 0;
  uint32_t inode_table_blocks = 0;
  uint32_t first_data_block = 0;
};
inline constexpr uint32_t kBytesPerInode = 4096;
inline constexpr uint32_t kMinInodes = 16;
// device_bytes is rounded down to whole blocks (at most 2^32-1 blocks);
// inodes 0 means one per kBytesPerInode, at least kMinInodes.  The inode
// count is rounded up to fill the last inode table block.  Throws
// FormatError when the block size is not 1024/2048/4096 or the metadata
// leaves no data block for the root directory.
Geometry compute_geometry(uint64_t device_bytes, uint32_t block_size, uint32_t inodes);

// Bitmap helpers (little-endian bit strings, as ext2).
inline bool test_bit(std::span<const uint8_t> map, uint64_t bit) {
  return (map[bit / 8] >> (bit % 8)) & 1U;
}
inline void set_bit(std::span<uint8_t> map, uint64_t bit) {
  map[bit / 8] = static_cast<uint8_t>(map[bit / 8] | (1U << (bit % 8)));
}

}  // namespace mpagefs
