// mpagefs_image.hpp - the mpagefs side of FsImage: superblock, bitmaps and
// inode table as described in kmod/mpagefs_fs.h.
#pragma once

#include "mpagefs/image/image.hpp"

namespace mpagefs {

// The format-independent view of a decoded mpagefs inode.
InodeInfo inode_info(uint32_t ino, const Inode& in);

class MpagefsImage final : public FsImage {
 public:
  // Reads and validates the superblock (throws FormatError).
  explicit MpagefsImage(BlockIo& dev);
  // Trusts `sb`, already checked by the caller (fsck checks the fields it
  // can repair, such as the free counts and checksum, on its own).
  MpagefsImage(BlockIo& dev, const SuperBlock& sb) : FsImage(dev), sb_(sb) {}

  std::string_view type() const override { return "mpagefs"; }
  uint32_t block_size() const override { return sb_.block_size(); }
  uint64_t blocks_count() const override { return sb_.blocks_count; }
  uint32_t inodes_count() const override { return sb_.inodes_count; }
  uint32_t root_ino() const override { return sb_.root_ino; }
  InodeInfo inode(uint32_t ino) const override;
  std::vector<uint32_t> inodes_in_use() const override;

  const SuperBlock& super() const { return sb_; }
  // The raw inode, validated.
  Inode raw_inode(uint32_t ino) const;
  // The raw inode as stored, not validated (fsck).
  Inode read_raw_inode(uint32_t ino) const;
  // Byte offset of inode `ino` in the device.
  uint64_t inode_offset(uint32_t ino) const;
  // The bitmaps as stored (whole blocks, padding bits included).
  std::vector<uint8_t> block_bitmap() const;
  std::vector<uint8_t> inode_bitmap() const;
  // Blocks marked used in the block bitmap.
  uint64_t used_blocks_in_bitmap() const;

 protected:
  void add_metadata(BlockOwnerMap& map) const override;
  bool valid_data_block(uint64_t block) const override {
    return block >= sb_.first_data_block && block < sb_.blocks_count;
  }

 private:
  std::vector<uint8_t> read_region(uint32_t first, uint32_t count) const;
  SuperBlock sb_;
};

}  // namespace mpagefs
