// tracefs.cpp - events/mpagefs on, the ring buffer saved as text, events off.
#include "trace/sys/tracefs.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mpagefs/control/control.hpp"
#include "util/sys/files.hpp"

namespace mpagefs::tracefs {

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) { return read_file<TracefsError>(path); }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw TracefsError("cannot open " + path + ": " + std::strerror(errno));
  f << text;
  f.flush();
  if (!f) throw TracefsError("cannot write '" + text + "' to " + path + ": " + std::strerror(errno));
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string find_root(const std::string& wanted) {
  if (!wanted.empty()) {
    if (!exists(wanted + "/trace")) throw TracefsError(wanted + " is not a tracefs mount (no trace file)");
    return wanted;
  }
  for (const char* p : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (exists(std::string(p) + "/trace")) return p;
  // Not mounted: mount it where the kernel documents it.
  if (exists("/sys/kernel/tracing") && ::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0)
    return "/sys/kernel/tracing";
  throw TracefsError("tracefs not found (mount -t tracefs tracefs /sys/kernel/tracing)");
}

}  // namespace

EventTrace::EventTrace(const Options& opts) : root_(find_root(opts.root)) {
  const std::string enable = root_ + "/events/mpagefs/enable";
  if (!exists(enable))
    throw TracefsError(root_ + "/events/mpagefs missing: the mpagefs module is not loaded (or has no tracepoints)");
  prev_enable_ = first_line(read_text(enable));
  prev_tracing_on_ = first_line(read_text(root_ + "/tracing_on"));
  if (opts.buffer_kb != 0) {
    prev_buffer_kb_ = first_line(read_text(root_ + "/buffer_size_kb"));
    write_text(root_ + "/buffer_size_kb", std::to_string(opts.buffer_kb));
  }
  active_ = true;
  try {
    write_text(root_ + "/trace", "");  // empties the ring buffer
    write_text(enable, "1");
    write_text(root_ + "/tracing_on", "1");
  } catch (...) {
    restore();
    throw;
  }
}

EventTrace::~EventTrace() { restore(); }

void EventTrace::restore() noexcept {
  if (!active_) return;
  active_ = false;
  try {
    // "X" means some events of the system were on: leave them all off then.
    write_text(root_ + "/events/mpagefs/enable", prev_enable_ == "1" ? "1" : "0");
    if (prev_tracing_on_ == "0") write_text(root_ + "/tracing_on", "0");
    if (!prev_buffer_kb_.empty()) {
      // "1408 (expanded: ...)" or "7 (expanded: 1408)": the first number.
      write_text(root_ + "/buffer_size_kb", prev_buffer_kb_.substr(0, prev_buffer_kb_.find(' ')));
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): best effort on the way out
  }
}

Result EventTrace::finish(const std::string& path) {
  if (!active_) throw TracefsError("the mpagefs event trace was already finished");
  write_text(root_ + "/events/mpagefs/enable", "0");
  const std::string text = read_text(root_ + "/trace");
  restore();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw TracefsError("cannot create " + path + ": " + std::strerror(errno));
  out << text;
  out.flush();
  if (!out) throw TracefsError("cannot write " + path + ": " + std::strerror(errno));
  Result r;
  r.bytes = text.size();
  size_t pos = 0;
  while ((pos = text.find(": mpagefs_", pos)) != std::string::npos) {
    ++r.records;
    ++pos;
  }
  if (const auto e = control::parse_entries_header(text); e && e->second > e->first) r.lost = e->second - e->first;
  return r;
}

}  // namespace mpagefs::tracefs
