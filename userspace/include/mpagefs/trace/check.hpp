// check.hpp - assertions over the bios of a trace that touch one file.
//
// The events are the selected ones (Q by default) explained against the
// image's owner map.  "File bios" are those with at least one data or
// indirect block of the file.  Rules:
//   order       (--expect-order) the file bios, in submission order, are
//               exactly the given sequence.  Syntax: bios separated by ',',
//               the segments of one bio joined by '+', a segment is
//               KIND[:a[-b]] with KIND one of data dir IND DIND TIND super
//               gdt bbitmap ibitmap itable free (case-insensitive).  For
//               data/dir/metadata a-b is the logical (or in-structure) block
//               range; for IND/DIND/TIND "KIND:a" is the first file block it
//               maps and "KIND:a-b" its whole mapped range.  No range: any.
//               Example: "data:0-11,IND,data:12-16".
//   max-bios    at most N file bios.
//   max-bio-kib every file bio is at most N KiB.
//   min-bio-kib every file bio carrying data is at least N KiB, except the
//               one holding the file's last mapped data block (a tail may be
//               short).
//   contiguous  (always) a file bio is one segment: its blocks are contiguous
//               on disk and in the file, within one owner (a bio spanning
//               data and an indirect block, or a jump in logical blocks,
//               crosses a discontinuity).
//   owned       (always) no selected event touches a block nobody owns (a
//               hole or a free block has no business being read).
//   read-once   (always) no data block of the file is read by two bios.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/image/blockmap.hpp"
#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/trace/explain.hpp"

namespace mpagefs::check {

struct OrderSegment {
  std::optional<BlockKind> kind;                       // nullopt: "free"
  std::optional<std::pair<uint64_t, uint64_t>> range;  // nullopt: any
  bool operator==(const OrderSegment&) const = default;
};
using OrderBio = std::vector<OrderSegment>;

// Parses --expect-order; throws std::invalid_argument with the offending
// item.
std::vector<OrderBio> parse_expect_order(std::string_view spec);
// A bio in the same syntax ("data:0-11", "IND:12", "data:11+IND:12").
std::string describe_bio(const explain::ExplainedEvent& e);
bool segment_matches(const OrderSegment& want, const explain::Segment& got);

struct Rules {
  std::optional<std::vector<OrderBio>> expect_order;
  std::optional<std::string> expect_order_text;  // as given, for messages
  std::optional<uint64_t> max_bios;
  std::optional<uint64_t> max_bio_kib;
  std::optional<uint64_t> min_bio_kib;
};

struct Finding {
  std::string rule;
  bool passed = true;
  std::string message;  // what was checked, or why it failed
};

struct Report {
  std::string file;
  std::vector<std::string> file_bios;  // describe_bio of each, in order
  std::vector<Finding> findings;
  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::vector<Finding> failures() const;
};

// Runs every rule over `events` (already filtered to the actions to check).
// Throws std::invalid_argument when the file has no blocks in the map.
Report run_checks(const std::vector<blktrace::Event>& events, const BlockOwnerMap& map,
                  std::string_view file, const Rules& rules);

std::string format_report(const Report& r);
nlohmann::json to_json(const Report& r);

}  // namespace mpagefs::check
