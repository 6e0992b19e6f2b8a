// blockmap.hpp - who owns each block of an image: the bridge between a
// filesystem's metadata (mpagefs or ext2) and a block trace's sectors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mpagefs {

enum class BlockKind {
  Super,        // superblock (and, on ext2, its backups)
  GroupDesc,    // ext2 group descriptors
  BlockBitmap,
  InodeBitmap,
  InodeTable,
  Data,         // file data block
  Dir,          // directory data block
  Ind,          // single-indirect block
  Dind,         // double-indirect block
  Tind,         // triple-indirect block
  Unknown,      // in no structure we know of
};

std::string_view to_string(BlockKind k);

// The owner of one filesystem block.
struct BlockOwner {
  BlockKind kind = BlockKind::Unknown;
  uint32_t ino = 0;       // owning inode for Data/Dir/Ind/Dind/Tind, else 0
  uint64_t logical = 0;   // Data/Dir: file block index.  Ind/Dind/Tind: the
                          // first file block it maps.  Metadata: block index
                          // within that structure.
  std::string path;       // path of the owning inode ("/f17"), "" if none
  bool operator==(const BlockOwner&) const = default;
};

// A run of disk blocks with the same kind and inode whose logical numbers
// advance with the disk block number.  Stored by first disk block.
struct OwnerRun {
  uint64_t first_block = 0;
  uint64_t count = 0;
  BlockOwner owner;       // owner of first_block; logical advances by 1 per
                          // block for Data/Dir/metadata, stays for Ind/...
};

// Maps disk block numbers (in units of block_size) to owners.  Built by an
// image reader; queried by explain/check.  Runs never overlap.
class BlockOwnerMap {
 public:
  explicit BlockOwnerMap(uint32_t block_size = 1024) : block_size_(block_size) {}

  uint32_t block_size() const { return block_size_; }
  // Adds one block; merges with the previous run when it continues it.
  void add(uint64_t block, const BlockOwner& owner);
  // Owner of `block`, or nullopt for a free/unknown block.
  std::optional<BlockOwner> lookup(uint64_t block) const;
  const std::map<uint64_t, OwnerRun>& runs() const { return runs_; }

 private:
  uint32_t block_size_;
  std::map<uint64_t, OwnerRun> runs_;
};

}  // namespace mpagefs
