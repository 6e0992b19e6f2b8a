// fd_writer.hpp - output collected in one large reused buffer and handed to
// write(2) when it fills: the decoders format millions of lines, and a
// stream per line (std::cout, printf) costs more than the formatting.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace mpagefs {

class FdWriter {
 public:
  // Writes to `fd` (not owned).  `capacity` bytes are buffered.
  explicit FdWriter(int fd, size_t capacity = size_t{1} << 16);
  // Appends to `sink` instead (the same formatting code for strings).
  explicit FdWriter(std::string& sink, size_t capacity = size_t{1} << 12);
  FdWriter(const FdWriter&) = delete;
  FdWriter& operator=(const FdWriter&) = delete;
  FdWriter(FdWriter&&) = delete;
  FdWriter& operator=(FdWriter&&) = delete;
  // Flushes what is left; a write error there is lost: call flush() first
  // to see it.
  ~FdWriter();

  // Room for `n` bytes at the returned pointer, flushing first when the
  // buffer has less left (and growing it for a line longer than the whole
  // buffer).  Write up to n bytes there, then commit() the end.
  char* reserve(size_t n) {
    if (static_cast<size_t>(end_ - cur_) < n) make_room(n);
    return cur_;
  }
  void commit(char* end) { cur_ = end; }
  void append(std::string_view s) {
    char* p = reserve(s.size());
    if (!s.empty()) __builtin_memcpy(p, s.data(), s.size());
    commit(p + s.size());
  }
  void put(char c) {
    char* p = reserve(1);
    *p = c;
    commit(p + 1);
  }
  // Writes everything buffered (or appends it to the sink); throws
  // std::system_error when write(2) fails.
  void flush();

 private:
  void make_room(size_t n);
  int fd_ = -1;
  std::string* sink_ = nullptr;
  size_t capacity_;
  std::unique_ptr<char[]> buf_;  // NOLINT(*-avoid-c-arrays): raw bytes, no initialisation
  char* cur_;
  char* end_;
};

}  // namespace mpagefs
