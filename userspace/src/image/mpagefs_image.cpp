// mpagefs_image.cpp - reading mpagefs's own metadata.
#include "mpagefs/image/mpagefs_image.hpp"

#include <cstring>
#include <fmt/format.h>

namespace mpagefs {

MpagefsImage::MpagefsImage(BlockIo& dev) : FsImage(dev) {
  if (dev.size() < kSuperSize) throw FormatError("device smaller than a superblock");
  std::array<uint8_t, kSuperSize> raw{};
  dev.read(0, raw);
  validate_super(raw, dev.size());
  sb_ = decode_super(raw);
}

uint64_t MpagefsImage::inode_offset(uint32_t ino) const {
  if (ino == 0 || ino > sb_.inodes_count)
    throw FormatError(fmt::format("inode {} outside 1..{}", ino, sb_.inodes_count));
  return uint64_t{sb_.inode_table} * block_size() + uint64_t{ino - 1} * kInodeSize;
}

Inode MpagefsImage::read_raw_inode(uint32_t ino) const {
  std::array<uint8_t, kInodeSize> raw{};
  dev().read(inode_offset(ino), raw);
  return decode_inode(raw);
}

Inode MpagefsImage::raw_inode(uint32_t ino) const {
  Inode in = read_raw_inode(ino);
  validate_inode(in, ino, sb_);
  return in;
}

InodeInfo inode_info(uint32_t ino, const Inode& in) {
  InodeInfo info;
  info.ino = ino;
  info.mode = in.mode;
  info.links = in.links_count;
  info.uid = in.uid;
  info.gid = in.gid;
  info.size = in.size;
  info.mtime = in.mtime;
  info.fs_blocks = in.blocks;
  std::memcpy(info.block, in.block.data(), sizeof(info.block));
  info.fast_symlink = is_fast_symlink(in);
  info.has_block_map = has_block_map(in);
  return info;
}

InodeInfo MpagefsImage::inode(uint32_t ino) const { return inode_info(ino, raw_inode(ino)); }

std::vector<uint8_t> MpagefsImage::read_region(uint32_t first, uint32_t count) const {
  std::vector<uint8_t> buf(uint64_t{count} * block_size());
  dev().read(uint64_t{first} * block_size(), buf);
  return buf;
}

std::vector<uint8_t> MpagefsImage::block_bitmap() const {
  return read_region(sb_.block_bitmap, sb_.block_bitmap_blocks);
}

std::vector<uint8_t> MpagefsImage::inode_bitmap() const {
  return read_region(sb_.inode_bitmap, sb_.inode_bitmap_blocks);
}

std::vector<uint32_t> MpagefsImage::inodes_in_use() const {
  const std::vector<uint8_t> map = inode_bitmap();
  std::vector<uint32_t> out;
  for (uint32_t ino = 1; ino <= sb_.inodes_count; ++ino)
    if (test_bit(map, ino - 1)) out.push_back(ino);
  return out;
}

uint64_t MpagefsImage::used_blocks_in_bitmap() const {
  const std::vector<uint8_t> map = read_region(sb_.block_bitmap, sb_.block_bitmap_blocks);
  uint64_t n = 0;
  for (uint64_t b = 0; b < sb_.blocks_count; ++b) n += test_bit(map, b) ? 1 : 0;
  return n;
}

void MpagefsImage::add_metadata(BlockOwnerMap& map) const {
  auto region = [&map](BlockKind k, uint32_t first, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) map.add(uint64_t{first} + i, BlockOwner{k, 0, i, ""});
  };
  region(BlockKind::Super, MPAGEFS_SUPER_BLOCKNR, 1);
  region(BlockKind::BlockBitmap, sb_.block_bitmap, sb_.block_bitmap_blocks);
  region(BlockKind::InodeBitmap, sb_.inode_bitmap, sb_.inode_bitmap_blocks);
  region(BlockKind::InodeTable, sb_.inode_table, sb_.inode_table_blocks);
}

}  // namespace mpagefs
