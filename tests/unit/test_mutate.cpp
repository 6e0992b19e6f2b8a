// mutate: seeded and replayable, each mutation described with the bytes it
// changed, and fsck reports every mutation the mutator calls detectable
// (and stays silent about the ones it calls undetectable).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <map>
#include <set>
#include <string>

#include "mpagefs/fsck/fsck.hpp"
#include "mpagefs/image/mutate.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

// The tree the VM test mutates too: IND and DIND chains at 1 KiB, nested
// directories, fast and slow symlinks, a hole, an empty file.
SourceNode hostile_tree() {
  return SourceNode::dir(
      "", {SourceNode::file("f17", pattern(17 * 1024, 2)),
           SourceNode::file("f300", pattern(300 * 1024, 1)),
           SourceNode::file("empty", ""),
           SourceNode::symlink("link", "f17"),
           SourceNode::symlink("slow", std::string(100, 'x')),
           SourceNode::dir("sub", {SourceNode::file("a", "alpha"), SourceNode::file("b", "beta"),
                                   SourceNode::dir("deeper", {SourceNode::file("c", "gamma")})}),
           SourceNode::sparse_file("sparse", 100 * 1024, {{50 * 1024, "middle"}})});
}

std::vector<uint8_t> pristine(uint32_t bs) {
  MemoryBlockIo dev(2 << 20);
  const SourceNode root = hostile_tree();
  make_filesystem(dev, options(bs), &root);
  return dev.bytes();
}

uint64_t read_le(const std::vector<uint8_t>& b, uint64_t off, uint32_t width) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < width; ++i) v |= uint64_t{b[off + i]} << (8 * i);
  return v;
}

// fsck's verdict: true when it reports anything (or refuses the image).
bool fsck_reports(std::vector<uint8_t> bytes, std::string& what) {
  MemoryBlockIo dev(std::move(bytes));
  try {
    const FsckPass p = check_image(dev);
    for (const Finding& f : p.findings) what += std::string(to_string(f.kind)) + ": " + f.message + "\n";
    return !p.findings.empty();
  } catch (const std::exception& e) {
    what = std::string("refused: ") + e.what();
    return true;
  }
}

TEST(Mutate, SameSeedSamePlanOtherSeedsDiffer) {
  const std::vector<uint8_t> base = pristine(1024);
  MemoryBlockIo a(base), b(base);
  const MutationPlan pa = mutate_image(a, 7, 3);
  const MutationPlan pb = mutate_image(b, 7, 3);
  ASSERT_EQ(pa.mutations.size(), 3U);
  EXPECT_EQ(a.bytes(), b.bytes());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(pa.mutations[i].describe(), pb.mutations[i].describe());
  EXPECT_NE(a.bytes(), base);
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MemoryBlockIo c(base);
    seen.insert(plan_mutations(c, seed, 1).mutations.at(0).describe());
  }
  EXPECT_GT(seen.size(), 40U);
}

TEST(Mutate, RefusesAnImageItCannotModel) {
  MemoryBlockIo dev(1 << 20);
  EXPECT_THROW(plan_mutations(dev, 1, 1), FormatError);
}

// Every mutation names the bytes it changed: old value before, new after.
TEST(Mutate, DescriptionsMatchTheBytes) {
  for (uint32_t bs : {1024U, 4096U}) {
    const std::vector<uint8_t> base = pristine(bs);
    for (uint64_t seed = 0; seed < 500; ++seed) {
      MemoryBlockIo dev(base);
      const MutationPlan p = mutate_image(dev, seed, 1);
      ASSERT_EQ(p.mutations.size(), 1U);
      const Mutation& m = p.mutations[0];
      SCOPED_TRACE(fmt::format("bs {} seed {}: {}", bs, seed, m.describe()));
      ASSERT_TRUE(m.width == 1 || m.width == 2 || m.width == 4 || m.width == 8);
      EXPECT_EQ(read_le(base, m.offset, m.width), m.old_value);
      EXPECT_EQ(read_le(dev.bytes(), m.offset, m.width), m.new_value);
      EXPECT_NE(m.old_value, m.new_value);
      EXPECT_FALSE(m.structure.empty());
      EXPECT_FALSE(m.field.empty());
    }
  }
}

// The heart of it: fsck sees what the mutator says it can see.
TEST(Mutate, FsckReportsEveryDetectableMutation) {
  std::map<std::string, int> kinds;
  int undetectable = 0;
  for (uint32_t bs : {1024U, 4096U}) {
    const std::vector<uint8_t> base = pristine(bs);
    for (uint64_t seed = 0; seed < 1500; ++seed) {
      MemoryBlockIo dev(base);
      const Mutation m = mutate_image(dev, seed, 1).mutations.at(0);
      ++kinds[m.kind];
      std::string what;
      const bool reported = fsck_reports(dev.bytes(), what);
      if (m.detectable) {
        EXPECT_TRUE(reported) << "bs " << bs << " seed " << seed << ": " << m.describe();
      } else {
        ++undetectable;
        EXPECT_FALSE(reported) << "bs " << bs << " seed " << seed << ": " << m.describe()
                               << " is called undetectable, but fsck says:\n" << what;
      }
    }
  }
  // Every target is reached.
  for (const char* k : {"sb-stale-crc", "sb-field", "sb-cosmetic", "block-bitmap", "inode-bitmap",
                        "inode-mode", "inode-links", "inode-size", "inode-i_blocks", "inode-nsec",
                        "inode-pointer", "indirect-loop", "dirent-rec_len", "dirent-name_len",
                        "dirent-inode", "dirent-cycle", "dirent-file_type", "dirent-name"})
    EXPECT_GT(kinds[k], 0) << k;
  EXPECT_LT(undetectable, 3000 / 5);
}

// Several mutations at once still replay and still get reported.
TEST(Mutate, SeveralMutations) {
  const std::vector<uint8_t> base = pristine(1024);
  for (uint64_t seed = 0; seed < 100; ++seed) {
    MemoryBlockIo dev(base);
    const MutationPlan p = mutate_image(dev, seed, 5);
    ASSERT_EQ(p.mutations.size(), 5U);
    bool any = false;
    for (const Mutation& m : p.mutations) any = any || m.detectable;
    std::string what;
    if (any) {
      EXPECT_TRUE(fsck_reports(dev.bytes(), what)) << "seed " << seed;
    }
  }
}

}  // namespace
