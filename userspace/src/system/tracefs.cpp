// tracefs.cpp - events/mpagefs on, the ring buffer saved as text, events off.
#include "mpagefs/tracefs.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mpagefs::tracefs {

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TracefsError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

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

std::optional<std::pair<uint64_t, uint64_t>> parse_entries_header(std::string_view text) {
  constexpr std::string_view key = "entries-in-buffer/entries-written:";
  const auto pos = text.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(pos + key.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  uint64_t in = 0;
  uint64_t written = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), in);
  if (ec != std::errc() || p == rest.data() + rest.size() || *p != '/') return std::nullopt;
  const char* q = p + 1;
  auto [p2, ec2] = std::from_chars(q, rest.data() + rest.size(), written);
  if (ec2 != std::errc() || p2 == q) return std::nullopt;
  return std::make_pair(in, written);
}

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
  if (const auto e = parse_entries_header(text); e && e->second > e->first) r.lost = e->second - e->first;
  return r;
}

}  // namespace mpagefs::tracefs
