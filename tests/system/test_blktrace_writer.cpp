// The writer: events -> blktrace's per-CPU files -> our decoder gives the
// same events back, in either byte order; layout details blkparse relies on.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "blktrace_test_util.hpp"
#include "mpagefs/trace/trace_writer.hpp"
#include "temp_dir.hpp"
#include "trace/sys/trace_files.hpp"

using namespace mpagefs::blktrace;
using mpagefs::testutil::synthetic_trace;
using mpagefs::testing::TempDir;

namespace {

void expect_same(const Event& a, const Event& b) {
  EXPECT_EQ(a.cpu, b.cpu);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.time_ns, b.time_ns);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.sector, b.sector);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.comm, b.comm);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.pdu, b.pdu);
  EXPECT_EQ(a.cgroup, b.cgroup);
}

}  // namespace

TEST(BlktraceWriter, RoundTripInBothByteOrders) {
  const auto events = synthetic_trace();
  for (ByteOrder order : {ByteOrder::Native, ByteOrder::Swapped}) {
    TempDir dir;
    const std::string prefix = dir / "t";
    write_trace(prefix, events, order);
    const auto back = read_events(prefix);
    ASSERT_EQ(back.size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      SCOPED_TRACE("event " + std::to_string(i));
      expect_same(back[i], events[i]);
    }
  }
}

TEST(BlktraceWriter, EmptyFilesForIdleCpusAndProcessRecords) {
  TempDir dir;
  const std::string prefix = dir / "t";
  write_trace(prefix, synthetic_trace());
  EXPECT_TRUE(std::filesystem::exists(prefix + ".blktrace.0"));
  ASSERT_TRUE(std::filesystem::exists(prefix + ".blktrace.1"));
  EXPECT_EQ(std::filesystem::file_size(prefix + ".blktrace.1"), 0U);
  EXPECT_TRUE(std::filesystem::exists(prefix + ".blktrace.2"));
  EXPECT_FALSE(std::filesystem::exists(prefix + ".blktrace.3"));

  // The first record of CPU 0's file names pid 143, as the kernel does.
  std::ifstream f(prefix + ".blktrace.0", std::ios::binary);
  RecordReader r(f, "cpu0");
  RecordReader::Record rec;
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.hdr.action, static_cast<uint32_t>(BLK_TN_PROCESS));
  EXPECT_EQ(rec.hdr.pid, 143U);
  ASSERT_EQ(rec.pdu.size(), 16U);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rec.pdu.data())), "cat");
  ASSERT_TRUE(r.next(rec));
  EXPECT_EQ(rec.hdr.action & 0xffffU, static_cast<uint32_t>(__BLK_TA_QUEUE));
}

TEST(BlktraceWriter, CgroupIdRoundTrips) {
  TempDir dir;
  auto ev = synthetic_trace().front();
  ev.cgroup = 0x42;
  write_trace(dir / "cg", {ev});
  const auto back = read_events(dir / "cg");
  ASSERT_EQ(back.size(), 1U);
  EXPECT_EQ(back[0].cgroup, 0x42U);
  EXPECT_EQ(back[0].letters(), "Q");
}

TEST(BlktraceWriter, ActionFilterSelects) {
  TempDir dir;
  write_trace(dir / "t", synthetic_trace());
  const auto q = read_events(dir / "t", parse_action_filter("Q"));
  ASSERT_FALSE(q.empty());
  for (const auto& ev : q) EXPECT_EQ(ev.letters(), "Q");
  const auto dc = read_events(dir / "t", parse_action_filter("DC"));
  EXPECT_EQ(dc.size(), 5U);  // two issues, three completions
}

TEST(BlktraceWriter, ReaderAcceptsAFileNameAsPrefix) {
  TempDir dir;
  write_trace(dir / "t", synthetic_trace());
  EXPECT_EQ(read_events(dir / "t.blktrace.0").size(), synthetic_trace().size());
  EXPECT_THROW(read_events(dir / "missing"), TraceError);
}
