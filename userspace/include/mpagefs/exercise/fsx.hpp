// fsx.hpp - a randomized file exerciser after fstests' fsx: a seeded
// generator picks operations (read, write, truncate, mmap read/write, fsync,
// fdatasync, close/reopen, O_DIRECT read/write), each is applied to the real
// file and to a shadow copy in memory, and every byte read is compared with
// the shadow.  The generator and the shadow are pure (src/fsx_*.cpp); the
// file is reached through FsxFile, whose POSIX implementation is in
// exercise/sys/fsx_file.hpp, so tests can put a fault-injecting file in
// between.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mpagefs::fsx {

enum class OpKind {
  Read,
  Write,
  Truncate,
  MapRead,
  MapWrite,
  Fsync,
  Fdatasync,
  Reopen,
  DirectRead,
  DirectWrite,
};
constexpr size_t kOpKinds = 10;
const char* op_name(OpKind k);

struct Op {
  uint64_t index = 0;   // 1-based position in the run (what the log shows)
  OpKind kind = OpKind::Read;
  uint64_t offset = 0;  // Truncate: the new size
  uint64_t length = 0;
  uint64_t size_before = 0;  // the shadow's size when the op was chosen
};
// "   1234 write    0x1c00 .. 0x2bff (4096 bytes)" and the like.
std::string format_op(const Op& op);

struct Options {
  uint64_t seed = 1;
  uint64_t num_ops = 10000;
  uint64_t maxlen = 64 * 1024;            // longest read/write
  uint64_t file_size_max = 256 * 1024;    // writes and truncates stay below this
  bool mmap = true;                       // MapRead / MapWrite
  bool direct = false;                    // DirectRead / DirectWrite
  uint64_t direct_align = 4096;           // offset and length alignment of O_DIRECT ops
  size_t log_size = 32;                   // ops kept for the failure report
  uint64_t progress_every = 1000;         // a progress line every N ops (0: none)
  bool drop_caches = false;               // final check again after close + drop_caches
  // Test hook: called after op `index` completed and was checked.
  std::function<void(uint64_t index)> after_op;
};

// Deterministic: the same options (seed, limits, enabled kinds) and the same
// sequence of sizes give the same operations.  The size passed in is the
// shadow's, which itself follows from the ops, so a seed replays a run.
class OpGenerator {
 public:
  explicit OpGenerator(const Options& opts);
  Op next(uint64_t current_size);
  // The byte written at file offset `pos` by op `index`: a function of both,
  // so the failure report can name the logged op whose data a wrong byte is.
  static uint8_t data_byte(uint64_t index, uint64_t pos);
  static void fill(uint64_t index, uint64_t offset, std::span<uint8_t> out);

 private:
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0
  Options opts_;
  std::mt19937_64 rng_;
  std::vector<std::pair<OpKind, unsigned>> weights_;
  unsigned total_weight_ = 0;
  uint64_t count_ = 0;
};

// The shadow: what the file must contain.
class ShadowFile {
 public:
  uint64_t size() const { return data_.size(); }
  // Writes beyond the end extend the file; a gap before them reads as zeros.
  void write(uint64_t offset, std::span<const uint8_t> in);
  // Shrinking drops the tail; growing appends zeros (a hole).
  void truncate(uint64_t size);
  // The bytes in [offset, offset+length) that exist (clipped at EOF).
  std::span<const uint8_t> read(uint64_t offset, uint64_t length) const;

 private:
  std::vector<uint8_t> data_;
};

// The file under test.  Every call reports failure by throwing
// std::system_error; reads return the count the kernel returned.
class FsxFile {
 public:
  FsxFile() = default;
  FsxFile(const FsxFile&) = delete;
  FsxFile& operator=(const FsxFile&) = delete;
  FsxFile(FsxFile&&) = delete;
  FsxFile& operator=(FsxFile&&) = delete;
  virtual ~FsxFile() = default;

  virtual uint64_t size() = 0;  // fstat
  virtual size_t pread(uint64_t offset, std::span<uint8_t> out) = 0;
  virtual void pwrite(uint64_t offset, std::span<const uint8_t> in) = 0;
  virtual void truncate(uint64_t size) = 0;
  // mmap(MAP_SHARED) of the pages covering the range, copy, munmap; the
  // range lies inside the file.
  virtual void map_read(uint64_t offset, std::span<uint8_t> out) = 0;
  // Same mapping, memcpy in, msync(MS_SYNC), munmap; the range lies inside
  // the file (the runner extends it first, as fsx does).
  virtual void map_write(uint64_t offset, std::span<const uint8_t> in) = 0;
  // The bytes from `size` to the end of its page, seen through a mapping of
  // that last page (empty when `size` is page-aligned); they must be zero.
  virtual std::vector<uint8_t> map_eof_tail(uint64_t size) = 0;
  virtual void fsync() = 0;
  virtual void fdatasync() = 0;
  virtual void reopen() = 0;
  // O_DIRECT on a second descriptor; offset and sizes are aligned by the
  // caller.  direct_supported() is false when open(O_DIRECT) gave EINVAL.
  virtual bool direct_supported() = 0;
  virtual size_t direct_read(uint64_t offset, std::span<uint8_t> out) = 0;
  virtual void direct_write(uint64_t offset, std::span<const uint8_t> in) = 0;
  // Close everything, drop the page cache (if permitted), reopen.  Returns a
  // note for the log ("dropped caches" or why not).
  virtual std::string close_drop_caches_reopen(bool drop) = 0;
};

struct Result {
  bool ok = true;
  uint64_t ops_done = 0;
  std::array<uint64_t, kOpKinds> counts{};  // ops done per OpKind
  std::string failure;                      // the report when !ok
  std::vector<std::string> notes;           // e.g. "O_DIRECT not supported: direct ops off"
};

// Runs opts.num_ops operations on `file` (assumed empty), then checks the
// whole file, again after close + drop caches if asked.  Progress lines go to
// `progress` (every opts.progress_every ops; "\r" updates when `tty`).
// A mismatch or a failed system call ends the run with ok = false and a
// report: the failing op, the last opts.log_size ops, and a hex dump of the
// expected and actual bytes around the first difference.
Result run(FsxFile& file, const Options& opts, std::ostream& progress, bool tty = false);
// {"ops", "ok", "counts" (per op name), "notes"[, "failure"]}.
nlohmann::json to_json(const Result& r);

// A side-by-side hex dump of `expected` and `got` around byte `at`, offsets
// shown from `base` (the file offset of expected[0]).
std::string hex_window(std::span<const uint8_t> expected, std::span<const uint8_t> got, size_t at,
                       uint64_t base);

}  // namespace mpagefs::fsx
