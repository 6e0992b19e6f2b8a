// explain: sectors -> blocks -> owners, segment splitting, labels, the
// mpage.c notation and JSON, on hand-made owner maps.
#include <gtest/gtest.h>

#include "mpagefs/trace/explain.hpp"
#include "owner_map_fixtures.hpp"

using namespace mpagefs;
using namespace mpagefs::explain;
using namespace mpagefs::testutil;

namespace {
std::vector<std::string> labels_of(const ExplainedEvent& e) {
  std::vector<std::string> v;
  for (const auto& s : e.segments) v.push_back(label(s));
  return v;
}
}  // namespace

TEST(Explain, SeedExampleLabels) {
  const auto map = seed_map();
  const auto ex = explain_events(boundary_on_events(), map);
  ASSERT_EQ(ex.size(), 3U);
  EXPECT_EQ(labels_of(ex[0]), (std::vector<std::string>{"/f17 data 0-11"}));
  EXPECT_EQ(ex[0].first_block, 658U);
  EXPECT_EQ(ex[0].block_count, 12U);
  EXPECT_EQ(labels_of(ex[1]), (std::vector<std::string>{"/f17 IND (maps 12-267)"}));
  EXPECT_EQ(labels_of(ex[2]), (std::vector<std::string>{"/f17 data 12-16"}));
}

TEST(Explain, BioSpanningDataAndIndIsSplit) {
  const auto map = seed_map();
  // Blocks 668..671: data 10-11, IND, data 12.
  const auto e = explain_event(queue_read(1, 1336, 8), map);
  EXPECT_EQ(labels_of(e), (std::vector<std::string>{"/f17 data 10-11", "/f17 IND (maps 12-267)", "/f17 data 12"}));
  ASSERT_EQ(e.segments.size(), 3U);
  EXPECT_EQ(e.segments[1].first_block, 670U);
  EXPECT_EQ(e.segments[1].count, 1U);
}

TEST(Explain, MetadataDirFreeAndLogicalJumps) {
  const auto map = seed_map();
  EXPECT_EQ(labels_of(explain_event(queue_read(1, 2, 2), map)), (std::vector<std::string>{"superblock block 0"}));
  EXPECT_EQ(labels_of(explain_event(queue_read(1, 14, 4), map)),
            (std::vector<std::string>{"inode table blocks 2-3"}));
  EXPECT_EQ(labels_of(explain_event(queue_read(1, 1314, 4), map)),
            (std::vector<std::string>{"dir / block 0", "/f17 data 0"}));
  // Disk-contiguous but a hole between logical 0 and 5: two segments.
  EXPECT_EQ(labels_of(explain_event(queue_read(1, 1600, 6), map)),
            (std::vector<std::string>{"/sparse data 0", "/sparse data 5", "free/unknown (disk 802)"}));
  EXPECT_EQ(labels_of(explain_event(queue_read(1, 1800, 8), map)),
            (std::vector<std::string>{"free/unknown (disk 900-903)"}));
}

TEST(Explain, PartialBlocksAndOtherBlockSizes) {
  const auto map = seed_map();
  // One sector in the middle of block 658.
  const auto e = explain_event(queue_read(1, 1317, 1), map);
  EXPECT_EQ(e.first_block, 658U);
  EXPECT_EQ(e.block_count, 1U);
  // A sectorless event (a flush) touches nothing.
  EXPECT_TRUE(explain_event(queue_read(1, 0, 0), map).segments.empty());

  BlockOwnerMap m4(4096);
  add_run(m4, 100, 12, BlockKind::Data, 12, "/big", 0);
  add_run(m4, 112, 1, BlockKind::Ind, 12, "/big", 12);
  const auto e4 = explain_event(queue_read(1, 800, 8 * 13), m4);  // blocks 100..112
  EXPECT_EQ(labels_of(e4), (std::vector<std::string>{"/big data 0-11", "/big IND (maps 12-1035)"}));
}

TEST(Explain, NotationOfTheSeedExampleInBothOrders) {
  const auto map = seed_map();
  EXPECT_EQ(notation(explain_events(boundary_on_events(), map), map, "/f17"),
            "[0 1 2 3 4 5 6 7 8 9 10 11] [12] [13 14 15 16 17]");
  EXPECT_EQ(notation(explain_events(boundary_off_events(), map), map, "/f17"),
            "[12] [0 1 2 3 4 5 6 7 8 9 10 11] [13 14 15 16 17]");
}

TEST(Explain, NotationSkipsOtherBiosAndMarksForeignBlocks) {
  const auto map = seed_map();
  std::vector<blktrace::Event> evs = {queue_read(1, 14, 2), queue_read(2, 1314, 6), queue_read(3, 1340, 2)};
  EXPECT_EQ(notation(explain_events(evs, map), map, "f17"), "[- 0 1] [12]");
  EXPECT_THROW(notation(explain_events(evs, map), map, "/nope"), std::invalid_argument);
}

TEST(Explain, JsonCarriesEventAndSegments) {
  const auto map = seed_map();
  const auto e = explain_event(queue_read(5, 1336, 8), map);
  const auto j = to_json(e, 1000);
  EXPECT_EQ(j["action"], "Q");
  EXPECT_EQ(j["rwbs"], "RA");
  EXPECT_EQ(j["sector"], 1336);
  EXPECT_EQ(j["rel_ns"], 5);
  ASSERT_EQ(j["segments"].size(), 3U);
  EXPECT_EQ(j["segments"][1]["kind"], "IND");
  EXPECT_EQ(j["segments"][1]["logical_first"], 12);
  EXPECT_EQ(j["segments"][1]["logical_last"], 267);
  EXPECT_EQ(j["segments"][0]["path"], "/f17");
  EXPECT_EQ(format_line(e).find("Q  RA"), 0U) << format_line(e);
}
