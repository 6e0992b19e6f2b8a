// Workloads: plans are deterministic and shaped as advertised (every chunk
// of rand-write once, appends back to back, sparse data with holes), the
// streamed digest equals the digest of the materialized content, and real
// runs on a host directory produce exactly those files and that JSON.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "mpagefs/pattern.hpp"
#include "mpagefs/sha256.hpp"
#include "mpagefs/workload.hpp"
#include "test_tmpdir.hpp"

using namespace mpagefs;
using namespace mpagefs::workload;

namespace {

Params params(const std::string& name, const std::string& dir = "/nonexistent") {
  Params p;
  p.name = name;
  p.dir = dir;
  p.seed = 5;
  p.chunk = 4096;
  return p;
}

std::vector<uint8_t> materialize(const FilePlan& f) {
  std::vector<uint8_t> v(f.size, 0);
  for (const Write& w : f.writes) {
    EXPECT_LE(w.offset + w.length, f.size);
    fill_pattern(f.key, w.offset, std::span<uint8_t>(v).subspan(w.offset, w.length));
  }
  return v;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string sha_of(const std::string& s) { return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }

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

TEST(WorkloadRun, WritesTheAdvertisedFilesAndJson) {
  for (const auto& name : names()) {
    if (name == "seq-read") continue;
    mpagefs::testing::TempDir t;
    Params p = params(name, t.str());
    p.count = name == "many-small-files" ? 20 : 2;
    const Report r = run(p);
    const auto plan = make_plan(p);
    ASSERT_EQ(r.files.size(), plan.size()) << name;
    uint64_t bytes = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
      const std::string content = read_file(t / plan[i].name);
      EXPECT_EQ(content.size(), plan[i].size) << name;
      const auto v = materialize(plan[i]);
      EXPECT_TRUE(std::equal(v.begin(), v.end(), content.begin(), content.end(),
                           [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); })) << name << " " << plan[i].name;
      EXPECT_EQ(r.files[i].sha256, sha_of(content)) << name;
      EXPECT_EQ(r.files[i].size, plan[i].size);
      for (const Write& w : plan[i].writes) bytes += w.length;
    }
    EXPECT_EQ(r.bytes, bytes) << name;
    EXPECT_GE(r.ops, name == "many-small-files" ? 1U : plan[0].writes.size());
    EXPECT_EQ(r.fsyncs, plan.size() + 1);  // each file, then the directory
    EXPECT_GT(r.elapsed_ns, 0U);
    const auto j = to_json(r);
    EXPECT_EQ(j["workload"], name);
    EXPECT_EQ(j["seed"], 5);
    EXPECT_EQ(j["files"].size(), plan.size());
    EXPECT_EQ(j["files"][0]["sha256"], r.files[0].sha256);
    EXPECT_EQ(j["bytes"], r.bytes);
    EXPECT_TRUE(j.contains("elapsed_ns") && j.contains("ops") && j.contains("fsyncs"));

    // seq-read finds the same files with the same digests.
    Params rp = params("seq-read", t.str());
    const Report back = run(rp);
    ASSERT_EQ(back.files.size(), r.files.size());
    auto sorted = r.files;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (size_t i = 0; i < sorted.size(); ++i) {
      EXPECT_EQ(back.files[i].name, sorted[i].name);
      EXPECT_EQ(back.files[i].sha256, sorted[i].sha256);
    }
    EXPECT_EQ(back.fsyncs, 0U);
  }
}

TEST(WorkloadRun, SparseWriteMakesHolesOnDisk) {
  mpagefs::testing::TempDir t;
  const Report r = run(params("sparse-write", t.str()));
  struct stat st {};
  ASSERT_EQ(::stat((t / "sparse-write-0").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 4U << 20);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, static_cast<uint64_t>(st.st_size) / 2);
  EXPECT_EQ(r.bytes % 4096, 0U);
}

TEST(WorkloadRun, MissingDirectoryIsAnError) {
  EXPECT_THROW(run(params("seq-write", "/nonexistent/dir")), std::system_error);
}

}  // namespace
