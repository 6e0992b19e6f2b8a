// bench: parameter checks, random offsets (aligned, in range, deterministic,
// spread), the report's JSON.  bench-io on a file and the synthetic trace
// through the trace files: tests/system/test_bench_io.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "mpagefs/exercise/bench.hpp"

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
