// scenario: the definitions are well formed, the shadow model predicts what
// the files hold, and every kind of expectation passes on a trace that
// matches it and fails, saying why, on one that does not.  The traces are
// built against a real image of the scenario's own filesystem.
#include <gtest/gtest.h>

#include <cerrno>
#include <set>

#include "blktrace_test_util.hpp"
#include "mpagefs/image/image.hpp"
#include "mpagefs/scenario/scenario.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"

using namespace mpagefs;
using namespace mpagefs::scenario;
using mpagefs::testutil::make_event;

namespace {

// The scenario's filesystem, made in memory as the runner makes it.
struct Image {
  explicit Image(const Scenario& s) : dev(s.fs_size) {
    const SourceNode tree = source_tree(s);
    (void)make_filesystem(dev, s.mkfs, &tree);
    map = build_owner_map(dev);
    img = open_image(dev);
    fmap = img->map_file(img->resolve("/f"));
  }
  // Disk block of logical block `l` of /f.
  [[nodiscard]] uint64_t disk(uint64_t l) const {
    for (const auto& r : fmap.runs)
      if (l >= r.logical && l < r.logical + r.count) return r.physical + (l - r.logical);
    throw std::runtime_error("unmapped");
  }
  // A Q event for `count` blocks from disk block `first`.
  [[nodiscard]] blktrace::Event bio(uint64_t first, uint64_t count, char dir = 'R', bool ahead = true) const {
    const uint32_t spb = fmap.block_size / 512;
    const uint32_t n = ++seq;
    const uint64_t sector = first * spb;
    const auto bytes = static_cast<uint32_t>(count * spb * 512);
    if (dir == 'W') return make_event(0, n, 1000 + n, BLK_TA_QUEUE, {BLK_TC_WRITE}, sector, bytes, 1, "mpagectl");
    if (!ahead) return make_event(0, n, 1000 + n, BLK_TA_QUEUE, {BLK_TC_READ}, sector, bytes, 1, "mpagectl");
    return make_event(0, n, 1000 + n, BLK_TA_QUEUE, {BLK_TC_READ, BLK_TC_AHEAD}, sector, bytes, 1, "mpagectl");
  }
  MemoryBlockIo dev;
  BlockOwnerMap map;
  std::unique_ptr<FsImage> img;
  FileMap fmap;
  mutable uint32_t seq = 0;
};

const Scenario& get(const std::string& name) {
  const Scenario* s = find(name);
  if (!s) throw std::runtime_error("no scenario " + name);
  return *s;
}

Observation observe(const Scenario& s, const Image& im, const std::vector<blktrace::Event>& evs) {
  Observation o;
  o.events = explain::explain_events(evs, im.map);
  o.results = expected_results(s);
  for (const auto& x : s.expect)
    if (x.kind == ExpectKind::Stat) o.stats_delta[x.stat] = static_cast<int64_t>(x.min);
  return o;
}

std::vector<Verdict> failures(const std::vector<Verdict>& v) {
  std::vector<Verdict> out;
  for (const auto& x : v)
    if (!x.passed) out.push_back(x);
  return out;
}

}  // namespace

TEST(Scenario, DefinitionsAreWellFormed) {
  std::set<std::string> names;
  ASSERT_GE(all().size(), 20U);
  for (const auto& s : all()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_FALSE(s.summary.empty()) << s.name;
    EXPECT_NE(s.target.find("mpage"), std::string::npos) << s.name << ": target names no mpage.c function";
    EXPECT_TRUE(s.side == "read" || s.side == "write") << s.name;
    EXPECT_FALSE(s.action.empty()) << s.name;
    // Every scenario asserts something about the trace, not only that it ran.
    bool trace = false;
    for (const auto& x : s.expect) trace |= x.kind != ExpectKind::Stat;
    EXPECT_TRUE(trace) << s.name;
    // Every file the steps use exists (or is made by the steps: Write/Fill).
    for (const auto& x : s.expect) {
      if (x.file.empty()) continue;
      EXPECT_TRUE(std::any_of(s.files.begin(), s.files.end(), [&](const FileSpec& f) { return f.name == x.file; }))
          << s.name;
    }
    EXPECT_EQ(find(s.name), &s);
  }
  EXPECT_EQ(find("no-such-scenario"), nullptr);
}

TEST(Scenario, SourceTreeHoldsTheSpecifiedDataAndHoles) {
  for (const auto& s : all()) {
    MemoryBlockIo dev(s.fs_size);
    const SourceNode tree = source_tree(s);
    ASSERT_NO_THROW((void)make_filesystem(dev, s.mkfs, &tree)) << s.name;
    const auto img = open_image(dev);
    for (const auto& f : s.files) {
      const uint32_t ino = img->resolve("/" + f.name);
      const auto bytes = img->read_file(ino);
      ASSERT_EQ(bytes.size(), f.size) << s.name;
      // The first read step of the file (if it reads from 0) predicts these bytes.
      std::vector<uint8_t> want(f.size, 0);
      if (f.data.empty()) fill_pattern(f.key, 0, want);
      for (const auto& [a, b] : f.data)
        if (a < b) fill_pattern(f.key, a, std::span<uint8_t>(want).subspan(a, b - a));
      EXPECT_EQ(bytes, want) << s.name << " " << f.name;
    }
  }
  // ra-hole-page: the middle page has no blocks.
  Image im(get("ra-hole-page"));
  ASSERT_EQ(im.fmap.holes().size(), 1U);
  EXPECT_EQ(im.fmap.holes()[0].logical, 4U);
  EXPECT_EQ(im.fmap.holes()[0].count, 4U);
}

TEST(Scenario, ShadowModelFollowsWritesTruncatesAndMappings) {
  // wb-eof-in-page: a 5220-byte file; a mapping shows zeros past EOF; mmap
  // writes past EOF never reach the file, so growing it shows zeros there.
  const auto& s = get("wb-eof-in-page");
  const auto r = expected_results(s);
  const uint64_t size = 5 * 1024 + 100;
  std::vector<uint8_t> content(size);
  fill_pattern(1, 0, content);
  // setup: drop, read (0, 8 KiB) -> the whole file
  EXPECT_EQ(r[1].bytes, size);
  EXPECT_EQ(r[1].sha256, sha256_hex(content));
  // action: mmap-write 0..8K with key 9 (only 0..size lands), fsync, drop,
  // truncate to 8K, read 8K
  fill_pattern(9, 0, content);
  content.resize(8192, 0);
  ASSERT_EQ(r.size(), 7U);
  EXPECT_EQ(r[6].bytes, 8192U);
  EXPECT_EQ(r[6].sha256, sha256_hex(content));

  // ra-eof-in-page: mmap read of the last page = data then zeros to 8 KiB.
  const auto e = expected_results(get("ra-eof-in-page"));
  std::vector<uint8_t> tail(4096, 0);
  std::vector<uint8_t> all_bytes(size);
  fill_pattern(1, 0, all_bytes);
  std::copy(all_bytes.begin() + 4096, all_bytes.end(), tail.begin());
  EXPECT_EQ(e.back().bytes, 4096U);
  EXPECT_EQ(e.back().sha256, sha256_hex(tail));

  // Expected errors carry the errno and no digest.
  const auto g = expected_results(get("ra-get-block-error"));
  EXPECT_EQ(g.back().err, EIO);
  EXPECT_TRUE(g.back().sha256.empty());
}

TEST(Scenario, BoundaryOrderPassesAndTheOtherOrderFails) {
  const auto& s = get("ra-boundary");
  const Image im(s);
  const uint64_t ind = im.fmap.indirect.at(0).physical;
  const std::vector<blktrace::Event> good = {im.bio(im.disk(0), 12), im.bio(ind, 1, 'R', false),
                                             im.bio(im.disk(12), 36)};
  EXPECT_TRUE(failures(evaluate(s, observe(s, im, good))).empty());

  const std::vector<blktrace::Event> bad = {im.bio(ind, 1, 'R', false), im.bio(im.disk(0), 12),
                                            im.bio(im.disk(12), 36)};
  const auto f = failures(evaluate(s, observe(s, im, bad)));
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].check, "bios R /f");
  EXPECT_NE(f[0].message.find("saw [IND:12, data:0-11, data:12-47]"), std::string::npos) << f[0].message;
}

TEST(Scenario, StatDataAndFsckFailuresAreReported) {
  const auto& s = get("ra-boundary");
  const Image im(s);
  const uint64_t ind = im.fmap.indirect.at(0).physical;
  auto o = observe(s, im, {im.bio(im.disk(0), 12), im.bio(ind, 1, 'R', false), im.bio(im.disk(12), 36)});
  o.stats_delta["get_block_calls"] = 48;    // one call per block: not what the scenario expects
  o.results.back().sha256 = std::string(64, '0');
  o.fsck_findings = {"block 99 claimed twice"};
  const auto f = failures(evaluate(s, o));
  ASSERT_EQ(f.size(), 3U);
  EXPECT_EQ(f[0].check, "stat get_block_calls");
  EXPECT_NE(f[0].message.find("between 2 and 3, saw 48"), std::string::npos) << f[0].message;
  EXPECT_NE(f[1].check.find("step 1 (read f 0+49152)"), std::string::npos) << f[1].check;
  EXPECT_EQ(f[2].check, "fsck");

  o.results.pop_back();
  const auto g = failures(evaluate(s, o));
  EXPECT_TRUE(std::any_of(g.begin(), g.end(), [](const Verdict& v) { return v.check == "steps"; }));
}

TEST(Scenario, ErrnoExpectations) {
  const auto& s = get("ra-get-block-error");
  const Image im(s);
  const uint64_t ind = im.fmap.indirect.at(0).physical;
  const std::vector<blktrace::Event> evs = {im.bio(im.disk(0), 12), im.bio(ind, 1, 'R', false),
                                            im.bio(im.disk(12), 8)};
  auto o = observe(s, im, evs);
  EXPECT_TRUE(failures(evaluate(s, o)).empty());
  o.results.back().err = 0;  // the read succeeded: wrong
  auto f = failures(evaluate(s, o));
  ASSERT_EQ(f.size(), 1U);
  EXPECT_NE(f[0].message.find("expected Input/output error, got success"), std::string::npos) << f[0].message;
  // A bio that reads block 20 anyway fails no-bio-of.
  o = observe(s, im, {im.bio(im.disk(0), 12), im.bio(ind, 1, 'R', false), im.bio(im.disk(12), 9)});
  f = failures(evaluate(s, o));
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f.back().check, "no-bio-of R /f");
}

TEST(Scenario, ContiguousSplitCountAndReadaheadFlag) {
  const auto& s = get("wb-bio-full");
  const Image im(s);
  // Written file: the image has it empty; use the read-side scenario's file
  // layout instead (ra-bio-full: /f 1.5 MiB contiguous after its IND).
  const auto& r = get("ra-bio-full");
  const Image ri(r);
  const uint64_t ind = ri.fmap.indirect.at(0).physical;
  const std::vector<blktrace::Event> split = {ri.bio(ri.disk(0), 12), ri.bio(ind, 1, 'R', false),
                                              ri.bio(ri.disk(12), 256), ri.bio(ri.disk(268), 116)};
  EXPECT_TRUE(failures(evaluate(r, observe(r, ri, split))).empty());
  const std::vector<blktrace::Event> whole = {ri.bio(ri.disk(0), 12), ri.bio(ind, 1, 'R', false),
                                              ri.bio(ri.disk(12), 372)};
  const auto f = failures(evaluate(r, observe(r, ri, whole)));
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].check, "contiguous-split R /f");
  EXPECT_EQ(f[1].check, "bio-count R /f");
  EXPECT_FALSE(im.fmap.runs.size());  // wb-bio-full starts from an empty file

  // read-folio-mmap-random: the read bio must not carry REQ_RAHEAD.
  const auto& m = get("read-folio-mmap-random");
  const Image mi(m);
  EXPECT_TRUE(failures(evaluate(m, observe(m, mi, {mi.bio(mi.disk(8), 4, 'R', false)}))).empty());
  const auto g = failures(evaluate(m, observe(m, mi, {mi.bio(mi.disk(8), 4, 'R', true)})));
  ASSERT_EQ(g.size(), 1U);
  EXPECT_EQ(g[0].check, "readahead-flag R /f");
}

TEST(Scenario, WriteBiosAreSeparateFromReads) {
  const auto& s = get("read-folio-buffers");
  const Image im(s);
  std::vector<blktrace::Event> evs;
  for (uint64_t b = 0; b < 4; ++b) evs.push_back(im.bio(im.disk(b), 1, 'R', false));
  evs.push_back(im.bio(im.disk(0), 1, 'W'));
  EXPECT_TRUE(failures(evaluate(s, observe(s, im, evs))).empty());
  evs.back() = im.bio(im.disk(0), 4, 'W');
  const auto f = failures(evaluate(s, observe(s, im, evs)));
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].check, "bios W /f");
}

TEST(Scenario, CountersByNameWithTheCallsOfEitherKind) {
  control::Stats st;
  st.counter[MPAGEFS_STAT_A_GET_BLOCK_READ] = 10;
  st.counter[MPAGEFS_STAT_A_GET_BLOCK_CREATE] = 2;
  st.counter[MPAGEFS_STAT_A_HOLES] = 3;
  const auto m = counters(st);
  EXPECT_EQ(m.at("get_block_calls"), 12);
  EXPECT_EQ(m.at("get_block_create"), 2);
  EXPECT_EQ(m.at("holes"), 3);
  EXPECT_EQ(m.at("blocks_allocated"), 0);
  EXPECT_EQ(m.size(), control::kNumStats + 1);
}

// Every counter a scenario expects is one counters() reads (the names of
// `mpagectl stats --json`, kmod/counters.h's IDs in lower case): a name that
// is not would fail only in the VM, as "counter not found".
TEST(Scenario, EveryExpectedCounterIsOneTheRunnerReads) {
  const auto names = counters(control::Stats{});
  size_t n = 0;
  for (const Scenario& s : all())
    for (const Expectation& x : s.expect)
      if (x.kind == ExpectKind::Stat) {
        ++n;
        EXPECT_TRUE(names.contains(x.stat)) << s.name << ": " << x.stat;
      }
  EXPECT_GT(n, 10U);
}

TEST(Scenario, KernelSeriesOfARelease) {
  EXPECT_EQ(kernel_series("6.12.117+deb12-amd64"), "6.12");
  EXPECT_EQ(kernel_series("6.1.0-57-amd64"), "6.1");
  EXPECT_EQ(kernel_series("6.1.192-mpagefs-debug"), "6.1");
  EXPECT_EQ(kernel_series("6"), "");
  EXPECT_EQ(kernel_series("6."), "");
  EXPECT_EQ(kernel_series("linux"), "");
}

// wb-beyond-eof's counters differ per kernel: each kernel's expectations are
// checked on that kernel only, and say so on the other.
TEST(Scenario, PerKernelExpectationsApplyToTheirKernelOnly) {
  const auto& s = get("wb-beyond-eof");
  const Image im(s);
  Observation o = observe(s, im, {});
  const std::map<std::string, int64_t> on612 = {
      {"get_block_create", 0}, {"blocks_allocated", 0}, {"blocks_freed", 0}};
  const std::map<std::string, int64_t> on61 = {
      {"get_block_create", 8}, {"blocks_allocated", 9}, {"blocks_freed", 9}};

  o.stats_delta = on612;
  o.kernel_series = "6.12";
  auto v = evaluate(s, o);
  EXPECT_TRUE(failures(v).empty());
  const auto skipped = std::count_if(v.begin(), v.end(), [](const Verdict& x) {
    return x.message.find("holds on 6.1 only; not checked on 6.12") != std::string::npos;
  });
  EXPECT_EQ(skipped, 3);

  o.kernel_series = "6.1";  // 6.12's counters on 6.1: the three 6.1 checks fail
  auto f = failures(evaluate(s, o));
  ASSERT_EQ(f.size(), 3U);
  EXPECT_EQ(f[0].check, "stat get_block_create (6.1)");
  EXPECT_NE(f[0].message.find("expected exactly 8, saw 0"), std::string::npos) << f[0].message;

  o.stats_delta = on61;
  EXPECT_TRUE(failures(evaluate(s, o)).empty());
  o.kernel_series = "6.12";
  EXPECT_EQ(failures(evaluate(s, o)).size(), 2U);

}

TEST(Scenario, KernelPathsNameRealScenariosAndKernels) {
  ASSERT_FALSE(kernel_paths().empty());
  for (const auto& p : kernel_paths()) {
    EXPECT_FALSE(p.kernels.empty()) << p.path;
    for (const auto& k : p.kernels) EXPECT_TRUE(k == "6.1" || k == "6.12") << p.path << ": " << k;
    for (const auto& n : p.scenarios) EXPECT_NE(find(n), nullptr) << p.path << ": " << n;
    EXPECT_FALSE(p.why.empty()) << p.path;
  }
}
