// Helpers shared by the trace tests: a synthetic multi-CPU trace exercising
// every action blkparse prints.
#pragma once

#include <string>
#include <vector>

#include "mpagefs/trace/blktrace.hpp"

namespace mpagefs::testutil {

inline blktrace::Event make_event(uint32_t cpu, uint32_t seq, uint64_t time, uint32_t code,
                                  std::initializer_list<uint32_t> categories, uint64_t sector,
                                  uint32_t bytes, uint32_t pid, const std::string& comm) {
  blktrace::Event ev;
  ev.cpu = cpu;
  ev.sequence = seq;
  ev.time_ns = time;
  ev.action = code;
  for (uint32_t tc : categories) ev.action |= BLK_TC_ACT(tc);
  ev.sector = sector;
  ev.bytes = bytes;
  ev.pid = pid;
  ev.comm = comm;
  ev.device = blktrace::make_dev(254, 32);
  return ev;
}

inline std::vector<uint8_t> be64(uint64_t v) {
  std::vector<uint8_t> out(8);
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  return out;
}

// Events on CPUs 0 and 2 (CPU 1 has none, its file must still exist), every
// fs action blkparse prints and many RWBS combinations, with distinct times
// so the merge order is unambiguous.
inline std::vector<blktrace::Event> synthetic_trace() {
  using namespace blktrace;
  std::vector<Event> v;
  uint64_t t = 1000000000ULL * 5 + 1234;  // ktime of 5.000001234 s
  uint32_t seq0 = 0;
  uint32_t seq2 = 0;
  auto add = [&](uint32_t cpu, uint32_t code, std::initializer_list<uint32_t> tcs, uint64_t sector,
                 uint32_t bytes, uint32_t pid, const std::string& comm) {
    t += 1777;
    uint32_t& seq = cpu == 0 ? seq0 : seq2;
    v.push_back(make_event(cpu, ++seq, t, code, tcs, sector, bytes, pid, comm));
    return &v.back();
  };
  add(0, BLK_TA_QUEUE, {BLK_TC_READ, BLK_TC_AHEAD}, 1316, 24 * 512, 143, "cat");
  add(0, BLK_TA_GETRQ, {BLK_TC_READ, BLK_TC_AHEAD}, 1316, 24 * 512, 143, "cat");
  add(0, BLK_TA_PLUG, {}, 0, 0, 143, "cat");
  add(2, BLK_TA_QUEUE, {BLK_TC_READ}, 1340, 2 * 512, 143, "cat");
  add(2, BLK_TA_BACKMERGE, {BLK_TC_READ, BLK_TC_SYNC}, 1342, 10 * 512, 143, "cat");
  add(2, BLK_TA_FRONTMERGE, {BLK_TC_READ, BLK_TC_META}, 1300, 8, 143, "cat");
  add(0, BLK_TA_SLEEPRQ, {BLK_TC_WRITE, BLK_TC_SYNC}, 4000, 4096, 1, "init");
  add(0, BLK_TA_INSERT, {BLK_TC_READ, BLK_TC_AHEAD}, 1316, 24 * 512, 143, "cat");
  add(0, BLK_TA_ISSUE, {BLK_TC_READ, BLK_TC_AHEAD}, 1316, 24 * 512, 143, "cat");
  add(2, BLK_TA_QUEUE, {BLK_TC_WRITE, BLK_TC_FLUSH, BLK_TC_FUA, BLK_TC_SYNC}, 12290, 4096, 77,
      "kworker/u4:1");
  add(2, BLK_TA_QUEUE, {BLK_TC_FLUSH}, 0, 0, 77, "kworker/u4:1");
  add(2, BLK_TA_QUEUE, {BLK_TC_WRITE, BLK_TC_DISCARD}, 8192, 65536, 77, "kworker/u4:1");
  add(0, BLK_TA_UNPLUG_IO, {}, 0, 0, 143, "cat")->pdu = be64(3);
  add(2, BLK_TA_UNPLUG_TIMER, {}, 0, 0, 0, "swapper/2")->pdu = be64(1);
  add(2, BLK_TA_SPLIT, {BLK_TC_READ}, 2048, 256 * 512, 143, "cat")->pdu = be64(2176);
  add(0, BLK_TA_REQUEUE, {BLK_TC_READ}, 1316, 24 * 512, 0, "swapper/0");
  add(0, BLK_TA_COMPLETE, {BLK_TC_READ, BLK_TC_AHEAD}, 1316, 24 * 512, 0, "swapper/0");
  add(2, BLK_TA_COMPLETE, {BLK_TC_WRITE, BLK_TC_SYNC}, 12290, 4096, 0, "swapper/2")->error = 5;
  add(2, BLK_TA_COMPLETE, {BLK_TC_FLUSH}, 0, 0, 0, "swapper/2");
  add(0, BLK_TA_ISSUE, {BLK_TC_FLUSH}, 0, 0, 143, "cat");
  add(0, BLK_TA_BOUNCE, {BLK_TC_READ}, 500, 1024, 143, "cat");
  add(2, BLK_TA_QUEUE, {BLK_TC_READ, BLK_TC_SYNC, BLK_TC_META}, 2, 2, 143, "cat");
  // A burst on both CPUs to exercise the merge with many records.
  for (uint32_t i = 0; i < 200; ++i)
    add(i % 3 == 0 ? 2 : 0, BLK_TA_QUEUE, {BLK_TC_READ, BLK_TC_AHEAD}, 100000 + 8 * i, 4096, 300 + i % 5,
        "reader" + std::to_string(i % 5));
  return v;
}

}  // namespace mpagefs::testutil
