// fd_sink.cpp - FdSink: write(2) until every byte is out.
#include "util/sys/fd_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace mpagefs {

void FdSink::write(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    const ssize_t n = ::write(fd_, p, static_cast<size_t>(end - p));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write");
    }
    p += n;
  }
}

}  // namespace mpagefs
