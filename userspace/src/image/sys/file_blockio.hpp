// file_blockio.hpp - BlockIo on a regular file or a block device opened by
// path (the system side of image/blockio.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "mpagefs/image/blockio.hpp"

namespace mpagefs {

// A regular file or a block device.
class FileBlockIo final : public BlockIo {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  // Opens `path`.  The size is the file's size, or BLKGETSIZE64 for a block
  // device.  Throws IoError naming the path on failure.
  FileBlockIo(const std::string& path, Mode mode);
  // Creates `path` if missing (a regular file only) and sets its size to
  // `size` bytes (sparse) when it is a regular file; a block device keeps its
  // own size.  Opens it read-write.
  static std::unique_ptr<FileBlockIo> create(const std::string& path, uint64_t size);
  ~FileBlockIo() override;

  uint64_t size() const override { return size_; }
  void read(uint64_t offset, std::span<uint8_t> out) const override;
  void write(uint64_t offset, std::span<const uint8_t> in) override;
  void flush() override;
  bool is_block_device() const { return is_blockdev_; }
  const std::string& path() const { return path_; }

 private:
  FileBlockIo(std::string path, int fd);
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool is_blockdev_ = false;
};

// Size of a regular file or block device at `path` without opening it for
// writing; nullopt-like 0 is never returned: throws IoError when missing.
uint64_t device_size(const std::string& path);

}  // namespace mpagefs
