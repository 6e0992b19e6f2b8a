// fsx: the generator replays from a seed and stays in bounds, the shadow's
// semantics (zero fill, truncate), the hex window.  Real runs on the host:
// tests/system/test_fsx_run.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "fsx_test_util.hpp"
#include "mpagefs/exercise/fsx.hpp"
#include "mpagefs/util/sha256.hpp"

using namespace mpagefs;
using namespace mpagefs::fsx;
using mpagefs::testutil::small;

namespace {

// Drives a generator the way the runner does: sizes follow from the ops.
std::vector<Op> generate(const Options& o, uint64_t n) {
  OpGenerator gen(o);
  ShadowFile shadow;
  std::vector<Op> ops;
  std::vector<uint8_t> buf;
  for (uint64_t i = 0; i < n; ++i) {
    const Op op = gen.next(shadow.size());
    ops.push_back(op);
    if (op.kind == OpKind::Write || op.kind == OpKind::MapWrite || op.kind == OpKind::DirectWrite) {
      buf.assign(op.length, 1);
      shadow.write(op.offset, buf);
    } else if (op.kind == OpKind::Truncate) {
      shadow.truncate(op.offset);
    }
  }
  return ops;
}

bool same(const Op& a, const Op& b) {
  return a.index == b.index && a.kind == b.kind && a.offset == b.offset && a.length == b.length &&
         a.size_before == b.size_before;
}

TEST(FsxGenerator, DeterministicForASeed) {
  const auto a = generate(small(42), 5000);
  const auto b = generate(small(42), 5000);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(same(a[i], b[i])) << format_op(a[i]) << " vs " << format_op(b[i]);
  const auto c = generate(small(43), 5000);
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += same(a[i], c[i]) ? 0 : 1;
  EXPECT_GT(differ, 2500U);
}

TEST(FsxGenerator, StaysInBoundsAndUsesEveryKind) {
  const Options o = small(7);
  std::array<size_t, kOpKinds> seen{};
  for (const Op& op : generate(o, 20000)) {
    ++seen[static_cast<size_t>(op.kind)];
    switch (op.kind) {
      case OpKind::Read:
      case OpKind::MapRead:
        EXPECT_LE(op.offset + op.length, op.size_before) << format_op(op);
        EXPECT_LE(op.length, o.maxlen);
        if (op.size_before > 0) {
          EXPECT_GE(op.length, 1U);
        }
        break;
      case OpKind::Write:
      case OpKind::MapWrite:
        EXPECT_GE(op.length, 1U);
        EXPECT_LE(op.length, o.maxlen);
        EXPECT_LE(op.offset + op.length, o.file_size_max) << format_op(op);
        break;
      case OpKind::DirectRead:
      case OpKind::DirectWrite:
        EXPECT_EQ(op.offset % o.direct_align, 0U) << format_op(op);
        EXPECT_EQ(op.length % o.direct_align, 0U) << format_op(op);
        EXPECT_LE(op.length, o.maxlen);
        if (op.kind == OpKind::DirectWrite) {
          EXPECT_LE(op.offset + op.length, o.file_size_max);
        } else if (op.length > 0) {
          EXPECT_LT(op.offset, op.size_before);
        }
        break;
      case OpKind::Truncate:
        EXPECT_LE(op.offset, o.file_size_max);
        break;
      default:
        break;
    }
  }
  for (size_t k = 0; k < kOpKinds; ++k) EXPECT_GT(seen[k], 100U) << op_name(static_cast<OpKind>(k));
}

TEST(FsxGenerator, DisabledKindsNeverAppear) {
  Options o = small(9);
  o.mmap = false;
  o.direct = false;
  for (const Op& op : generate(o, 5000)) {
    EXPECT_NE(op.kind, OpKind::MapRead);
    EXPECT_NE(op.kind, OpKind::MapWrite);
    EXPECT_NE(op.kind, OpKind::DirectRead);
    EXPECT_NE(op.kind, OpKind::DirectWrite);
  }
}

TEST(FsxGenerator, DataDependsOnOpAndOffset) {
  std::vector<uint8_t> a(100), b(100), c(100);
  OpGenerator::fill(5, 13, a);  // an unaligned start
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], OpGenerator::data_byte(5, 13 + i));
  OpGenerator::fill(6, 13, b);
  OpGenerator::fill(5, 14, c);
  EXPECT_NE(a, b);
  EXPECT_NE(std::vector<uint8_t>(a.begin() + 1, a.end()), std::vector<uint8_t>(b.begin() + 1, b.end()));
  EXPECT_EQ(std::vector<uint8_t>(a.begin() + 1, a.end()), std::vector<uint8_t>(c.begin(), c.end() - 1));
}

TEST(FsxShadow, WriteBeyondEofZeroFills) {
  ShadowFile s;
  const std::vector<uint8_t> x = {1, 2, 3};
  s.write(10, x);
  ASSERT_EQ(s.size(), 13U);
  const auto all = s.read(0, 100);
  ASSERT_EQ(all.size(), 13U);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(all[i], 0) << i;
  EXPECT_EQ(all[10], 1);
  EXPECT_EQ(all[12], 3);
  s.write(11, std::vector<uint8_t>{9});  // inside: no growth
  EXPECT_EQ(s.size(), 13U);
  EXPECT_EQ(s.read(11, 1)[0], 9);
  EXPECT_TRUE(s.read(13, 5).empty());
  EXPECT_EQ(s.read(12, 5).size(), 1U);
}

TEST(FsxShadow, TruncateShrinkThenGrowGivesZeros) {
  ShadowFile s;
  s.write(0, std::vector<uint8_t>(100, 0xAB));
  s.truncate(40);
  EXPECT_EQ(s.size(), 40U);
  s.truncate(100);
  const auto all = s.read(0, 100);
  ASSERT_EQ(all.size(), 100U);
  EXPECT_EQ(all[39], 0xAB);
  for (size_t i = 40; i < 100; ++i) EXPECT_EQ(all[i], 0) << "old data came back at " << i;
  s.truncate(0);
  EXPECT_TRUE(s.read(0, 1).empty());
}

TEST(FsxHexWindow, MarksDifferingRows) {
  std::vector<uint8_t> e(64, 0x11), g(64, 0x11);
  g[37] = 0x22;
  const std::string w = hex_window(e, g, 37, 0x1000);
  EXPECT_NE(w.find("! 0x0000001020"), std::string::npos) << w;
  EXPECT_NE(w.find("  0x0000001010"), std::string::npos) << w;
  EXPECT_NE(w.find("22"), std::string::npos) << w;
  EXPECT_EQ(std::count(w.begin(), w.end(), '!'), 1) << w;
}

}  // namespace
