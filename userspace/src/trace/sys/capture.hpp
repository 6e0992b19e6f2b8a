// capture.hpp - capturing block events through the kernel's own
// blktrace interface (no blktrace binary): BLKTRACESETUP/START/STOP/TEARDOWN
// on the block device and the per-CPU relay files in debugfs
// (/sys/kernel/debug/block/<name>/trace<cpu>), saved as blktrace does
// (PREFIX.blktrace.<cpu>).  The pure parts (record boundaries in a relay
// file, CaptureError) are in trace/relay.hpp.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "mpagefs/trace/relay.hpp"

namespace mpagefs::blktrace {

struct CaptureOptions {
  std::string device;                     // e.g. /dev/vdc (a whole disk)
  std::string prefix;                     // output PREFIX
  std::string debugfs = "/sys/kernel/debug";
  uint32_t buf_size = 512 * 1024;         // relay sub-buffer size (blktrace's default)
  uint32_t buf_nr = 8;                    // sub-buffers per CPU
  uint32_t stopwatch_s = 0;               // stop after this many seconds (blktrace's -w); 0: no limit
};

struct CaptureResult {
  std::vector<std::string> files;         // PREFIX.blktrace.0 .. N
  uint64_t bytes = 0;                     // bytes of records saved
  uint64_t events = 0;                    // decoded events (notify records excluded)
  uint64_t dropped = 0;                   // the kernel's dropped count
  bool ran_command = false;
  int command_status = 0;                 // exit status, 128 + signal if killed
};

// Traces `opts.device` while `command` runs (started after tracing is on;
// tracing stops when it exits), or, when `command` is empty, until SIGINT or
// SIGTERM.  A SIGINT/SIGTERM during a command is passed on to it.  With
// opts.stopwatch_s, tracing also stops that many seconds after it started:
// without a command at once, with one by sending it SIGINT (its status is
// reported as ever: 130 when SIGINT ends it).  The
// kernel trace is always stopped and torn down (also on errors and
// signals); a trace left set up by someone else (EBUSY) is torn down and
// setup retried once.  Progress goes to `log`.  Throws CaptureError.
CaptureResult capture(const CaptureOptions& opts, const std::vector<std::string>& command, std::ostream& log);

}  // namespace mpagefs::blktrace
