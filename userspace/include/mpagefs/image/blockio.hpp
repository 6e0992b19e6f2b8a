// blockio.hpp - where an image lives: a byte-addressed device interface.
// Readers and the writer only talk to BlockIo, so every decoder is tested on
// MemoryBlockIo; FileBlockIo (src/image/sys/file_blockio.hpp) is the one
// touching files and block devices.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpagefs {

// A read or write outside the device, or a failed system call.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BlockIo {
 public:
  BlockIo() = default;
  BlockIo(const BlockIo&) = delete;
  BlockIo& operator=(const BlockIo&) = delete;
  BlockIo(BlockIo&&) = delete;
  BlockIo& operator=(BlockIo&&) = delete;
  virtual ~BlockIo() = default;

  // Device size in bytes.
  virtual uint64_t size() const = 0;
  // Reads exactly out.size() bytes at byte `offset`; throws IoError when the
  // range is not inside the device.
  virtual void read(uint64_t offset, std::span<uint8_t> out) const = 0;
  // Writes all of `in` at byte `offset`; throws IoError outside the device.
  virtual void write(uint64_t offset, std::span<const uint8_t> in) = 0;
  // Makes written data durable (no-op in memory).
  virtual void flush() {}
};

// An image held in memory (unit tests).
class MemoryBlockIo final : public BlockIo {
 public:
  explicit MemoryBlockIo(uint64_t size) : bytes_(size) {}
  explicit MemoryBlockIo(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t offset, std::span<uint8_t> out) const override;
  void write(uint64_t offset, std::span<const uint8_t> in) override;
  std::vector<uint8_t>& bytes() { return bytes_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// The first `size` bytes of another device (mkfs --size on a larger one).
class PrefixBlockIo final : public BlockIo {
 public:
  PrefixBlockIo(BlockIo& dev, uint64_t size);  // throws if size > dev.size()
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, std::span<uint8_t> out) const override;
  void write(uint64_t offset, std::span<const uint8_t> in) override;
  void flush() override { dev_.flush(); }

 private:
  BlockIo& dev_;
  uint64_t size_;
};

}  // namespace mpagefs
