// out_buffer.cpp - OutBuffer: one buffer, handed to its sink when full.
#include "mpagefs/util/out_buffer.hpp"

namespace mpagefs {

OutBuffer::OutBuffer(ByteSink& sink, size_t capacity)
    : sink_(&sink),
      capacity_(capacity),
      buf_(std::make_unique_for_overwrite<char[]>(capacity)),  // NOLINT(*-avoid-c-arrays)
      cur_(buf_.get()),
      end_(buf_.get() + capacity) {}

OutBuffer::OutBuffer(std::string& text, size_t capacity)
    : text_(&text),
      capacity_(capacity),
      buf_(std::make_unique_for_overwrite<char[]>(capacity)),  // NOLINT(*-avoid-c-arrays)
      cur_(buf_.get()),
      end_(buf_.get() + capacity) {}

OutBuffer::~OutBuffer() {
  try {
    flush();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; flush() reports errors
  }
}

void OutBuffer::flush() {
  const std::string_view bytes(buf_.get(), static_cast<size_t>(cur_ - buf_.get()));
  cur_ = buf_.get();  // on an error the rest is dropped: the destructor must not try again
  if (bytes.empty()) return;
  if (text_ != nullptr)
    text_->append(bytes);
  else
    sink_->write(bytes);
}

void OutBuffer::make_room(size_t n) {
  flush();
  if (n <= capacity_) return;
  capacity_ = n;
  buf_ = std::make_unique_for_overwrite<char[]>(capacity_);  // NOLINT(*-avoid-c-arrays)
  cur_ = buf_.get();
  end_ = buf_.get() + capacity_;
}

}  // namespace mpagefs
