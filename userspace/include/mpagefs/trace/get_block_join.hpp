// get_block_join.hpp - which get_block calls (mpagefs's tracepoint records,
// control/control.hpp) mapped the blocks of each explained bio
// (trace/explain.hpp): explain --gb-trace and the scenarios' checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/control/control.hpp"
#include "mpagefs/trace/explain.hpp"

namespace mpagefs::explain {

// Which get_block calls mapped the blocks of one bio.
struct BioMapping {
  std::vector<size_t> calls;         // indices into the records, ascending
  std::vector<uint64_t> unmapped;    // disk blocks of the bio no call mapped
};

// For each event (a bio, in submission order), the get_block calls
// (successful, len > 0, on the same device) whose physical range
// [pblk, pblk + len) holds its blocks.  Blocks are disk blocks of
// `block_size` (event sectors * 512 / block_size).  The two clocks differ,
// so the join is by block range and order: each block goes to the first
// call at or after the earliest call the previous bio used that maps it
// (a call can map several bios; a later read of the same blocks is matched
// to a later call), falling back to the last earlier call that maps it.
// `device` of the events is blktrace's (MINORBITS 20); 0 matches any.
std::vector<BioMapping> join_get_block(const std::vector<ExplainedEvent>& events,
                                       const std::vector<control::TraceRecord>& records);

// The same join one bio at a time (bios in submission order), for a
// streamed trace: it holds the records' index, not the bios.
class GetBlockJoin {
 public:
  explicit GetBlockJoin(const std::vector<control::TraceRecord>& records);
  BioMapping map(const ExplainedEvent& e);

 private:
  using Key = std::pair<uint64_t, uint64_t>;  // (device key, block)
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.first * 1000003U ^ k.second); }
  };
  std::unordered_map<Key, std::vector<size_t>, KeyHash> by_block_;  // calls mapping it, in trace order
  std::unordered_map<uint64_t, bool> devices_;
  size_t cursor_ = 0;
};

// Whether an explained event reads or writes file data (a data segment).
bool is_data_bio(const ExplainedEvent& e);
// The data-segment blocks of `e` among `blocks`.
std::vector<uint64_t> data_blocks_among(const ExplainedEvent& e, const std::vector<uint64_t>& blocks);
// {"records", "get_block_calls", "get_block_calls_used", "data_bios",
//  "data_bios_attributed" (every data block mapped by a call),
//  "unmapped_data_blocks"}.
nlohmann::json join_summary(const std::vector<ExplainedEvent>& events, const std::vector<BioMapping>& joined,
                            const std::vector<control::TraceRecord>& records);
// The same summary counted one bio at a time.
class JoinSummary {
 public:
  explicit JoinSummary(const std::vector<control::TraceRecord>& records);
  void add(const ExplainedEvent& e, const BioMapping& m);
  [[nodiscard]] nlohmann::json json() const;

 private:
  const std::vector<control::TraceRecord>& records_;
  std::vector<bool> used_;
  uint64_t data_ = 0;
  uint64_t attributed_ = 0;
  uint64_t unmapped_ = 0;
};
// [1,2,3,7] -> "1-3 7".
std::string format_ranges(const std::vector<uint64_t>& blocks);

}  // namespace mpagefs::explain
