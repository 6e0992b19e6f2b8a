// fsck.hpp - checking and repairing an mpagefs image, with e2fsck's model:
// what is in use is decided from the inodes and directories themselves
// (the inode table, the block maps, the tree from the root), and the
// bitmaps and free counts are then compared with that.
//
// A check is a pure function of the image (a BlockIo, so tests run it on
// MemoryBlockIo); a repair applies the writes the check planned and checks
// again until the image is clean.  What repair does for each kind of
// finding is documented at FindingKind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/image/blockio.hpp"

namespace mpagefs {

// Each kind, with what --repair does about it.
enum class FindingKind {
  Superblock,    // bad checksum (rewritten), errors flag or not cleanly
                 // unmounted (state set to clean); a bad geometry or root
                 // inode is not repairable and stops the check
  InodeMode,     // in-use inode with no known file type, or a directory
                 // without blocks, or a symlink of impossible size: cleared
                 // (zeroed, freed; entries to it are cleared)
  InodeField,    // impossible field for the type (special file with a
                 // size, nanoseconds >= 1e9): set to 0
  InodeBlocks,   // i_blocks differs from the blocks the map holds: set
  InodeSize,     // blocks mapped past i_size, directory size not a
                 // multiple of the block size: i_size extended to cover
                 // them (as e2fsck); a slow symlink's is not repairable
  BadPointer,    // a block pointer into the metadata or past the device:
                 // cleared (a hole)
  IndirectLoop,  // an indirect block met twice in one map: pointer cleared
  CrossLink,     // a block already claimed (by another inode or the same
                 // one): the later pointer (inode order, then logical
                 // order) is cleared; the first claimant keeps the block
  DirRecord,     // malformed directory record: a record whose rec_len can
                 // be trusted is freed (inode 0); otherwise the block is
                 // cut there (previous record stretched to the block end)
  DirDot,        // "." or ".." naming the wrong inode: fixed; missing: not
                 // repairable
  DirHole,       // unmapped block inside a directory: not repairable
  DirEntryFree,  // entry naming a free or cleared inode: entry cleared
  DirFileType,   // entry's file type differs from the inode's mode: fixed
  DirHardLink,   // a second entry for a directory: entry cleared
  Orphan,        // inode in use that no directory reaches: freed (its
                 // blocks return to the free space; no lost+found)
  LinkCount,     // i_links_count differs from the entries reaching it: set
  BlockBitmap,   // bitmap differs from metadata + blocks the inodes hold:
                 // bitmap rewritten
  InodeBitmap,   // bitmap differs from the inodes in use: rewritten
  FreeBlocks,    // s_free_blocks_count differs from the bitmap: set
  FreeInodes,    // s_free_inodes_count differs from the bitmap: set
};
std::string_view to_string(FindingKind k);

struct Finding {
  FindingKind kind = FindingKind::Superblock;
  uint32_t ino = 0;      // the inode involved (0: none)
  uint64_t block = 0;    // the block involved (0: none)
  std::string message;
  bool fixable = false;  // --repair knows how to fix it
  int pass = 1;          // the check that found it (repair checks again)
};

// One write a repair makes.
struct Patch {
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
};

struct FsckStats {
  uint32_t inodes_count = 0;
  uint32_t inodes_used = 0;
  uint64_t blocks_count = 0;
  uint64_t blocks_used = 0;
  uint32_t block_size = 0;
};

// One read-only check: the findings and the writes that fix the fixable
// ones (applied in order).
struct FsckPass {
  std::vector<Finding> findings;
  std::vector<Patch> patches;
  FsckStats stats;
};

// Checks the image; it only reads `dev`.  Throws FormatError when `dev` holds no
// mpagefs superblock (no magic number), IoError when it cannot be read.
FsckPass check_image(BlockIo& dev);

// fsck(8)'s exit status bits, as e2fsck uses them.
inline constexpr int kFsckClean = 0;
inline constexpr int kFsckCorrected = 1;
inline constexpr int kFsckUncorrected = 4;
inline constexpr int kFsckOperational = 8;
inline constexpr int kFsckUsage = 16;

struct FsckOptions {
  bool repair = false;
  int max_passes = 4;  // repair: checks after the first one, at most
};

struct FsckResult {
  std::vector<Finding> findings;   // everything found (later passes too)
  std::vector<Finding> remaining;  // what the last check still found
  int passes = 0;                  // checks run
  bool repaired = false;           // writes were made
  FsckStats stats;                 // of the last check
  // 0 clean, 1 everything found was corrected, 4 errors left.
  int exit_code() const;
};

// Checks `dev`; with opts.repair, applies the fixes and checks again until
// a check is clean, nothing more can be fixed, or max_passes is reached.
FsckResult fsck(BlockIo& dev, const FsckOptions& opts);

// {"kind", "ino", "block", "message", "fixable", "pass"}.
nlohmann::json to_json(const Finding& f);
// {"exit_code", "clean", "repaired", "passes", the counts of the last
// check, "findings", "remaining"}.
nlohmann::json to_json(const FsckResult& r);

}  // namespace mpagefs
