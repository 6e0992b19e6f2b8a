// check.cpp - the rules of check.hpp over explained trace events.
#include "mpagefs/trace/check.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <stdexcept>

#include "mpagefs/util/text.hpp"

namespace mpagefs::check {

using explain::ExplainedEvent;
using explain::Segment;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Concatenation without temporaries.
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  ((s += parts), ...);
  return s;
}

std::string describe_want(const OrderBio& bio) {
  std::string s;
  for (const auto& seg : bio) {
    if (!s.empty()) s += '+';
    s += seg.kind ? std::string(to_string(*seg.kind)) : "free";
    if (seg.range) {
      s += cat(":", std::to_string(seg.range->first));
      if (seg.range->second != seg.range->first) s += cat("-", std::to_string(seg.range->second));
    }
  }
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    out.emplace_back(trim(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

uint64_t parse_number(const std::string& s, const std::string& item) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
    throw std::invalid_argument("bad block number '" + s + "' in '" + item + "'");
  return std::stoull(s);
}

constexpr std::array kAllKinds = {BlockKind::Super, BlockKind::GroupDesc, BlockKind::BlockBitmap,
                                   BlockKind::InodeBitmap, BlockKind::InodeTable, BlockKind::Data,
                                   BlockKind::Dir, BlockKind::Ind, BlockKind::Dind,
                                   BlockKind::Tind, BlockKind::Unknown};

OrderSegment parse_segment(const std::string& item) {
  const auto colon = item.find(':');
  const std::string name = lower(trim(item.substr(0, colon)));
  OrderSegment seg;
  if (name != "free") {
    for (BlockKind k : kAllKinds)
      if (lower(to_string(k)) == name) seg.kind = k;
    if (!seg.kind) throw std::invalid_argument("unknown block kind '" + name + "' in '" + item + "'");
  }
  if (colon != std::string::npos) {
    const std::string r(trim(item.substr(colon + 1)));
    const auto dash = r.find('-');
    const uint64_t a = parse_number(std::string(trim(r.substr(0, dash))), item);
    const uint64_t b = dash == std::string::npos ? a : parse_number(std::string(trim(r.substr(dash + 1))), item);
    if (b < a) throw std::invalid_argument("empty range in '" + item + "'");
    seg.range = std::make_pair(a, b);
  }
  return seg;
}

std::string event_id(const ExplainedEvent& e) {
  const auto& ev = e.event;
  return "seq " + std::to_string(ev.sequence) + " cpu " + std::to_string(ev.cpu) + " " +
         std::string(ev.letters()) + " " + ev.rwbs() + " " + std::to_string(ev.sector) + " + " +
         std::to_string(ev.nr_sectors());
}

std::string labels(const ExplainedEvent& e) {
  std::string s;
  for (const auto& seg : e.segments) s += (s.empty() ? "" : " | ") + explain::label(seg);
  return s;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : std::string(sep)) + x;
  return s;
}

bool is_read(const blktrace::Event& ev) {
  const std::string r = ev.rwbs();
  return r.find('W') == std::string::npos && r.find('D') == std::string::npos && ev.bytes > 0;
}

}  // namespace

std::vector<OrderBio> parse_expect_order(std::string_view spec) {
  std::vector<OrderBio> bios;
  if (trim(spec).empty()) return bios;
  for (const auto& bio_text : split(spec, ',')) {
    if (bio_text.empty()) throw std::invalid_argument("empty bio in '" + std::string(spec) + "'");
    OrderBio bio;
    for (const auto& seg_text : split(bio_text, '+')) {
      if (seg_text.empty()) throw std::invalid_argument("empty segment in '" + bio_text + "'");
      bio.push_back(parse_segment(seg_text));
    }
    bios.push_back(std::move(bio));
  }
  return bios;
}

std::string describe_bio(const ExplainedEvent& e) {
  std::string s;
  for (const auto& seg : e.segments) {
    if (!s.empty()) s += '+';
    if (seg.is_free()) {
      s += "free";
      continue;
    }
    s += std::string(to_string(seg.kind())) + ":";
    if (explain::is_indirect(seg.kind()) || seg.logical_first == seg.logical_last)
      s += std::to_string(seg.logical_first);
    else
      s += std::to_string(seg.logical_first) + "-" + std::to_string(seg.logical_last);
  }
  return s.empty() ? "(no data)" : s;
}

bool segment_matches(const OrderSegment& want, const Segment& got) {
  if (!want.kind) return got.is_free();
  if (got.is_free() || got.kind() != *want.kind) return false;
  if (!want.range) return true;
  const auto [a, b] = *want.range;
  if (explain::is_indirect(got.kind()) && a == b) return got.logical_first == a;
  return got.logical_first == a && got.logical_last == b;
}

bool Report::ok() const {
  return std::all_of(findings.begin(), findings.end(), [](const Finding& f) { return f.passed; });
}

std::vector<Finding> Report::failures() const {
  std::vector<Finding> out;
  std::copy_if(findings.begin(), findings.end(), std::back_inserter(out),
               [](const Finding& f) { return !f.passed; });
  return out;
}

namespace {

Finding check_order(const std::vector<const ExplainedEvent*>& bios, const Rules& rules,
                    const std::vector<std::string>& described) {
  const auto& want = *rules.expect_order;
  std::string want_text;
  if (rules.expect_order_text) {
    want_text = *rules.expect_order_text;
  } else {
    for (const auto& b : want) want_text += (want_text.empty() ? "" : ",") + describe_want(b);
  }
  const std::string got_text = join(described, ",");
  Finding f{"order", true, ""};
  for (size_t i = 0; i < std::max(want.size(), bios.size()); ++i) {
    if (i >= want.size() || i >= bios.size()) {
      f.passed = false;
      f.message = cat("expected ", std::to_string(want.size()), " file bios (", want_text, "), got ",
                      std::to_string(bios.size()), " (", got_text, ")");
      return f;
    }
    const auto& segs = bios[i]->segments;
    bool match = segs.size() == want[i].size();
    for (size_t k = 0; match && k < segs.size(); ++k) match = segment_matches(want[i][k], segs[k]);
    if (!match) {
      f.passed = false;
      f.message = cat("file bio #", std::to_string(i + 1), " is ", described[i], " [", event_id(*bios[i]),
                      ": ", labels(*bios[i]), "], expected ", describe_want(want[i]), "; expected order ",
                      want_text, ", got ", got_text);
      return f;
    }
  }
  f.message = std::to_string(bios.size()) + " file bios in the expected order: " + got_text;
  return f;
}

}  // namespace

Report run_checks(const std::vector<blktrace::Event>& events, const BlockOwnerMap& map,
                  std::string_view file, const Rules& rules) {
  Report r;
  r.file = explain::normalize_path(file);
  (void)explain::file_blocks(map, r.file);  // throws when the file has no blocks

  // The file's last mapped data block: its bio may be short.
  std::optional<uint64_t> last_data_disk;
  uint64_t last_logical = 0;
  for (const auto& [first, run] : map.runs()) {
    if (run.owner.kind != BlockKind::Data || run.owner.path != r.file) continue;
    const uint64_t l = run.owner.logical + run.count - 1;
    if (!last_data_disk || l >= last_logical) {
      last_logical = l;
      last_data_disk = first + run.count - 1;
    }
  }

  const auto explained = explain::explain_events(events, map);
  std::vector<const ExplainedEvent*> bios;
  for (const auto& e : explained)
    if (explain::touches_file(e, r.file)) bios.push_back(&e);
  for (const auto* b : bios) r.file_bios.push_back(describe_bio(*b));

  if (rules.expect_order) r.findings.push_back(check_order(bios, rules, r.file_bios));

  if (rules.max_bios) {
    Finding f{"max-bios", bios.size() <= *rules.max_bios, ""};
    f.message = std::to_string(bios.size()) + " file bios, at most " + std::to_string(*rules.max_bios) +
                " allowed";
    r.findings.push_back(f);
  }

  if (rules.max_bio_kib) {
    Finding f{"max-bio-kib", true, ""};
    std::vector<std::string> bad;
    for (const auto* b : bios)
      if (b->event.bytes > *rules.max_bio_kib * 1024)
        bad.push_back(event_id(*b) + " (" + std::to_string(b->event.bytes / 1024) + " KiB)");
    f.passed = bad.empty();
    f.message = f.passed ? "every file bio is at most " + std::to_string(*rules.max_bio_kib) + " KiB"
                         : "file bios larger than " + std::to_string(*rules.max_bio_kib) + " KiB: " +
                               join(bad, "; ");
    r.findings.push_back(f);
  }

  if (rules.min_bio_kib) {
    Finding f{"min-bio-kib", true, ""};
    std::vector<std::string> bad;
    for (const auto* b : bios) {
      bool has_data = false;
      bool has_tail = false;
      for (const auto& s : b->segments) {
        if (!explain::owned_by_file(s, r.file) || s.kind() != BlockKind::Data) continue;
        has_data = true;
        if (last_data_disk && *last_data_disk >= s.first_block && *last_data_disk < s.first_block + s.count)
          has_tail = true;
      }
      if (has_data && !has_tail && b->event.bytes < *rules.min_bio_kib * 1024)
        bad.push_back(event_id(*b) + " (" + std::to_string(b->event.bytes) + " bytes)");
    }
    f.passed = bad.empty();
    f.message = f.passed ? "every data bio but the tail is at least " + std::to_string(*rules.min_bio_kib) + " KiB"
                         : "data bios smaller than " + std::to_string(*rules.min_bio_kib) + " KiB: " +
                               join(bad, "; ");
    r.findings.push_back(f);
  }

  {
    Finding f{"contiguous", true, ""};
    std::vector<std::string> bad;
    for (const auto* b : bios)
      if (b->segments.size() != 1) bad.push_back(event_id(*b) + " spans " + labels(*b));
    f.passed = bad.empty();
    f.message = f.passed ? "no file bio crosses a discontinuity"
                         : "bios crossing a discontinuity: " + join(bad, "; ");
    r.findings.push_back(f);
  }

  {
    Finding f{"owned", true, ""};
    std::vector<std::string> bad;
    for (const auto& e : explained)
      if (std::any_of(e.segments.begin(), e.segments.end(), [](const Segment& s) { return s.is_free(); }))
        bad.push_back(event_id(e) + " touches " + labels(e));
    f.passed = bad.empty();
    f.message = f.passed ? "no I/O to free blocks or holes (" + std::to_string(explained.size()) + " events)"
                         : "I/O to blocks nobody owns (a hole or a free block): " + join(bad, "; ");
    r.findings.push_back(f);
  }

  {
    Finding f{"read-once", true, ""};
    std::map<uint64_t, std::vector<std::string>> readers;  // logical block -> bios
    for (const auto* b : bios) {
      if (!is_read(b->event)) continue;
      for (const auto& s : b->segments)
        if (explain::owned_by_file(s, r.file) && s.kind() == BlockKind::Data)
          for (uint64_t l = s.logical_first; l <= s.logical_last; ++l)
            readers[l].push_back("seq " + std::to_string(b->event.sequence) + " cpu " +
                                 std::to_string(b->event.cpu));
    }
    std::vector<std::string> bad;
    for (const auto& [l, who] : readers)
      if (who.size() > 1) bad.push_back("data block " + std::to_string(l) + " read by " + join(who, ", "));
    f.passed = bad.empty();
    f.message = f.passed ? "each data block read at most once (" + std::to_string(readers.size()) + " blocks)"
                         : "data blocks read more than once: " + join(bad, "; ");
    r.findings.push_back(f);
  }
  return r;
}

std::string format_report(const Report& r) {
  std::string s = "file " + r.file + ": " + std::to_string(r.file_bios.size()) + " bios: " +
                  join(r.file_bios, ",") + "\n";
  for (const auto& f : r.findings)
    s += std::string(f.passed ? "PASS " : "FAIL ") + f.rule + ": " + f.message + "\n";
  const auto fails = r.failures();
  s += fails.empty() ? "all checks passed\n" : std::to_string(fails.size()) + " check(s) failed\n";
  return s;
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["file"] = r.file;
  j["file_bios"] = r.file_bios;
  j["ok"] = r.ok();
  j["findings"] = nlohmann::json::array();
  for (const auto& f : r.findings)
    j["findings"].push_back({{"rule", f.rule}, {"passed", f.passed}, {"message", f.message}});
  return j;
}

}  // namespace mpagefs::check
