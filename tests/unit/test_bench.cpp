// bench: parameter checks, random offsets (aligned, in range, deterministic,
// spread), the synthetic trace (counts, per-CPU time order, shape) round-trips
// through the writer and the reader, and bench-io on a host file.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "mpagefs/bench.hpp"
#include "mpagefs/trace_writer.hpp"
#include "test_tmpdir.hpp"

using namespace mpagefs;
using namespace mpagefs::bench;

TEST(BenchIo, ValidateRejectsBadParameters) {
  IoParams p;
  p.path = "/x";
  p.op = "seq-reed";
  EXPECT_THROW(validate(p), std::invalid_argument);
  p.op = "seq-write";
  EXPECT_THROW(validate(p), std::invalid_argument);  // no bytes
  p.bytes = 4096;
  EXPECT_NO_THROW(validate(p));
  p.op = "rand-read";
  EXPECT_THROW(validate(p), std::invalid_argument);  // no ops
  p.ops = 10;
  EXPECT_NO_THROW(validate(p));
  p.threads = 0;
  EXPECT_THROW(validate(p), std::invalid_argument);
  p.threads = 1;
  p.block = 0;
  EXPECT_THROW(validate(p), std::invalid_argument);
}

TEST(BenchIo, RandomOffsetsAlignedInRangeDeterministicAndSpread) {
  const uint64_t span = (64 << 20) + 1000, block = 4096;
  const auto a = random_offsets(span, block, 10000, 7);
  ASSERT_EQ(a.size(), 10000U);
  EXPECT_EQ(a, random_offsets(span, block, 10000, 7));
  EXPECT_NE(a, random_offsets(span, block, 10000, 8));
  std::set<uint64_t> distinct;
  uint64_t low = 0;
  for (const uint64_t off : a) {
    EXPECT_EQ(off % block, 0U);
    EXPECT_LE(off + block, span);
    distinct.insert(off);
    if (off < span / 2) ++low;
  }
  // 10000 draws from 16384 slots: 16384 * (1 - e^(-10000/16384)) = 7485 distinct expected.
  EXPECT_GT(distinct.size(), 7200U);
  EXPECT_LT(distinct.size(), 7800U);
  EXPECT_GT(low, 4500U);              // both halves hit about equally
  EXPECT_LT(low, 5500U);
  EXPECT_TRUE(random_offsets(100, 4096, 5, 1).empty());
  EXPECT_EQ(random_offsets(4096, 4096, 3, 1), (std::vector<uint64_t>{0, 0, 0}));
}

TEST(BenchIo, JsonHasRates) {
  IoReport r;
  r.op = "seq-read";
  r.bytes = 8 << 20;
  r.ops = 8;
  r.elapsed_ns = 2000000000;
  const auto j = to_json(r);
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["mib_per_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["ops_per_s"].get<double>(), 4.0);
}

TEST(BenchIo, RunsOnAHostFile) {
  mpagefs::testing::TempDir dir;
  IoParams w;
  w.op = "seq-write";
  w.path = dir / "f";
  w.bytes = 3 << 20;
  w.block = 1 << 20;
  const IoReport wr = run_io(w);
  EXPECT_EQ(wr.bytes, 3U << 20);
  EXPECT_EQ(wr.ops, 3U);
  std::ifstream in(w.path, std::ios::binary | std::ios::ate);
  EXPECT_EQ(static_cast<uint64_t>(in.tellg()), 3U << 20);

  IoParams r = w;
  r.op = "seq-read";
  r.bytes = 0;
  r.block = 256 << 10;
  const IoReport rr = run_io(r);
  EXPECT_EQ(rr.bytes, 3U << 20);
  EXPECT_EQ(rr.ops, 13U);  // 12 reads with data, one at EOF

  IoParams q = w;
  q.op = "rand-read";
  q.block = 4096;
  q.ops = 101;
  q.threads = 3;
  const IoReport qr = run_io(q);
  EXPECT_EQ(qr.ops, 101U);
  EXPECT_EQ(qr.bytes, 101U * 4096);

  q.path = dir / "missing";
  EXPECT_THROW(run_io(q), std::system_error);
}

TEST(SynthTrace, RoundTripsThroughWriterAndReader) {
  mpagefs::testing::TempDir dir;
  const std::string prefix = dir / "synth";
  {
    SynthTrace s(1003, 2, 8, 64);
    blktrace::TraceWriter w(prefix);
    for (blktrace::Event ev; s.next(ev);) w.write(ev);
    w.close();
    EXPECT_EQ(s.produced(), 1003U);
  }
  blktrace::TraceReader reader(prefix);
  EXPECT_EQ(reader.streams(), 2U);
  std::map<std::string, uint64_t> letters;
  uint64_t n = 0, last = 0;
  std::set<uint64_t> sectors;
  for (blktrace::Event ev; reader.next(ev); ++n) {
    EXPECT_GT(ev.time_ns, last);
    last = ev.time_ns;
    ++letters[std::string(ev.letters())];
    EXPECT_EQ(ev.bytes, 8U * 512);
    EXPECT_EQ(ev.rwbs(), "RA");
    if (ev.letters() == "Q") {
      EXPECT_EQ(ev.comm, "cat");
      sectors.insert(ev.sector);
    }
  }
  EXPECT_EQ(n, 1003U);
  EXPECT_EQ(letters["Q"], 201U);
  EXPECT_EQ(letters["C"], 200U);
  EXPECT_EQ(letters["D"], 200U);
  EXPECT_EQ(sectors, (std::set<uint64_t>{0, 8, 16, 24, 32, 40, 48, 56}));  // wraps at the span
  EXPECT_THROW(SynthTrace(1, 0), std::invalid_argument);
}
