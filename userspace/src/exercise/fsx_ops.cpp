// fsx_ops.cpp - fsx's pure half: the seeded operation generator, the data
// pattern, the shadow file and how operations are printed.
#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

#include "mpagefs/exercise/fsx.hpp"
#include "mpagefs/util/pattern.hpp"

namespace mpagefs::fsx {

const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::Read: return "read";
    case OpKind::Write: return "write";
    case OpKind::Truncate: return "truncate";
    case OpKind::MapRead: return "mapread";
    case OpKind::MapWrite: return "mapwrite";
    case OpKind::Fsync: return "fsync";
    case OpKind::Fdatasync: return "fdatasync";
    case OpKind::Reopen: return "reopen";
    case OpKind::DirectRead: return "dread";
    case OpKind::DirectWrite: return "dwrite";
  }
  return "?";
}

std::string format_op(const Op& op) {
  std::string head = fmt::format("{:>8} {:<9}", op.index, op_name(op.kind));
  switch (op.kind) {
    case OpKind::Truncate:
      return fmt::format("{} {:#x} -> {:#x}", head, op.size_before, op.offset);
    case OpKind::Fsync:
    case OpKind::Fdatasync:
    case OpKind::Reopen:
      return head;
    default:
      break;
  }
  if (op.length == 0) return fmt::format("{} {:#x} (nothing: file size {:#x})", head, op.offset, op.size_before);
  return fmt::format("{} {:#x} .. {:#x} ({} bytes, size was {:#x})", head, op.offset, op.offset + op.length - 1,
                     op.length, op.size_before);
}

OpGenerator::OpGenerator(const Options& opts) : opts_(opts), rng_(opts.seed) {
  if (opts_.maxlen == 0) throw std::invalid_argument("fsx: --maxlen must be at least 1");
  if (opts_.file_size_max == 0) throw std::invalid_argument("fsx: --file-size-max must be at least 1");
  if (opts_.direct && (opts_.direct_align == 0 || opts_.file_size_max < opts_.direct_align))
    throw std::invalid_argument("fsx: --file-size-max must hold at least one O_DIRECT block");
  // Relative frequencies, roughly fsx's: data ops dominate, syncs and
  // reopens are frequent enough to hit writeback between them.
  weights_ = {{OpKind::Read, 20}, {OpKind::Write, 20}, {OpKind::Truncate, 6},
              {OpKind::Fsync, 2},  {OpKind::Fdatasync, 2}, {OpKind::Reopen, 2}};
  if (opts_.mmap) {
    weights_.emplace_back(OpKind::MapRead, 10);
    weights_.emplace_back(OpKind::MapWrite, 10);
  }
  if (opts_.direct) {
    weights_.emplace_back(OpKind::DirectRead, 6);
    weights_.emplace_back(OpKind::DirectWrite, 6);
  }
  for (const auto& w : weights_) total_weight_ += w.second;
}

uint64_t OpGenerator::below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

Op OpGenerator::next(uint64_t size) {
  Op op;
  op.index = ++count_;
  op.size_before = size;
  uint64_t pick = below(total_weight_);
  for (const auto& [kind, w] : weights_) {
    if (pick < w) {
      op.kind = kind;
      break;
    }
    pick -= w;
  }
  const uint64_t max = opts_.file_size_max;
  const uint64_t align = opts_.direct_align;
  switch (op.kind) {
    case OpKind::Read:
    case OpKind::MapRead:
      if (size == 0) break;  // nothing to read: the op only checks the size
      op.offset = below(size);
      op.length = std::min(1 + below(opts_.maxlen), size - op.offset);
      break;
    case OpKind::Write:
    case OpKind::MapWrite:
      op.offset = below(max);
      op.length = std::min(1 + below(opts_.maxlen), max - op.offset);
      break;
    case OpKind::Truncate:
      op.offset = below(max + 1);
      break;
    case OpKind::DirectRead: {
      if (size == 0) break;
      const uint64_t blocks = (size + align - 1) / align;
      op.offset = below(blocks) * align;
      op.length = (1 + below(std::max<uint64_t>(1, opts_.maxlen / align))) * align;
      break;
    }
    case OpKind::DirectWrite: {
      const uint64_t blocks = max / align;
      op.offset = below(blocks) * align;
      const uint64_t len = (1 + below(std::max<uint64_t>(1, opts_.maxlen / align))) * align;
      op.length = std::min(len, blocks * align - op.offset);
      break;
    }
    case OpKind::Fsync:
    case OpKind::Fdatasync:
    case OpKind::Reopen:
      break;
  }
  return op;
}

uint8_t OpGenerator::data_byte(uint64_t index, uint64_t pos) { return pattern_byte(index, pos); }

void OpGenerator::fill(uint64_t index, uint64_t offset, std::span<uint8_t> out) { fill_pattern(index, offset, out); }

void ShadowFile::write(uint64_t offset, std::span<const uint8_t> in) {
  if (in.empty()) return;
  if (offset + in.size() > data_.size()) data_.resize(offset + in.size(), 0);
  std::copy(in.begin(), in.end(), data_.begin() + static_cast<ptrdiff_t>(offset));
}

void ShadowFile::truncate(uint64_t size) { data_.resize(size, 0); }

std::span<const uint8_t> ShadowFile::read(uint64_t offset, uint64_t length) const {
  if (offset >= data_.size()) return {};
  return std::span<const uint8_t>(data_).subspan(offset, std::min<uint64_t>(length, data_.size() - offset));
}

}  // namespace mpagefs::fsx
