// fd_writer.cpp - FdWriter: one buffer, write(2) when full.
#include "mpagefs/fd_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace mpagefs {

FdWriter::FdWriter(int fd, size_t capacity)
    : fd_(fd),
      capacity_(capacity),
      buf_(std::make_unique_for_overwrite<char[]>(capacity)),  // NOLINT(*-avoid-c-arrays)
      cur_(buf_.get()),
      end_(buf_.get() + capacity) {}

FdWriter::FdWriter(std::string& sink, size_t capacity)
    : sink_(&sink),
      capacity_(capacity),
      buf_(std::make_unique_for_overwrite<char[]>(capacity)),  // NOLINT(*-avoid-c-arrays)
      cur_(buf_.get()),
      end_(buf_.get() + capacity) {}

FdWriter::~FdWriter() {
  try {
    flush();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; flush() reports errors
  }
}

void FdWriter::flush() {
  if (sink_ != nullptr) {
    sink_->append(buf_.get(), static_cast<size_t>(cur_ - buf_.get()));
    cur_ = buf_.get();
    return;
  }
  const char* p = buf_.get();
  while (p < cur_) {
    const ssize_t n = ::write(fd_, p, static_cast<size_t>(cur_ - p));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      cur_ = buf_.get();  // drop the rest: the destructor must not try again
      throw std::system_error(err, std::generic_category(), "write");
    }
    p += n;
  }
  cur_ = buf_.get();
}

void FdWriter::make_room(size_t n) {
  flush();
  if (n <= capacity_) return;
  capacity_ = n;
  buf_ = std::make_unique_for_overwrite<char[]>(capacity_);  // NOLINT(*-avoid-c-arrays)
  cur_ = buf_.get();
  end_ = buf_.get() + capacity_;
}

}  // namespace mpagefs
