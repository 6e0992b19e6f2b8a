// Cross-check with the real blkparse (Debian's blktrace package): a
// synthetic multi-CPU trace written by our writer is parsed by blkparse and
// by our decoder; every event must agree on action, RWBS, sector, size, pid,
// cpu, sequence and time, and our default text lines must equal blkparse's.
// blkparse reading our files also proves the writer's format.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>

#include "blktrace_test_util.hpp"
#include "mpagefs/trace/trace_writer.hpp"
#include "temp_dir.hpp"
#include "trace/sys/trace_files.hpp"

using namespace mpagefs::blktrace;
using mpagefs::testutil::synthetic_trace;
using mpagefs::testing::TempDir;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  if (!p) return out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  return out;
}

bool have_blkparse() { return run("command -v blkparse").find("blkparse") != std::string::npos; }

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// blkparse's per-event lines (device, cpu, sequence, time...), without the
// "Input file" lines and the statistics at the end.
std::vector<std::string> blkparse_event_lines(const std::string& out) {
  static const std::regex event(R"(^ *\d+,\d+ +\d+ +\d+ +\d+\.\d{9} .*)");
  std::vector<std::string> v;
  for (const auto& l : lines(out))
    if (std::regex_match(l, event)) v.push_back(l);
  return v;
}

}  // namespace

struct BlkparseFields {
  std::string action, rwbs, comm;
  uint64_t sector = 0, nsec = 0, pid = 0, cpu = 0, seq = 0, bytes = 0, secs = 0, nsecs = 0;
};

// Compares every event field by field using a blkparse format string, then
// the whole default-format lines.
class BlkparseCrossCheck : public ::testing::TestWithParam<ByteOrder> {};

TEST_P(BlkparseCrossCheck, EveryEventAgrees) {
  ASSERT_TRUE(have_blkparse()) << "blkparse not found: apt-get install blktrace (qemu/install-deps.sh)";
  TempDir dir;
  const std::string prefix = dir / "synth";
  auto events = synthetic_trace();
  write_trace(prefix, events, GetParam());

  // Our decoder.
  const auto reader_file = open_trace(prefix);
  TraceReader& reader = *reader_file;
  std::vector<Event> ours;
  for (Event ev; reader.next(ev);) ours.push_back(ev);
  ASSERT_EQ(ours.size(), events.size());

  // blkparse, one "EV" line per event in a format of our choice.
  const std::string out = run("blkparse -i " + prefix +
                              " -f 'EV %a %d %S %n %N %p %c %s %T %t %C\\n' 2>&1");
  std::vector<BlkparseFields> theirs;
  for (const auto& l : lines(out)) {
    if (l.rfind("EV ", 0) != 0) continue;
    std::istringstream in(l.substr(3));
    BlkparseFields f;
    in >> f.action >> f.rwbs >> f.sector >> f.nsec >> f.bytes >> f.pid >> f.cpu >> f.seq >> f.secs >>
        f.nsecs >> f.comm;
    ASSERT_FALSE(in.fail()) << "unparsable blkparse line: " << l;
    theirs.push_back(f);
  }
  ASSERT_EQ(theirs.size(), ours.size()) << "blkparse output:\n" << out;

  const uint64_t genesis = reader.genesis_ns();
  for (size_t i = 0; i < ours.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i) + ": " + format_text(ours[i], genesis));
    const Event& e = ours[i];
    const BlkparseFields& f = theirs[i];
    EXPECT_EQ(f.action, std::string(e.letters()));
    EXPECT_EQ(f.rwbs, e.rwbs());
    EXPECT_EQ(f.sector, e.sector);
    EXPECT_EQ(f.nsec, e.nr_sectors());
    EXPECT_EQ(f.bytes, e.bytes);
    EXPECT_EQ(f.pid, e.pid);
    EXPECT_EQ(f.cpu, e.cpu);
    EXPECT_EQ(f.seq, e.sequence);
    EXPECT_EQ(f.secs * 1000000000ULL + f.nsecs, e.time_ns - genesis);
    // pid 0 is a different idle task per CPU; blkparse keeps one name for it.
    if (e.pid != 0) {
      EXPECT_EQ(f.comm, e.comm);
    }
  }

  // And our default text lines are blkparse's default lines, byte for byte
  // (events of pid 0 compared without the name).
  const auto bp_lines = blkparse_event_lines(run("blkparse -i " + prefix + " 2>&1"));
  ASSERT_EQ(bp_lines.size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    if (ours[i].pid == 0) continue;
    EXPECT_EQ(format_text(ours[i], genesis), bp_lines[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(ByteOrders, BlkparseCrossCheck,
                         ::testing::Values(ByteOrder::Native, ByteOrder::Swapped),
                         [](const auto& info) { return info.param == ByteOrder::Native ? "native" : "swapped"; });

TEST(BlkparseCrossCheckMessage, MessagesPrintAsBlkparseDoes) {
  ASSERT_TRUE(have_blkparse());
  TempDir dir;
  const std::string prefix = dir / "msg";
  {
    TraceWriter w(prefix);
    auto ev = synthetic_trace().front();
    w.write(ev);
    w.write_raw(0, encode_message({0, ev.time_ns + 500, ev.device}, "mpagectl says hi"));
    w.close();
  }
  const auto reader_file = open_trace(prefix);
  TraceReader& reader = *reader_file;
  std::vector<std::string> ours;
  for (Event ev; reader.next(ev);) ours.push_back(format_text(ev, reader.genesis_ns()));
  const auto theirs = blkparse_event_lines(run("blkparse -i " + prefix + " 2>&1"));
  EXPECT_EQ(ours, theirs);
  ASSERT_EQ(ours.size(), 2U);
  EXPECT_NE(ours[1].find("m   N mpagectl says hi"), std::string::npos) << ours[1];
}
