// blktrace_decode.cpp - struct blk_io_trace records: byte order, headers,
// per-stream record reading and the time-ordered merge of per-CPU streams.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <istream>

#include "mpagefs/blktrace.hpp"

namespace mpagefs::blktrace {

namespace {

constexpr uint32_t kMagicMask = 0xffffff00U;

uint32_t load_u32(std::span<const uint8_t> b) {
  uint32_t v = 0;
  std::memcpy(&v, b.data(), sizeof(v));
  return v;
}

void swap_header(blk_io_trace& t) {
  t.magic = __builtin_bswap32(t.magic);
  t.sequence = __builtin_bswap32(t.sequence);
  t.time = __builtin_bswap64(t.time);
  t.sector = __builtin_bswap64(t.sector);
  t.bytes = __builtin_bswap32(t.bytes);
  t.action = __builtin_bswap32(t.action);
  t.pid = __builtin_bswap32(t.pid);
  t.device = __builtin_bswap32(t.device);
  t.cpu = __builtin_bswap32(t.cpu);
  t.error = __builtin_bswap16(t.error);
  t.pdu_len = __builtin_bswap16(t.pdu_len);
}

std::string hex32(uint32_t v) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

}  // namespace

std::optional<ByteOrder> detect_byte_order(std::span<const uint8_t> header) {
  if (header.size() < sizeof(uint32_t)) return std::nullopt;
  const uint32_t m = load_u32(header);
  if ((m & kMagicMask) == BLK_IO_TRACE_MAGIC) return ByteOrder::Native;
  if ((__builtin_bswap32(m) & kMagicMask) == BLK_IO_TRACE_MAGIC) return ByteOrder::Swapped;
  return std::nullopt;
}

blk_io_trace decode_header(std::span<const uint8_t> header, ByteOrder order) {
  if (header.size() < kRecordSize) throw TraceError("record header shorter than 48 bytes");
  blk_io_trace t{};
  std::memcpy(&t, header.data(), kRecordSize);
  if (order == ByteOrder::Swapped) swap_header(t);
  if ((t.magic & kMagicMask) != BLK_IO_TRACE_MAGIC)
    throw TraceError("bad magic " + hex32(t.magic) + " (not a blktrace record)");
  if ((t.magic & 0xffU) != BLK_IO_TRACE_VERSION)
    throw TraceError("unsupported blktrace version " + std::to_string(t.magic & 0xffU) +
                     " (expected " + std::to_string(BLK_IO_TRACE_VERSION) + ")");
  return t;
}

std::vector<uint8_t> encode_record(const blk_io_trace& hdr, std::span<const uint8_t> pdu,
                                   ByteOrder order) {
  if (pdu.size() > 0xffffU) throw TraceError("payload longer than 65535 bytes");
  blk_io_trace t = hdr;
  t.pdu_len = static_cast<uint16_t>(pdu.size());
  if (order == ByteOrder::Swapped) swap_header(t);
  std::vector<uint8_t> out(kRecordSize + pdu.size());
  std::memcpy(out.data(), &t, kRecordSize);
  if (!pdu.empty()) std::memcpy(out.data() + kRecordSize, pdu.data(), pdu.size());
  return out;
}

std::string_view action_letters(uint32_t action) {
  const uint16_t code = action_code(action);
  if (is_notify(action)) return code == __BLK_TN_MESSAGE ? "m" : "";
  switch (code) {
    case __BLK_TA_QUEUE: return "Q";
    case __BLK_TA_BACKMERGE: return "M";
    case __BLK_TA_FRONTMERGE: return "F";
    case __BLK_TA_GETRQ: return "G";
    case __BLK_TA_SLEEPRQ: return "S";
    case __BLK_TA_REQUEUE: return "R";
    case __BLK_TA_ISSUE: return "D";
    case __BLK_TA_COMPLETE: return "C";
    case __BLK_TA_PLUG: return "P";
    case __BLK_TA_UNPLUG_IO: return "U";
    case __BLK_TA_UNPLUG_TIMER: return "UT";
    case __BLK_TA_INSERT: return "I";
    case __BLK_TA_SPLIT: return "X";
    case __BLK_TA_BOUNCE: return "B";
    case __BLK_TA_REMAP: return "A";
    default: return "";
  }
}

std::optional<uint16_t> action_code_for(std::string_view letters) {
  if (letters == "T") return __BLK_TA_UNPLUG_TIMER;
  for (uint16_t code = __BLK_TA_QUEUE; code <= __BLK_TA_REMAP; ++code)
    if (action_letters(code) == letters) return code;
  return std::nullopt;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): blkparse fill_rwbs(action, bytes)
std::string rwbs(uint32_t action, uint32_t bytes) {
  const uint32_t tc = action >> BLK_TC_SHIFT;
  std::string s;
  if (tc & BLK_TC_FLUSH) s += 'F';
  if (tc & BLK_TC_DISCARD)
    s += 'D';
  else if (tc & BLK_TC_WRITE)
    s += 'W';
  else if (bytes != 0)
    s += 'R';
  else
    s += 'N';
  if (tc & BLK_TC_FUA) s += 'F';
  if (tc & BLK_TC_AHEAD) s += 'A';
  if (tc & BLK_TC_SYNC) s += 'S';
  if (tc & BLK_TC_META) s += 'M';
  return s;
}

std::string Event::message() const {
  const auto* p = reinterpret_cast<const char*>(pdu.data());
  return {p, strnlen(p, pdu.size())};
}

uint64_t Event::pdu_u64() const {
  if (pdu.size() < sizeof(uint64_t)) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(uint64_t); ++i) v = (v << 8) | pdu[i];  // big-endian
  return v;
}

RecordReader::RecordReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

bool RecordReader::next(Record& out) {
  std::array<uint8_t, kRecordSize> raw{};
  in_.read(reinterpret_cast<char*>(raw.data()), raw.size());
  const auto got = static_cast<size_t>(in_.gcount());
  if (got == 0) return false;
  const std::string where = name_ + " at offset " + std::to_string(offset_);
  if (got < raw.size())
    throw TraceError(where + ": record cut short (" + std::to_string(got) + " of 48 bytes)");
  if (!order_) {
    order_ = detect_byte_order(raw);
    if (!order_) throw TraceError(where + ": bad magic " + hex32(load_u32(raw)) + " (not a blktrace file)");
  }
  try {
    out.hdr = decode_header(raw, *order_);
  } catch (const TraceError& e) {
    throw TraceError(where + ": " + e.what());
  }
  out.pdu.resize(out.hdr.pdu_len);
  if (out.hdr.pdu_len != 0) {
    in_.read(reinterpret_cast<char*>(out.pdu.data()), out.hdr.pdu_len);
    if (static_cast<size_t>(in_.gcount()) != out.hdr.pdu_len)
      throw TraceError(where + ": payload cut short (" + std::to_string(in_.gcount()) + " of " +
                       std::to_string(out.hdr.pdu_len) + " bytes)");
  }
  offset_ += kRecordSize + out.hdr.pdu_len;
  return true;
}

Event to_event(const RecordReader::Record& rec, uint32_t cpu) {
  const blk_io_trace& t = rec.hdr;
  Event ev;
  ev.sequence = t.sequence;
  ev.time_ns = t.time;
  ev.cpu = cpu;
  ev.pid = t.pid;
  ev.action = t.action;
  ev.sector = t.sector;
  ev.bytes = t.bytes;
  ev.error = t.error;
  ev.device = t.device;
  size_t skip = 0;
  // The kernel puts a native-endian 64-bit cgroup id before the payload when
  // it sets __BLK_TA_CGROUP (the same bit as __BLK_TN_CGROUP).
  if ((t.action & __BLK_TA_CGROUP) != 0 && rec.pdu.size() >= sizeof(uint64_t)) {
    std::memcpy(&ev.cgroup, rec.pdu.data(), sizeof(uint64_t));
    skip = sizeof(uint64_t);
  }
  ev.pdu.assign(rec.pdu.begin() + static_cast<std::ptrdiff_t>(skip), rec.pdu.end());
  return ev;
}

// ---- the merge ----------------------------------------------------------

struct TraceReader::Source {
  Source(std::unique_ptr<std::istream> s, std::string name, uint32_t cpu_)
      : stream(std::move(s)), reader(*stream, std::move(name)), cpu(cpu_) {}
  std::unique_ptr<std::istream> stream;
  RecordReader reader;
  RecordReader::Record pending;
  bool has = false;
  uint32_t cpu;
};

namespace {

// A file stream with a large buffer: the merge reads 48 bytes at a time.
class BufferedFile : public std::ifstream {
 public:
  explicit BufferedFile(const std::string& path) : buf_(kBufSize) {
    rdbuf()->pubsetbuf(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    open(path, std::ios::binary);
  }

 private:
  static constexpr size_t kBufSize = 1 << 16;
  std::vector<char> buf_;
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string cpu_file_name(const std::string& prefix, uint32_t cpu) {
  return prefix + ".blktrace." + std::to_string(cpu);
}

std::string normalize_prefix(const std::string& prefix) {
  const auto pos = prefix.find(".blktrace.");
  return pos == std::string::npos ? prefix : prefix.substr(0, pos);
}

TraceReader::TraceReader(const std::string& prefix) {
  const std::string p = normalize_prefix(prefix);
  for (uint32_t cpu = 0;; ++cpu) {
    const std::string name = cpu_file_name(p, cpu);
    if (!file_exists(name)) break;
    auto f = std::make_unique<BufferedFile>(name);
    if (!f->is_open()) throw TraceError("cannot open " + name + ": " + std::strerror(errno));
    sources_.push_back(std::make_unique<Source>(std::move(f), name, cpu));
  }
  if (sources_.empty()) throw TraceError("no trace files " + p + ".blktrace.0, ... found");
  for (size_t i = 0; i < sources_.size(); ++i) advance(i);
}

TraceReader::TraceReader(std::vector<std::unique_ptr<std::istream>> streams) {
  uint32_t cpu = 0;
  for (auto& s : streams) {
    const std::string name = "stream " + std::to_string(cpu);
    sources_.push_back(std::make_unique<Source>(std::move(s), name, cpu));
    ++cpu;
  }
  for (size_t i = 0; i < sources_.size(); ++i) advance(i);
}

TraceReader::~TraceReader() = default;

// Heap order: a min-heap on (time, sequence, cpu).
bool TraceReader::later(size_t a, size_t b) const {
  const auto& x = sources_[a]->pending.hdr;
  const auto& y = sources_[b]->pending.hdr;
  if (x.time != y.time) return x.time > y.time;
  if (x.sequence != y.sequence) return x.sequence > y.sequence;
  return sources_[a]->cpu > sources_[b]->cpu;
}

void TraceReader::handle_notify(const RecordReader::Record& rec, uint32_t cpu) {
  const Event ev = to_event(rec, cpu);
  switch (ev.code()) {
    case __BLK_TN_PROCESS: {
      const auto* p = reinterpret_cast<const char*>(ev.pdu.data());
      std::string name(p, strnlen(p, ev.pdu.size()));
      cpu_comms_.try_emplace(cpu_pid(cpu, ev.pid), name);
      comms_.try_emplace(ev.pid, std::move(name));
      break;
    }
    case __BLK_TN_TIMESTAMP:
      if (ev.pdu.size() == 2 * sizeof(uint32_t)) {
        std::array<uint32_t, 2> w{};
        std::memcpy(w.data(), ev.pdu.data(), sizeof(w));
        // The words are in the file's byte order like the header.
        if (sources_.front()->reader.order() == ByteOrder::Swapped)
          for (auto& x : w) x = __builtin_bswap32(x);
        wall_clock_ = std::make_pair(w[0], w[1]);
      }
      break;
    default:
      break;  // unknown notify records are ignored, as blkparse does
  }
}

void TraceReader::advance(size_t idx) {
  Source& s = *sources_[idx];
  s.has = false;
  while (s.reader.next(s.pending)) {
    const uint32_t action = s.pending.hdr.action;
    if (is_notify(action) && action_code(action) != __BLK_TN_MESSAGE) {
      handle_notify(s.pending, s.cpu);
      continue;
    }
    s.has = true;
    break;
  }
  if (!s.has) return;
  heap_.push_back(idx);
  auto later = [this](size_t a, size_t b) { return this->later(a, b); };
  std::push_heap(heap_.begin(), heap_.end(), later);
}

bool TraceReader::next(Event& out) {
  if (heap_.empty()) return false;
  auto later = [this](size_t a, size_t b) { return this->later(a, b); };
  std::pop_heap(heap_.begin(), heap_.end(), later);
  const size_t idx = heap_.back();
  heap_.pop_back();
  Source& s = *sources_[idx];
  out = to_event(s.pending, s.cpu);
  // The name noted on the event's own CPU first: pid 0 is a different idle
  // task ("swapper/N") on every CPU.  Otherwise the first name seen for the
  // pid: the kernel notes a task once, on the CPU where it first did I/O.
  if (auto it = cpu_comms_.find(cpu_pid(out.cpu, out.pid)); it != cpu_comms_.end())
    out.comm = it->second;
  else if (auto g = comms_.find(out.pid); g != comms_.end())
    out.comm = g->second;
  if (!have_genesis_) {
    genesis_ = out.time_ns;
    have_genesis_ = true;
  }
  advance(idx);
  return true;
}

std::optional<std::string_view> TraceReader::comm_of(uint32_t pid) const {
  if (auto it = comms_.find(pid); it != comms_.end()) return it->second;
  return std::nullopt;
}

std::vector<Event> read_events(const std::string& prefix, const std::vector<uint16_t>& codes) {
  TraceReader reader(prefix);
  std::vector<Event> out;
  Event ev;
  while (reader.next(ev))
    if (action_selected(ev, codes)) out.push_back(std::move(ev));
  return out;
}

std::vector<uint16_t> parse_action_filter(std::string_view spec) {
  std::vector<uint16_t> codes;
  auto add = [&](std::string_view item) {
    if (item.empty()) return;
    auto code = action_code_for(item);
    if (!code) throw std::invalid_argument("unknown action '" + std::string(item) + "'");
    codes.push_back(*code);
  };
  if (spec.find(',') != std::string_view::npos) {
    size_t start = 0;
    while (start <= spec.size()) {
      const size_t comma = std::min(spec.find(',', start), spec.size());
      add(spec.substr(start, comma - start));
      start = comma + 1;
    }
  } else {
    for (size_t i = 0; i < spec.size(); ++i) add(spec.substr(i, 1));
  }
  return codes;
}

bool action_selected(const Event& ev, const std::vector<uint16_t>& codes) {
  if (codes.empty()) return true;
  if (ev.is_message()) return false;
  return std::find(codes.begin(), codes.end(), ev.code()) != codes.end();
}

}  // namespace mpagefs::blktrace
