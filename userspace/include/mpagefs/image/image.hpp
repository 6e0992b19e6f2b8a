// image.hpp - reading a filesystem image (mpagefs or ext2): inodes, block
// maps, file contents, directories, and the owner of every block.
//
// FsImage holds the parts common to both formats (the ext2-style i_block
// tree with IND/DIND/TIND, linear directories); MpagefsImage and Ext2Image
// supply the superblock, inode decoding and metadata regions.  Every block
// pointer is checked against the device, indirect blocks are visited at most
// once per walk, so a corrupt image gives FormatError, never a hang.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpagefs/image/blockio.hpp"
#include "mpagefs/image/blockmap.hpp"
#include "mpagefs/image/format.hpp"

namespace mpagefs {

// A format-independent view of one inode.
struct InodeInfo {
  uint32_t ino = 0;
  uint16_t mode = 0;          // S_IF* | permissions
  uint16_t links = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t mtime = 0;
  uint64_t fs_blocks = 0;     // filesystem blocks held (data + indirect)
  uint32_t block[kNBlocks] = {};  // i_block[] (text of a fast symlink)
  bool fast_symlink = false;  // target stored in block[]
  bool has_block_map = true;  // block[] holds pointers (not a fast symlink or special file)
};

// A run of mapped file blocks: logical .. logical+count-1 at physical ...
struct DataRun {
  uint64_t logical = 0;
  uint64_t physical = 0;
  uint64_t count = 0;
  bool operator==(const DataRun&) const = default;
};

// An indirect block of a file's map.
struct IndirectBlock {
  uint64_t physical = 0;
  int level = 1;              // 1 IND, 2 DIND, 3 TIND
  uint64_t first_logical = 0; // first file block its subtree maps
  bool operator==(const IndirectBlock&) const = default;
};

// A hole: logical .. logical+count-1 unmapped (inside the file's size).
struct Hole {
  uint64_t logical = 0;
  uint64_t count = 0;
  bool operator==(const Hole&) const = default;
};

// The block map of one inode, in logical order.  `indirect` is in the order
// the walk meets them (a block before the subtree it maps).
struct FileMap {
  uint32_t block_size = 0;
  uint64_t size = 0;                 // i_size
  uint64_t size_blocks = 0;          // ceil(size / block_size)
  std::vector<DataRun> runs;
  std::vector<IndirectBlock> indirect;
  std::vector<Hole> holes() const;   // unmapped ranges below size_blocks
};

// One non-zero block pointer of an inode's map, as a walk meets it.
struct BlockPointer {
  uint64_t block = 0;      // the pointer's value
  int level = 0;           // 0 data, 1 IND, 2 DIND, 3 TIND
  uint64_t logical = 0;    // data: its file block; indirect: first file block it maps
  uint64_t holder = 0;     // indirect block holding the pointer; 0: the inode's i_block[]
  uint32_t index = 0;      // slot in i_block[] or entry in the holder
};
// "i_block[3]" or "IND block 120 entry 5": where a pointer is stored.
std::string pointer_location(const BlockPointer& p);

// Why a walk refuses to follow a pointer.
enum class PointerFault {
  None,
  OutOfRange,  // not a data block: beyond the device or into metadata
  Loop,        // an indirect block met a second time in the same map
};

// Called for every non-zero pointer, a block before the subtree it maps.
// A faulty pointer is never followed; for a good indirect pointer the
// return value says whether to read it and walk its entries.
using PointerVisitor = std::function<bool(const BlockPointer&, PointerFault)>;

struct DirEntryInfo {
  uint32_t ino = 0;
  uint8_t file_type = 0;             // MPAGEFS_FT_* (same values as ext2)
  std::string name;
};

class FsImage {
 public:
  explicit FsImage(BlockIo& dev) : dev_(dev) {}
  FsImage(const FsImage&) = delete;
  FsImage& operator=(const FsImage&) = delete;
  FsImage(FsImage&&) = delete;
  FsImage& operator=(FsImage&&) = delete;
  virtual ~FsImage() = default;

  virtual std::string_view type() const = 0;   // "mpagefs" or "ext2"
  virtual uint32_t block_size() const = 0;
  virtual uint64_t blocks_count() const = 0;
  virtual uint32_t inodes_count() const = 0;
  virtual uint32_t root_ino() const = 0;
  // A validated inode; throws FormatError for a number outside the table
  // or a corrupt inode.
  virtual InodeInfo inode(uint32_t ino) const = 0;
  // Inodes marked in use by the inode bitmap that a user can see (ext2's
  // reserved inodes other than the root are left out).
  virtual std::vector<uint32_t> inodes_in_use() const = 0;

  // The block map of an inode (empty without one: fast symlink, special).
  FileMap map_file(uint32_t ino) const;
  // Walks the i_block tree of `in` (which need not be valid: fsck), calling
  // `visit` for each pointer; never throws for bad pointers, only for I/O.
  void walk_pointers(const InodeInfo& in, const PointerVisitor& visit) const;
  // The whole content (holes read as zeros, exactly i_size bytes).
  std::vector<uint8_t> read_file(uint32_t ino) const;
  // Bytes [offset, offset + len) of a file with map `map`, clipped to its
  // size; holes read as zeros.
  std::vector<uint8_t> read_range(const FileMap& map, uint64_t offset, uint64_t len) const;
  // Directory records in block order, free records skipped.
  std::vector<DirEntryInfo> list_dir(uint32_t ino) const;
  std::optional<uint32_t> lookup(uint32_t dir_ino, std::string_view name) const;
  // "/a/b" -> inode (no symlinks followed); throws FormatError if missing.
  uint32_t resolve(std::string_view path) const;
  // Symlink target (fast or block-stored).
  std::string read_symlink(uint32_t ino) const;
  // Every block in use, with its owner; throws FormatError when a block is
  // claimed twice.
  BlockOwnerMap owner_map() const;

 protected:
  // Adds superblock, descriptors, bitmaps and inode tables.
  virtual void add_metadata(BlockOwnerMap& map) const = 0;
  // Whether `block` may be a data or indirect block.
  virtual bool valid_data_block(uint64_t block) const = 0;
  void read_block(uint64_t block, std::span<uint8_t> out) const;
  BlockIo& dev() const { return dev_; }

 private:
  BlockIo& dev_;
};

// Opens an image, autodetecting mpagefs (magic at byte 0) or ext2 (magic at
// byte 1080).  Throws FormatError for neither or a corrupt superblock.  The
// image keeps a reference to `dev`.
std::unique_ptr<FsImage> open_image(BlockIo& dev);

// The owner map of a whole image (mpagefs or ext2, autodetected).
BlockOwnerMap build_owner_map(BlockIo& dev);

}  // namespace mpagefs
