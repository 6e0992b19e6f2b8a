// ext2_reader.cpp - ext2's superblock, group descriptors and inodes, decoded
// into FsImage's common view.  Only what reading needs; no journal, no
// extents, no 64-bit or meta_bg layouts (refused with a message).
#include <cstring>
#include <fmt/format.h>

#include "mpagefs/image/ext2.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

namespace {
constexpr uint32_t kIncompatFiletype = 0x0002;
constexpr uint32_t kRoCompatSparseSuper = 0x0001;
constexpr uint32_t kCompatResizeInode = 0x0010;
constexpr uint32_t kResizeIno = 7;
constexpr uint32_t kGroupDescSize = 32;
constexpr uint32_t kExt2SuperSize = 1024;

bool is_power_of(uint32_t n, uint32_t base) {
  while (n > 1 && n % base == 0) n /= base;
  return n == 1;
}
}  // namespace

Ext2Super ext2_super_fields(std::span<const uint8_t> raw) {
  Ext2Super s;
  s.inodes_count = get_le32(raw, 0);
  s.blocks_count = get_le32(raw, 4);
  s.free_blocks_count = get_le32(raw, 12);
  s.free_inodes_count = get_le32(raw, 16);
  s.first_data_block = get_le32(raw, 20);
  s.log_block_size = get_le32(raw, 24);
  s.blocks_per_group = get_le32(raw, 32);
  s.inodes_per_group = get_le32(raw, 40);
  s.magic = get_le16(raw, 56);
  s.rev_level = get_le32(raw, 76);
  s.first_ino = get_le32(raw, 84);
  s.inode_size = get_le16(raw, 88);
  s.feature_compat = get_le32(raw, 92);
  s.feature_incompat = get_le32(raw, 96);
  s.feature_ro_compat = get_le32(raw, 100);
  s.reserved_gdt_blocks = get_le16(raw, 206);
  return s;
}

Ext2Super decode_ext2_super(std::span<const uint8_t> raw, uint64_t device_bytes) {
  if (raw.size() < kExt2SuperSize) throw FormatError("ext2 superblock: short buffer");
  Ext2Super s = ext2_super_fields(raw);
  if (s.rev_level < 1) {  // revision 0: no dynamic fields, fixed first inode and inode size
    const Ext2Super rev0;
    s.first_ino = rev0.first_ino;
    s.inode_size = rev0.inode_size;
    s.feature_compat = s.feature_incompat = s.feature_ro_compat = 0;
    s.reserved_gdt_blocks = 0;
  }
  auto fail = [](const std::string& m) { throw FormatError("ext2: " + m); };
  if (s.magic != kExt2Magic) fail(fmt::format("s_magic {:#x} is not ext2", s.magic));
  if (s.log_block_size > 2) fail(fmt::format("s_log_block_size {} not in 0..2", s.log_block_size));
  const uint32_t bs = s.block_size();
  if (s.first_data_block != (bs == 1024 ? 1U : 0U))
    fail(fmt::format("s_first_data_block {} wrong for {}-byte blocks", s.first_data_block, bs));
  if (s.blocks_count <= s.first_data_block) fail("s_blocks_count too small");
  if (device_bytes != 0 && uint64_t{s.blocks_count} * bs > device_bytes)
    fail(fmt::format("s_blocks_count {} exceeds the device", s.blocks_count));
  if (s.blocks_per_group == 0 || s.blocks_per_group > bs * 8)
    fail(fmt::format("s_blocks_per_group {} not in 1..{}", s.blocks_per_group, bs * 8));
  if (s.inodes_per_group == 0 || s.inodes_per_group > bs * 8)
    fail(fmt::format("s_inodes_per_group {} not in 1..{}", s.inodes_per_group, bs * 8));
  if (s.inode_size < 128 || s.inode_size > bs || (s.inode_size & (s.inode_size - 1)) != 0)
    fail(fmt::format("s_inode_size {} invalid", s.inode_size));
  if (s.feature_incompat & ~kIncompatFiletype)
    fail(fmt::format("s_feature_incompat {:#x}: unsupported features (extents, 64bit, "
                     "meta_bg, journal...)", s.feature_incompat));
  const uint64_t groups = (uint64_t{s.blocks_count} - s.first_data_block + s.blocks_per_group - 1) /
                          s.blocks_per_group;
  if (uint64_t{s.inodes_count} > groups * s.inodes_per_group)
    fail(fmt::format("s_inodes_count {} exceeds groups * inodes_per_group", s.inodes_count));
  if (s.inodes_count < 2) fail("s_inodes_count has no root inode");
  return s;
}

Ext2Image::Ext2Image(BlockIo& dev) : FsImage(dev) {
  if (dev.size() < kExt2SuperOffset + kExt2SuperSize) throw FormatError("ext2: device too small");
  std::vector<uint8_t> raw(kExt2SuperSize);
  dev.read(kExt2SuperOffset, raw);
  sb_ = decode_ext2_super(raw, dev.size());
  const uint32_t ngroups =
      (sb_.blocks_count - sb_.first_data_block + sb_.blocks_per_group - 1) / sb_.blocks_per_group;
  std::vector<uint8_t> gdt(uint64_t{gdt_blocks()} * block_size());
  dev.read(uint64_t{sb_.first_data_block + 1} * block_size(), gdt);
  for (uint32_t g = 0; g < ngroups; ++g) {
    Ext2GroupDesc d;
    d.block_bitmap = get_le32(gdt, g * kGroupDescSize);
    d.inode_bitmap = get_le32(gdt, g * kGroupDescSize + 4);
    d.inode_table = get_le32(gdt, g * kGroupDescSize + 8);
    const uint64_t it_end = uint64_t{d.inode_table} + inode_table_blocks();
    if (d.block_bitmap >= sb_.blocks_count || d.inode_bitmap >= sb_.blocks_count ||
        d.inode_table < sb_.first_data_block || it_end > sb_.blocks_count)
      throw FormatError(fmt::format("ext2: group {} descriptor points outside the device", g));
    groups_.push_back(d);
  }
}

uint32_t Ext2Image::gdt_blocks() const {
  const uint32_t ngroups =
      (sb_.blocks_count - sb_.first_data_block + sb_.blocks_per_group - 1) / sb_.blocks_per_group;
  return (ngroups * kGroupDescSize + block_size() - 1) / block_size();
}

uint32_t Ext2Image::inode_table_blocks() const {
  return (sb_.inodes_per_group * sb_.inode_size + block_size() - 1) / block_size();
}

bool Ext2Image::group_has_super(uint32_t g) const {
  if (g <= 1 || !(sb_.feature_ro_compat & kRoCompatSparseSuper)) return true;
  return is_power_of(g, 3) || is_power_of(g, 5) || is_power_of(g, 7);
}

InodeInfo Ext2Image::inode(uint32_t ino) const {
  if (ino == 0 || ino > sb_.inodes_count)
    throw FormatError(fmt::format("ext2: inode {} outside 1..{}", ino, sb_.inodes_count));
  const uint32_t g = (ino - 1) / sb_.inodes_per_group;
  const uint32_t idx = (ino - 1) % sb_.inodes_per_group;
  std::array<uint8_t, 128> raw{};
  dev().read(uint64_t{groups_.at(g).inode_table} * block_size() + uint64_t{idx} * sb_.inode_size,
             raw);
  InodeInfo in;
  in.ino = ino;
  in.mode = get_le16(raw, 0);
  in.uid = get_le16(raw, 2) | (uint32_t{get_le16(raw, 120)} << 16);
  in.size = get_le32(raw, 4);
  in.mtime = get_le32(raw, 16);
  in.gid = get_le16(raw, 24) | (uint32_t{get_le16(raw, 122)} << 16);
  in.links = get_le16(raw, 26);
  const uint32_t sectors = get_le32(raw, 28);
  const uint32_t file_acl = get_le32(raw, 104);
  if (mode_is_reg(in.mode)) in.size |= uint64_t{get_le32(raw, 108)} << 32;
  in.fs_blocks = sectors / (block_size() / 512);
  for (uint32_t i = 0; i < kNBlocks; ++i) in.block[i] = get_le32(raw, 40 + 4 * i);
  // ext2_inode_is_fast_symlink: no blocks besides an xattr block.
  const uint32_t ea_sectors = file_acl != 0 ? block_size() / 512 : 0;
  in.fast_symlink = mode_is_lnk(in.mode) && sectors == ea_sectors;
  in.has_block_map = mode_is_reg(in.mode) || mode_is_dir(in.mode) || (mode_is_lnk(in.mode) && !in.fast_symlink);

  auto fail = [ino](const std::string& m) {
    throw FormatError(fmt::format("ext2: inode {}: {}", ino, m));
  };
  if (!mode_is_reg(in.mode) && !mode_is_dir(in.mode) && !mode_is_lnk(in.mode))
    fail(fmt::format("i_mode {:#o} is not a regular file, directory or symlink", in.mode));
  if (in.links == 0) fail("i_links_count is 0");
  if (in.size > max_file_size(block_size())) fail(fmt::format("i_size {} too large", in.size));
  if (in.fast_symlink && in.size >= kFastSymlinkMax) fail("fast symlink too long");
  if (!in.fast_symlink)
    for (uint32_t i = 0; i < kNBlocks; ++i)
      if (in.block[i] != 0 && !valid_data_block(in.block[i]))
        fail(fmt::format("i_block[{}] = {} outside the device", i, in.block[i]));
  return in;
}

std::vector<uint32_t> Ext2Image::inodes_in_use() const {
  std::vector<uint32_t> out;
  std::vector<uint8_t> map(block_size());
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    read_block(groups_[g].inode_bitmap, map);
    for (uint32_t i = 0; i < sb_.inodes_per_group; ++i) {
      const uint32_t ino = g * sb_.inodes_per_group + i + 1;
      if (ino > sb_.inodes_count) break;
      // Reserved inodes (bad blocks, resize, journal...) are not files.
      if (ino != root_ino() && ino < sb_.first_ino) continue;
      if (test_bit(map, i)) out.push_back(ino);
    }
  }
  return out;
}

void Ext2Image::add_metadata(BlockOwnerMap& map) const {
  const uint32_t bs = block_size();
  if (bs > kExt2SuperOffset) map.add(0, BlockOwner{BlockKind::Super, 0, 0, ""});  // sb inside block 0
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    const uint64_t start = sb_.first_data_block + uint64_t{g} * sb_.blocks_per_group;
    if (group_has_super(g)) {
      if (!(g == 0 && bs > kExt2SuperOffset)) map.add(start, BlockOwner{BlockKind::Super, 0, g, ""});
      const uint32_t nd = gdt_blocks() + ((sb_.feature_compat & kCompatResizeInode)
                                              ? sb_.reserved_gdt_blocks : 0U);
      for (uint32_t i = 0; i < nd; ++i)
        map.add(start + 1 + i, BlockOwner{BlockKind::GroupDesc, 0, i, ""});
    }
    const Ext2GroupDesc& d = groups_[g];
    map.add(d.block_bitmap, BlockOwner{BlockKind::BlockBitmap, 0, g, ""});
    map.add(d.inode_bitmap, BlockOwner{BlockKind::InodeBitmap, 0, g, ""});
    for (uint32_t i = 0; i < inode_table_blocks(); ++i)
      map.add(uint64_t{d.inode_table} + i,
              BlockOwner{BlockKind::InodeTable, 0, uint64_t{g} * inode_table_blocks() + i, ""});
  }
  // The resize inode's DIND block (its leaves are the reserved GDT blocks).
  if (sb_.feature_compat & kCompatResizeInode) {
    std::array<uint8_t, 128> raw{};
    dev().read(uint64_t{groups_[0].inode_table} * bs + uint64_t{kResizeIno - 1} * sb_.inode_size,
               raw);
    const uint32_t dind = get_le32(raw, 40 + 4 * MPAGEFS_DIND_BLOCK);
    if (dind != 0 && valid_data_block(dind))
      map.add(dind, BlockOwner{BlockKind::Dind, kResizeIno, 0, "<resize inode>"});
  }
}

}  // namespace mpagefs
