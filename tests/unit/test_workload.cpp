// Workloads: plans are deterministic and shaped as advertised (every chunk
// of rand-write once, appends back to back, sparse data with holes), and the
// streamed digest equals the digest of the materialized content.  Real runs:
// tests/system/test_workload_run.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include "mpagefs/exercise/workload.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"
#include "workload_test_util.hpp"

using namespace mpagefs;
using namespace mpagefs::workload;
using namespace mpagefs::testutil;

namespace {

TEST(WorkloadPlan, UnknownNameAndZeroChunkAreErrors) {
  EXPECT_THROW(make_plan(params("seq-writ")), std::invalid_argument);
  Params p = params("seq-write");
  p.chunk = 0;
  EXPECT_THROW(make_plan(p), std::invalid_argument);
  EXPECT_EQ(names().size(), 6U);
}

TEST(WorkloadPlan, DeterministicForASeed) {
  for (const auto& name : names()) {
    const auto a = make_plan(params(name));
    const auto b = make_plan(params(name));
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name, b[i].name);
      EXPECT_EQ(a[i].size, b[i].size);
      ASSERT_EQ(a[i].writes.size(), b[i].writes.size());
      for (size_t k = 0; k < a[i].writes.size(); ++k) EXPECT_EQ(a[i].writes[k].offset, b[i].writes[k].offset);
    }
  }
  Params other = params("rand-write");
  other.seed = 6;
  EXPECT_NE(expected_sha256(make_plan(params("rand-write"))[0]), expected_sha256(make_plan(other)[0]));
}

TEST(WorkloadPlan, FirstCutsOneRunIntoBatches) {
  for (const auto& name : names()) {
    Params whole = params(name);
    whole.count = 7;
    const auto all = make_plan(whole);
    Params batch = whole;
    batch.first = 4;
    batch.count = 3;
    const auto part = make_plan(batch);
    if (name == "seq-read") {
      EXPECT_TRUE(part.empty());
      continue;
    }
    ASSERT_EQ(part.size(), 3U) << name;
    for (size_t i = 0; i < part.size(); ++i) {
      const FilePlan& a = all[4 + i];
      const FilePlan& b = part[i];
      EXPECT_EQ(a.name, b.name) << name;
      EXPECT_EQ(a.key, b.key) << name;
      EXPECT_EQ(a.size, b.size) << name;
      ASSERT_EQ(a.writes.size(), b.writes.size()) << name;
      for (size_t k = 0; k < a.writes.size(); ++k) {
        EXPECT_EQ(a.writes[k].offset, b.writes[k].offset) << name;
        EXPECT_EQ(a.writes[k].length, b.writes[k].length) << name;
      }
    }
  }
  Params p = params("many-small-files");
  p.first = std::numeric_limits<uint64_t>::max();
  p.count = 1;
  EXPECT_THROW(make_plan(p), std::invalid_argument);
}

TEST(WorkloadPlan, SeqWriteIsFrontToBack) {
  Params p = params("seq-write");
  p.size = 10000;
  p.count = 2;
  const auto plan = make_plan(p);
  ASSERT_EQ(plan.size(), 2U);
  EXPECT_EQ(plan[0].name, "seq-write-0");
  EXPECT_NE(plan[0].key, plan[1].key);
  ASSERT_EQ(plan[0].writes.size(), 3U);
  EXPECT_EQ(plan[0].writes[2].offset, 8192U);
  EXPECT_EQ(plan[0].writes[2].length, 10000U - 8192U);
}

TEST(WorkloadPlan, RandWriteCoversEveryChunkOnceOutOfOrder) {
  const auto f = make_plan(params("rand-write"))[0];
  EXPECT_TRUE(f.truncate_first);
  EXPECT_EQ(f.size, 1U << 20);
  std::vector<uint64_t> offs;
  for (const Write& w : f.writes) offs.push_back(w.offset);
  EXPECT_FALSE(std::is_sorted(offs.begin(), offs.end()));
  std::sort(offs.begin(), offs.end());
  ASSERT_EQ(offs.size(), 256U);
  for (size_t i = 0; i < offs.size(); ++i) EXPECT_EQ(offs[i], i * 4096);
}

TEST(WorkloadPlan, AppendIsBackToBack) {
  const auto f = make_plan(params("append"))[0];
  EXPECT_TRUE(f.append);
  uint64_t pos = 0;
  bool varied = false;
  for (const Write& w : f.writes) {
    EXPECT_EQ(w.offset, pos);
    EXPECT_GE(w.length, 1U);
    EXPECT_LE(w.length, 8192U);
    varied = varied || w.length != f.writes.front().length;
    pos += w.length;
  }
  EXPECT_EQ(pos, f.size);
  EXPECT_TRUE(varied);
}

TEST(WorkloadPlan, SparseWriteLeavesHoles) {
  const auto f = make_plan(params("sparse-write"))[0];
  EXPECT_EQ(f.size, 4U << 20);
  uint64_t data = 0;
  for (const Write& w : f.writes) {
    EXPECT_EQ(w.offset % 4096, 0U);
    data += w.length;
  }
  // About one slot in eight: far from empty, far from full.
  EXPECT_GT(data, f.size / 16);
  EXPECT_LT(data, f.size / 4);
}

TEST(WorkloadPlan, ManySmallFiles) {
  const auto plan = make_plan(params("many-small-files"));
  ASSERT_EQ(plan.size(), 100U);
  uint64_t distinct = 0;
  for (const auto& f : plan) {
    EXPECT_LE(f.size, 8192U);
    distinct += f.size != plan[0].size ? 1 : 0;
  }
  EXPECT_GT(distinct, 50U);
  EXPECT_TRUE(make_plan(params("seq-read")).empty());
}

TEST(WorkloadPlan, StreamedDigestEqualsMaterialized) {
  for (const auto& name : names()) {
    for (const auto& f : make_plan(params(name))) {
      const auto v = materialize(f);
      ASSERT_EQ(expected_sha256(f), sha256_hex(v)) << name << " " << f.name;
    }
  }
}

}  // namespace
