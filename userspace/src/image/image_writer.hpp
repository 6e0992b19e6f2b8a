// image_writer.hpp (private) - the mkfs state: bitmaps, inode table and
// indirect blocks in memory, the allocation cursor, and buffered data writes.
// populate.cpp drives it from a source tree.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mpagefs/image/mkfs.hpp"

namespace mpagefs::detail {

class ImageWriter {
 public:
  ImageWriter(BlockIo& dev, const MkfsOptions& opts);

  const Geometry& geometry() const { return g_; }
  uint32_t block_size() const { return g_.block_size; }

  // Takes the lowest free inode; throws when none is left (naming `path`).
  uint32_t alloc_inode(const std::string& path);
  Inode& inode(uint32_t ino) { return inodes_.at(ino - 1); }

  // Maps logical block `logical` of inode `ino`, allocating indirect blocks
  // on the way first, then the data block.  Returns the data block.
  uint32_t map_block(uint32_t ino, uint64_t logical, const std::string& path);
  // Fragmented layout: called before each data block of a file so that
  // every frag_run blocks one block is skipped.  `run_len` is the file's
  // counter.
  void before_data_block(uint32_t& run_len);

  // Buffered write of one block's content at `block` (adjacent blocks are
  // written together).
  void write_block(uint32_t block, std::span<const uint8_t> data);
  // Writes buffered data, indirect blocks, inode table, bitmaps and the
  // superblock; returns the free counts.
  MkfsResult finish(MkfsResult r);

 private:
  uint32_t alloc_block(const std::string& path);
  uint32_t ensure_indirect(uint32_t& slot, uint32_t ino, const std::string& path);
  void flush_data();

  BlockIo& dev_;
  MkfsOptions opts_;
  Geometry g_;
  std::vector<uint8_t> block_bitmap_;
  std::vector<uint8_t> inode_bitmap_;
  std::vector<Inode> inodes_;
  std::map<uint32_t, std::vector<uint32_t>> indirect_;  // block -> pointers
  uint64_t cursor_;                                      // next block to try
  uint32_t used_blocks_ = 0;
  uint32_t used_inodes_ = 0;
  // Pending data write: blocks pending_first_ .. + pending_.size() / bs.
  uint32_t pending_first_ = 0;
  std::vector<uint8_t> pending_;
};

}  // namespace mpagefs::detail
