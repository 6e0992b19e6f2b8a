// Real captures from the VM (tests/fixtures/blktrace/README.md): our decoder
// must print exactly blkparse's event lines, whether the records are read in
// the order they were written or byte-swapped (so the test does not rest on
// the machine being little-endian), and the mpagefs capture must explain as
// the BH_Boundary order.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "blktrace_test_util.hpp"
#include "mpagefs/trace/explain.hpp"
#include "mpagefs/trace/trace_writer.hpp"
#include "owner_map_fixtures.hpp"
#include "temp_dir.hpp"
#include "trace/sys/trace_files.hpp"

using namespace mpagefs;
using namespace mpagefs::blktrace;
using mpagefs::testing::TempDir;

namespace {

const std::string kDir = std::string(MPAGEFS_FIXTURES) + "/blktrace/";

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

std::vector<std::string> decode_lines(const std::string& prefix) {
  const auto r_file = open_trace(prefix);
  TraceReader& r = *r_file;
  std::vector<std::string> v;
  for (Event ev; r.next(ev);) v.push_back(format_text(ev, r.genesis_ns()));
  return v;
}

// Rewrites every record of PREFIX.blktrace.N in the other byte order.
void write_swapped(const std::string& from, const std::string& to) {
  for (uint32_t cpu = 0;; ++cpu) {
    std::ifstream in(cpu_file_name(from, cpu), std::ios::binary);
    if (!in) break;
    std::ofstream out(cpu_file_name(to, cpu), std::ios::binary);
    RecordReader rr(in, "fixture");
    RecordReader::Record rec;
    const ByteOrder other = ByteOrder::Swapped;
    while (rr.next(rec)) {
      // TIMESTAMP notify payloads are two words in the file's byte order.
      if (rec.hdr.action == static_cast<uint32_t>(BLK_TN_TIMESTAMP))
        for (size_t i = 0; i + 4 <= rec.pdu.size(); i += 4) std::reverse(rec.pdu.begin() + i, rec.pdu.begin() + i + 4);
      const auto bytes = encode_record(rec.hdr, rec.pdu, other);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
  }
}

std::string run(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while (p && (n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  return out;
}

}  // namespace

class BlktraceFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(BlktraceFixture, DecodeEqualsStoredBlkparseOutput) {
  const std::string prefix = kDir + GetParam();
  const auto want = read_lines(prefix + ".blkparse.txt");
  ASSERT_GT(want.size(), 20U);
  EXPECT_EQ(decode_lines(prefix), want);
}

TEST_P(BlktraceFixture, DecodeOfByteSwappedCopyIsTheSame) {
  TempDir dir;
  const std::string swapped = dir / "swapped";
  write_swapped(kDir + GetParam(), swapped);
  {
    std::ifstream f(cpu_file_name(swapped, 0), std::ios::binary);
    std::array<uint8_t, 4> magic{};
    f.read(reinterpret_cast<char*>(magic.data()), 4);
    ASSERT_EQ(detect_byte_order(magic), ByteOrder::Swapped);
  }
  EXPECT_EQ(decode_lines(swapped), read_lines(kDir + GetParam() + ".blkparse.txt"));
}

TEST_P(BlktraceFixture, LiveBlkparseAgrees) {
  ASSERT_NE(run("command -v blkparse"), "") << "blkparse not found: apt-get install blktrace";
  TempDir dir;  // blkparse writes its text output (-o) here
  const std::string prefix = kDir + GetParam();
  static const std::regex event(R"(^ *\d+,\d+ +\d+ +\d+ +\d+\.\d{9} .*)");
  std::vector<std::string> theirs;
  std::istringstream in(run("blkparse -i " + prefix + " -o " + dir / "out.txt" + " >/dev/null 2>&1; cat " +
                            dir / "out.txt"));
  for (std::string l; std::getline(in, l);)
    if (std::regex_match(l, event)) theirs.push_back(l);
  EXPECT_EQ(decode_lines(prefix), theirs);
}

INSTANTIATE_TEST_SUITE_P(Captures, BlktraceFixture, ::testing::Values("mpagefs-f17", "ext2-f17-f300"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(BlktraceFixtureExplain, MpagefsCaptureShowsTheBoundaryOrder) {
  BlockOwnerMap m(1024);
  testutil::add_run(m, 131, 1, BlockKind::Dir, 1, "/", 0);
  testutil::add_run(m, 132, 12, BlockKind::Data, 2, "/f17", 0);
  testutil::add_run(m, 144, 1, BlockKind::Ind, 2, "/f17", 12);
  testutil::add_run(m, 145, 5, BlockKind::Data, 2, "/f17", 12);
  const auto q = read_events(kDir + "mpagefs-f17", parse_action_filter("Q"));
  ASSERT_EQ(q.size(), 4U);
  const auto ex = explain::explain_events(q, m);
  EXPECT_EQ(explain::notation(ex, m, "/f17"), "[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 15 16 17]");
  EXPECT_EQ(explain::label(ex[0].segments.at(0)), "dir / block 0");
  EXPECT_EQ(q[1].comm, "cat");
}
