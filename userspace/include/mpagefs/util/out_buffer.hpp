// out_buffer.hpp - output collected in one large reused buffer and handed to
// a ByteSink when it fills (write(2) on a descriptor: util/sys/fd_sink.hpp):
// the decoders format millions of lines, and a stream per line (std::cout,
// printf) costs more than the formatting.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace mpagefs {

// Where an OutBuffer's bytes go.
class ByteSink {
 public:
  ByteSink() = default;
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;
  ByteSink(ByteSink&&) = delete;
  ByteSink& operator=(ByteSink&&) = delete;
  virtual ~ByteSink() = default;
  // Takes all of `bytes`; throws on failure (std::system_error for a
  // failed write(2)).
  virtual void write(std::string_view bytes) = 0;
};

class OutBuffer {
 public:
  // Hands full buffers to `sink` (not owned).  `capacity` bytes are buffered.
  explicit OutBuffer(ByteSink& sink, size_t capacity = size_t{1} << 16);
  // Appends to `text` instead (the same formatting code for strings).
  explicit OutBuffer(std::string& text, size_t capacity = size_t{1} << 12);
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;
  OutBuffer(OutBuffer&&) = delete;
  OutBuffer& operator=(OutBuffer&&) = delete;
  // Flushes what is left; a write error there is lost: call flush() first
  // to see it.
  ~OutBuffer();

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
  // Hands everything buffered to the sink (or appends it to the text);
  // throws what the sink throws.
  void flush();

 private:
  void make_room(size_t n);
  ByteSink* sink_ = nullptr;
  std::string* text_ = nullptr;
  size_t capacity_;
  std::unique_ptr<char[]> buf_;  // NOLINT(*-avoid-c-arrays): raw bytes, no initialisation
  char* cur_;
  char* end_;
};

}  // namespace mpagefs
