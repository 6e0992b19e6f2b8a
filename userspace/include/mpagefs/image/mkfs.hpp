// mkfs.hpp - making an mpagefs filesystem, optionally populated from a tree
// of files (a host directory scanned by image/sys/host_tree.hpp, or one
// built in memory by tests).
//
// Allocation follows ext2 so the kernel's read path meets ext2's layouts:
// one cursor moves forward through the data area; a file's blocks are taken
// in file order, each indirect block right before the first data block it
// maps (DIND, then IND, then data); directory blocks are taken when the
// directory grows, in depth-first name order.  Holes in a source file get no
// block, and an indirect block exists only if it maps data.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mpagefs/image/blockio.hpp"
#include "mpagefs/image/format.hpp"

namespace mpagefs {

enum class Layout {
  Contiguous,  // a file's data blocks adjacent in file order
  Fragmented,  // runs of frag_run data blocks with a one-block gap after
               // each, so no bio can merge across runs
};

struct MkfsOptions {
  uint32_t block_size = 1024;
  uint32_t inodes = 0;              // 0: one per kBytesPerInode
  Layout layout = Layout::Contiguous;
  uint32_t frag_run = 1;            // data blocks per run with Fragmented
  int64_t mkfs_time = 0;            // s_mkfs_time, s_write_time; root times if not populated
  std::array<uint8_t, 16> uuid{};
  std::string volume_name;          // at most 16 bytes
  uint32_t errors = MPAGEFS_ERRORS_MKFS;  // s_errors
};

// One node of a source tree.
struct SourceNode {
  enum class Type { File, Dir, Symlink };
  Type type = Type::File;
  std::string name;                 // "" for the root
  uint16_t mode = 0644;             // permission bits (type bits ignored)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 0;
  uint32_t mtime_nsec = 0;
  uint64_t size = 0;                // File
  // Byte ranges [first, second) that hold data; the rest are holes.
  std::vector<std::pair<uint64_t, uint64_t>> data;
  // Reads bytes at an offset inside a data range (File).
  std::function<void(uint64_t, std::span<uint8_t>)> read;
  std::string target;               // Symlink
  std::vector<SourceNode> children; // Dir; any order (sorted by name when written)

  // Helpers for trees built in memory.
  static SourceNode dir(std::string name, std::vector<SourceNode> children = {});
  static SourceNode file(std::string name, std::string content);
  // A file of `size` bytes, holes except for the given (offset, bytes).
  static SourceNode sparse_file(std::string name, uint64_t size,
                                std::vector<std::pair<uint64_t, std::string>> pieces);
  static SourceNode symlink(std::string name, std::string target);
};

struct MkfsResult {
  Geometry geometry;
  uint32_t free_blocks = 0;
  uint32_t free_inodes = 0;
  uint32_t files = 0;
  uint32_t dirs = 1;                // the root
  uint32_t symlinks = 0;
};

// Formats `dev` (its whole size, at most 2^32-1 blocks) and, when `root` is
// given, copies the tree in.  Throws FormatError on a too-small device, no
// space, too many inodes, a bad name or a too-large file (naming the path).
MkfsResult make_filesystem(BlockIo& dev, const MkfsOptions& opts, const SourceNode* root = nullptr);

// A deterministic uuid (version 4 layout) from a seed.
std::array<uint8_t, 16> uuid_from_seed(uint64_t seed);

}  // namespace mpagefs
