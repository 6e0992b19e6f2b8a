// The pure parts of reading blktrace relay files while tracing
// (src/blktrace_relay.cpp): record boundaries, safe read sizes, fdinfo.
#include <gtest/gtest.h>

#include <vector>

#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/trace/relay.hpp"

namespace bt = mpagefs::blktrace;

namespace {

std::vector<uint8_t> record(uint32_t seq, size_t pdu_len) {
  blk_io_trace h{};
  h.magic = BLK_IO_TRACE_MAGIC | BLK_IO_TRACE_VERSION;
  h.sequence = seq;
  std::vector<uint8_t> pdu(pdu_len, 0xab);
  return bt::encode_record(h, pdu);
}

std::vector<uint8_t> stream() {
  std::vector<uint8_t> s;
  for (uint32_t i = 0; i < 5; ++i) {
    const auto r = record(i, (i % 3) * 8);  // 48, 56, 64, 48, 56 bytes
    s.insert(s.end(), r.begin(), r.end());
  }
  return s;
}

}  // namespace

TEST(RecordCutter, FollowsBoundariesWhateverTheChunking) {
  const auto s = stream();
  ASSERT_EQ(s.size(), 272U);
  for (size_t chunk = 1; chunk <= s.size(); ++chunk) {
    bt::RecordCutter c;
    size_t boundaries = 0;
    for (size_t i = 0; i < s.size(); i += chunk) {
      c.feed(s.data() + i, std::min(chunk, s.size() - i), "t");
      if (c.at_boundary()) ++boundaries;
    }
    EXPECT_TRUE(c.at_boundary()) << chunk;
    EXPECT_EQ(c.records(), 5U) << chunk;
    EXPECT_EQ(c.offset(), s.size());
    if (chunk == 1) {
      EXPECT_EQ(boundaries, 5U);
    }
  }
}

TEST(RecordCutter, NeededIsTheRestOfTheHeaderThenThePayload) {
  const auto r = record(7, 24);
  bt::RecordCutter c;
  EXPECT_EQ(c.needed(), 0U);
  c.feed(r.data(), 10, "t");
  EXPECT_EQ(c.needed(), 38U);
  EXPECT_FALSE(c.at_boundary());
  c.feed(r.data() + 10, 38, "t");
  EXPECT_EQ(c.needed(), 24U);
  c.feed(r.data() + 48, 20, "t");
  EXPECT_EQ(c.needed(), 4U);
  c.feed(r.data() + 68, 4, "t");
  EXPECT_TRUE(c.at_boundary());
  EXPECT_EQ(c.needed(), 0U);
}

TEST(RecordCutter, AnUnfilledRecordIsAnError) {
  auto s = stream();
  std::fill(s.begin() + 104, s.begin() + 168, 0);  // the third record: zeros
  bt::RecordCutter c;
  try {
    c.feed(s.data(), s.size(), "trace0");
    FAIL() << "no error";
  } catch (const bt::CaptureError& e) {
    EXPECT_NE(std::string(e.what()).find("trace0: bad record magic 0x0 at offset 104"), std::string::npos) << e.what();
  }
}

TEST(RelayReadSize, StaysAMaximalRecordAwayFromTheSubBufferEnd) {
  const uint32_t sb = 512 * 1024;
  EXPECT_EQ(bt::relay_read_size(0, sb, 1 << 16), 1U << 16);
  EXPECT_EQ(bt::relay_read_size(0, sb, 1U << 20), sb - bt::kMaxRelayRecord);
  EXPECT_EQ(bt::relay_read_size(sb - 1000, sb, 1 << 16), 1000 - bt::kMaxRelayRecord);
  // Within a maximal record of the end: one header at a time.
  EXPECT_EQ(bt::relay_read_size(sb - bt::kMaxRelayRecord, sb, 1 << 16), 48U);
  EXPECT_EQ(bt::relay_read_size(sb - 48, sb, 1 << 16), 48U);
  EXPECT_EQ(bt::relay_read_size(sb, sb, 1 << 16), 48U);
  // Any bulk read ends before the data of a sub-buffer whose padding is
  // shorter than a maximal record.
  for (uint64_t off = 0; off < sb; off += 4093) {
    const size_t n = bt::relay_read_size(off, sb, 1U << 20);
    if (n != 48) {
      EXPECT_LE(off + n + bt::kMaxRelayRecord, sb);
    }
  }
}

TEST(FdinfoPos, ParsesThePosLine) {
  EXPECT_EQ(bt::parse_fdinfo_pos("pos:\t524288\nflags:\t0104000\nmnt_id:\t25\nino:\t12\n"), 524288U);
  EXPECT_EQ(bt::parse_fdinfo_pos("flags:\t02\npos:\t0\n"), 0U);
  EXPECT_THROW(bt::parse_fdinfo_pos("flags:\t02\n"), bt::CaptureError);
  EXPECT_THROW(bt::parse_fdinfo_pos("pos:\tx\n"), bt::CaptureError);
  EXPECT_THROW(bt::parse_fdinfo_pos("pos:\t12 z\n"), bt::CaptureError);
}
