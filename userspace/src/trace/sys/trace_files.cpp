// trace_files.cpp - per-CPU trace files opened by prefix and read with
// read(2) in the TraceReader's chunks.
#include "trace/sys/trace_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/sys/unique_fd.hpp"

namespace mpagefs::blktrace {

namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  size_t read(uint8_t* dst, size_t n) override {
    for (;;) {
      const ssize_t got = ::read(fd_.get(), dst, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) throw TraceError("cannot read " + name_ + ": " + std::strerror(errno));
    }
  }

 private:
  UniqueFd fd_;
  std::string name_;
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::unique_ptr<TraceReader> open_trace(const std::string& prefix) {
  const std::string p = normalize_prefix(prefix);
  std::vector<TraceInput> inputs;
  for (uint32_t cpu = 0;; ++cpu) {
    std::string name = cpu_file_name(p, cpu);
    if (!file_exists(name)) break;
    UniqueFd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) throw TraceError("cannot open " + name + ": " + std::strerror(errno));
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    inputs.push_back({name, std::make_unique<FileSource>(std::move(fd), name)});
  }
  if (inputs.empty()) throw TraceError("no trace files " + p + ".blktrace.0, ... found");
  return std::make_unique<TraceReader>(std::move(inputs));
}

std::vector<Event> read_events(const std::string& prefix, const std::vector<uint16_t>& codes) {
  const auto reader = open_trace(prefix);
  return read_events(*reader, codes);
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
