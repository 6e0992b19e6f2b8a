// bench.hpp - what `make bench` needs from mpagectl: timed I/O on a file or a
// block device (mpagectl bench-io) and a synthetic blktrace capture of any
// size (mpagectl trace-synth) for timing decoders against blkparse.
//
// Pure parts (src/bench.cpp): random offsets, the synthetic event stream,
// JSON.  The timed I/O is in exercise/sys/bench_io.hpp.
//
//   seq-read    read PATH front to back in --block requests (to EOF, or
//               --bytes), buffered or O_DIRECT
//   seq-write   write --bytes to PATH in --block requests, then fsync
//               (timed together); a regular file is created/truncated first
//   rand-read   --ops reads of --block bytes at block-aligned random offsets
//               over the whole file/device, split over --threads threads,
//               each with one request in flight (queue depth 1 per thread)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mpagefs/trace/blktrace.hpp"

namespace mpagefs::bench {

struct IoParams {
  std::string op;                 // seq-read | seq-write | rand-read
  std::string path;
  uint64_t block = 1U << 20;      // bytes per request
  uint64_t bytes = 0;             // seq-read: 0 = to EOF; seq-write: required
  uint64_t ops = 0;               // rand-read: number of reads
  uint32_t threads = 1;           // rand-read
  bool direct = false;            // O_DIRECT
  bool fsync = true;              // seq-write: fsync before the clock stops
  uint64_t seed = 1;
};

struct IoReport {
  std::string op;
  std::string path;
  uint64_t block = 0;
  uint64_t bytes = 0;       // transferred
  uint64_t ops = 0;         // read/write calls
  uint32_t threads = 1;
  bool direct = false;
  uint64_t elapsed_ns = 0;  // open to last byte (seq-write: fsync included)
  uint64_t fsync_ns = 0;    // seq-write: the fsync alone
};

const std::vector<std::string>& io_ops();
// Throws std::invalid_argument for an unknown op, a zero block, seq-write
// without bytes, rand-read without ops, zero threads.
void validate(const IoParams& p);

// `count` offsets, multiples of `block`, each with offset + block <= span,
// uniform, deterministic for a seed (splitmix64).  Empty when span < block.
std::vector<uint64_t> random_offsets(uint64_t span, uint64_t block, uint64_t count, uint64_t seed);

nlohmann::json to_json(const IoReport& r);

// A synthetic trace shaped like a sequential read under the block layer:
// every bio gives Q G I D on one CPU and C on the other (as a completion
// interrupt would), bios of `bio_sectors` sectors advancing through `span`
// sectors and wrapping, times strictly increasing, pid 1000 "cat" for the
// submission side and pid 0 for completions.  next() yields `total` events.
class SynthTrace {
 public:
  SynthTrace(uint64_t total, uint32_t cpus = 2, uint32_t bio_sectors = 256,
             uint64_t span_sectors = uint64_t{1} << 21);
  bool next(blktrace::Event& ev);
  [[nodiscard]] uint64_t produced() const { return produced_; }

 private:
  uint64_t total_;
  uint32_t cpus_;
  uint32_t bio_sectors_;
  uint64_t span_;
  uint64_t produced_ = 0;
  uint64_t time_ns_ = 1000;
  std::vector<uint32_t> seq_;  // per-CPU sequence numbers
};

}  // namespace mpagefs::bench
