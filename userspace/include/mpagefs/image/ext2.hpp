// ext2.hpp - a read-only ext2 reader, enough to explain traces taken on
// images made by mkfs.ext2 (1 KiB..4 KiB blocks) and debugfs: superblock,
// group descriptors, bitmaps, inode tables, i_block maps, linear directories.
#pragma once

#include <cstdint>

#include "mpagefs/image/image.hpp"

namespace mpagefs {

inline constexpr uint64_t kExt2SuperOffset = 1024;
inline constexpr uint16_t kExt2Magic = 0xEF53;

struct Ext2Super {
  uint32_t inodes_count = 0;
  uint32_t blocks_count = 0;
  uint32_t free_blocks_count = 0;
  uint32_t free_inodes_count = 0;
  uint32_t first_data_block = 0;
  uint32_t log_block_size = 0;
  uint32_t blocks_per_group = 0;
  uint32_t inodes_per_group = 0;
  uint16_t magic = 0;
  uint32_t rev_level = 0;
  uint32_t first_ino = 11;
  uint16_t inode_size = 128;
  uint32_t feature_compat = 0;
  uint32_t feature_incompat = 0;
  uint32_t feature_ro_compat = 0;
  uint16_t reserved_gdt_blocks = 0;
  uint32_t block_size() const { return 1024U << log_block_size; }
};

struct Ext2GroupDesc {
  uint32_t block_bitmap = 0;
  uint32_t inode_bitmap = 0;
  uint32_t inode_table = 0;
};

// Decodes the 1024-byte superblock and checks what the reader relies on
// (magic, block size, group sizes, inode size, features it cannot read).
Ext2Super decode_ext2_super(std::span<const uint8_t> raw, uint64_t device_bytes);
// The same fields as stored, unchecked, whatever the revision (raw holds at
// least 1024 bytes): what probing looks at (magic, feature words, as
// blkid reads them) before anything is trusted.
Ext2Super ext2_super_fields(std::span<const uint8_t> raw);

class Ext2Image final : public FsImage {
 public:
  explicit Ext2Image(BlockIo& dev);

  std::string_view type() const override { return "ext2"; }
  uint32_t block_size() const override { return sb_.block_size(); }
  uint64_t blocks_count() const override { return sb_.blocks_count; }
  uint32_t inodes_count() const override { return sb_.inodes_count; }
  uint32_t root_ino() const override { return 2; }
  InodeInfo inode(uint32_t ino) const override;
  std::vector<uint32_t> inodes_in_use() const override;

  const Ext2Super& super() const { return sb_; }
  const std::vector<Ext2GroupDesc>& groups() const { return groups_; }
  // Whether group g holds a superblock backup (sparse_super aware).
  bool group_has_super(uint32_t g) const;

 protected:
  void add_metadata(BlockOwnerMap& map) const override;
  bool valid_data_block(uint64_t block) const override {
    return block >= sb_.first_data_block && block < sb_.blocks_count;
  }

 private:
  uint32_t gdt_blocks() const;
  uint32_t inode_table_blocks() const;
  Ext2Super sb_;
  std::vector<Ext2GroupDesc> groups_;
};

}  // namespace mpagefs
