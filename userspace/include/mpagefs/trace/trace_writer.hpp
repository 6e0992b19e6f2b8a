// trace_writer.hpp - events encoded in blktrace's own record format (raw
// records with their payloads and the BLK_TN_PROCESS records naming each
// pid); trace/sys/trace_files.hpp writes them to PREFIX.blktrace.N, one file
// per CPU, so blkparse reads them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "mpagefs/trace/blktrace.hpp"

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

}  // namespace mpagefs::blktrace
