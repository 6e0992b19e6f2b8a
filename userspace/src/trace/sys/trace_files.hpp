// trace_files.hpp - a blktrace capture on disk: the per-CPU files
// PREFIX.blktrace.0, .1, ... opened for the pure TraceReader
// (trace/blktrace.hpp), and written from events (trace/trace_writer.hpp's
// records).
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/trace/trace_writer.hpp"

namespace mpagefs::blktrace {

// Opens PREFIX.blktrace.0, .1, ... up to the first missing one (as
// blkparse -i PREFIX does; "x.blktrace.3" is taken as the prefix "x"), each
// read with read(2).  Throws TraceError when there is no file at all.
std::unique_ptr<TraceReader> open_trace(const std::string& prefix);

// Reads all events of the trace at `prefix` matching `codes` (all events
// if empty).
std::vector<Event> read_events(const std::string& prefix, const std::vector<uint16_t>& codes = {});

// Appends events to per-CPU files.  Before an event of a (cpu, pid) not yet
// seen with a non-empty comm it writes the process record, as the kernel
// does.  close() (or the destructor) creates empty files for CPUs without
// events below the highest one, because blkparse stops at the first missing
// CPU file.
class TraceWriter {
 public:
  explicit TraceWriter(const std::string& prefix, ByteOrder order = ByteOrder::Native);
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  TraceWriter(TraceWriter&&) = delete;
  TraceWriter& operator=(TraceWriter&&) = delete;
  ~TraceWriter();

  void write(const Event& ev);
  // Raw bytes (already encoded) for one CPU.
  void write_raw(uint32_t cpu, std::span<const uint8_t> bytes);
  // Flushes and closes every file; throws TraceError on a write error.
  void close();
  // Files written so far (sorted by CPU).
  [[nodiscard]] std::vector<std::string> files() const;

 private:
  std::ofstream& file(uint32_t cpu);
  std::string prefix_;
  ByteOrder order_;
  std::map<uint32_t, std::unique_ptr<std::ofstream>> files_;
  std::set<std::pair<uint32_t, uint32_t>> noted_;
  bool closed_ = false;
};

// Writes `events` to PREFIX.blktrace.N in one go.
void write_trace(const std::string& prefix, const std::vector<Event>& events,
                 ByteOrder order = ByteOrder::Native);

}  // namespace mpagefs::blktrace
