// fsx on a real file (exercise/sys/fsx_file.hpp) in a temporary directory:
// short runs pass, and corruption behind fsx's back (a second descriptor, a
// lying or lossy file) is reported with the op log and a hex dump.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "exercise/sys/fsx_file.hpp"
#include "mpagefs/util/sha256.hpp"
#include "fsx_test_util.hpp"
#include "temp_dir.hpp"

using namespace mpagefs;
using namespace mpagefs::fsx;
using mpagefs::testutil::small;

namespace {
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
