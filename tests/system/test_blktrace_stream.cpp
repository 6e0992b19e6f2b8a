// The streaming decoder and explainer: the run-emitting merge against a
// global sort, records across the reader's chunk boundaries, decode()
// through a file descriptor against the blkparse fixtures, JSON escaping,
// OutBuffer, the per-run owner lookup against a per-block one, and
// explain_trace's JSON Lines, text and notation against the per-event API.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "blktrace_test_util.hpp"
#include "mpagefs/trace/explain.hpp"
#include "mpagefs/trace/explain_stream.hpp"
#include "mpagefs/trace/trace_writer.hpp"
#include "mpagefs/util/out_buffer.hpp"
#include "owner_map_fixtures.hpp"
#include "temp_dir.hpp"
#include "trace/sys/trace_files.hpp"
#include "util/sys/fd_sink.hpp"

using namespace mpagefs;
using namespace mpagefs::blktrace;
using mpagefs::testing::TempDir;

namespace {

const std::string kFixtures = std::string(MPAGEFS_FIXTURES) + "/blktrace/";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// Runs `fn(OutBuffer&)` with the writer on a file and returns the file.
template <class Fn>
std::string through_file(const TempDir& dir, Fn fn) {
  const std::string path = dir / "out.txt";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  EXPECT_GE(fd, 0);
  {
    FdSink sink(fd);
    OutBuffer w(sink, 4096);  // small: many flushes
    fn(w);
    w.flush();
  }
  ::close(fd);
  return slurp(path);
}

// A random multi-CPU trace: per CPU in time order, times from a small range
// so that CPUs often tie, payloads from none to nearly the largest record
// (some records straddle the reader's 128 KiB chunks), cgroup ids on some.
std::vector<Event> random_trace(uint32_t cpus, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint64_t> time(cpus, 1000);
  std::vector<uint32_t> seq(cpus, 0);
  std::vector<Event> v;
  for (size_t i = 0; i < n; ++i) {
    Event ev;
    ev.cpu = rng() % cpus;
    time[ev.cpu] += rng() % 3;  // 0: the same time as the CPU's previous record
    ev.time_ns = time[ev.cpu];
    ev.sequence = ++seq[ev.cpu];
    ev.pid = 100 + rng() % 4;
    ev.comm = "task" + std::to_string(ev.pid);
    ev.action = BLK_TA_QUEUE | BLK_TC_ACT(BLK_TC_READ);
    ev.sector = rng() % 100000;
    ev.bytes = 512 * (1 + rng() % 64);
    ev.device = make_dev(254, 16);
    if (rng() % 5 == 0) ev.cgroup = 1 + rng() % 1000;
    const uint32_t r = rng() % 100;
    if (r < 3)
      ev.pdu.assign(60000 + rng() % 5000, static_cast<uint8_t>(rng()));
    else if (r < 20)
      ev.pdu.assign(rng() % 40, static_cast<uint8_t>(rng()));
    v.push_back(ev);
  }
  return v;
}

}  // namespace

TEST(BlktraceStream, MergeEqualsAGlobalSortAcrossChunkBoundaries) {
  for (const ByteOrder order : {ByteOrder::Native, ByteOrder::Swapped}) {
    TempDir dir;
    const std::string prefix = dir / "r";
    auto events = random_trace(4, 3000, order == ByteOrder::Native ? 1 : 2);
    write_trace(prefix, events, order);
    ASSERT_GT(std::filesystem::file_size(prefix + ".blktrace.0"), size_t{1} << 20);
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
      if (a.sequence != b.sequence) return a.sequence < b.sequence;
      return a.cpu < b.cpu;
    });
    const auto reader_file = open_trace(prefix);
    TraceReader& reader = *reader_file;
    size_t i = 0;
    for (Event ev; reader.next(ev); ++i) {
      ASSERT_LT(i, events.size());
      const Event& want = events[i];
      SCOPED_TRACE("event " + std::to_string(i));
      ASSERT_EQ(ev.cpu, want.cpu);
      ASSERT_EQ(ev.sequence, want.sequence);
      ASSERT_EQ(ev.time_ns, want.time_ns);
      ASSERT_EQ(ev.comm, want.comm);
      ASSERT_EQ(ev.sector, want.sector);
      ASSERT_EQ(ev.cgroup, want.cgroup);
      ASSERT_EQ(ev.pdu, want.pdu);
    }
    EXPECT_EQ(i, events.size());
  }
}

TEST(BlktraceStream, TruncationAfterAChunkBoundaryNamesTheOffset) {
  TempDir dir;
  const std::string prefix = dir / "t";
  std::vector<Event> events;
  for (uint32_t i = 0; i < 3000; ++i)  // 144,000 bytes: past the first 128 KiB chunk
    events.push_back(testutil::make_event(0, i + 1, 1000 + i, BLK_TA_QUEUE, {BLK_TC_READ}, i, 4096, 1, ""));
  write_trace(prefix, events);
  const std::string file = prefix + ".blktrace.0";
  std::filesystem::resize_file(file, 3000 * 48 - 10);
  auto message = [&] {
    try {
      const auto r_file = open_trace(prefix);
      TraceReader& r = *r_file;
      for (Event ev; r.next(ev);) {
      }
    } catch (const TraceError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(), file + " at offset 143952: record cut short (38 of 48 bytes)");

  // A payload cut short, in a record that starts in one chunk and ends past
  // the file's end.
  events.back().pdu.assign(1000, 7);
  write_trace(prefix, events);
  std::filesystem::resize_file(file, 3000 * 48 + 500);
  EXPECT_EQ(message(), file + " at offset 143952: payload cut short (500 of 1000 bytes)");
}

class StreamFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(StreamFixture, DecodeThroughAFileIsTheStoredBlkparseOutput) {
  TempDir dir;
  const std::string prefix = kFixtures + GetParam();
  uint64_t n = 0;
  const std::string out = through_file(dir, [&](OutBuffer& w) { n = decode(*open_trace(prefix), {}, false, w); });
  EXPECT_EQ(out, slurp(prefix + ".blkparse.txt"));
  EXPECT_EQ(n, split_lines(out).size());
}

TEST_P(StreamFixture, DecodeJsonIsOneObjectPerEventAsTheEventApiGivesIt) {
  TempDir dir;
  const std::string prefix = kFixtures + GetParam();
  const auto lines = split_lines(through_file(dir, [&](OutBuffer& w) { decode(*open_trace(prefix), {}, true, w); }));
  const auto r_file = open_trace(prefix);
  TraceReader& r = *r_file;
  size_t i = 0;
  for (Event ev; r.next(ev); ++i) {
    ASSERT_LT(i, lines.size());
    EXPECT_EQ(lines[i], format_json(ev, r.genesis_ns()));
    const auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["seq"], ev.sequence);
    EXPECT_EQ(j["comm"], ev.comm);
  }
  EXPECT_EQ(i, lines.size());
}

INSTANTIATE_TEST_SUITE_P(Captures, StreamFixture, ::testing::Values("mpagefs-f17", "ext2-f17-f300"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// The lines are what one nlohmann::json DOM per event printed before.
TEST(BlktraceStream, JsonLineIsTheDomsDump) {
  auto dom = [](const Event& ev, uint64_t genesis) {
    nlohmann::json j;
    j["dev"] = std::to_string(dev_major(ev.device)) + "," + std::to_string(dev_minor(ev.device));
    j["cpu"] = ev.cpu;
    j["seq"] = ev.sequence;
    j["time_ns"] = ev.time_ns;
    j["rel_ns"] = ev.time_ns - genesis;
    j["pid"] = ev.pid;
    j["comm"] = ev.comm;
    j["action"] = std::string(ev.letters());
    j["code"] = ev.code();
    if (ev.is_message()) {
      j["message"] = ev.message();
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    j["rwbs"] = ev.rwbs();
    j["sector"] = ev.sector;
    j["nr_sectors"] = ev.nr_sectors();
    j["bytes"] = ev.bytes;
    j["error"] = ev.error;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  for (const auto& ev : testutil::synthetic_trace()) EXPECT_EQ(format_json(ev, 1000), dom(ev, 1000));
  // Names that need escaping, and bytes that are no UTF-8 (U+FFFD).
  for (const std::string& comm : {std::string("a\"b\\c"), std::string("tab\there\x01"), std::string("bad\xff\xfe"),
                                 std::string("caf\xc3\xa9")}) {
    auto ev = testutil::make_event(1, 2, 3000, BLK_TA_QUEUE, {BLK_TC_WRITE}, 8, 4096, 9, comm);
    EXPECT_EQ(format_json(ev, 1000), dom(ev, 1000)) << comm;
    EXPECT_TRUE(nlohmann::json::accept(format_json(ev, 1000)));
  }
  Event msg = testutil::make_event(0, 0, 5000, __BLK_TN_MESSAGE, {BLK_TC_NOTIFY}, 0, 0, 0, "");
  const std::string text = "line one\nsaid \"hi\"";
  msg.pdu.assign(text.begin(), text.end());
  EXPECT_EQ(format_json(msg, 1000), dom(msg, 1000));
  EXPECT_EQ(nlohmann::json::parse(format_json(msg, 1000))["message"], text);
}

TEST(OutBuffer, GrowsForLongLinesAndReportsWriteErrors) {
  std::string sink;
  {
    OutBuffer w(sink, 16);
    w.append("0123456789");
    w.append(std::string(100, 'x'));  // longer than the whole buffer
    w.put('!');
  }
  EXPECT_EQ(sink, "0123456789" + std::string(100, 'x') + "!");

  FdSink bad_fd(-1);
  OutBuffer bad(bad_fd, 16);
  bad.append("lost");
  EXPECT_THROW(bad.flush(), std::system_error);
}

// --- explain -------------------------------------------------------------

namespace {

// The per-block split explain did before: one lookup per block.
std::vector<explain::Segment> split_per_block(const BlockOwnerMap& map, uint64_t first, uint64_t count) {
  std::vector<explain::Segment> segs;
  std::optional<BlockOwner> last;
  for (uint64_t b = first; b < first + count; ++b) {
    const auto owner = map.lookup(b);
    const bool cont =
        !segs.empty() && (!last || !owner ? !last && !owner
                                          : !explain::is_indirect(last->kind) && !explain::is_indirect(owner->kind) &&
                                                last->kind == owner->kind && last->ino == owner->ino &&
                                                last->path == owner->path && last->logical + 1 == owner->logical);
    if (cont) {
      ++segs.back().count;
      if (owner) segs.back().logical_last = owner->logical;
    } else {
      explain::Segment s;
      s.first_block = b;
      s.count = 1;
      if (owner) {
        s.logical_first = owner->logical;
        s.logical_last = explain::is_indirect(owner->kind)
                             ? owner->logical + explain::indirect_span(owner->kind, map.block_size()) - 1
                             : owner->logical;
      }
      segs.push_back(s);
      // kind/path compared through the map below
    }
    last = owner;
  }
  return segs;
}

}  // namespace

TEST(ExplainStream, PerRunSplitEqualsPerBlockLookups) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    // Blocks added in a random order, so that neighbouring runs may continue
    // each other (the map merges only with the run added last).
    BlockOwnerMap map(1024);
    std::vector<std::pair<uint64_t, BlockOwner>> blocks;
    uint64_t b = 0;
    for (int f = 0; f < 30; ++f) {
      b += rng() % 3;  // free gaps
      const auto kind = static_cast<BlockKind>(rng() % 10);
      const uint32_t ino = 1 + rng() % 3;
      const std::string path = "/f" + std::to_string(ino);
      const uint64_t n = 1 + rng() % 8;
      const uint64_t logical = rng() % 4;
      for (uint64_t i = 0; i < n; ++i, ++b) {
        const bool ind = explain::is_indirect(kind);
        blocks.emplace_back(b, BlockOwner{kind, ino, ind ? logical : logical + i, path});
      }
    }
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (const auto& [blk, owner] : blocks) map.add(blk, owner);
    for (int q = 0; q < 50; ++q) {
      const uint64_t first = rng() % (b + 4);
      const uint64_t count = rng() % 40;
      const auto got = explain::split_blocks(map, first, count);
      const auto want = split_per_block(map, first, count);
      ASSERT_EQ(got.size(), want.size()) << "round " << round << " blocks " << first << "+" << count;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first_block, want[i].first_block);
        EXPECT_EQ(got[i].count, want[i].count);
        EXPECT_EQ(got[i].logical_first, want[i].logical_first);
        EXPECT_EQ(got[i].logical_last, want[i].logical_last);
        const auto owner = map.lookup(want[i].first_block);
        EXPECT_EQ(got[i].is_free(), !owner.has_value());
        if (owner) {
          EXPECT_EQ(got[i].owner->kind, owner->kind);
          EXPECT_EQ(got[i].owner->path, owner->path);
          EXPECT_EQ(got[i].owner->ino, owner->ino);
        }
      }
    }
  }
}

namespace {

struct ExplainRun {
  TempDir dir;
  std::string prefix = dir / "seed";
  BlockOwnerMap map = testutil::seed_map();
  std::vector<Event> events;
  ExplainRun() {
    // The seed example's bios, a completion (filtered out by actions Q) and
    // a bio elsewhere (not the file's).
    events = testutil::boundary_on_events();
    events.push_back(testutil::make_event(0, 4, 1004, BLK_TA_COMPLETE, {BLK_TC_READ}, 1316, 24 * 512, 0, ""));
    events.push_back(testutil::queue_read(5, 14, 4));
    write_trace(prefix, events);
  }
  std::string run(const explain::StreamOptions& o) {
    return through_file(dir, [&](OutBuffer& w) { explain::explain_trace(map, *open_trace(prefix), o, w); });
  }
};

}  // namespace

TEST(ExplainStream, JsonLinesAreTheEventsThenASummary) {
  ExplainRun r;
  explain::StreamOptions o;
  o.codes = parse_action_filter("Q");
  o.json = true;
  o.file = "/f17";
  const auto lines = split_lines(r.run(o));
  ASSERT_EQ(lines.size(), 4U);  // the 3 bios of /f17, the summary
  const auto selected = read_events(r.prefix, o.codes);
  const uint64_t genesis = selected.front().time_ns;
  for (size_t i = 0; i < 3; ++i) {
    auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["type"], "event");
    j.erase("type");
    EXPECT_EQ(j, explain::to_json(explain::explain_event(selected[i], r.map), genesis)) << lines[i];
  }
  const auto s = nlohmann::json::parse(lines[3]);
  EXPECT_EQ(s["type"], "summary");
  EXPECT_EQ(s["block_size"], 1024);
  EXPECT_EQ(s["events"], 3);
  EXPECT_EQ(s["file"], "/f17");
  EXPECT_EQ(s["base_block"], 658);
  EXPECT_EQ(s["notation"], "[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 15 16 17]");
}

TEST(ExplainStream, TextAndNotationAreThePerEventFormat) {
  ExplainRun r;
  explain::StreamOptions o;
  o.codes = parse_action_filter("Q");
  const auto ex = explain::explain_events(read_events(r.prefix, o.codes), r.map);
  std::string want;
  for (const auto& e : ex) want += explain::format_line(e) + "\n";
  EXPECT_EQ(r.run(o), want);

  o.file = "/f17";
  want.clear();
  for (const auto& e : ex)
    if (explain::touches_file(e, "/f17")) want += explain::format_line(e) + "\n";
  const std::string notation = explain::notation(ex, r.map, "/f17");
  want += "notation (blocks relative to disk block 658, one [] per bio): " + notation + "\n";
  EXPECT_EQ(r.run(o), want);

  o.notation_only = true;
  EXPECT_EQ(r.run(o), notation + "\n");

  o.file = "/nope";
  EXPECT_THROW(r.run(o), std::invalid_argument);
}
