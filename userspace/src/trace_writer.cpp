// trace_writer.cpp - events back to blktrace's per-CPU record files.
#include "mpagefs/trace_writer.hpp"

#include <algorithm>
#include <cerrno>
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

TraceWriter::TraceWriter(const std::string& prefix, ByteOrder order)
    : prefix_(normalize_prefix(prefix)), order_(order) {}

TraceWriter::~TraceWriter() {
  try {
    close();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; close() reports errors
  }
}

std::ofstream& TraceWriter::file(uint32_t cpu) {
  auto& f = files_[cpu];
  if (!f) {
    const std::string name = cpu_file_name(prefix_, cpu);
    f = std::make_unique<std::ofstream>(name, std::ios::binary | std::ios::trunc);
    if (!*f) throw TraceError("cannot create " + name + ": " + std::strerror(errno));
  }
  return *f;
}

void TraceWriter::write_raw(uint32_t cpu, std::span<const uint8_t> bytes) {
  if (closed_) throw TraceError("TraceWriter: write after close");
  auto& f = file(cpu);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw TraceError("write to " + cpu_file_name(prefix_, cpu) + " failed");
}

void TraceWriter::write(const Event& ev) {
  if (!ev.comm.empty() && noted_.emplace(ev.cpu, ev.pid).second)
    write_raw(ev.cpu, encode_process_note({ev.cpu, ev.time_ns, ev.device}, ev.pid, ev.comm, order_));
  write_raw(ev.cpu, encode_event(ev, order_));
}

void TraceWriter::close() {
  if (closed_) return;
  closed_ = true;
  if (!files_.empty()) {
    const uint32_t last = files_.rbegin()->first;
    for (uint32_t cpu = 0; cpu < last; ++cpu) (void)file(cpu);
  }
  for (auto& [cpu, f] : files_) {
    f->close();
    if (f->fail()) throw TraceError("closing " + cpu_file_name(prefix_, cpu) + " failed");
  }
}

std::vector<std::string> TraceWriter::files() const {
  std::vector<std::string> out;
  for (const auto& [cpu, f] : files_) out.push_back(cpu_file_name(prefix_, cpu));
  return out;
}

void write_trace(const std::string& prefix, const std::vector<Event>& events, ByteOrder order) {
  TraceWriter w(prefix, order);
  for (const auto& ev : events) w.write(ev);
  w.close();
}

}  // namespace mpagefs::blktrace
