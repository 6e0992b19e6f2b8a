// Decoding struct blk_io_trace records built byte by byte in the test (in
// both byte orders, so nothing assumes the machine's endianness), notify
// records, payloads, the per-CPU merge, RWBS and action letters.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "mpagefs/trace/blktrace.hpp"

using namespace mpagefs::blktrace;

namespace {

// Fields of one record, laid out by hand at the offsets of struct
// blk_io_trace (magic 0, sequence 4, time 8, sector 16, bytes 24, action 28,
// pid 32, device 36, cpu 40, error 44, pdu_len 46).
struct Raw {
  uint32_t magic = 0x65617407;
  uint32_t sequence = 0;
  uint64_t time = 0;
  uint64_t sector = 0;
  uint32_t bytes = 0;
  uint32_t action = 0;
  uint32_t pid = 0;
  uint32_t device = 0;
  uint32_t cpu = 0;
  uint16_t error = 0;
  std::vector<uint8_t> pdu;
};

void put(std::vector<uint8_t>& out, size_t off, uint64_t v, size_t n, bool big) {
  for (size_t i = 0; i < n; ++i) {
    const size_t shift = 8 * (big ? n - 1 - i : i);
    out[off + i] = static_cast<uint8_t>(v >> shift);
  }
}

std::vector<uint8_t> bytes_of(const Raw& r, bool big_endian) {
  std::vector<uint8_t> b(48);
  put(b, 0, r.magic, 4, big_endian);
  put(b, 4, r.sequence, 4, big_endian);
  put(b, 8, r.time, 8, big_endian);
  put(b, 16, r.sector, 8, big_endian);
  put(b, 24, r.bytes, 4, big_endian);
  put(b, 28, r.action, 4, big_endian);
  put(b, 32, r.pid, 4, big_endian);
  put(b, 36, r.device, 4, big_endian);
  put(b, 40, r.cpu, 4, big_endian);
  put(b, 44, r.error, 2, big_endian);
  put(b, 46, r.pdu.size(), 2, big_endian);
  b.insert(b.end(), r.pdu.begin(), r.pdu.end());
  return b;
}

std::unique_ptr<std::istream> stream_of(const std::vector<std::vector<uint8_t>>& records) {
  std::string s;
  for (const auto& r : records) s.append(reinterpret_cast<const char*>(r.data()), r.size());
  return std::make_unique<std::istringstream>(s);
}

constexpr uint32_t kQueueReadAhead = BLK_TA_QUEUE | BLK_TC_ACT(BLK_TC_READ) | BLK_TC_ACT(BLK_TC_AHEAD);

Raw sample_queue() {
  Raw r;
  r.sequence = 7;
  r.time = 0x0102030405060708ULL;
  r.sector = 1316;
  r.bytes = 24 * 512;
  r.action = kQueueReadAhead;
  r.pid = 143;
  r.device = make_dev(254, 32);
  r.cpu = 1;
  r.error = 0;
  return r;
}

Raw process_note(uint32_t pid, const std::string& comm, uint64_t time, uint32_t cpu = 0) {
  Raw r;
  r.action = BLK_TN_PROCESS;
  r.pid = pid;
  r.time = time;
  r.cpu = cpu;
  r.sequence = 0xdeadbeef;  // the kernel leaves notify sequence numbers unset
  r.pdu.assign(16, 0);
  std::copy(comm.begin(), comm.end(), r.pdu.begin());
  return r;
}

Event only_event(const std::vector<std::vector<uint8_t>>& records) {
  std::vector<std::unique_ptr<std::istream>> streams;
  streams.push_back(stream_of(records));
  TraceReader reader(std::move(streams));
  Event ev;
  EXPECT_TRUE(reader.next(ev));
  Event extra;
  EXPECT_FALSE(reader.next(extra));
  return ev;
}

}  // namespace

TEST(BlktraceDecode, SameEventFromEitherByteOrder) {
  for (bool big : {false, true}) {
    SCOPED_TRACE(big ? "big-endian record" : "little-endian record");
    const Event ev = only_event({bytes_of(sample_queue(), big)});
    EXPECT_EQ(ev.sequence, 7U);
    EXPECT_EQ(ev.time_ns, 0x0102030405060708ULL);
    EXPECT_EQ(ev.sector, 1316U);
    EXPECT_EQ(ev.bytes, 24U * 512);
    EXPECT_EQ(ev.nr_sectors(), 24U);
    EXPECT_EQ(ev.pid, 143U);
    EXPECT_EQ(dev_major(ev.device), 254U);
    EXPECT_EQ(dev_minor(ev.device), 32U);
    EXPECT_EQ(ev.code(), __BLK_TA_QUEUE);
    EXPECT_EQ(ev.letters(), "Q");
    EXPECT_EQ(ev.rwbs(), "RA");
  }
}

TEST(BlktraceDecode, DetectsByteOrderFromMagic) {
  const auto le = bytes_of(sample_queue(), false);
  const auto be = bytes_of(sample_queue(), true);
  const uint16_t probe = 1;
  const bool host_little = *reinterpret_cast<const uint8_t*>(&probe) == 1;
  EXPECT_EQ(detect_byte_order(le), host_little ? ByteOrder::Native : ByteOrder::Swapped);
  EXPECT_EQ(detect_byte_order(be), host_little ? ByteOrder::Swapped : ByteOrder::Native);
  std::vector<uint8_t> junk(48, 0x5a);
  EXPECT_FALSE(detect_byte_order(junk).has_value());
}

TEST(BlktraceDecode, RejectsBadMagicVersionAndTruncation) {
  Raw bad_version = sample_queue();
  bad_version.magic = 0x65617406;
  EXPECT_THROW(only_event({bytes_of(bad_version, false)}), TraceError);

  Raw bad_magic = sample_queue();
  bad_magic.magic = 0x12345607;
  EXPECT_THROW(only_event({bytes_of(bad_magic, false)}), TraceError);

  auto cut = bytes_of(sample_queue(), false);
  cut.resize(40);
  EXPECT_THROW(only_event({cut}), TraceError);

  Raw with_pdu = sample_queue();
  with_pdu.pdu = {1, 2, 3, 4, 5, 6, 7, 8};
  auto cut_pdu = bytes_of(with_pdu, false);
  cut_pdu.resize(cut_pdu.size() - 3);
  EXPECT_THROW(only_event({cut_pdu}), TraceError);

  // A second record in the other byte order inside one file is corrupt.
  EXPECT_THROW(only_event({bytes_of(sample_queue(), false), bytes_of(sample_queue(), true)}), TraceError);
}

TEST(BlktraceDecode, ErrorNamesTheOffset) {
  Raw bad = sample_queue();
  bad.magic = 0x65617409;
  try {
    only_event({bytes_of(sample_queue(), false), bytes_of(bad, false)});
    FAIL() << "no error";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("offset 48"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("version 9"), std::string::npos) << e.what();
  }
}

TEST(BlktraceDecode, ProcessNotifyGivesCommAndIsNotAnEvent) {
  for (bool big : {false, true}) {
    const Event ev = only_event({bytes_of(process_note(143, "cat", 5), big), bytes_of(sample_queue(), big)});
    EXPECT_EQ(ev.comm, "cat");
    EXPECT_EQ(ev.sequence, 7U);
  }
}

TEST(BlktraceDecode, FirstProcessNameWinsLikeBlkparse) {
  const Event ev = only_event({bytes_of(process_note(143, "sh", 1), false),
                               bytes_of(process_note(143, "cat", 2), false),
                               bytes_of(sample_queue(), false)});
  EXPECT_EQ(ev.comm, "sh");
}

TEST(BlktraceDecode, TimestampNotifySetsWallClock) {
  for (bool big : {false, true}) {
    Raw ts;
    ts.action = BLK_TN_TIMESTAMP;
    ts.pdu.resize(8);
    put(ts.pdu, 0, 1700000000, 4, big);
    put(ts.pdu, 4, 123456789, 4, big);
    std::vector<std::unique_ptr<std::istream>> s;
    s.push_back(stream_of({bytes_of(ts, big), bytes_of(sample_queue(), big)}));
    TraceReader reader(std::move(s));
    Event ev;
    ASSERT_TRUE(reader.next(ev));
    ASSERT_TRUE(reader.wall_clock().has_value());
    EXPECT_EQ(reader.wall_clock()->first, 1700000000U);
    EXPECT_EQ(reader.wall_clock()->second, 123456789U);
  }
}

TEST(BlktraceDecode, MessageNotifyIsAnEvent) {
  Raw msg;
  msg.action = BLK_TN_MESSAGE;
  msg.time = 9;
  const std::string text = "hello mpage";
  msg.pdu.assign(text.begin(), text.end());
  const Event ev = only_event({bytes_of(msg, true)});
  EXPECT_TRUE(ev.is_message());
  EXPECT_EQ(ev.letters(), "m");
  EXPECT_EQ(ev.message(), "hello mpage");
}

TEST(BlktraceDecode, PayloadIsKeptAndCgroupIdSplitOff) {
  Raw unplug;
  unplug.action = BLK_TA_UNPLUG_IO;
  unplug.pdu.resize(8);
  put(unplug.pdu, 0, 3, 8, true);  // depth, big-endian as the kernel writes it
  for (bool big : {false, true}) {
    const Event ev = only_event({bytes_of(unplug, big)});
    EXPECT_EQ(ev.letters(), "U");
    EXPECT_EQ(ev.pdu_u64(), 3U);
  }
  Raw cg = sample_queue();
  cg.action |= __BLK_TA_CGROUP;
  cg.pdu.resize(8);
  put(cg.pdu, 0, 0x1122334455667788ULL, 8, false);
  const Event ev = only_event({bytes_of(cg, false)});
  EXPECT_EQ(ev.code(), __BLK_TA_QUEUE);
  EXPECT_EQ(ev.letters(), "Q");
  EXPECT_TRUE(ev.pdu.empty());
  EXPECT_NE(ev.cgroup, 0U);
}

TEST(BlktraceDecode, MergesCpusByTimeThenSequence) {
  auto ev_at = [](uint32_t cpu, uint32_t seq, uint64_t time) {
    Raw r = sample_queue();
    r.cpu = cpu;
    r.sequence = seq;
    r.time = time;
    r.sector = seq * 100 + cpu;
    return bytes_of(r, false);
  };
  std::vector<std::unique_ptr<std::istream>> s;
  s.push_back(stream_of({ev_at(0, 1, 10), ev_at(0, 2, 30), ev_at(0, 3, 30)}));
  s.push_back(stream_of({}));
  s.push_back(stream_of({ev_at(2, 1, 20), ev_at(2, 2, 30), ev_at(2, 3, 40)}));
  TraceReader reader(std::move(s));
  std::vector<std::pair<uint32_t, uint32_t>> order;
  Event ev;
  while (reader.next(ev)) order.emplace_back(ev.cpu, ev.sequence);
  const std::vector<std::pair<uint32_t, uint32_t>> want = {{0, 1}, {2, 1}, {0, 2}, {2, 2}, {0, 3}, {2, 3}};
  EXPECT_EQ(order, want);
  EXPECT_EQ(reader.genesis_ns(), 10U);
}

TEST(BlktraceDecode, RwbsLikeBlkparse) {
  auto act = [](std::initializer_list<uint32_t> tcs) {
    uint32_t a = __BLK_TA_QUEUE;
    for (uint32_t tc : tcs) a |= BLK_TC_ACT(tc);
    return a;
  };
  EXPECT_EQ(rwbs(act({BLK_TC_READ}), 512), "R");
  EXPECT_EQ(rwbs(act({BLK_TC_READ}), 0), "N");
  EXPECT_EQ(rwbs(act({BLK_TC_READ, BLK_TC_AHEAD}), 4096), "RA");
  EXPECT_EQ(rwbs(act({BLK_TC_READ, BLK_TC_META, BLK_TC_SYNC}), 1024), "RSM");
  EXPECT_EQ(rwbs(act({BLK_TC_WRITE, BLK_TC_SYNC}), 4096), "WS");
  EXPECT_EQ(rwbs(act({BLK_TC_WRITE, BLK_TC_FLUSH, BLK_TC_FUA, BLK_TC_SYNC}), 4096), "FWFS");
  EXPECT_EQ(rwbs(act({BLK_TC_FLUSH}), 0), "FN");
  EXPECT_EQ(rwbs(act({BLK_TC_WRITE, BLK_TC_DISCARD}), 4096), "D");
}

TEST(BlktraceDecode, ActionLettersAndFilter) {
  EXPECT_EQ(action_letters(BLK_TA_ISSUE), "D");
  EXPECT_EQ(action_letters(BLK_TA_COMPLETE), "C");
  EXPECT_EQ(action_letters(BLK_TA_UNPLUG_TIMER), "UT");
  EXPECT_EQ(action_letters(BLK_TA_INSERT), "I");
  EXPECT_EQ(action_letters(BLK_TA_SPLIT), "X");
  EXPECT_EQ(action_letters(BLK_TA_REMAP), "A");
  EXPECT_EQ(action_letters(BLK_TA_ABORT), "");
  const auto codes = parse_action_filter("QDC");
  EXPECT_EQ(codes, (std::vector<uint16_t>{__BLK_TA_QUEUE, __BLK_TA_ISSUE, __BLK_TA_COMPLETE}));
  EXPECT_EQ(parse_action_filter("Q,UT"), (std::vector<uint16_t>{__BLK_TA_QUEUE, __BLK_TA_UNPLUG_TIMER}));
  EXPECT_EQ(parse_action_filter("T"), (std::vector<uint16_t>{__BLK_TA_UNPLUG_TIMER}));
  EXPECT_THROW(parse_action_filter("QZ"), std::invalid_argument);
}

// The CPU column is the stream (per-CPU file) the record came from, as in blkparse.
TEST(BlktraceDecode, TextLineHasBlkparseLayout) {
  const Event ev = only_event({bytes_of(process_note(143, "cat", 1), false), bytes_of(sample_queue(), false)});
  EXPECT_EQ(format_text(ev, ev.time_ns - 1500), "254,32   0        7     0.000001500   143  Q  RA 1316 + 24 [cat]");
  const auto j = format_json(ev, ev.time_ns);
  EXPECT_NE(j.find("\"rwbs\":\"RA\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"nr_sectors\":24"), std::string::npos) << j;
}

TEST(BlktraceDecode, CommIsLookedUpPerCpuThenGlobally) {
  auto ev_on = [](uint32_t cpu, uint32_t pid, uint64_t time) {
    Raw r = sample_queue();
    r.cpu = cpu;
    r.pid = pid;
    r.time = time;
    return bytes_of(r, false);
  };
  std::vector<std::unique_ptr<std::istream>> s;
  s.push_back(stream_of({bytes_of(process_note(0, "swapper/0", 1, 0), false), ev_on(0, 0, 2),
                         bytes_of(process_note(143, "cat", 3, 0), false), ev_on(0, 143, 4)}));
  s.push_back(stream_of({bytes_of(process_note(0, "swapper/1", 1, 1), false), ev_on(1, 0, 5),
                         ev_on(1, 143, 6)}));
  TraceReader reader(std::move(s));
  std::vector<std::string> comms;
  Event ev;
  while (reader.next(ev)) comms.push_back(ev.comm);
  EXPECT_EQ(comms, (std::vector<std::string>{"swapper/0", "cat", "swapper/1", "cat"}));
}
