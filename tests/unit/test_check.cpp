// check: every rule passes on a good trace and fails, with a message that
// says why, on a bad one.
#include <gtest/gtest.h>

#include "mpagefs/trace/check.hpp"
#include "owner_map_fixtures.hpp"

using namespace mpagefs;
using namespace mpagefs::check;
using namespace mpagefs::testutil;

namespace {

const Finding& finding(const Report& r, const std::string& rule) {
  for (const auto& f : r.findings)
    if (f.rule == rule) return f;
  throw std::runtime_error("no finding for rule " + rule);
}

Rules order_rule(const std::string& spec) {
  Rules r;
  r.expect_order = parse_expect_order(spec);
  r.expect_order_text = spec;
  return r;
}

}  // namespace

TEST(Check, ParsesExpectOrder) {
  const auto o = parse_expect_order("data:0-11, IND ,data:12-16,data:11+IND:12+free");
  ASSERT_EQ(o.size(), 4U);
  EXPECT_EQ(o[0][0].kind, BlockKind::Data);
  EXPECT_EQ(o[0][0].range, std::make_pair(uint64_t{0}, uint64_t{11}));
  EXPECT_EQ(o[1][0].kind, BlockKind::Ind);
  EXPECT_FALSE(o[1][0].range.has_value());
  ASSERT_EQ(o[3].size(), 3U);
  EXPECT_FALSE(o[3][2].kind.has_value());
  EXPECT_EQ(parse_expect_order("itable:3,dind,TIND")[1][0].kind, BlockKind::Dind);
  EXPECT_THROW(parse_expect_order("data:0-11,bogus"), std::invalid_argument);
  EXPECT_THROW(parse_expect_order("data:5-1"), std::invalid_argument);
  EXPECT_THROW(parse_expect_order("data:x"), std::invalid_argument);
  EXPECT_THROW(parse_expect_order("data,,IND"), std::invalid_argument);
}

TEST(Check, SeedExamplePassesEveryRule) {
  Rules rules = order_rule("data:0-11,IND,data:12-16");
  rules.max_bios = 3;
  rules.max_bio_kib = 12;
  rules.min_bio_kib = 12;
  const auto r = run_checks(boundary_on_events(), seed_map(), "/f17", rules);
  EXPECT_TRUE(r.ok()) << format_report(r);
  EXPECT_EQ(r.findings.size(), 7U);
  EXPECT_EQ(r.file_bios, (std::vector<std::string>{"data:0-11", "IND:12", "data:12-16"}));
  // The IND range forms: first mapped block, or the whole mapped range.
  EXPECT_TRUE(run_checks(boundary_on_events(), seed_map(), "f17", order_rule("data,IND:12,data")).ok());
  EXPECT_TRUE(run_checks(boundary_on_events(), seed_map(), "f17", order_rule("data,IND:12-267,data")).ok());
  EXPECT_FALSE(run_checks(boundary_on_events(), seed_map(), "f17", order_rule("data,IND:13,data")).ok());
}

TEST(Check, OrderMismatchFails) {
  const auto r = run_checks(boundary_off_events(), seed_map(), "/f17", order_rule("data:0-11,IND,data:12-16"));
  EXPECT_FALSE(r.ok());
  const auto& f = finding(r, "order");
  EXPECT_FALSE(f.passed);
  EXPECT_NE(f.message.find("file bio #1 is IND:12"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("expected data:0-11"), std::string::npos) << f.message;
  // The other rules still pass: only the order is wrong.
  EXPECT_EQ(r.failures().size(), 1U);

  const auto fewer = run_checks(boundary_on_events(), seed_map(), "/f17", order_rule("data:0-11,IND"));
  EXPECT_NE(finding(fewer, "order").message.find("expected 2 file bios"), std::string::npos);
}

TEST(Check, TooManyBiosAndSizeLimits) {
  Rules rules;
  rules.max_bios = 2;
  rules.max_bio_kib = 8;
  rules.min_bio_kib = 16;
  const auto r = run_checks(boundary_on_events(), seed_map(), "/f17", rules);
  EXPECT_FALSE(finding(r, "max-bios").passed);
  EXPECT_NE(finding(r, "max-bios").message.find("3 file bios, at most 2"), std::string::npos);
  EXPECT_FALSE(finding(r, "max-bio-kib").passed);
  EXPECT_NE(finding(r, "max-bio-kib").message.find("1316 + 24"), std::string::npos)
      << finding(r, "max-bio-kib").message;
  // data 0-11 (12 KiB) is too small; the tail bio (data 12-16) and the IND
  // read are exempt.
  const auto& min = finding(r, "min-bio-kib");
  EXPECT_FALSE(min.passed);
  EXPECT_NE(min.message.find("1316 + 24"), std::string::npos) << min.message;
  EXPECT_EQ(min.message.find("1342"), std::string::npos) << min.message;
}

TEST(Check, BioCrossingADiscontinuityFails) {
  // data 0-11 and the IND in one bio: disk-contiguous, not file-contiguous.
  const std::vector<blktrace::Event> evs = {queue_read(1, 1316, 26), queue_read(2, 1342, 10)};
  const auto r = run_checks(evs, seed_map(), "/f17", Rules{});
  const auto& f = finding(r, "contiguous");
  EXPECT_FALSE(f.passed);
  EXPECT_NE(f.message.find("/f17 data 0-11 | /f17 IND (maps 12-267)"), std::string::npos) << f.message;

  // A logical jump over a hole, disk-contiguous.
  const auto jump = run_checks({queue_read(1, 1600, 4)}, seed_map(), "/sparse", Rules{});
  EXPECT_FALSE(finding(jump, "contiguous").passed);
  EXPECT_TRUE(finding(jump, "owned").passed);
}

TEST(Check, HoleOrFreeBlockReadFails) {
  // /sparse read right: data 0, data 5 as two bios.
  const std::vector<blktrace::Event> good = {queue_read(1, 1600, 2), queue_read(2, 1602, 2)};
  EXPECT_TRUE(run_checks(good, seed_map(), "/sparse", Rules{}).ok());
  // Something also reads block 802, which nobody owns.
  auto bad = good;
  bad.push_back(queue_read(3, 1604, 2));
  const auto r = run_checks(bad, seed_map(), "/sparse", Rules{});
  const auto& f = finding(r, "owned");
  EXPECT_FALSE(f.passed);
  EXPECT_NE(f.message.find("free/unknown (disk 802)"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("seq 3"), std::string::npos) << f.message;
}

TEST(Check, DuplicateReadFails) {
  auto evs = boundary_on_events();
  evs.push_back(queue_read(4, 1320, 4));  // data 2-3 again
  const auto r = run_checks(evs, seed_map(), "/f17", Rules{});
  const auto& f = finding(r, "read-once");
  EXPECT_FALSE(f.passed);
  EXPECT_NE(f.message.find("data block 2 read by seq 1 cpu 0, seq 4 cpu 0"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("data block 3"), std::string::npos) << f.message;
}

TEST(Check, UnknownFileIsAnError) {
  EXPECT_THROW(run_checks(boundary_on_events(), seed_map(), "/missing", Rules{}), std::invalid_argument);
}

TEST(Check, ReportFormats) {
  const auto r = run_checks(boundary_off_events(), seed_map(), "/f17", order_rule("data:0-11,IND,data:12-16"));
  const std::string text = format_report(r);
  EXPECT_NE(text.find("FAIL order"), std::string::npos) << text;
  EXPECT_NE(text.find("PASS contiguous"), std::string::npos) << text;
  EXPECT_NE(text.find("1 check(s) failed"), std::string::npos) << text;
  const auto j = to_json(r);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["file_bios"][0], "IND:12");
}
