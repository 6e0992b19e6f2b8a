// explain's join of get_block tracepoint records with the bios of a trace
// (trace/get_block_join.hpp): by block range and order, per device.
#include <gtest/gtest.h>

#include "mpagefs/control/control.hpp"
#include "mpagefs/trace/get_block_join.hpp"
#include "owner_map_fixtures.hpp"

using namespace mpagefs;
using namespace mpagefs::control;
using namespace mpagefs::explain;
using namespace mpagefs::testutil;

namespace {
TraceRecord gb(uint64_t lblk, uint64_t pblk, uint64_t len, uint32_t minor = 32) {
  TraceRecord r;
  r.event = TraceEvent::GetBlock;
  r.major = 254;
  r.minor = minor;
  r.ino = 12;
  r.lblk = lblk;
  r.pblk = pblk;
  r.len = len;
  r.max = len;
  return r;
}
}  // namespace

TEST(GetBlockJoin, SeedExampleEachDataBioHasItsCall) {
  const auto map = seed_map();
  // data 0-11 (658-669), IND (670), data 12-16 (671-675).
  const auto ev = explain::explain_events({queue_read(1, 1316, 24), queue_read(2, 1340, 2), queue_read(3, 1342, 10)},
                                          map);
  TraceRecord hole = gb(20, 0, 0);
  const std::vector<TraceRecord> recs = {gb(0, 658, 12), hole, gb(12, 671, 5)};
  const auto j = join_get_block(ev, recs);
  ASSERT_EQ(j.size(), 3U);
  EXPECT_EQ(j[0].calls, (std::vector<size_t>{0}));
  EXPECT_TRUE(j[0].unmapped.empty());
  EXPECT_TRUE(j[1].calls.empty());                          // the indirect block: no get_block
  EXPECT_EQ(j[1].unmapped, (std::vector<uint64_t>{670}));
  EXPECT_EQ(j[2].calls, (std::vector<size_t>{2}));
  EXPECT_TRUE(is_data_bio(ev[0]));
  EXPECT_FALSE(is_data_bio(ev[1]));
  const auto s = join_summary(ev, j, recs);
  EXPECT_EQ(s["data_bios"], 2);
  EXPECT_EQ(s["data_bios_attributed"], 2);
  EXPECT_EQ(s["get_block_calls"], 3);
  EXPECT_EQ(s["get_block_calls_used"], 2);
  EXPECT_EQ(s["unmapped_data_blocks"], 0);
}

TEST(GetBlockJoin, OneBlockPerCallAndOneCallForSeveralBios) {
  const auto map = seed_map();
  // maxmap=1: 12 calls for the first bio.
  std::vector<TraceRecord> recs;
  for (uint64_t i = 0; i < 12; ++i) recs.push_back(gb(i, 658 + i, 1));
  auto ev = explain::explain_events({queue_read(1, 1316, 24)}, map);
  auto j = join_get_block(ev, recs);
  EXPECT_EQ(j[0].calls.size(), 12U);
  // One call mapping 12 blocks, read by two bios of 6 blocks each.
  ev = explain::explain_events({queue_read(1, 1316, 12), queue_read(2, 1328, 12)}, map);
  j = join_get_block(ev, {gb(0, 658, 12)});
  EXPECT_EQ(j[0].calls, (std::vector<size_t>{0}));
  EXPECT_EQ(j[1].calls, (std::vector<size_t>{0}));
}

TEST(GetBlockJoin, ASecondColdReadMatchesTheSecondCalls) {
  const auto map = seed_map();
  const auto ev = explain::explain_events(
      {queue_read(1, 1316, 24), queue_read(2, 1342, 10), queue_read(3, 1316, 24), queue_read(4, 1342, 10)}, map);
  const std::vector<TraceRecord> recs = {gb(0, 658, 12), gb(12, 671, 5), gb(0, 658, 12), gb(12, 671, 5)};
  const auto j = join_get_block(ev, recs);
  EXPECT_EQ(j[0].calls, (std::vector<size_t>{0}));
  EXPECT_EQ(j[1].calls, (std::vector<size_t>{1}));
  EXPECT_EQ(j[2].calls, (std::vector<size_t>{2}));
  EXPECT_EQ(j[3].calls, (std::vector<size_t>{3}));
}

TEST(GetBlockJoin, OtherDevicesFailedCallsAndGapsDoNotMatch) {
  const auto map = seed_map();
  const auto ev = explain::explain_events({queue_read(1, 1316, 24)}, map);
  TraceRecord failed = gb(6, 664, 6);
  failed.ret = -5;
  const std::vector<TraceRecord> recs = {gb(0, 658, 12, 48), gb(0, 658, 6), failed};
  const auto j = join_get_block(ev, recs);
  EXPECT_EQ(j[0].calls, (std::vector<size_t>{1}));
  EXPECT_EQ(j[0].unmapped, (std::vector<uint64_t>{664, 665, 666, 667, 668, 669}));
  EXPECT_EQ(format_ranges(j[0].unmapped), "664-669");
  EXPECT_EQ(format_ranges({1, 2, 3, 7, 9, 10}), "1-3 7 9-10");
  const auto s = join_summary(ev, j, recs);
  EXPECT_EQ(s["data_bios_attributed"], 0);
  EXPECT_EQ(s["unmapped_data_blocks"], 6);
  const std::string line = format_call(recs[1]);
  EXPECT_NE(line.find("get_block ino 12 lblk 0 max 6 create 0 -> pblk 658 len 6"), std::string::npos);
  EXPECT_EQ(call_json(recs[1], 1)["index"], 1);
}
