// explain.hpp - what a block trace event touched, in filesystem terms.
//
// An event's sectors become filesystem blocks (sector * 512 / block_size)
// and each block is looked up in a BlockOwnerMap (built from the image).
// A bio is split into segments: maximal runs of blocks that are contiguous
// on disk AND within one owner (same inode and kind, logical block advancing
// by one; each indirect block is a segment of its own).  Labels:
//   "/f17 data 0-11"            file data, logical blocks 0..11
//   "/f17 IND (maps 12-267)"    an indirect block and the file blocks it can map
//   "dir / block 0"             directory data
//   "inode table blocks 4-5"    metadata (index within the structure)
//   "free/unknown (disk 900-903)"  a block nobody owns
//
// The mpage.c comment notation for one file (notation()): every data and
// indirect block of the file is numbered relative to the lowest disk block
// the file occupies (its own data or indirect blocks), and the bios touching
// the file are listed in submission order, one bracket per bio, e.g. for the
// 17-block file laid out data 0-11, IND, data 12-16:
//   boundary=on:  "[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 15 16 17]"
//   boundary=off: "[12] [0 1 2 3 4 5 6 7 8 9 10 11] [13 14 15 16 17]"
// A block inside such a bio that is not the file's prints as "-".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/image/blockmap.hpp"
#include "mpagefs/trace/blktrace.hpp"

namespace mpagefs::explain {

struct Segment {
  uint64_t first_block = 0;           // disk block
  uint64_t count = 0;
  // The owner of the map's run holding first_block (its `logical` is the
  // run's, see logical_first for this segment's); nullptr: free/unknown.
  // Points into the BlockOwnerMap, which must outlive the segment.
  const BlockOwner* owner = nullptr;
  // Data/Dir/metadata: logical blocks of first_block .. last.  IND/DIND/
  // TIND: the range of file blocks the indirect block can map.
  uint64_t logical_first = 0;
  uint64_t logical_last = 0;

  [[nodiscard]] BlockKind kind() const { return owner != nullptr ? owner->kind : BlockKind::Unknown; }
  [[nodiscard]] bool is_free() const { return owner == nullptr; }
};

struct ExplainedEvent {
  blktrace::Event event;
  uint64_t first_block = 0;           // blocks the bio covers, even partly
  uint64_t block_count = 0;
  std::vector<Segment> segments;
};

bool is_indirect(BlockKind k);
// How many file blocks an indirect block of `k` can map at `block_size`.
uint64_t indirect_span(BlockKind k, uint32_t block_size);

// Splits disk blocks first .. first+count-1 into owner segments, into
// `out` (cleared first).  The map is searched once per bio and then walked
// run by run: the cost is per run of blocks, not per block.
void split_blocks(const BlockOwnerMap& map, uint64_t first, uint64_t count, std::vector<Segment>& out);
std::vector<Segment> split_blocks(const BlockOwnerMap& map, uint64_t first, uint64_t count);
// Explains one event into `out`, reusing its storage.
void explain_event(const blktrace::EventView& ev, const BlockOwnerMap& map, ExplainedEvent& out);
ExplainedEvent explain_event(const blktrace::Event& ev, const BlockOwnerMap& map);
std::vector<ExplainedEvent> explain_events(const std::vector<blktrace::Event>& events,
                                           const BlockOwnerMap& map);

std::string label(const Segment& seg);
void append_label(std::string& out, const Segment& seg);
// "/f17" from "f17" or "/f17".
std::string normalize_path(std::string_view path);
// Whether a segment is data or an indirect block of the file at `path`.
bool owned_by_file(const Segment& seg, std::string_view path);
bool touches_file(const ExplainedEvent& e, std::string_view path);

// The file's data and indirect blocks (disk block numbers, sorted); throws
// std::invalid_argument when the map has none for `path`.
std::vector<uint64_t> file_blocks(const BlockOwnerMap& map, std::string_view path);
// The lowest of them (the notation's block 0); throws as file_blocks().
uint64_t file_base_block(const BlockOwnerMap& map, std::string_view path);

// The mpage.c notation (see above), built one bio at a time: it holds the
// notation of the file's bios only, not the events.
class Notation {
 public:
  // Throws std::invalid_argument when the map has no block of `path`.
  Notation(const BlockOwnerMap& map, std::string_view path);
  // Adds a bracket for `e` when it touches the file.
  void add(const ExplainedEvent& e);
  [[nodiscard]] const std::string& str() const { return out_; }
  [[nodiscard]] uint64_t base_block() const { return base_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t base_;
  std::string out_;
};
// The notation over the events that touch the file.
std::string notation(const std::vector<ExplainedEvent>& events, const BlockOwnerMap& map,
                     std::string_view path);

// One text line: "Q  RA      1316 + 24   [cat] /f17 data 0-11".
std::string format_line(const ExplainedEvent& e);
void append_line(std::string& out, const ExplainedEvent& e);
nlohmann::json to_json(const ExplainedEvent& e, uint64_t genesis_ns);
nlohmann::json to_json(const Segment& s);
// The members explain --json adds to decode's (see to_json): first_block,
// block_count, segments; `scratch` is reused for the labels.
void append_json_members(OutBuffer& out, const ExplainedEvent& e, std::string& scratch);

}  // namespace mpagefs::explain
