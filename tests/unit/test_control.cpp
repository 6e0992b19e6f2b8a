// control: policy and fault arguments, stats tables/JSON/deltas, the
// tracepoint line parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "mpagefs/control/control.hpp"
#include "owner_map_fixtures.hpp"

using namespace mpagefs;
using namespace mpagefs::control;
using namespace mpagefs::testutil;

TEST(ControlDev, NewEncodeDevRoundTrips) {
  EXPECT_EQ(encode_dev(254, 32), (254U << 8) | 32U);
  EXPECT_EQ(encode_dev(8, 0x123), 0x23U | (8U << 8) | (0x100U << 12));
  for (const auto& [ma, mi] : {std::pair{254U, 32U}, {8U, 0x12345U}, {4095U, 0xfffffU}, {0U, 0U}}) {
    const uint32_t d = encode_dev(ma, mi);
    EXPECT_EQ(dev_major(d), ma);
    EXPECT_EQ(dev_minor(d), mi);
  }
  EXPECT_EQ(format_dev(encode_dev(254, 32)), "254,32");
}

TEST(ControlDev, DeviceNameArguments) {
  EXPECT_EQ(device_name_arg("vdc"), "vdc");
  EXPECT_EQ(device_name_arg("/dev/vdc"), "vdc");
  EXPECT_FALSE(device_name_arg("/mnt/a"));
  EXPECT_FALSE(device_name_arg("./vdc"));
  EXPECT_FALSE(device_name_arg("."));
  EXPECT_FALSE(device_name_arg("/dev/"));
  EXPECT_FALSE(device_name_arg("/dev/mapper/x"));
}

TEST(ControlPolicy, ParsesEveryKey) {
  const auto c = parse_policy_args({"boundary=off", "maxmap=1", "alloc=scatter"});
  EXPECT_EQ(c.boundary, false);
  EXPECT_EQ(c.maxmap, 1U);
  EXPECT_EQ(c.alloc, Alloc::Scatter);
  const auto d = parse_policy_args({"boundary=off", "boundary=on"});
  EXPECT_EQ(d.boundary, true);  // the last wins
  EXPECT_FALSE(d.maxmap);
  EXPECT_FALSE(d.alloc);
  EXPECT_EQ(parse_policy_args({"maxmap=0"}).maxmap, 0U);
  EXPECT_EQ(parse_policy_args({"alloc=contig"}).alloc, Alloc::Contig);
}

TEST(ControlPolicy, RejectsBadArgumentsClearly) {
  auto msg = [](const std::vector<std::string>& args) {
    try {
      (void)parse_policy_args(args);
    } catch (const ArgError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg({}).find("nothing to set"), std::string::npos);
  EXPECT_NE(msg({"boundary"}).find("expected key=value"), std::string::npos);
  EXPECT_NE(msg({"boundary=yes"}).find("boundary=on or boundary=off"), std::string::npos);
  EXPECT_NE(msg({"maxmap=-1"}).find("maxmap=-1"), std::string::npos);
  EXPECT_NE(msg({"maxmap=4294967296"}).find("at most 4294967295"), std::string::npos);
  EXPECT_NE(msg({"maxmap="}).find("expected a number"), std::string::npos);
  EXPECT_NE(msg({"alloc=random"}).find("alloc=contig or alloc=scatter"), std::string::npos);
  EXPECT_NE(msg({"readahead=1"}).find("unknown policy key 'readahead'"), std::string::npos);
}

TEST(ControlPolicy, FormatsAsMountOptions) {
  Policy p;
  EXPECT_EQ(format_policy(p), "boundary=on maxmap=0 alloc=contig");
  p.boundary = false;
  p.maxmap = 7;
  p.alloc = Alloc::Scatter;
  EXPECT_EQ(format_policy(p), "boundary=off maxmap=7 alloc=scatter");
  EXPECT_EQ(to_json(p), (nlohmann::json{{"boundary", false}, {"maxmap", 7}, {"alloc", "scatter"}}));
}

TEST(ControlMounts, TableAndJson) {
  MountInfo m;
  m.dev = encode_dev(254, 32);
  m.dev_name = "vdc";
  m.block_size = 1024;
  m.readonly = true;
  const std::string t = format_mounts({m});
  EXPECT_NE(t.find("DEVICE"), std::string::npos);
  EXPECT_NE(t.find("vdc"), std::string::npos);
  EXPECT_NE(t.find("254,32"), std::string::npos);
  EXPECT_NE(t.find(" ro "), std::string::npos);
  EXPECT_NE(t.find("boundary=on maxmap=0 alloc=contig"), std::string::npos);
  EXPECT_EQ(format_mounts({}), "no mpagefs mounts\n");
  const auto j = to_json(m);
  EXPECT_EQ(j["dev"], "254,32");
  EXPECT_EQ(j["dev_num"], m.dev);
  EXPECT_EQ(j["block_size"], 1024);
  EXPECT_EQ(j["readonly"], true);
  EXPECT_EQ(j["policy"]["boundary"], true);
}

namespace {
MountStats sample_stats() {
  MountStats m;
  m.dev = encode_dev(254, 32);
  m.dev_name = "vdc";
  m.stats.counter[MPAGEFS_STAT_A_GET_BLOCK_READ] = 3;
  m.stats.counter[MPAGEFS_STAT_A_GET_BLOCK_CREATE] = 1;
  m.stats.counter[MPAGEFS_STAT_A_BLOCKS_MAPPED] = 41;
  m.stats.counter[MPAGEFS_STAT_A_MULTI_BLOCK] = 2;
  m.stats.counter[MPAGEFS_STAT_A_FAULTS_HIT] = 9;
  m.stats.run_hist[0] = 2;   // 1 block
  m.stats.run_hist[3] = 1;   // 8-15
  m.stats.run_hist[4] = 1;   // 16-31
  return m;
}
}  // namespace

// mpagectl's counter names are the IDs of kmod/counters.h in lower case,
// in the table's order (counter i is attribute i); GET_BLOCK_CALLS has no
// attribute (netlink users add read and create).  A counter added to the
// module without its name here fails this test, not a VM run.
TEST(ControlStats, NamesAreTheModulesCounterIds) {
  std::vector<std::string> ids;
#define MPAGEFS_COUNTER(id, name) ids.emplace_back(#id);
#include "counters.h"
  ASSERT_EQ(ids.size(), kNumStats + 1);
  EXPECT_EQ(ids[0], "GET_BLOCK_CALLS");
  for (size_t attr = 1; attr <= kNumStats; ++attr) {
    std::string lower = ids[attr];
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    EXPECT_EQ(stat_name(attr), lower) << "attribute " << attr;
  }
}

TEST(ControlStats, NamesCoverTheEnum) {
  EXPECT_EQ(kNumStats, 17U);
  EXPECT_EQ(stat_name(MPAGEFS_STAT_A_GET_BLOCK_READ), "get_block_read");
  EXPECT_EQ(stat_name(MPAGEFS_STAT_A_BH_PAGES), "bh_pages");
  EXPECT_EQ(stat_name(MPAGEFS_STAT_A_FAULTS_HIT), "faults_hit");
  EXPECT_THROW((void)stat_name(0), std::out_of_range);
  EXPECT_THROW((void)stat_name(kNumStats + 1), std::out_of_range);
  EXPECT_EQ(bucket_label(0), "1");
  EXPECT_EQ(bucket_label(1), "2-3");
  EXPECT_EQ(bucket_label(5), "32-63");
  EXPECT_EQ(bucket_label(kRunBuckets - 1), "32768+");
}

TEST(ControlStats, TableShowsCountersAndHistogram) {
  const std::string t = format_stats(sample_stats());
  EXPECT_EQ(t.rfind("vdc (254,32)\n", 0), 0U);
  EXPECT_NE(t.find("get_block calls, create=0"), std::string::npos);
  EXPECT_NE(t.find("injected faults that fired"), std::string::npos);
  EXPECT_NE(t.find("blocks per get_block call"), std::string::npos);
  EXPECT_NE(t.find("10.25"), std::string::npos);  // 41 blocks / 4 calls
  // Buckets up to the last non-empty one; bars scaled to the largest.
  EXPECT_NE(t.find("          1            2 " + std::string(40, '#') + "\n"), std::string::npos);
  EXPECT_NE(t.find("       8-15            1 " + std::string(20, '#') + "\n"), std::string::npos);
  EXPECT_NE(t.find("      16-31"), std::string::npos);
  EXPECT_NE(t.find("        2-3            0\n"), std::string::npos);  // no bar, no trailing blank
  EXPECT_EQ(t.find("32-63"), std::string::npos);
}

TEST(ControlStats, JsonHasEveryCounterAndBucket) {
  const auto j = to_json(sample_stats());
  EXPECT_EQ(j["dev_name"], "vdc");
  EXPECT_EQ(j["get_block_calls"], 4);
  EXPECT_EQ(j["stats"].size(), kNumStats);
  EXPECT_EQ(j["stats"]["blocks_mapped"], 41);
  EXPECT_EQ(j["stats"]["holes"], 0);
  ASSERT_EQ(j["run_hist"].size(), kRunBuckets);
  EXPECT_EQ(j["run_hist"][3]["blocks"], "8-15");
  EXPECT_EQ(j["run_hist"][3]["min"], 8);
  EXPECT_EQ(j["run_hist"][3]["max"], 15);
  EXPECT_EQ(j["run_hist"][3]["calls"], 1);
  EXPECT_TRUE(j["run_hist"][kRunBuckets - 1]["max"].is_null());
}

TEST(ControlStats, DeltaPerCounterAndResetClampsToZero) {
  MountStats a = sample_stats();
  MountStats b = a;
  b.stats.counter[MPAGEFS_STAT_A_GET_BLOCK_READ] += 5;
  b.stats.counter[MPAGEFS_STAT_A_BLOCKS_MAPPED] = 1;  // went backwards: reset in between
  b.stats.run_hist[0] += 7;
  const Stats d = delta(a.stats, b.stats);
  EXPECT_EQ(d.get(MPAGEFS_STAT_A_GET_BLOCK_READ), 5U);
  EXPECT_EQ(d.get(MPAGEFS_STAT_A_BLOCKS_MAPPED), 0U);
  EXPECT_EQ(d.get(MPAGEFS_STAT_A_FAULTS_HIT), 0U);
  EXPECT_EQ(d.run_hist[0], 7U);
  EXPECT_EQ(d.run_hist[3], 0U);
  const std::string line = format_watch_line({a.dev, "vdc", d}, 1.0);
  EXPECT_EQ(line.rfind("vdc", 0), 0U);
  EXPECT_NE(line.find("    1.0         5 "), std::string::npos);
  EXPECT_NE(watch_header().find("GB_READ"), std::string::npos);
}

TEST(ControlFaults, ParsesErrnosRangesSidesKinds) {
  EXPECT_EQ(parse_errno("EIO"), 5U);
  EXPECT_EQ(parse_errno("eio"), 5U);
  EXPECT_EQ(parse_errno("ENOSPC"), 28U);
  EXPECT_EQ(parse_errno("117"), 117U);
  EXPECT_EQ(parse_errno("4095"), 4095U);
  EXPECT_THROW((void)parse_errno("0"), ArgError);
  EXPECT_THROW((void)parse_errno("4096"), ArgError);
  EXPECT_THROW((void)parse_errno("-5"), ArgError);
  EXPECT_THROW((void)parse_errno("EWHATEVER"), ArgError);
  EXPECT_EQ(errno_name(5), "EIO");
  EXPECT_EQ(errno_name(28), "ENOSPC");
  EXPECT_EQ(errno_name(4000), "4000");
  EXPECT_EQ(parse_block_range("3-7"), std::make_pair(uint64_t{3}, uint64_t{7}));
  EXPECT_EQ(parse_block_range("12"), std::make_pair(uint64_t{12}, uint64_t{12}));
  EXPECT_THROW((void)parse_block_range("7-3"), ArgError);
  EXPECT_THROW((void)parse_block_range("a-3"), ArgError);
  EXPECT_THROW((void)parse_block_range("3-"), ArgError);
  EXPECT_EQ(parse_side("read"), uint32_t{MPAGEFS_FAULT_SIDE_READ});
  EXPECT_EQ(parse_side("create"), uint32_t{MPAGEFS_FAULT_SIDE_CREATE});
  EXPECT_EQ(parse_side("both"), uint32_t{MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE});
  EXPECT_THROW((void)parse_side("write"), ArgError);
  EXPECT_EQ(parse_fault_kind("get_block"), FaultKind::GetBlock);
  EXPECT_EQ(parse_fault_kind("enospc"), FaultKind::AllocEnospc);
  EXPECT_THROW((void)parse_fault_kind("oom"), ArgError);
}

TEST(ControlFaults, FormatsAndJson) {
  Fault f;
  f.id = 3;
  f.error = 5;
  f.ino = 12;
  f.side = MPAGEFS_FAULT_SIDE_READ;
  f.once = true;
  f.hits = 1;
  EXPECT_EQ(format_fault(f), "fault 3: get_block -> EIO, ino 12, blocks 0-end, side read, once, hits 1");
  f.first = 4;
  f.last = 9;
  EXPECT_NE(format_fault(f).find("blocks 4-9"), std::string::npos);
  const auto j = to_json(f);
  EXPECT_EQ(j["id"], 3);
  EXPECT_EQ(j["kind"], "get_block");
  EXPECT_EQ(j["errno"], "EIO");
  EXPECT_EQ(j["last"], 9);
  EXPECT_EQ(j["side"], "read");
  Fault e;
  e.id = 4;
  e.kind = FaultKind::AllocEnospc;
  EXPECT_EQ(format_fault(e), "fault 4: allocation -> ENOSPC, every inode, always, hits 0");
  EXPECT_FALSE(to_json(e).contains("errno"));
  EXPECT_EQ(format_faults({}), "no faults armed\n");
}

// --- tracepoint lines ----------------------------------------------------------

TEST(ControlTrace, ParsesFtraceLines) {
  const auto r = parse_trace_line(
      "             cat-143     [001] .....    12.345678: mpagefs_get_block: dev 254,32 ino 12 lblk 0 max 32 "
      "create 0 ret 0 pblk 658 len 12 boundary 1 new 0",
      7);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->line, 7U);
  EXPECT_EQ(r->task, "cat");
  EXPECT_EQ(r->pid, 143U);
  EXPECT_EQ(r->cpu, 1U);
  EXPECT_EQ(r->timestamp, "12.345678");
  EXPECT_EQ(r->event, TraceEvent::GetBlock);
  EXPECT_EQ(r->major, 254U);
  EXPECT_EQ(r->minor, 32U);
  EXPECT_EQ(r->ino, 12U);
  EXPECT_EQ(r->lblk, 0U);
  EXPECT_EQ(r->max, 32U);
  EXPECT_FALSE(r->create);
  EXPECT_EQ(r->ret, 0);
  EXPECT_EQ(r->pblk, 658U);
  EXPECT_EQ(r->len, 12U);
  EXPECT_TRUE(r->boundary);
  EXPECT_FALSE(r->is_new);

  // A task name with dashes, a tgid column, no flags column, an error.
  const auto e = parse_trace_line(
      " kworker/u4:1-my-77 (   77) [000]   100.000001: mpagefs_get_block: dev 254,32 ino 13 lblk 5 max 1 "
      "create 1 ret -5 pblk 0 len 0 boundary 0 new 0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->task, "kworker/u4:1-my");
  EXPECT_EQ(e->pid, 77U);
  EXPECT_EQ(e->cpu, 0U);
  EXPECT_EQ(e->timestamp, "100.000001");
  EXPECT_TRUE(e->create);
  EXPECT_EQ(e->ret, -5);

  const auto a = parse_trace_line(
      "  dd-200   [000] d..1.  5.5: mpagefs_alloc_block: dev 254,32 ino 14 goal 1230 pblk 1234 ret 0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->event, TraceEvent::AllocBlock);
  EXPECT_EQ(a->goal, 1230U);
  EXPECT_EQ(a->pblk, 1234U);
  const auto f = parse_trace_line("  rm-201   [001] .....  6.0: mpagefs_free_blocks: dev 254,32 ino 14 pblk 1234 count 3");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->event, TraceEvent::FreeBlocks);
  EXPECT_EQ(f->pblk, 1234U);
  EXPECT_EQ(f->len, 3U);
  EXPECT_EQ(to_json(*f)["count"], 3);
}

TEST(ControlTrace, ParsesPerfScriptLines) {
  const auto r = parse_trace_line(
      "             cat   143 [000]    12.345678: mpagefs:mpagefs_get_block: dev 254,32 ino 12 lblk 12 max 5 "
      "create 0 ret 0 pblk 671 len 5 boundary 0 new 0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->task, "cat");
  EXPECT_EQ(r->pid, 143U);
  EXPECT_EQ(r->timestamp, "12.345678");
  EXPECT_EQ(r->pblk, 671U);
}

TEST(ControlTrace, SkipsOtherLinesAndRejectsBrokenOnes) {
  EXPECT_FALSE(parse_trace_line("# tracer: nop"));
  EXPECT_FALSE(parse_trace_line(""));
  EXPECT_FALSE(parse_trace_line("  cat-1 [000] ..... 1.0: block_bio_queue: 254,32 R 1316 + 24 [cat]"));
  EXPECT_FALSE(parse_trace_line("  cat-1 [000] ..... 1.0: xmpagefs_get_block: dev 1,2"));
  EXPECT_THROW((void)parse_trace_line("  cat-1 [000] ..... 1.0: mpagefs_get_block: dev 254,32 ino 12", 3),
               TraceParseError);
  try {
    (void)parse_trace_line(
        "  cat-1 [000] ..... 1.0: mpagefs_get_block: dev 254,32 ino x lblk 0 max 1 create 0 ret 0 pblk 1 len 1 "
        "boundary 0 new 0",
        9);
    FAIL() << "no error";
  } catch (const TraceParseError& e) {
    EXPECT_NE(std::string(e.what()).find("trace line 9"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'ino'"), std::string::npos);
  }
  EXPECT_THROW((void)parse_trace_line("  cat-1 [000] ..... 1.0: mpagefs_free_blocks: dev 254 ino 1 pblk 1 count 1"),
               TraceParseError);
  EXPECT_THROW((void)parse_trace_line("  cat-1 [000] ..... 1.0: mpagefs_free_blocks: dev 254,32 ino 1 pblk"),
               TraceParseError);
  const auto recs = parse_trace(
      "# tracer: nop\n#\n"
      "  cat-1 [000] ..... 1.0: mpagefs_free_blocks: dev 254,32 ino 1 pblk 5 count 1\n"
      "  cat-1 [000] ..... 1.1: sched_switch: whatever\n"
      "  cat-1 [000] ..... 1.2: mpagefs_alloc_block: dev 254,32 ino 1 goal 0 pblk 6 ret 0");
  ASSERT_EQ(recs.size(), 2U);
  EXPECT_EQ(recs[0].line, 3U);
  EXPECT_EQ(recs[1].line, 5U);
}

TEST(ControlTrace, EntriesHeader) {
  EXPECT_EQ(parse_entries_header("# tracer: nop\n#\n# entries-in-buffer/entries-written: 10/12   #P:2\n"),
            std::make_pair(uint64_t{10}, uint64_t{12}));
  EXPECT_FALSE(parse_entries_header("# tracer: nop\n"));
}

// --- the join ----------------------------------------------------------------
