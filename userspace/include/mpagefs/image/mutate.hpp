// mutate.hpp - seeded, replayable corruption of an mpagefs image, for the
// hostile-image tests: `mpagectl mutate IMAGE --seed N` makes the same
// change on the same image every time, and says exactly what it changed
// (structure, field, old value, new value).
//
// The mutator knows the format (kmod/mpagefs_fs.h): it reads a valid image
// with MpagefsImage, builds a model of what is in use (inodes, block
// pointers at every level, directory records), picks mutations from that
// model with a splitmix64 generator seeded by N, and writes them.  Targets:
// superblock fields (with a stale checksum, or with a recomputed one so the
// checks after the checksum run), both bitmaps, inode fields (type, size,
// links, i_blocks, timestamps, block pointers out of range, into metadata,
// into the inode table, shared with another file, looping indirect chains),
// and directory records (rec_len, name_len, inode, file type, names, "."
// and "..", entries that make a cycle).
//
// Every mutation says whether `mpagectl fsck` can detect it: a few are
// undetectable by construction (a timestamp, an owner, a permission bit, a
// reserved field nobody reads, a renamed entry); everything else must make
// fsck report a finding (tests/unit/test_mutate.cpp checks that).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/image/blockio.hpp"

namespace mpagefs {

struct Mutation {
  std::string kind;        // e.g. "sb-field", "inode-pointer", "dirent-rec_len"
  std::string structure;   // "superblock", "block bitmap", "inode 12", "directory 2 block 300"
  std::string field;       // "s_inodes_count", "i_block[3]", "IND block 301 entry 5", "rec_len"
  uint64_t offset = 0;     // byte offset in the device of the changed field
  uint32_t width = 0;      // bytes changed there (1, 2, 4 or 8)
  uint64_t old_value = 0;
  uint64_t new_value = 0;
  bool crc_recomputed = false;  // superblock: s_checksum rewritten to match
  bool detectable = true;       // fsck must report something
  std::string note;             // why it is interesting, or why fsck cannot see it
  // One line: "inode 12 i_block[3]: 301 -> 5 (into the block bitmap)".
  std::string describe() const;
};

// The writes of a set of mutations (offset, little-endian bytes), in order.
struct MutationWrite {
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
};

struct MutationPlan {
  std::vector<Mutation> mutations;
  std::vector<MutationWrite> writes;
};

// Plans `count` mutations of the valid mpagefs image on `dev` from `seed`
// (only reads `dev`).  Throws FormatError when `dev` holds no valid mpagefs
// (the mutator needs a good image to know what to break).
MutationPlan plan_mutations(BlockIo& dev, uint64_t seed, unsigned count);

// plan_mutations, then writes them (and flushes).
MutationPlan mutate_image(BlockIo& dev, uint64_t seed, unsigned count);

// {"mutations": [{"kind", "structure", "field", "offset", "width", "old",
// "new", "crc_recomputed", "detectable", "note", "description"}, ...]}.
nlohmann::json to_json(const MutationPlan& plan);

}  // namespace mpagefs
