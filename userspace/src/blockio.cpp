// memory_blockio.cpp - an image in a vector, for tests and in-memory work.
#include <cstring>

#include "mpagefs/blockio.hpp"
#include "mpagefs/strformat.hpp"

namespace mpagefs {

namespace {
void check_range(uint64_t offset, uint64_t len, uint64_t size) {
  if (offset > size || len > size - offset)
    throw IoError(strformat("access of {} bytes at {} outside a {}-byte device", len, offset, size));
}
}  // namespace

void MemoryBlockIo::read(uint64_t offset, std::span<uint8_t> out) const {
  check_range(offset, out.size(), bytes_.size());
  if (!out.empty()) std::memcpy(out.data(), &bytes_[offset], out.size());
}

void MemoryBlockIo::write(uint64_t offset, std::span<const uint8_t> in) {
  check_range(offset, in.size(), bytes_.size());
  if (!in.empty()) std::memcpy(&bytes_[offset], in.data(), in.size());
}

}  // namespace mpagefs
