// get_block_join.cpp - joining get_block tracepoint records with the bios
// of a block trace, by block range and order.
#include "mpagefs/trace/get_block_join.hpp"

#include <algorithm>
#include <string>

namespace mpagefs::explain {

bool is_data_bio(const ExplainedEvent& e) {
  return std::any_of(e.segments.begin(), e.segments.end(),
                     [](const Segment& s) { return s.kind() == BlockKind::Data; });
}

GetBlockJoin::GetBlockJoin(const std::vector<control::TraceRecord>& records) {
  auto dev_key = [](uint64_t major, uint64_t minor) { return (major << 32) | minor; };
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (r.event != control::TraceEvent::GetBlock || r.ret != 0 || r.len == 0) continue;
    const uint64_t d = dev_key(r.major, r.minor);
    devices_[d] = true;
    for (uint64_t b = r.pblk; b < r.pblk + r.len; ++b) by_block_[{d, b}].push_back(i);
  }
}

BioMapping GetBlockJoin::map(const ExplainedEvent& e) {
  BioMapping m;
  // blktrace's device (MINORBITS 20); 0 (unknown) matches the only
  // traced device, if there is exactly one.
  uint64_t d = 0;
  if (e.event.device != 0)
    d = (uint64_t{blktrace::dev_major(e.event.device)} << 32) | blktrace::dev_minor(e.event.device);
  else if (devices_.size() == 1)
    d = devices_.begin()->first;
  size_t lowest = SIZE_MAX;
  for (uint64_t b = e.first_block; b < e.first_block + e.block_count; ++b) {
    const auto it = by_block_.find({d, b});
    if (it == by_block_.end()) {
      m.unmapped.push_back(b);
      continue;
    }
    const auto& calls = it->second;
    const auto at = std::lower_bound(calls.begin(), calls.end(), cursor_);
    const size_t call = at != calls.end() ? *at : calls.back();
    lowest = std::min(lowest, call);
    if (std::find(m.calls.begin(), m.calls.end(), call) == m.calls.end()) m.calls.push_back(call);
  }
  std::sort(m.calls.begin(), m.calls.end());
  if (lowest != SIZE_MAX) cursor_ = std::max(cursor_, lowest);
  return m;
}

std::vector<BioMapping> join_get_block(const std::vector<ExplainedEvent>& events,
                                       const std::vector<control::TraceRecord>& records) {
  GetBlockJoin join(records);
  std::vector<BioMapping> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(join.map(e));
  return out;
}

std::vector<uint64_t> data_blocks_among(const ExplainedEvent& e, const std::vector<uint64_t>& blocks) {
  std::vector<uint64_t> out;
  for (const uint64_t b : blocks)
    for (const auto& s : e.segments)
      if (s.kind() == BlockKind::Data && b >= s.first_block && b < s.first_block + s.count) {
        out.push_back(b);
        break;
      }
  return out;
}

JoinSummary::JoinSummary(const std::vector<control::TraceRecord>& records) : records_(records), used_(records.size()) {}

void JoinSummary::add(const ExplainedEvent& e, const BioMapping& m) {
  for (const size_t c : m.calls) used_.at(c) = true;
  if (!is_data_bio(e)) return;
  ++data_;
  const auto missing = data_blocks_among(e, m.unmapped);
  unmapped_ += missing.size();
  if (missing.empty()) ++attributed_;
}

nlohmann::json JoinSummary::json() const {
  uint64_t calls = 0;
  for (const auto& r : records_)
    if (r.event == control::TraceEvent::GetBlock) ++calls;
  return {{"records", records_.size()},
          {"get_block_calls", calls},
          {"get_block_calls_used", static_cast<uint64_t>(std::count(used_.begin(), used_.end(), true))},
          {"data_bios", data_},
          {"data_bios_attributed", attributed_},
          {"unmapped_data_blocks", unmapped_}};
}

nlohmann::json join_summary(const std::vector<ExplainedEvent>& events, const std::vector<BioMapping>& joined,
                            const std::vector<control::TraceRecord>& records) {
  JoinSummary sum(records);
  for (size_t i = 0; i < events.size() && i < joined.size(); ++i) sum.add(events[i], joined[i]);
  return sum.json();
}

std::string format_ranges(const std::vector<uint64_t>& blocks) {
  std::string out;
  for (size_t i = 0; i < blocks.size();) {
    size_t j = i;
    while (j + 1 < blocks.size() && blocks[j + 1] == blocks[j] + 1) ++j;
    if (!out.empty()) out += ' ';
    out += i == j ? std::to_string(blocks[i]) : std::to_string(blocks[i]) + "-" + std::to_string(blocks[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace mpagefs::explain
