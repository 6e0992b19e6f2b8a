// Workloads run (exercise/sys/workload.hpp) on a host directory produce
// exactly the planned files and that JSON.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "exercise/sys/workload.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"
#include "temp_dir.hpp"
#include "workload_test_util.hpp"

using namespace mpagefs;
using namespace mpagefs::workload;
using namespace mpagefs::testutil;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string sha_of(const std::string& s) { return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }

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
