// explain_stream.hpp - mpagectl explain over a whole trace, one event at a
// time: memory does not grow with the trace (only --file's notation grows,
// with that file's bios).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mpagefs/control/control.hpp"
#include "mpagefs/image/blockmap.hpp"
#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/util/out_buffer.hpp"

namespace mpagefs::explain {

struct StreamOptions {
  std::vector<uint16_t> codes;        // actions to explain (all if empty)
  std::string file;                   // --file, normalized ("/f17"), or ""
  bool json = false;                  // JSON Lines
  bool notation_only = false;         // text: only the notation line
  // --gb-trace: the mpagefs tracepoint records to join (nullptr: none).
  const std::vector<control::TraceRecord>* gb_records = nullptr;
};

// Explains every selected event of `reader` (those touching `file` when it
// is set) to `out`:
// - text: one line per event (format_line), with --gb-trace the calls
//   under it; then the join summary and the notation line;
// - JSON Lines: one object per event, {"type": "event", decode's members,
//   first_block, block_count, segments[, data, get_block,
//   unmapped_blocks]}, then one {"type": "summary", block_size, events[,
//   file, base_block, notation][, gb_trace]} (Documentation/tracing.rst);
// - notation_only: the notation of `file`.
// Throws std::invalid_argument for a file the map has no block of (before
// any output) and blktrace::TraceError for a bad trace.
void explain_trace(const BlockOwnerMap& map, blktrace::TraceReader& reader, const StreamOptions& o, OutBuffer& out);

}  // namespace mpagefs::explain
