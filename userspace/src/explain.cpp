// explain.cpp - block trace events mapped onto the filesystem's owners.
#include "mpagefs/explain.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace mpagefs::explain {

bool is_indirect(BlockKind k) {
  return k == BlockKind::Ind || k == BlockKind::Dind || k == BlockKind::Tind;
}

uint64_t indirect_span(BlockKind k, uint32_t block_size) {
  const uint64_t per = block_size / 4;  // __le32 pointers per block
  switch (k) {
    case BlockKind::Ind: return per;
    case BlockKind::Dind: return per * per;
    case BlockKind::Tind: return per * per * per;
    default: return 1;
  }
}

namespace {

// Whether `next` (at disk block b+1) continues a segment whose last block
// had owner `prev`.
bool continues(const std::optional<BlockOwner>& prev, const std::optional<BlockOwner>& next) {
  if (!prev || !next) return !prev && !next;
  if (is_indirect(prev->kind) || is_indirect(next->kind)) return false;
  return prev->kind == next->kind && prev->ino == next->ino && prev->path == next->path &&
         prev->logical + 1 == next->logical;
}

std::string range(uint64_t a, uint64_t b) {
  return a == b ? std::to_string(a) : std::to_string(a) + "-" + std::to_string(b);
}

std::string metadata_name(BlockKind k) {
  switch (k) {
    case BlockKind::Super: return "superblock";
    case BlockKind::GroupDesc: return "group descriptors";
    case BlockKind::BlockBitmap: return "block bitmap";
    case BlockKind::InodeBitmap: return "inode bitmap";
    case BlockKind::InodeTable: return "inode table";
    default: return std::string(to_string(k));
  }
}

}  // namespace

std::vector<Segment> split_blocks(const BlockOwnerMap& map, uint64_t first, uint64_t count) {
  std::vector<Segment> segs;
  std::optional<BlockOwner> last;
  for (uint64_t b = first; b < first + count; ++b) {
    auto owner = map.lookup(b);
    if (!segs.empty() && continues(last, owner)) {
      Segment& s = segs.back();
      ++s.count;
      if (owner) s.logical_last = owner->logical;
    } else {
      Segment s;
      s.first_block = b;
      s.count = 1;
      s.owner = owner;
      if (owner) {
        s.logical_first = owner->logical;
        s.logical_last = is_indirect(owner->kind)
                             ? owner->logical + indirect_span(owner->kind, map.block_size()) - 1
                             : owner->logical;
      }
      segs.push_back(std::move(s));
    }
    last = std::move(owner);
  }
  return segs;
}

ExplainedEvent explain_event(const blktrace::Event& ev, const BlockOwnerMap& map) {
  ExplainedEvent e;
  e.event = ev;
  const uint64_t bs = map.block_size();
  const uint64_t start = ev.sector * 512;
  const uint64_t end = start + ev.bytes;  // exclusive
  e.first_block = start / bs;
  e.block_count = ev.bytes == 0 ? 0 : (end + bs - 1) / bs - e.first_block;
  e.segments = split_blocks(map, e.first_block, e.block_count);
  return e;
}

std::vector<ExplainedEvent> explain_events(const std::vector<blktrace::Event>& events,
                                           const BlockOwnerMap& map) {
  std::vector<ExplainedEvent> out;
  out.reserve(events.size());
  for (const auto& ev : events) out.push_back(explain_event(ev, map));
  return out;
}

std::string label(const Segment& s) {
  const uint64_t last_disk = s.first_block + s.count - 1;
  if (!s.owner) return "free/unknown (disk " + range(s.first_block, last_disk) + ")";
  const BlockOwner& o = *s.owner;
  const std::string who = o.path.empty() ? "ino " + std::to_string(o.ino) : o.path;
  switch (o.kind) {
    case BlockKind::Data: return who + " data " + range(s.logical_first, s.logical_last);
    case BlockKind::Dir:
      return "dir " + who + (s.count > 1 ? " blocks " : " block ") + range(s.logical_first, s.logical_last);
    case BlockKind::Ind:
    case BlockKind::Dind:
    case BlockKind::Tind:
      return who + " " + std::string(to_string(o.kind)) + " (maps " +
             range(s.logical_first, s.logical_last) + ")";
    case BlockKind::Unknown: return "unknown (disk " + range(s.first_block, last_disk) + ")";
    default:
      return metadata_name(o.kind) + (s.count > 1 ? " blocks " : " block ") +
             range(s.logical_first, s.logical_last);
  }
}

std::string normalize_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  return "/" + std::string(path);
}

bool owned_by_file(const Segment& seg, std::string_view path) {
  if (!seg.owner) return false;
  const BlockKind k = seg.owner->kind;
  return (k == BlockKind::Data || is_indirect(k)) && seg.owner->path == path;
}

bool touches_file(const ExplainedEvent& e, std::string_view path) {
  return std::any_of(e.segments.begin(), e.segments.end(),
                     [&](const Segment& s) { return owned_by_file(s, path); });
}

std::vector<uint64_t> file_blocks(const BlockOwnerMap& map, std::string_view file) {
  const std::string path = normalize_path(file);
  std::vector<uint64_t> blocks;
  for (const auto& [first, run] : map.runs()) {
    const BlockKind k = run.owner.kind;
    if ((k == BlockKind::Data || is_indirect(k)) && run.owner.path == path)
      for (uint64_t i = 0; i < run.count; ++i) blocks.push_back(first + i);
  }
  if (blocks.empty())
    throw std::invalid_argument("no data or indirect blocks of " + path + " in the image");
  std::sort(blocks.begin(), blocks.end());
  return blocks;
}

std::string notation(const std::vector<ExplainedEvent>& events, const BlockOwnerMap& map,
                     std::string_view file) {
  const std::string path = normalize_path(file);
  const uint64_t base = file_blocks(map, path).front();
  std::string out;
  for (const auto& e : events) {
    if (!touches_file(e, path)) continue;
    std::string bio;
    for (const auto& s : e.segments) {
      const bool mine = owned_by_file(s, path);
      for (uint64_t i = 0; i < s.count; ++i) {
        if (!bio.empty()) bio += ' ';
        bio += mine ? std::to_string(s.first_block + i - base) : "-";
      }
    }
    if (!out.empty()) out += ' ';
    out += "[" + bio + "]";
  }
  return out;
}

std::string format_line(const ExplainedEvent& e) {
  const auto& ev = e.event;
  std::string letters(ev.letters());
  if (letters.empty()) letters = "?";
  std::array<char, 128> head{};
  std::snprintf(head.data(), head.size(), "%-2s %-4s %10llu + %-5u [%s] ", letters.c_str(),
                ev.rwbs().c_str(), static_cast<unsigned long long>(ev.sector), ev.nr_sectors(),
                ev.comm.empty() ? "?" : ev.comm.c_str());
  std::string line = head.data();
  if (e.segments.empty()) return line + "(no data)";
  for (size_t i = 0; i < e.segments.size(); ++i) {
    if (i) line += " | ";
    line += label(e.segments[i]);
  }
  return line;
}

nlohmann::json to_json(const Segment& s) {
  nlohmann::json j;
  j["first_block"] = s.first_block;
  j["count"] = s.count;
  j["kind"] = s.owner ? std::string(to_string(s.owner->kind)) : "free";
  if (s.owner) {
    j["ino"] = s.owner->ino;
    j["path"] = s.owner->path;
    j["logical_first"] = s.logical_first;
    j["logical_last"] = s.logical_last;
  }
  j["label"] = label(s);
  return j;
}

nlohmann::json to_json(const ExplainedEvent& e, uint64_t genesis_ns) {
  nlohmann::json j = nlohmann::json::parse(blktrace::format_json(e.event, genesis_ns));
  j["first_block"] = e.first_block;
  j["block_count"] = e.block_count;
  j["segments"] = nlohmann::json::array();
  for (const auto& s : e.segments) j["segments"].push_back(to_json(s));
  return j;
}

}  // namespace mpagefs::explain
