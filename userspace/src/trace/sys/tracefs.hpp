// tracefs.hpp - capturing mpagefs's tracepoints (events/mpagefs in tracefs)
// next to a blktrace capture: `mpagectl trace --gb-trace FILE`.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace mpagefs::tracefs {

class TracefsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string root;            // tracefs mount; "" = /sys/kernel/tracing, then /sys/kernel/debug/tracing
  uint32_t buffer_kb = 0;      // per-CPU ring buffer size while tracing; 0 = leave as is
};

struct Result {
  uint64_t bytes = 0;          // text written
  uint64_t records = 0;        // mpagefs event lines
  uint64_t lost = 0;           // entries written but no longer in the buffer
};

// Enables events/mpagefs on an emptied ring buffer; finish() (or the
// destructor, on errors) disables them again and restores what it changed.
class EventTrace {
 public:
  explicit EventTrace(const Options& opts);
  EventTrace(const EventTrace&) = delete;
  EventTrace& operator=(const EventTrace&) = delete;
  EventTrace(EventTrace&&) = delete;
  EventTrace& operator=(EventTrace&&) = delete;
  ~EventTrace();

  // Stops the events and saves the buffer's text (the `trace` file, with
  // ftrace's usual line prefix) to `path`.
  Result finish(const std::string& path);
  [[nodiscard]] const std::string& root() const { return root_; }

 private:
  void restore() noexcept;
  std::string root_;
  std::string prev_enable_;
  std::string prev_tracing_on_;
  std::string prev_buffer_kb_;
  bool active_ = false;
};

}  // namespace mpagefs::tracefs
