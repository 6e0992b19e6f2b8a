// trace_writer.cpp - events encoded as blktrace's raw records.
#include "mpagefs/trace/trace_writer.hpp"

#include <algorithm>
#include <cstring>

namespace mpagefs::blktrace {

namespace {

blk_io_trace base_header(const NotePlace& at) {
  blk_io_trace t{};
  t.magic = BLK_IO_TRACE_MAGIC | BLK_IO_TRACE_VERSION;
  t.time = at.time_ns;
  t.cpu = at.cpu;
  t.device = at.device;
  return t;
}

}  // namespace

std::vector<uint8_t> encode_event(const Event& ev, ByteOrder order) {
  blk_io_trace t = base_header({ev.cpu, ev.time_ns, ev.device});
  t.sequence = ev.sequence;
  t.sector = ev.sector;
  t.bytes = ev.bytes;
  t.action = ev.action;
  t.pid = ev.pid;
  t.error = ev.error;
  if (ev.cgroup == 0) {
    t.action &= ~static_cast<uint32_t>(__BLK_TA_CGROUP);
    return encode_record(t, ev.pdu, order);
  }
  t.action |= __BLK_TA_CGROUP;
  std::vector<uint8_t> pdu(sizeof(uint64_t) + ev.pdu.size());
  uint64_t cg = ev.cgroup;
  if (order == ByteOrder::Swapped) cg = __builtin_bswap64(cg);
  std::memcpy(pdu.data(), &cg, sizeof(cg));
  std::copy(ev.pdu.begin(), ev.pdu.end(), pdu.begin() + sizeof(uint64_t));
  return encode_record(t, pdu, order);
}

std::vector<uint8_t> encode_process_note(const NotePlace& at, uint32_t pid, std::string_view comm,
                                         ByteOrder order) {
  blk_io_trace t = base_header(at);
  t.action = BLK_TN_PROCESS;
  t.pid = pid;
  std::vector<uint8_t> pdu(16, 0);  // TASK_COMM_LEN, NUL-padded
  std::copy_n(comm.begin(), std::min<size_t>(comm.size(), pdu.size() - 1), pdu.begin());
  return encode_record(t, pdu, order);
}

std::vector<uint8_t> encode_message(const NotePlace& at, std::string_view text, ByteOrder order) {
  blk_io_trace t = base_header(at);
  t.action = BLK_TN_MESSAGE;
  const std::vector<uint8_t> pdu(text.begin(), text.end());
  return encode_record(t, pdu, order);
}

}  // namespace mpagefs::blktrace
