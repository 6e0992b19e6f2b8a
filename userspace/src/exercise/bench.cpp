// bench.cpp - the pure parts of mpagectl bench-io and trace-synth: checks
// of the parameters, random offsets, JSON, the synthetic event stream.
#include "mpagefs/exercise/bench.hpp"

#include <algorithm>
#include <stdexcept>

namespace mpagefs::bench {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

const std::vector<std::string>& io_ops() {
  static const std::vector<std::string> ops{"seq-read", "seq-write", "rand-read"};
  return ops;
}

void validate(const IoParams& p) {
  const auto& ops = io_ops();
  if (std::find(ops.begin(), ops.end(), p.op) == ops.end())
    throw std::invalid_argument("unknown bench-io operation '" + p.op + "' (seq-read, seq-write, rand-read)");
  if (p.block == 0) throw std::invalid_argument("--block must be at least 1 byte");
  if (p.op == "seq-write" && p.bytes == 0) throw std::invalid_argument("seq-write needs --bytes");
  if (p.op == "rand-read" && p.ops == 0) throw std::invalid_argument("rand-read needs --ops");
  if (p.threads == 0) throw std::invalid_argument("--threads must be at least 1");
}

std::vector<uint64_t> random_offsets(uint64_t span, uint64_t block, uint64_t count, uint64_t seed) {
  std::vector<uint64_t> out;
  if (block == 0 || span < block) return out;
  const uint64_t slots = span / block;  // offsets 0 .. (slots-1)*block
  out.reserve(count);
  uint64_t state = seed;
  for (uint64_t i = 0; i < count; ++i) {
    // Multiply-shift instead of modulo: no bias worth the name for slots << 2^64.
    const auto slot = static_cast<uint64_t>((static_cast<unsigned __int128>(splitmix64(state)) * slots) >> 64);
    out.push_back(slot * block);
  }
  return out;
}

nlohmann::json to_json(const IoReport& r) {
  const double secs = static_cast<double>(r.elapsed_ns) / 1e9;
  nlohmann::json j{{"op", r.op},         {"path", r.path},     {"block", r.block},
                   {"bytes", r.bytes},   {"ops", r.ops},       {"threads", r.threads},
                   {"direct", r.direct}, {"seconds", secs},    {"fsync_seconds", static_cast<double>(r.fsync_ns) / 1e9}};
  j["mib_per_s"] = secs > 0 ? static_cast<double>(r.bytes) / (1 << 20) / secs : 0.0;
  j["ops_per_s"] = secs > 0 ? static_cast<double>(r.ops) / secs : 0.0;
  return j;
}

SynthTrace::SynthTrace(uint64_t total, uint32_t cpus, uint32_t bio_sectors, uint64_t span_sectors)
    : total_(total), cpus_(cpus), bio_sectors_(bio_sectors), span_(span_sectors), seq_(cpus, 0) {
  if (cpus == 0 || bio_sectors == 0 || span_sectors < bio_sectors)
    throw std::invalid_argument("synthetic trace: need cpus >= 1 and span >= bio size > 0");
}

bool SynthTrace::next(blktrace::Event& ev) {
  if (produced_ >= total_) return false;
  static constexpr uint32_t kActions[] = {BLK_TA_QUEUE, BLK_TA_GETRQ, BLK_TA_INSERT, BLK_TA_ISSUE,
                                          BLK_TA_COMPLETE};
  const uint64_t bio = produced_ / 5;
  const auto step = static_cast<unsigned>(produced_ % 5);
  const auto submit_cpu = static_cast<uint32_t>(bio % cpus_);
  const bool completion = step == 4;
  ev = blktrace::Event{};
  ev.cpu = completion ? (submit_cpu + 1) % cpus_ : submit_cpu;
  ev.sequence = ++seq_[ev.cpu];
  // Submission steps 1 us apart, the completion 200 us after the issue.
  time_ns_ += completion ? 200000 : 1000;
  ev.time_ns = time_ns_;
  ev.action = kActions[step] | BLK_TC_ACT(BLK_TC_AHEAD);
  ev.sector = (bio * bio_sectors_) % (span_ - span_ % bio_sectors_);
  ev.bytes = bio_sectors_ << 9;
  ev.device = blktrace::make_dev(254, 32);
  ev.pid = completion ? 0 : 1000;
  ev.comm = completion ? "" : "cat";
  ++produced_;
  return true;
}

}  // namespace mpagefs::bench
