// blktrace_capture.hpp - capturing block events through the kernel's own
// blktrace interface (no blktrace binary): BLKTRACESETUP/START/STOP/TEARDOWN
// on the block device and the per-CPU relay files in debugfs
// (/sys/kernel/debug/block/<name>/trace<cpu>), saved as blktrace does
// (PREFIX.blktrace.<cpu>).  Implemented in src/system/blktrace_capture.cpp.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpagefs::blktrace {

class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CaptureOptions {
  std::string device;                     // e.g. /dev/vdc (a whole disk)
  std::string prefix;                     // output PREFIX
  std::string debugfs = "/sys/kernel/debug";
  uint32_t buf_size = 512 * 1024;         // relay sub-buffer size (blktrace's default)
  uint32_t buf_nr = 4;                    // sub-buffers per CPU
};

struct CaptureResult {
  std::vector<std::string> files;         // PREFIX.blktrace.0 .. N
  uint64_t bytes = 0;                     // bytes of records saved
  uint64_t events = 0;                    // decoded events (notify records excluded)
  uint64_t dropped = 0;                   // the kernel's dropped count
  bool ran_command = false;
  int command_status = 0;                 // exit status, 128 + signal if killed
};

// The debugfs directory name of a device path: "/dev/vdc" -> "vdc".
std::string debugfs_name(const std::string& device);
// Parses a CPU list as in /sys/devices/system/cpu/online ("0-3,5").
std::vector<uint32_t> parse_cpu_list(const std::string& text);

// Traces `opts.device` while `command` runs (started after tracing is on;
// tracing stops when it exits), or, when `command` is empty, until SIGINT or
// SIGTERM.  A SIGINT/SIGTERM during a command is passed on to it.  The
// kernel trace is always stopped and torn down (also on errors and
// signals); a trace left set up by someone else (EBUSY) is torn down and
// setup retried once.  Progress goes to `log`.  Throws CaptureError.
CaptureResult capture(const CaptureOptions& opts, const std::vector<std::string>& command, std::ostream& log);

}  // namespace mpagefs::blktrace
