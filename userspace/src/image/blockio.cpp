// blockio.cpp - in-memory images (tests) and a size-limited view of a device.
#include <cstring>
#include <fmt/format.h>

#include "mpagefs/image/blockio.hpp"

namespace mpagefs {

namespace {
void check_range(uint64_t offset, uint64_t len, uint64_t size) {
  if (offset > size || len > size - offset)
    throw IoError(fmt::format("access of {} bytes at {} outside a {}-byte device", len, offset, size));
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

PrefixBlockIo::PrefixBlockIo(BlockIo& dev, uint64_t size) : dev_(dev), size_(size) {
  if (size > dev.size())
    throw IoError(fmt::format("{} bytes requested on a device of {} bytes", size, dev.size()));
}

void PrefixBlockIo::read(uint64_t offset, std::span<uint8_t> out) const {
  check_range(offset, out.size(), size_);
  dev_.read(offset, out);
}

void PrefixBlockIo::write(uint64_t offset, std::span<const uint8_t> in) {
  check_range(offset, in.size(), size_);
  dev_.write(offset, in);
}

}  // namespace mpagefs
