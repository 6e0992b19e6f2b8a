// fd_sink.hpp - an OutBuffer's sink on a file descriptor (write(2)).
#pragma once

#include <string_view>

#include "mpagefs/util/out_buffer.hpp"

namespace mpagefs {

class FdSink final : public ByteSink {
 public:
  // Writes to `fd` (not owned).
  explicit FdSink(int fd) : fd_(fd) {}
  // All of `bytes`, retrying short writes and EINTR; throws
  // std::system_error when write(2) fails.
  void write(std::string_view bytes) override;

 private:
  int fd_;
};

}  // namespace mpagefs
