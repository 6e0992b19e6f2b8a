// image_writer.cpp - mkfs's allocator and metadata writer.
#include <fmt/format.h>

#include "image_writer.hpp"

#include "mpagefs/util/le.hpp"

namespace mpagefs::detail {

namespace {
constexpr size_t kMaxPendingBytes = 1U << 20;  // flush data writes at 1 MiB
}

ImageWriter::ImageWriter(BlockIo& dev, const MkfsOptions& opts)
    : dev_(dev), opts_(opts),
      g_(compute_geometry(dev.size(), opts.block_size, opts.inodes)),
      block_bitmap_(uint64_t{g_.block_bitmap_blocks} * g_.block_size),
      inode_bitmap_(uint64_t{g_.inode_bitmap_blocks} * g_.block_size),
      inodes_(g_.inodes_count),
      cursor_(g_.first_data_block) {
  if (opts.frag_run == 0) throw FormatError("fragment run length must be at least 1");
  if (opts.volume_name.size() > 16) throw FormatError("volume name longer than 16 bytes");
  // Metadata is in use; so are the bitmap bits past the end (as ext2 pads),
  // so no allocator ever hands them out.
  for (uint64_t b = 0; b < g_.first_data_block; ++b) set_bit(block_bitmap_, b);
  for (uint64_t b = g_.blocks_count; b < block_bitmap_.size() * 8; ++b) set_bit(block_bitmap_, b);
  for (uint64_t i = g_.inodes_count; i < inode_bitmap_.size() * 8; ++i) set_bit(inode_bitmap_, i);
  used_blocks_ = g_.first_data_block;
}

uint32_t ImageWriter::alloc_inode(const std::string& path) {
  for (uint32_t i = 0; i < g_.inodes_count; ++i) {
    if (!test_bit(inode_bitmap_, i)) {
      set_bit(inode_bitmap_, i);
      ++used_inodes_;
      return i + 1;
    }
  }
  throw FormatError(fmt::format("{}: no free inode (all {} in use; use --inodes)", path,
                                g_.inodes_count));
}

uint32_t ImageWriter::alloc_block(const std::string& path) {
  // Forward from the cursor, then once more from the data area's start.
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t b = cursor_; b < g_.blocks_count; ++b) {
      if (!test_bit(block_bitmap_, b)) {
        set_bit(block_bitmap_, b);
        ++used_blocks_;
        cursor_ = b + 1;
        return static_cast<uint32_t>(b);
      }
    }
    cursor_ = g_.first_data_block;
  }
  throw FormatError(fmt::format("{}: no space left on the device ({} blocks of {} bytes)", path,
                                g_.blocks_count, g_.block_size));
}

void ImageWriter::before_data_block(uint32_t& run_len) {
  if (opts_.layout != Layout::Fragmented) return;
  if (run_len == opts_.frag_run) {
    // Leave the next free block free: the gap between two runs.
    while (cursor_ < g_.blocks_count && test_bit(block_bitmap_, cursor_)) ++cursor_;
    if (cursor_ < g_.blocks_count) ++cursor_;
    run_len = 0;
  }
  ++run_len;
}

uint32_t ImageWriter::ensure_indirect(uint32_t& slot, uint32_t ino, const std::string& path) {
  if (slot == 0) {
    slot = alloc_block(path);
    indirect_[slot].assign(g_.block_size / 4, 0);
    ++inode(ino).blocks;
  }
  return slot;
}

uint32_t ImageWriter::map_block(uint32_t ino, uint64_t logical, const std::string& path) {
  if (logical >= max_file_blocks(g_.block_size))
    throw FormatError(fmt::format("{}: block {} beyond the largest file", path, logical));
  const uint64_t p = g_.block_size / 4;
  Inode& in = inode(ino);
  // Find (or make) the slot that will hold the data block's number; the
  // indirect blocks on the way are allocated first, as ext2 does.
  uint32_t* slot = nullptr;
  if (logical < kNDirBlocks) {
    slot = &in.block[logical];
  } else {
    uint64_t rel = logical - kNDirBlocks;
    int level = 1;
    uint64_t span = p;  // blocks under the top pointer of this level
    while (rel >= span) {
      rel -= span;
      ++level;
      span *= p;
    }
    uint32_t* top = &in.block[kNDirBlocks + level - 1];
    uint32_t blk = ensure_indirect(*top, ino, path);
    for (int l = level; l >= 1; --l) {
      span /= p;  // blocks under one entry of this indirect block
      const uint64_t idx = rel / span;
      rel %= span;
      uint32_t& entry = indirect_.at(blk)[idx];
      if (l == 1) {
        slot = &entry;
      } else {
        blk = ensure_indirect(entry, ino, path);
      }
    }
  }
  if (*slot != 0) throw FormatError(fmt::format("{}: block {} mapped twice", path, logical));
  const uint32_t b = alloc_block(path);
  *slot = b;  // `slot` stays valid: std::map nodes and the inode do not move
  ++in.blocks;
  return b;
}

void ImageWriter::write_block(uint32_t block, std::span<const uint8_t> data) {
  const uint32_t bs = g_.block_size;
  if (!pending_.empty() &&
      (pending_first_ + pending_.size() / bs != block || pending_.size() >= kMaxPendingBytes))
    flush_data();
  if (pending_.empty()) pending_first_ = block;
  pending_.insert(pending_.end(), data.begin(), data.end());
  pending_.resize(pending_.size() + (bs - data.size() % bs) % bs, 0);  // pad the tail
}

void ImageWriter::flush_data() {
  if (pending_.empty()) return;
  dev_.write(uint64_t{pending_first_} * g_.block_size, pending_);
  pending_.clear();
}

MkfsResult ImageWriter::finish(MkfsResult r) {
  flush_data();
  const uint64_t bs = g_.block_size;
  for (const auto& [blk, ptrs] : indirect_) {
    std::vector<uint8_t> buf(bs);
    for (size_t i = 0; i < ptrs.size(); ++i) put_le32(buf, i * 4, ptrs[i]);
    dev_.write(blk * bs, buf);
  }
  std::vector<uint8_t> table(uint64_t{g_.inode_table_blocks} * bs);
  for (size_t i = 0; i < inodes_.size(); ++i) {
    const auto raw = encode_inode(inodes_[i]);
    std::copy(raw.begin(), raw.end(), table.begin() + static_cast<ptrdiff_t>(i * kInodeSize));
  }
  dev_.write(uint64_t{g_.inode_table} * bs, table);
  dev_.write(uint64_t{g_.block_bitmap} * bs, block_bitmap_);
  dev_.write(uint64_t{g_.inode_bitmap} * bs, inode_bitmap_);

  SuperBlock sb;
  sb.log_block_size = static_cast<uint32_t>(__builtin_ctz(g_.block_size));
  sb.blocks_count = g_.blocks_count;
  sb.free_blocks_count = g_.blocks_count - used_blocks_;
  sb.inodes_count = g_.inodes_count;
  sb.free_inodes_count = g_.inodes_count - used_inodes_;
  sb.block_bitmap = g_.block_bitmap;
  sb.block_bitmap_blocks = g_.block_bitmap_blocks;
  sb.inode_bitmap = g_.inode_bitmap;
  sb.inode_bitmap_blocks = g_.inode_bitmap_blocks;
  sb.inode_table = g_.inode_table;
  sb.inode_table_blocks = g_.inode_table_blocks;
  sb.first_data_block = g_.first_data_block;
  sb.mkfs_time = static_cast<uint64_t>(opts_.mkfs_time);
  sb.write_time = sb.mkfs_time;
  sb.uuid = opts_.uuid;
  sb.errors = opts_.errors;
  std::copy(opts_.volume_name.begin(), opts_.volume_name.end(), sb.volume_name.begin());
  std::vector<uint8_t> block0(bs);
  const auto raw = encode_super(sb);
  std::copy(raw.begin(), raw.end(), block0.begin());
  dev_.write(0, block0);
  dev_.flush();

  r.geometry = g_;
  r.free_blocks = sb.free_blocks_count;
  r.free_inodes = sb.free_inodes_count;
  return r;
}

}  // namespace mpagefs::detail
