// blktrace_decode.cpp - struct blk_io_trace records: byte order, headers,
// per-stream record reading and the time-ordered merge of per-CPU streams.
#include <algorithm>
#include <array>
#include <cstring>
#include <istream>

#include "mpagefs/trace/blktrace.hpp"

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

// A record's header as an event's fields (cgroup 0: it is in the payload).
EventFields fields_of(const blk_io_trace& t, uint32_t cpu) {
  EventFields f;
  f.sequence = t.sequence;
  f.time_ns = t.time;
  f.cpu = cpu;
  f.pid = t.pid;
  f.action = t.action;
  f.sector = t.sector;
  f.bytes = t.bytes;
  f.error = t.error;
  f.device = t.device;
  return f;
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

std::string_view EventView::message() const {
  const auto* p = reinterpret_cast<const char*>(pdu.data());
  return {p, strnlen(p, pdu.size())};
}

uint64_t EventView::pdu_u64() const {
  if (pdu.size() < sizeof(uint64_t)) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(uint64_t); ++i) v = (v << 8) | pdu[i];  // big-endian
  return v;
}

EventView Event::view() const {
  EventView v;
  static_cast<EventFields&>(v) = *this;
  v.comm = comm;
  v.pdu = pdu;
  return v;
}

void Event::assign(const EventView& v) {
  static_cast<EventFields&>(*this) = v;
  comm.assign(v.comm);
  pdu.assign(v.pdu.begin(), v.pdu.end());
}

RecordReader::RecordReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

bool RecordReader::next(Record& out) {
  std::array<uint8_t, kRecordSize> raw{};
  in_.read(reinterpret_cast<char*>(raw.data()), raw.size());
  const auto got = static_cast<size_t>(in_.gcount());
  if (got == 0) return false;
  auto where = [&] { return name_ + " at offset " + std::to_string(offset_); };
  if (got < raw.size())
    throw TraceError(where() + ": record cut short (" + std::to_string(got) + " of 48 bytes)");
  if (!order_) {
    order_ = detect_byte_order(raw);
    if (!order_) throw TraceError(where() + ": bad magic " + hex32(load_u32(raw)) + " (not a blktrace file)");
  }
  try {
    out.hdr = decode_header(raw, *order_);
  } catch (const TraceError& e) {
    throw TraceError(where() + ": " + e.what());
  }
  out.pdu.resize(out.hdr.pdu_len);
  if (out.hdr.pdu_len != 0) {
    in_.read(reinterpret_cast<char*>(out.pdu.data()), out.hdr.pdu_len);
    if (static_cast<size_t>(in_.gcount()) != out.hdr.pdu_len)
      throw TraceError(where() + ": payload cut short (" + std::to_string(in_.gcount()) + " of " +
                       std::to_string(out.hdr.pdu_len) + " bytes)");
  }
  offset_ += kRecordSize + out.hdr.pdu_len;
  return true;
}

Event to_event(const RecordReader::Record& rec, uint32_t cpu) {
  const blk_io_trace& t = rec.hdr;
  Event ev;
  static_cast<EventFields&>(ev) = fields_of(t, cpu);
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

namespace {

// Bytes read from a per-CPU file at a time; at least one record of the
// largest payload (48 + 65535 bytes) must fit.
constexpr size_t kChunk = size_t{128} << 10;
static_assert(kChunk >= kRecordSize + 0xffff);

}  // namespace

StreamSource::StreamSource(std::unique_ptr<std::istream> in) : in_(std::move(in)) {}
StreamSource::~StreamSource() = default;

size_t StreamSource::read(uint8_t* dst, size_t n) {
  in_->read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
  return static_cast<size_t>(in_->gcount());
}

// One per-CPU stream: a buffer of raw bytes read in chunks, the decoded
// header of the record at the head, and the comm looked up last.
struct TraceReader::Source {
  std::string name;
  uint32_t cpu = 0;
  std::unique_ptr<ByteSource> source;
  std::unique_ptr<uint8_t[]> buf = std::make_unique_for_overwrite<uint8_t[]>(kChunk);  // NOLINT(*-avoid-c-arrays)
  size_t pos = 0;                         // next unread byte in buf
  size_t len = 0;                         // bytes in buf
  uint64_t base = 0;                      // file offset of buf[0]
  bool eof = false;
  std::optional<ByteOrder> order;
  blk_io_trace hdr{};                     // the head record, native order
  const uint8_t* pdu = nullptr;           // its payload (cgroup id included), in buf
  bool has = false;                       // hdr is an event not yet returned
  uint32_t cache_pid = 0;                 // comm_for's last answer, valid while
  uint64_t cache_notes = UINT64_MAX;      // no process note added a name
  std::string_view cache_comm;

  // Makes `want` bytes available at pos when the file has them; returns
  // how many are.
  size_t fill(size_t want) {
    if (len - pos >= want) return len - pos;
    if (pos != 0) {
      std::memmove(buf.get(), buf.get() + pos, len - pos);
      base += pos;
      len -= pos;
      pos = 0;
    }
    while (len < want && !eof) {
      const size_t got = source->read(buf.get() + len, kChunk - len);
      if (got == 0) eof = true;
      len += got;
    }
    return len;
  }
  [[nodiscard]] std::string where(uint64_t offset) const { return name + " at offset " + std::to_string(offset); }
};

// Whether a's head comes before b's: time, then sequence, then CPU.
bool TraceReader::before(const Source& a, const Source& b) {
  if (a.hdr.time != b.hdr.time) return a.hdr.time < b.hdr.time;
  if (a.hdr.sequence != b.hdr.sequence) return a.hdr.sequence < b.hdr.sequence;
  return a.cpu < b.cpu;
}

std::string cpu_file_name(const std::string& prefix, uint32_t cpu) {
  return prefix + ".blktrace." + std::to_string(cpu);
}

std::string normalize_prefix(const std::string& prefix) {
  const auto pos = prefix.find(".blktrace.");
  return pos == std::string::npos ? prefix : prefix.substr(0, pos);
}

TraceReader::TraceReader(std::vector<TraceInput> inputs) {
  uint32_t cpu = 0;
  for (auto& in : inputs) {
    auto s = std::make_unique<Source>();
    s->source = std::move(in.source);
    s->name = std::move(in.name);
    s->cpu = cpu++;
    sources_.push_back(std::move(s));
  }
  if (sources_.empty()) throw TraceError("a trace needs at least one per-CPU input");
  start();
}

TraceReader::TraceReader(std::vector<std::unique_ptr<std::istream>> streams) {
  uint32_t cpu = 0;
  for (auto& in : streams) {
    auto s = std::make_unique<Source>();
    s->source = std::make_unique<StreamSource>(std::move(in));
    s->name = "stream " + std::to_string(cpu);
    s->cpu = cpu++;
    sources_.push_back(std::move(s));
  }
  start();
}

// Every source read up to its first event; the heap holds those that have one.
void TraceReader::start() {
  for (auto& s : sources_) {
    advance(*s);
    if (s->has) heap_.push_back(s.get());
  }
  std::make_heap(heap_.begin(), heap_.end(), later);
}

TraceReader::~TraceReader() = default;

// The next raw record of `s` into s.hdr/s.pdu; false at a clean end.
bool TraceReader::read_record(Source& s) {
  size_t avail = s.fill(kRecordSize);
  if (avail == 0) return false;
  const uint64_t offset = s.base + s.pos;
  if (avail < kRecordSize)
    throw TraceError(s.where(offset) + ": record cut short (" + std::to_string(avail) + " of 48 bytes)");
  const uint8_t* p = s.buf.get() + s.pos;
  if (!s.order) {
    s.order = detect_byte_order({p, kRecordSize});
    if (!s.order)
      throw TraceError(s.where(offset) + ": bad magic " + hex32(load_u32({p, kRecordSize})) +
                       " (not a blktrace file)");
  }
  std::memcpy(&s.hdr, p, kRecordSize);
  if (*s.order == ByteOrder::Swapped) swap_header(s.hdr);
  if (s.hdr.magic != (BLK_IO_TRACE_MAGIC | BLK_IO_TRACE_VERSION)) {
    try {
      (void)decode_header({p, kRecordSize}, *s.order);  // throws the precise error
    } catch (const TraceError& e) {
      throw TraceError(s.where(offset) + ": " + e.what());
    }
  }
  const size_t total = kRecordSize + s.hdr.pdu_len;
  if (avail < total) {
    avail = s.fill(total);
    if (avail < total)
      throw TraceError(s.where(offset) + ": payload cut short (" + std::to_string(avail - kRecordSize) + " of " +
                       std::to_string(s.hdr.pdu_len) + " bytes)");
  }
  s.pdu = s.buf.get() + s.pos + kRecordSize;
  s.pos += total;
  return true;
}

std::string_view TraceReader::intern(std::string_view name) {
  return *names_.emplace(name).first;
}

void TraceReader::handle_notify(Source& s) {
  std::span<const uint8_t> pdu(s.pdu, s.hdr.pdu_len);
  // The kernel puts a 64-bit cgroup id before the payload when it sets
  // __BLK_TN_CGROUP (the same bit as __BLK_TA_CGROUP).
  if ((s.hdr.action & __BLK_TA_CGROUP) != 0 && pdu.size() >= sizeof(uint64_t)) pdu = pdu.subspan(sizeof(uint64_t));
  switch (action_code(s.hdr.action)) {
    case __BLK_TN_PROCESS: {
      const auto* p = reinterpret_cast<const char*>(pdu.data());
      const std::string_view name(p, strnlen(p, pdu.size()));
      const uint32_t pid = s.hdr.pid;
      // The first name noted wins, per (cpu, pid) and per pid.
      bool added = false;
      if (const uint64_t key = cpu_pid(s.cpu, pid); !cpu_comms_.contains(key)) {
        cpu_comms_.emplace(key, intern(name));
        added = true;
      }
      if (!comms_.contains(pid)) {
        comms_.emplace(pid, intern(name));
        added = true;
      }
      if (added) ++notes_;
      break;
    }
    case __BLK_TN_TIMESTAMP:
      if (pdu.size() == 2 * sizeof(uint32_t)) {
        std::array<uint32_t, 2> w{};
        std::memcpy(w.data(), pdu.data(), sizeof(w));
        // The words are in the file's byte order like the header.
        if (s.order == ByteOrder::Swapped)
          for (auto& x : w) x = __builtin_bswap32(x);
        wall_clock_ = std::make_pair(w[0], w[1]);
      }
      break;
    default:
      break;  // unknown notify records are ignored, as blkparse does
  }
}

// Reads `s` up to its next event, folding the notify records on the way
// into the reader's state.
void TraceReader::advance(Source& s) {
  s.has = false;
  while (read_record(s)) {
    const uint32_t action = s.hdr.action;
    if (is_notify(action) && action_code(action) != __BLK_TN_MESSAGE) {
      handle_notify(s);
      continue;
    }
    s.has = true;
    return;
  }
}

// The name noted on the event's own CPU first: pid 0 is a different idle
// task ("swapper/N") on every CPU.  Otherwise the first name seen for the
// pid: the kernel notes a task once, on the CPU where it first did I/O.
std::string_view TraceReader::comm_for(Source& s, uint32_t pid) {
  if (s.cache_notes == notes_ && s.cache_pid == pid) return s.cache_comm;
  std::string_view comm;
  if (auto it = cpu_comms_.find(cpu_pid(s.cpu, pid)); it != cpu_comms_.end())
    comm = it->second;
  else if (auto g = comms_.find(pid); g != comms_.end())
    comm = g->second;
  s.cache_pid = pid;
  s.cache_notes = notes_;
  s.cache_comm = comm;
  return comm;
}

// Chooses cur_: the source with the earliest head.  The current source
// keeps the turn while its new head comes before every other head, so a
// run of one CPU's records costs one comparison each and no heap operation.
void TraceReader::pick_next() {
  if (cur_ != nullptr) {
    if (cur_->has && (heap_.empty() || before(*cur_, *heap_.front()))) return;
    if (cur_->has) {
      heap_.push_back(cur_);
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
    cur_ = nullptr;
  }
  if (heap_.empty()) return;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  cur_ = heap_.back();
  heap_.pop_back();
}

const EventView* TraceReader::next_view() {
  if (cur_emitted_) {
    advance(*cur_);
    cur_emitted_ = false;
  }
  pick_next();
  if (cur_ == nullptr) return nullptr;
  const blk_io_trace& t = cur_->hdr;
  static_cast<EventFields&>(view_) = fields_of(t, cur_->cpu);
  std::span<const uint8_t> pdu(cur_->pdu, t.pdu_len);
  // The kernel puts a 64-bit cgroup id before the payload when it sets
  // __BLK_TA_CGROUP, in the byte order of the header.
  if ((t.action & __BLK_TA_CGROUP) != 0 && pdu.size() >= sizeof(uint64_t)) {
    std::memcpy(&view_.cgroup, pdu.data(), sizeof(uint64_t));
    if (cur_->order == ByteOrder::Swapped) view_.cgroup = __builtin_bswap64(view_.cgroup);
    pdu = pdu.subspan(sizeof(uint64_t));
  }
  view_.pdu = pdu;
  view_.comm = comm_for(*cur_, t.pid);
  if (!have_genesis_) {
    genesis_ = t.time;
    have_genesis_ = true;
  }
  cur_emitted_ = true;
  return &view_;
}

bool TraceReader::next(Event& out) {
  const EventView* v = next_view();
  if (v == nullptr) return false;
  out.assign(*v);
  return true;
}

std::optional<std::string_view> TraceReader::comm_of(uint32_t pid) const {
  if (auto it = comms_.find(pid); it != comms_.end()) return it->second;
  return std::nullopt;
}

std::vector<Event> read_events(TraceReader& reader, const std::vector<uint16_t>& codes) {
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

bool action_selected(const EventView& ev, const std::vector<uint16_t>& codes) {
  if (codes.empty()) return true;
  if (ev.is_message()) return false;
  return std::find(codes.begin(), codes.end(), ev.code()) != codes.end();
}

bool action_selected(const Event& ev, const std::vector<uint16_t>& codes) { return action_selected(ev.view(), codes); }

uint64_t decode(TraceReader& reader, const std::vector<uint16_t>& codes, bool json, OutBuffer& out) {
  uint64_t n = 0;
  // Two loops rather than a test per event.
  if (json) {
    while (const EventView* ev = reader.next_view()) {
      if (!action_selected(*ev, codes)) continue;
      append_json(out, *ev, reader.genesis_ns());
      out.put('\n');
      ++n;
    }
  } else {
    while (const EventView* ev = reader.next_view()) {
      if (!action_selected(*ev, codes)) continue;
      append_text(out, *ev, reader.genesis_ns());
      out.put('\n');
      ++n;
    }
  }
  return n;
}

}  // namespace mpagefs::blktrace
