// workload_plan.cpp - the pure half of mpagectl workload: what each named
// workload writes where, the expected digest of each file, and the report's
// text and JSON forms.
#include <algorithm>
#include <fmt/format.h>
#include <iterator>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>

#include "mpagefs/exercise/workload.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"

namespace mpagefs::workload {

const std::vector<std::string>& names() {
  static const std::vector<std::string> kNames = {"seq-write",    "rand-write",       "append",
                                                  "sparse-write", "many-small-files", "seq-read"};
  return kNames;
}

namespace {
void check_name(const std::string& name) {
  if (std::find(names().begin(), names().end(), name) == names().end()) {
    std::string all;
    for (const auto& n : names()) all += (all.empty() ? "" : ", ") + n;
    throw std::invalid_argument(fmt::format("unknown workload '{}' (known: {})", name, all));
  }
}
}  // namespace

uint64_t default_size(const std::string& name) {
  check_name(name);
  if (name == "sparse-write") return 4 << 20;
  if (name == "many-small-files") return 8 << 10;
  return 1 << 20;
}

uint64_t default_count(const std::string& name) {
  check_name(name);
  return name == "many-small-files" ? 100 : 1;
}

namespace {

// Back to back pieces of at most `chunk` bytes covering [0, size).
std::vector<Write> sequential(uint64_t size, uint64_t chunk) {
  std::vector<Write> w;
  for (uint64_t off = 0; off < size; off += chunk) w.push_back({off, std::min(chunk, size - off)});
  return w;
}

}  // namespace

std::vector<FilePlan> make_plan(const Params& p) {
  check_name(p.name);
  if (p.chunk == 0) throw std::invalid_argument("workload: --chunk must be at least 1");
  const uint64_t size = p.size.value_or(default_size(p.name));
  const uint64_t count = p.count.value_or(default_count(p.name));
  std::mt19937_64 rng(p.seed);
  std::vector<FilePlan> plan;
  if (p.name == "seq-read") return plan;
  if (p.first > std::numeric_limits<uint64_t>::max() - count)
    throw std::invalid_argument("workload: --first + --count overflows");
  // Files before `first` are planned and dropped: the generator draws the
  // same numbers as in one run from file 0.
  for (uint64_t i = 0; i < p.first + count; ++i) {
    FilePlan f;
    f.name = fmt::format("{}-{}", p.name, i);
    // Distinct data per seed and file (the key mixes both).
    f.key = (p.seed << 20) ^ (i + 1);
    f.size = size;
    if (p.name == "seq-write") {
      f.writes = sequential(size, p.chunk);
    } else if (p.name == "rand-write") {
      f.truncate_first = true;
      f.writes = sequential(size, p.chunk);
      std::shuffle(f.writes.begin(), f.writes.end(), rng);
    } else if (p.name == "append") {
      f.append = true;
      for (uint64_t off = 0; off < size;) {
        const uint64_t len = std::min(std::uniform_int_distribution<uint64_t>(1, 2 * p.chunk)(rng), size - off);
        f.writes.push_back({off, len});
        off += len;
      }
    } else if (p.name == "sparse-write") {
      // Each chunk-sized slot holds data with probability 1/8; the file's
      // size is set at the end, so a trailing hole is a real hole.
      for (const Write& slot : sequential(size, p.chunk))
        if (std::uniform_int_distribution<int>(0, 7)(rng) == 0) f.writes.push_back(slot);
    } else if (p.name == "many-small-files") {
      f.size = std::uniform_int_distribution<uint64_t>(0, size)(rng);
      f.writes = sequential(f.size, p.chunk);
    }
    if (i >= p.first) plan.push_back(std::move(f));
  }
  return plan;
}

std::string expected_sha256(const FilePlan& f) {
  std::vector<Write> w = f.writes;
  std::sort(w.begin(), w.end(), [](const Write& a, const Write& b) { return a.offset < b.offset; });
  Sha256 h;
  std::vector<uint8_t> buf;
  uint64_t pos = 0;
  for (const Write& x : w) {
    if (x.offset < pos) throw std::logic_error("workload plan: overlapping writes");
    h.update_zeros(x.offset - pos);
    constexpr uint64_t kPiece = 1 << 20;
    for (uint64_t done = 0; done < x.length; done += kPiece) {
      buf.resize(std::min(kPiece, x.length - done));
      fill_pattern(f.key, x.offset + done, buf);
      h.update(buf);
    }
    pos = x.offset + x.length;
  }
  if (f.size < pos) throw std::logic_error("workload plan: writes beyond the file size");
  h.update_zeros(f.size - pos);
  return h.hex_digest();
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["workload"] = r.workload;
  j["dir"] = r.dir;
  j["seed"] = r.seed;
  j["bytes"] = r.bytes;
  j["ops"] = r.ops;
  j["fsyncs"] = r.fsyncs;
  j["elapsed_ns"] = r.elapsed_ns;
  j["files"] = nlohmann::json::array();
  for (const auto& f : r.files) j["files"].push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  return j;
}

std::string format_text(const Report& r) {
  std::string s = fmt::format("workload {} in {}: {} files, {} bytes, {} ops, {} fsyncs, {} ms\n", r.workload, r.dir,
                              r.files.size(), r.bytes, r.ops, r.fsyncs, r.elapsed_ns / 1000000);
  for (const auto& f : r.files) fmt::format_to(std::back_inserter(s), "{}  {} ({} bytes)\n", f.sha256, f.name, f.size);
  return s;
}

}  // namespace mpagefs::workload
