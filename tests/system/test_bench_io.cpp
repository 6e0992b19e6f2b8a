// bench-io on a host file (exercise/sys/bench_io.hpp), and the synthetic
// trace round-tripping through the trace files (counts, per-CPU time order,
// shape).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "exercise/sys/bench_io.hpp"
#include "mpagefs/exercise/bench.hpp"
#include "temp_dir.hpp"
#include "trace/sys/trace_files.hpp"

using namespace mpagefs;
using namespace mpagefs::bench;

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
  const auto reader = blktrace::open_trace(prefix);
  EXPECT_EQ(reader->streams(), 2U);
  std::map<std::string, uint64_t> letters;
  uint64_t n = 0, last = 0;
  std::set<uint64_t> sectors;
  for (blktrace::Event ev; reader->next(ev); ++n) {
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
