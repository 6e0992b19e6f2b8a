// fsx: the generator replays from a seed and stays in bounds, the shadow's
// semantics (zero fill, truncate), short real runs on the host pass, and
// corruption behind fsx's back (a second descriptor, a lying or lossy file)
// is reported with the op log and a hex dump.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "mpagefs/fsx.hpp"
#include "mpagefs/sha256.hpp"
#include "test_tmpdir.hpp"

using namespace mpagefs;
using namespace mpagefs::fsx;

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

Options small(uint64_t seed) {
  Options o;
  o.seed = seed;
  o.maxlen = 8192;
  o.file_size_max = 64 * 1024;
  o.direct = true;
  o.direct_align = 1024;
  o.progress_every = 0;
  return o;
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

std::string file_sha(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

TEST(FsxRun, ShortRealRunPasses) {
  mpagefs::testing::TempDir t;
  const std::string path = t / "fsx.dat";
  auto file = open_posix_file(path, true);
  Options o = small(12345);
  o.direct_align = 4096;
  o.num_ops = 2000;
  o.progress_every = 500;
  std::ostringstream progress;
  const Result r = run(*file, o, progress);
  ASSERT_TRUE(r.ok) << r.failure;
  EXPECT_EQ(r.ops_done, 2000U);
  uint64_t total = 0;
  for (auto c : r.counts) total += c;
  EXPECT_EQ(total, 2000U);
  EXPECT_GT(r.counts[static_cast<size_t>(OpKind::MapWrite)], 0U);
  EXPECT_EQ(progress.str(), "fsx: 500/2000 ops\nfsx: 1000/2000 ops\nfsx: 1500/2000 ops\nfsx: 2000/2000 ops\n");
}

TEST(FsxRun, SameSeedSameFile) {
  mpagefs::testing::TempDir t;
  std::string sha[3];
  for (int i = 0; i < 3; ++i) {
    const std::string path = t / ("f" + std::to_string(i));
    auto file = open_posix_file(path, false);
    Options o = small(i < 2 ? 77 : 78);
    o.direct = false;
    o.num_ops = 500;
    std::ostringstream progress;
    ASSERT_TRUE(run(*file, o, progress).ok);
    sha[i] = file_sha(path);
  }
  EXPECT_EQ(sha[0], sha[1]);
  EXPECT_NE(sha[0], sha[2]);
}

TEST(FsxRun, WriteBehindItsBackIsReported) {
  mpagefs::testing::TempDir t;
  const std::string path = t / "fsx.dat";
  auto file = open_posix_file(path, false);
  Options o = small(2024);
  o.direct = false;
  o.num_ops = 400;
  o.log_size = 8;
  bool corrupted = false;
  // After the last op, flip one byte through a second descriptor: only the
  // final check can see it, and it must.
  o.after_op = [&](uint64_t i) {
    if (i != o.num_ops) return;
    const int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    ASSERT_GT(st.st_size, 0);
    const off_t at = st.st_size / 2;
    uint8_t b = 0;
    ASSERT_EQ(::pread(fd, &b, 1, at), 1);
    b = static_cast<uint8_t>(~b);
    ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
    ::close(fd);
    corrupted = true;
  };
  std::ostringstream progress;
  const Result r = run(*file, o, progress);
  ASSERT_TRUE(corrupted);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("final check mismatch at file offset"), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find("1 of "), std::string::npos) << r.failure;  // one byte differs
  EXPECT_NE(r.failure.find("\n! 0x"), std::string::npos) << r.failure;  // the hex window
  EXPECT_NE(r.failure.find("--seed 2024"), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find("the last 8 ops"), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find("     400 "), std::string::npos) << r.failure;  // the newest op is logged
}

// A file that forwards to a real one but misbehaves on purpose.
class FaultyFile final : public FsxFile {
 public:
  enum class Fault { LoseWrite, FlipRead, WrongSize };
  FaultyFile(std::unique_ptr<FsxFile> real, Fault fault, uint64_t at) : real_(std::move(real)), fault_(fault), at_(at) {}
  uint64_t size() override {
    const uint64_t s = real_->size();
    return fault_ == Fault::WrongSize && ++sizes_ == at_ ? s + 1 : s;
  }
  size_t pread(uint64_t off, std::span<uint8_t> out) override {
    const size_t n = real_->pread(off, out);
    if (fault_ == Fault::FlipRead && ++reads_ == at_ && n > 0) out[n - 1] ^= 0x40;
    return n;
  }
  void pwrite(uint64_t off, std::span<const uint8_t> in) override {
    if (fault_ == Fault::LoseWrite && ++writes_ == at_) return;
    real_->pwrite(off, in);
  }
  void truncate(uint64_t s) override { real_->truncate(s); }
  void map_read(uint64_t off, std::span<uint8_t> out) override { real_->map_read(off, out); }
  void map_write(uint64_t off, std::span<const uint8_t> in) override { real_->map_write(off, in); }
  std::vector<uint8_t> map_eof_tail(uint64_t s) override { return real_->map_eof_tail(s); }
  void fsync() override { real_->fsync(); }
  void fdatasync() override { real_->fdatasync(); }
  void reopen() override { real_->reopen(); }
  bool direct_supported() override { return false; }
  size_t direct_read(uint64_t, std::span<uint8_t>) override { throw std::logic_error("no direct"); }
  void direct_write(uint64_t, std::span<const uint8_t>) override { throw std::logic_error("no direct"); }
  std::string close_drop_caches_reopen(bool d) override { return real_->close_drop_caches_reopen(d); }

 private:
  std::unique_ptr<FsxFile> real_;
  Fault fault_;
  uint64_t at_;
  uint64_t sizes_ = 0, reads_ = 0, writes_ = 0;
};

Result run_faulty(FaultyFile::Fault fault, uint64_t at, const std::string& dir) {
  FaultyFile f(open_posix_file(dir + "/fsx.dat", false), fault, at);
  Options o = small(99);
  o.direct = true;  // asked for, but the file says no: a note, and no direct ops
  o.num_ops = 3000;
  std::ostringstream progress;
  return run(f, o, progress);
}

TEST(FsxRun, FlippedReadIsReported) {
  mpagefs::testing::TempDir t;
  const Result r = run_faulty(FaultyFile::Fault::FlipRead, 50, t.str());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("read mismatch at file offset"), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find("1 of "), std::string::npos) << r.failure;
  EXPECT_LT(r.ops_done, 3000U);
  ASSERT_EQ(r.notes.size(), 1U);
  EXPECT_NE(r.notes[0].find("O_DIRECT"), std::string::npos);
  EXPECT_EQ(r.counts[static_cast<size_t>(OpKind::DirectRead)], 0U);
}

TEST(FsxRun, LostWriteIsReportedWithTheStaleOrigin) {
  mpagefs::testing::TempDir t;
  const Result r = run_faulty(FaultyFile::Fault::LoseWrite, 40, t.str());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("mismatch at file offset"), std::string::npos) << r.failure;
  // The byte found is older data or a hole, and the report says so.
  const bool explained = r.failure.find("(the byte op ") != std::string::npos ||
                         r.failure.find("(zero: a hole or a lost write?)") != std::string::npos;
  EXPECT_TRUE(explained) << r.failure;
}

TEST(FsxRun, WrongSizeIsReported) {
  mpagefs::testing::TempDir t;
  const Result r = run_faulty(FaultyFile::Fault::WrongSize, 30, t.str());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("file size 0x"), std::string::npos) << r.failure;
}

}  // namespace
