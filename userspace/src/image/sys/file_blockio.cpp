// file_blockio.cpp - BlockIo over a regular file or a block device: an
// owned fd, pread/pwrite loops, BLKGETSIZE64 for a device's size.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "image/sys/file_blockio.hpp"

namespace mpagefs {

namespace {
[[noreturn]] void throw_sys_error(const std::string& what, const std::string& path) {
  throw IoError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

uint64_t size_of_fd(int fd, const std::string& path, bool* is_blockdev) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw_sys_error("stat", path);
  *is_blockdev = S_ISBLK(st.st_mode);
  if (*is_blockdev) {
    uint64_t bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) throw_sys_error("BLKGETSIZE64 on", path);
    return bytes;
  }
  if (!S_ISREG(st.st_mode)) throw IoError(fmt::format("{}: not a regular file or block device", path));
  return static_cast<uint64_t>(st.st_size);
}
}  // namespace

FileBlockIo::FileBlockIo(std::string path, int fd) : path_(std::move(path)), fd_(fd) {
  try {
    size_ = size_of_fd(fd_, path_, &is_blockdev_);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

FileBlockIo::FileBlockIo(const std::string& path, Mode mode)
    : FileBlockIo(path, [&] {
        const int fd = ::open(path.c_str(), (mode == Mode::ReadOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0) throw_sys_error("open", path);
        return fd;
      }()) {}

std::unique_ptr<FileBlockIo> FileBlockIo::create(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_sys_error("open", path);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;  // close() must not change the reported error
    ::close(fd);
    errno = err;
    throw_sys_error("stat", path);
  }
  if (S_ISREG(st.st_mode) && size != 0) {
    // Truncate to 0 first so no old content survives in what becomes holes.
    if (ftruncate(fd, 0) != 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      throw_sys_error("truncate", path);
    }
  }
  return std::unique_ptr<FileBlockIo>(new FileBlockIo(path, fd));  // NOLINT: private ctor
}

FileBlockIo::~FileBlockIo() {
  if (fd_ >= 0) ::close(fd_);
}

void FileBlockIo::read(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > size_ || out.size() > size_ - offset)
    throw IoError(fmt::format("{}: read of {} bytes at {} beyond the end ({} bytes)", path_,
                              out.size(), offset, size_));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys_error("read", path_);
    if (n == 0) throw IoError(fmt::format("{}: unexpected end of file at {}", path_, offset + done));
    done += static_cast<size_t>(n);
  }
}

void FileBlockIo::write(uint64_t offset, std::span<const uint8_t> in) {
  if (offset > size_ || in.size() > size_ - offset)
    throw IoError(fmt::format("{}: write of {} bytes at {} beyond the end ({} bytes)", path_,
                              in.size(), offset, size_));
  size_t done = 0;
  while (done < in.size()) {
    const ssize_t n = ::pwrite(fd_, in.data() + done, in.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_sys_error("write", path_);
    done += static_cast<size_t>(n);
  }
}

void FileBlockIo::flush() {
  if (::fsync(fd_) != 0) throw_sys_error("fsync", path_);
}

uint64_t device_size(const std::string& path) {
  const FileBlockIo io(path, FileBlockIo::Mode::ReadOnly);
  return io.size();
}

}  // namespace mpagefs
