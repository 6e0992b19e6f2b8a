// trace_writer.hpp - writing events back in blktrace's own file format
// (PREFIX.blktrace.N, one file per CPU, raw records with their payloads and
// the BLK_TN_PROCESS records naming each pid), so blkparse reads them.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mpagefs/blktrace.hpp"

namespace mpagefs::blktrace {

// The raw bytes of one event record (cgroup id, if any, before the payload).
std::vector<uint8_t> encode_event(const Event& ev, ByteOrder order = ByteOrder::Native);
// Where and when a notify record is written.
struct NotePlace {
  uint32_t cpu = 0;
  uint64_t time_ns = 0;
  uint32_t device = 0;
};
// The BLK_TN_PROCESS record the kernel emits the first time a task shows up
// on a CPU: payload = comm padded to 16 bytes (TASK_COMM_LEN).
std::vector<uint8_t> encode_process_note(const NotePlace& at, uint32_t pid, std::string_view comm,
                                         ByteOrder order = ByteOrder::Native);
// A BLK_TN_MESSAGE record.
std::vector<uint8_t> encode_message(const NotePlace& at, std::string_view text,
                                    ByteOrder order = ByteOrder::Native);

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
