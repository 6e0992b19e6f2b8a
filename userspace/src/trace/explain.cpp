// explain.cpp - block trace events mapped onto the filesystem's owners.
#include "mpagefs/trace/explain.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "mpagefs/util/out_buffer.hpp"

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

// Whether a piece of `n` blocks owned by `owner` (logical block `logical`
// at its first block) continues segment `s`, which ends right before it.
bool continues(const Segment& s, const BlockOwner* owner, uint64_t logical) {
  if (s.owner == nullptr || owner == nullptr) return s.owner == nullptr && owner == nullptr;
  if (is_indirect(s.owner->kind) || is_indirect(owner->kind)) return false;
  return s.owner->kind == owner->kind && s.owner->ino == owner->ino && s.logical_last + 1 == logical &&
         (s.owner == owner || s.owner->path == owner->path);
}

// Appends blocks first .. first+n-1 of one owner (logical block `logical`
// at first) to the segments, extending the last one when they continue it.
void add_piece(std::vector<Segment>& segs, uint64_t first, uint64_t n, const BlockOwner* owner, uint64_t logical,
               uint32_t block_size) {
  if (!segs.empty() && continues(segs.back(), owner, logical)) {
    Segment& s = segs.back();
    s.count += n;
    if (owner != nullptr) s.logical_last = logical + n - 1;
    return;
  }
  Segment s;
  s.first_block = first;
  s.count = n;
  s.owner = owner;
  if (owner != nullptr) {
    s.logical_first = logical;
    s.logical_last = is_indirect(owner->kind) ? logical + indirect_span(owner->kind, block_size) - 1 : logical + n - 1;
  }
  segs.push_back(s);
}

void put_range(std::string& out, uint64_t a, uint64_t b) {
  std::array<char, 48> buf{};
  char* p = std::to_chars(buf.data(), buf.data() + 20, a).ptr;
  if (a != b) {
    *p++ = '-';
    p = std::to_chars(p, buf.data() + buf.size(), b).ptr;
  }
  out.append(buf.data(), static_cast<size_t>(p - buf.data()));
}

void put_uint(std::string& out, uint64_t v) {
  std::array<char, 20> buf{};
  out.append(buf.data(), static_cast<size_t>(std::to_chars(buf.data(), buf.data() + buf.size(), v).ptr - buf.data()));
}

std::string_view metadata_name(BlockKind k) {
  switch (k) {
    case BlockKind::Super: return "superblock";
    case BlockKind::GroupDesc: return "group descriptors";
    case BlockKind::BlockBitmap: return "block bitmap";
    case BlockKind::InodeBitmap: return "inode bitmap";
    case BlockKind::InodeTable: return "inode table";
    default: return to_string(k);
  }
}

}  // namespace

void split_blocks(const BlockOwnerMap& map, uint64_t first, uint64_t count, std::vector<Segment>& segs) {
  segs.clear();
  const auto& runs = map.runs();
  const uint64_t end = first + count;
  // The run holding `first`, else the first run after it.
  auto it = runs.upper_bound(first);
  if (it != runs.begin()) {
    auto prev = std::prev(it);
    if (prev->second.first_block + prev->second.count > first) it = prev;
  }
  for (uint64_t b = first; b < end;) {
    if (it == runs.end() || it->second.first_block > b) {  // free up to the next run
      const uint64_t stop = it == runs.end() ? end : std::min(end, it->second.first_block);
      add_piece(segs, b, stop - b, nullptr, 0, map.block_size());
      b = stop;
      continue;
    }
    const OwnerRun& r = it->second;
    const uint64_t stop = std::min(end, r.first_block + r.count);
    if (is_indirect(r.owner.kind)) {
      // Each indirect block is a segment of its own; its logical stays.
      for (; b < stop; ++b) add_piece(segs, b, 1, &r.owner, r.owner.logical, map.block_size());
    } else {
      add_piece(segs, b, stop - b, &r.owner, r.owner.logical + (b - r.first_block), map.block_size());
      b = stop;
    }
    ++it;
  }
}

std::vector<Segment> split_blocks(const BlockOwnerMap& map, uint64_t first, uint64_t count) {
  std::vector<Segment> segs;
  split_blocks(map, first, count, segs);
  return segs;
}

void explain_event(const blktrace::EventView& ev, const BlockOwnerMap& map, ExplainedEvent& e) {
  e.event.assign(ev);
  const uint64_t bs = map.block_size();
  const uint64_t start = ev.sector * 512;
  const uint64_t end = start + ev.bytes;  // exclusive
  e.first_block = start / bs;
  e.block_count = ev.bytes == 0 ? 0 : (end + bs - 1) / bs - e.first_block;
  split_blocks(map, e.first_block, e.block_count, e.segments);
}

ExplainedEvent explain_event(const blktrace::Event& ev, const BlockOwnerMap& map) {
  ExplainedEvent e;
  explain_event(ev.view(), map, e);
  return e;
}

std::vector<ExplainedEvent> explain_events(const std::vector<blktrace::Event>& events,
                                           const BlockOwnerMap& map) {
  std::vector<ExplainedEvent> out;
  out.reserve(events.size());
  for (const auto& ev : events) out.push_back(explain_event(ev, map));
  return out;
}

void append_label(std::string& out, const Segment& s) {
  const uint64_t last_disk = s.first_block + s.count - 1;
  if (s.owner == nullptr) {
    out += "free/unknown (disk ";
    put_range(out, s.first_block, last_disk);
    out += ')';
    return;
  }
  const BlockOwner& o = *s.owner;
  auto who = [&] {
    if (o.path.empty()) {
      out += "ino ";
      put_uint(out, o.ino);
    } else {
      out += o.path;
    }
  };
  switch (o.kind) {
    case BlockKind::Data:
      who();
      out += " data ";
      put_range(out, s.logical_first, s.logical_last);
      return;
    case BlockKind::Dir:
      out += "dir ";
      who();
      out += s.count > 1 ? " blocks " : " block ";
      put_range(out, s.logical_first, s.logical_last);
      return;
    case BlockKind::Ind:
    case BlockKind::Dind:
    case BlockKind::Tind:
      who();
      out += ' ';
      out += to_string(o.kind);
      out += " (maps ";
      put_range(out, s.logical_first, s.logical_last);
      out += ')';
      return;
    case BlockKind::Unknown:
      out += "unknown (disk ";
      put_range(out, s.first_block, last_disk);
      out += ')';
      return;
    default:
      out += metadata_name(o.kind);
      out += s.count > 1 ? " blocks " : " block ";
      put_range(out, s.logical_first, s.logical_last);
      return;
  }
}

std::string label(const Segment& s) {
  std::string out;
  append_label(out, s);
  return out;
}

std::string normalize_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  return "/" + std::string(path);
}

bool owned_by_file(const Segment& seg, std::string_view path) {
  if (seg.owner == nullptr) return false;
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

uint64_t file_base_block(const BlockOwnerMap& map, std::string_view file) {
  const std::string path = normalize_path(file);
  for (const auto& [first, run] : map.runs()) {  // ordered by disk block: the first match is the lowest
    const BlockKind k = run.owner.kind;
    if ((k == BlockKind::Data || is_indirect(k)) && run.owner.path == path) return first;
  }
  throw std::invalid_argument("no data or indirect blocks of " + path + " in the image");
}

Notation::Notation(const BlockOwnerMap& map, std::string_view file)
    : path_(normalize_path(file)), base_(file_base_block(map, path_)) {}

void Notation::add(const ExplainedEvent& e) {
  if (!touches_file(e, path_)) return;
  if (!out_.empty()) out_ += ' ';
  out_ += '[';
  bool first = true;
  for (const auto& s : e.segments) {
    const bool mine = owned_by_file(s, path_);
    for (uint64_t i = 0; i < s.count; ++i) {
      if (!first) out_ += ' ';
      first = false;
      if (mine)
        put_uint(out_, s.first_block + i - base_);
      else
        out_ += '-';
    }
  }
  out_ += ']';
}

std::string notation(const std::vector<ExplainedEvent>& events, const BlockOwnerMap& map,
                     std::string_view file) {
  Notation n(map, file);
  for (const auto& e : events) n.add(e);
  return n.str();
}

void append_line(std::string& out, const ExplainedEvent& e) {
  const auto& ev = e.event;
  // "%-2s %-4s %10llu + %-5u [%s] "
  std::array<char, 64> head{};
  std::string_view letters = ev.letters();
  if (letters.empty()) letters = "?";
  const std::string rw = ev.rwbs();
  const int n = std::snprintf(head.data(), head.size(), "%-2.*s %-4s %10llu + %-5u [", static_cast<int>(letters.size()),
                              letters.data(), rw.c_str(), static_cast<unsigned long long>(ev.sector), ev.nr_sectors());
  out.append(head.data(), static_cast<size_t>(std::min<int>(n, static_cast<int>(head.size()) - 1)));
  out += ev.comm.empty() ? std::string_view("?") : std::string_view(ev.comm);
  out += "] ";
  if (e.segments.empty()) {
    out += "(no data)";
    return;
  }
  for (size_t i = 0; i < e.segments.size(); ++i) {
    if (i) out += " | ";
    append_label(out, e.segments[i]);
  }
}

std::string format_line(const ExplainedEvent& e) {
  std::string line;
  append_line(line, e);
  return line;
}

nlohmann::json to_json(const Segment& s) {
  nlohmann::json j;
  j["first_block"] = s.first_block;
  j["count"] = s.count;
  j["kind"] = s.owner != nullptr ? std::string(to_string(s.owner->kind)) : "free";
  if (s.owner != nullptr) {
    j["ino"] = s.owner->ino;
    j["path"] = s.owner->path;
    j["logical_first"] = s.logical_first;
    j["logical_last"] = s.logical_last;
  }
  j["label"] = label(s);
  return j;
}

void append_json_members(OutBuffer& out, const ExplainedEvent& e, std::string& scratch) {
  std::array<char, 96> buf{};
  auto num = [&](std::string_view key, uint64_t v) {
    char* p = buf.data();
    *p++ = ',';
    *p++ = '"';
    p = std::copy(key.begin(), key.end(), p);
    *p++ = '"';
    *p++ = ':';
    p = std::to_chars(p, buf.data() + buf.size(), v).ptr;
    out.append(std::string_view(buf.data(), static_cast<size_t>(p - buf.data())));
  };
  num("first_block", e.first_block);
  num("block_count", e.block_count);
  out.append(",\"segments\":[");
  for (size_t i = 0; i < e.segments.size(); ++i) {
    const Segment& s = e.segments[i];
    out.append(i == 0 ? "{" : ",{");
    out.append("\"first_block\":");
    out.append(std::string_view(buf.data(), static_cast<size_t>(std::to_chars(buf.data(), buf.data() + buf.size(),
                                                                              s.first_block).ptr - buf.data())));
    num("count", s.count);
    out.append(R"(,"kind":")");
    out.append(s.owner != nullptr ? to_string(s.owner->kind) : "free");
    out.put('"');
    if (s.owner != nullptr) {
      num("ino", s.owner->ino);
      out.append(",\"path\":");
      blktrace::append_json_string(out, s.owner->path);
      num("logical_first", s.logical_first);
      num("logical_last", s.logical_last);
    }
    out.append(",\"label\":");
    scratch.clear();
    append_label(scratch, s);
    blktrace::append_json_string(out, scratch);
    out.put('}');
  }
  out.put(']');
}

nlohmann::json to_json(const ExplainedEvent& e, uint64_t genesis_ns) {
  std::string text;
  {
    OutBuffer w(text);
    w.put('{');
    blktrace::append_json_members(w, e.event.view(), genesis_ns);
    std::string scratch;
    append_json_members(w, e, scratch);
    w.put('}');
  }
  return nlohmann::json::parse(text);
}

}  // namespace mpagefs::explain
