// fsx_run.cpp - the fsx loop: generate an op, apply it to the file and to the
// shadow, compare what came back; on the first difference build the report
// (failing op, recent ops, hex window).  Talks to the file only through
// FsxFile, so it is the same code on a real file and under a fault injector.
#include <algorithm>
#include <deque>
#include <fmt/format.h>
#include <ostream>
#include <sstream>
#include <system_error>

#include "mpagefs/exercise/fsx.hpp"

namespace mpagefs::fsx {

std::string hex_window(std::span<const uint8_t> expected, std::span<const uint8_t> got, size_t at,
                       uint64_t base) {
  constexpr size_t kRow = 16;
  const size_t len = std::max(expected.size(), got.size());
  const size_t first = (at / kRow) * kRow;
  const size_t from = first >= 2 * kRow ? first - 2 * kRow : 0;
  const size_t to = std::min(len, first + 3 * kRow);
  auto cell = [](std::span<const uint8_t> v, size_t i) {
    return i < v.size() ? fmt::format("{:02x}", v[i]) : std::string("--");
  };
  std::ostringstream os;
  os << fmt::format("  {:<12}  {:<47}   {}\n", "offset", "expected", "got");
  for (size_t row = from; row < to; row += kRow) {
    std::string e, g;
    bool differs = false;
    for (size_t i = row; i < row + kRow; ++i) {
      const bool d = i < len && (i >= expected.size() || i >= got.size() || expected[i] != got[i]);
      differs = differs || d;
      e += (i > row ? " " : "") + (i < len ? cell(expected, i) : "  ");
      g += (i > row ? " " : "") + (i < len ? cell(got, i) : "  ");
    }
    os << fmt::format("{} {:#012x}  {}   {}\n", differs ? '!' : ' ', base + row, e, g);
  }
  return os.str();
}

namespace {

class Runner {
 public:
  Runner(FsxFile& file, Options opts, std::ostream& progress, bool tty)
      : file_(file), opts_(std::move(opts)), progress_(progress), tty_(tty) {}

  Result run();

 private:
  void apply(const Op& op);
  void do_read(const Op& op, bool mapped);
  void do_write(const Op& op, bool mapped);
  void do_direct_read(const Op& op);
  void do_direct_write(const Op& op);
  void check_size(const char* when);
  void check_eof_tail();
  void compare(std::span<const uint8_t> expected, std::span<const uint8_t> got, uint64_t offset, const char* what);
  void verify_all(const char* when);
  [[noreturn]] void fail(const std::string& what);
  std::string guess_origin(uint64_t pos, uint8_t got) const;

  // Thrown by fail() to end the run with the report in it.
  struct Failure {
    std::string report;
  };

  FsxFile& file_;
  Options opts_;
  std::ostream& progress_;
  bool tty_;
  ShadowFile shadow_;
  std::deque<Op> log_;
  std::vector<uint8_t> buf_;
  Result res_;
  std::string detail_;  // hex window of the last mismatch
};

void Runner::fail(const std::string& what) {
  std::ostringstream os;
  os << "fsx: FAILURE: " << what << '\n';
  if (!detail_.empty()) os << detail_;
  os << fmt::format("fsx: seed {}; replay: mpagectl fsx --seed {} -N {} --maxlen {} --file-size-max {}{}{}\n",
                    opts_.seed, opts_.seed, opts_.num_ops, opts_.maxlen, opts_.file_size_max,
                    opts_.mmap ? "" : " --no-mmap",
                    opts_.direct ? fmt::format(" --direct --direct-align {}", opts_.direct_align) : "");
  os << "fsx: the last " << log_.size() << " ops (newest last):\n";
  for (const Op& op : log_) os << format_op(op) << '\n';
  throw Failure{os.str()};
}

std::string Runner::guess_origin(uint64_t pos, uint8_t got) const {
  // Which logged write would have left this byte?  Stale data is the usual
  // story (a lost or misdirected write, a page not invalidated).
  for (size_t k = log_.size(); k-- > 0;) {  // newest first
    const Op& op = log_[k];
    const bool writes = op.kind == OpKind::Write || op.kind == OpKind::MapWrite || op.kind == OpKind::DirectWrite;
    if (writes && pos >= op.offset && pos < op.offset + op.length && OpGenerator::data_byte(op.index, pos) == got)
      return fmt::format(" (the byte op {} wrote there)", op.index);
  }
  return got == 0 ? " (zero: a hole or a lost write?)" : "";
}

void Runner::compare(std::span<const uint8_t> expected, std::span<const uint8_t> got, uint64_t offset,
                     const char* what) {
  if (expected.size() != got.size()) {
    detail_.clear();
    fail(fmt::format("{} at {:#x}: short read, {} bytes instead of {}", what, offset, got.size(), expected.size()));
  }
  const auto [e, g] = std::mismatch(expected.begin(), expected.end(), got.begin());
  if (e == expected.end()) return;
  const auto at = static_cast<size_t>(e - expected.begin());
  size_t bad = 0;
  for (size_t i = at; i < expected.size(); ++i) bad += expected[i] != got[i] ? 1 : 0;
  detail_ = hex_window(expected, got, at, offset);
  fail(fmt::format("{} mismatch at file offset {:#x} ({} of {} bytes differ from {:#x}): "
                   "expected {:#04x}, got {:#04x}{}",
                   what, offset + at, bad, expected.size(), offset, *e, *g, guess_origin(offset + at, *g)));
}

void Runner::check_size(const char* when) {
  const uint64_t size = file_.size();
  if (size != shadow_.size()) {
    detail_.clear();
    fail(fmt::format("file size {:#x} after {}, expected {:#x}", size, when, shadow_.size()));
  }
}

void Runner::check_eof_tail() {
  const std::vector<uint8_t> tail = file_.map_eof_tail(shadow_.size());
  const auto nz = std::find_if(tail.begin(), tail.end(), [](uint8_t b) { return b != 0; });
  if (nz == tail.end()) return;
  const std::vector<uint8_t> zeros(tail.size(), 0);
  detail_ = hex_window(zeros, tail, static_cast<size_t>(nz - tail.begin()), shadow_.size());
  fail(fmt::format("byte {:#x} beyond EOF ({:#x}) in the last mapped page is {:#04x}, not zero",
                   shadow_.size() + static_cast<uint64_t>(nz - tail.begin()), shadow_.size(), *nz));
}

void Runner::do_read(const Op& op, bool mapped) {
  if (op.length == 0) {
    check_size("an empty read");
    return;
  }
  buf_.resize(op.length);
  std::span<uint8_t> got(buf_);
  if (mapped) {
    file_.map_read(op.offset, got);
  } else {
    got = got.first(file_.pread(op.offset, got));
  }
  compare(shadow_.read(op.offset, op.length), got, op.offset, mapped ? "mapread" : "read");
  if (mapped) check_eof_tail();
}

void Runner::do_write(const Op& op, bool mapped) {
  buf_.resize(op.length);
  OpGenerator::fill(op.index, op.offset, buf_);
  if (mapped) {
    // A mapping cannot extend a file: grow it first, as fsx does.
    if (op.offset + op.length > shadow_.size()) {
      file_.truncate(op.offset + op.length);
      shadow_.truncate(op.offset + op.length);
    }
    file_.map_write(op.offset, buf_);
  } else {
    file_.pwrite(op.offset, buf_);
  }
  shadow_.write(op.offset, buf_);
  check_size(op_name(op.kind));
  if (mapped) check_eof_tail();
}

void Runner::do_direct_read(const Op& op) {
  if (op.length == 0) {
    check_size("an empty read");
    return;
  }
  buf_.resize(op.length);
  const size_t n = file_.direct_read(op.offset, buf_);
  compare(shadow_.read(op.offset, op.length), std::span<const uint8_t>(buf_).first(n), op.offset, "dread");
}

void Runner::do_direct_write(const Op& op) {
  buf_.resize(op.length);
  OpGenerator::fill(op.index, op.offset, buf_);
  file_.direct_write(op.offset, buf_);
  shadow_.write(op.offset, buf_);
  check_size("dwrite");
}

void Runner::apply(const Op& op) {
  switch (op.kind) {
    case OpKind::Read: do_read(op, false); break;
    case OpKind::MapRead: do_read(op, true); break;
    case OpKind::Write: do_write(op, false); break;
    case OpKind::MapWrite: do_write(op, true); break;
    case OpKind::DirectRead: do_direct_read(op); break;
    case OpKind::DirectWrite: do_direct_write(op); break;
    case OpKind::Truncate:
      file_.truncate(op.offset);
      shadow_.truncate(op.offset);
      check_size("truncate");
      break;
    case OpKind::Fsync: file_.fsync(); break;
    case OpKind::Fdatasync: file_.fdatasync(); break;
    case OpKind::Reopen:
      file_.reopen();
      check_size("reopen");
      break;
  }
}

void Runner::verify_all(const char* when) {
  check_size(when);
  constexpr uint64_t kChunk = 1 << 20;
  for (uint64_t off = 0; off < shadow_.size(); off += kChunk) {
    const uint64_t len = std::min(kChunk, shadow_.size() - off);
    buf_.resize(len);
    const size_t n = file_.pread(off, buf_);
    compare(shadow_.read(off, len), std::span<const uint8_t>(buf_).first(n), off, when);
  }
}

Result Runner::run() {
  if (opts_.direct && !file_.direct_supported()) {
    opts_.direct = false;
    res_.notes.emplace_back("O_DIRECT is not supported here (EINVAL at open): direct ops left out");
  }
  OpGenerator gen(opts_);
  try {
    for (uint64_t i = 1; i <= opts_.num_ops; ++i) {
      const Op op = gen.next(shadow_.size());
      log_.push_back(op);
      if (log_.size() > std::max<size_t>(opts_.log_size, 1)) log_.pop_front();
      try {
        apply(op);
      } catch (const std::system_error& e) {
        detail_.clear();
        fail(fmt::format("op {} ({}) failed: {}", op.index, op_name(op.kind), e.what()));
      }
      ++res_.counts[static_cast<size_t>(op.kind)];
      res_.ops_done = i;
      if (opts_.after_op) opts_.after_op(i);
      if (opts_.progress_every != 0 && (i % opts_.progress_every == 0 || i == opts_.num_ops)) {
        progress_ << (tty_ ? "\r" : "") << "fsx: " << i << '/' << opts_.num_ops << " ops" << (tty_ ? "" : "\n");
        if (tty_ && i == opts_.num_ops) progress_ << '\n';
        progress_.flush();
      }
    }
    try {
      verify_all("final check");
      if (opts_.drop_caches) {
        res_.notes.push_back(file_.close_drop_caches_reopen(true));
        verify_all("final check after close and drop_caches");
      }
    } catch (const std::system_error& e) {
      detail_.clear();
      fail(fmt::format("final check failed: {}", e.what()));
    }
  } catch (const Failure& f) {
    res_.ok = false;
    res_.failure = f.report;
  }
  return res_;
}

}  // namespace

Result run(FsxFile& file, const Options& opts, std::ostream& progress, bool tty) {
  return Runner(file, opts, progress, tty).run();
}

nlohmann::json to_json(const Result& r) {
  nlohmann::json j{{"ops", r.ops_done}, {"ok", r.ok}};
  for (size_t k = 0; k < kOpKinds; ++k) j["counts"][op_name(static_cast<OpKind>(k))] = r.counts[k];
  j["notes"] = r.notes;
  if (!r.ok) j["failure"] = r.failure;
  return j;
}

}  // namespace mpagefs::fsx
