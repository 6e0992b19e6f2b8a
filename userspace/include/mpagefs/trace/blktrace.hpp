// blktrace.hpp - decoding the kernel's block trace records (struct
// blk_io_trace from <linux/blktrace_api.h>) as blktrace writes them: one file
// per CPU, PREFIX.blktrace.N, each a sequence of native-endian records, each
// record a 48-byte header followed by pdu_len bytes of payload.
//
// Everything here is pure: bytes come in through ByteSource (the files
// themselves are opened by trace/sys/trace_files.hpp), text goes out
// through an OutBuffer.  Readers are incremental: memory does not grow with
// the number of records.
#pragma once

#include <linux/blktrace_api.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mpagefs/util/out_buffer.hpp"

namespace mpagefs::blktrace {

// A record that cannot be decoded (bad magic, unsupported version, a record
// cut short).  The message says which file/offset.
class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr size_t kRecordSize = sizeof(struct blk_io_trace);
static_assert(kRecordSize == 48, "blk_io_trace is 48 bytes on every ABI");

// Byte order of a trace file relative to this machine.  blktrace writes
// native-endian records; a file from a machine of the other endianness has
// a byte-swapped magic.
enum class ByteOrder { Native, Swapped };

// The byte order announced by a record's first four bytes, or nullopt when
// they are no blktrace magic in either order.
std::optional<ByteOrder> detect_byte_order(std::span<const uint8_t> header);

// Decodes a 48-byte header to native order; throws TraceError when the
// magic or the version (BLK_IO_TRACE_VERSION) does not match.
blk_io_trace decode_header(std::span<const uint8_t> header, ByteOrder order);

// Encodes a header (given in native order) plus its payload as raw bytes in
// `order`.  pdu_len is taken from pdu.size().
std::vector<uint8_t> encode_record(const blk_io_trace& hdr, std::span<const uint8_t> pdu,
                                   ByteOrder order = ByteOrder::Native);

// dev_t as the kernel's blktrace stores it (MINORBITS = 20).
constexpr uint32_t dev_major(uint32_t dev) { return dev >> 20; }
constexpr uint32_t dev_minor(uint32_t dev) { return dev & ((1U << 20) - 1); }
constexpr uint32_t make_dev(uint32_t major, uint32_t minor) { return (major << 20) | minor; }

// The low 16 bits of an action with the cgroup flag removed: __BLK_TA_* (or
// __BLK_TN_* for notify records).
constexpr uint16_t action_code(uint32_t action) {
  return static_cast<uint16_t>(action & 0xffffU & ~static_cast<uint32_t>(__BLK_TA_CGROUP));
}
constexpr bool is_notify(uint32_t action) {
  return (action & BLK_TC_ACT(BLK_TC_NOTIFY)) != 0;
}

// The letter(s) blkparse prints for an action: Q M F G S R D C P U UT I X B
// A; "m" for a message (BLK_TN_MESSAGE); "" for codes blkparse does not
// print (abort, driver data, unknown).
std::string_view action_letters(uint32_t action);
// The __BLK_TA_* code for a letter as accepted by --actions ("T" and "UT"
// both mean unplug-timer), or nullopt.
std::optional<uint16_t> action_code_for(std::string_view letters);

// RWBS exactly as blkparse 1.2's fill_rwbs builds it from the category bits:
// F (flush) then D (discard) / W (write) / R (read, when bytes > 0) / N
// (no data), then F (FUA), A (readahead), S (sync), M (metadata).
std::string rwbs(uint32_t action, uint32_t bytes);  // NOLINT(bugprone-easily-swappable-parameters)

// The fields every event has, in native order: EventView's and Event's.
struct EventFields {
  uint32_t sequence = 0;      // per-CPU event number from the kernel
  uint64_t time_ns = 0;       // ktime when it happened (ns since boot)
  uint32_t cpu = 0;           // CPU (the per-CPU file it came from)
  uint32_t pid = 0;
  uint32_t action = 0;        // raw action word: category bits << 16 | code
  uint64_t sector = 0;        // 512-byte sectors
  uint32_t bytes = 0;
  uint16_t error = 0;
  uint32_t device = 0;        // dev_major/dev_minor
  uint64_t cgroup = 0;        // cgroup id when the record carried one

  [[nodiscard]] uint16_t code() const { return action_code(action); }
  [[nodiscard]] std::string_view letters() const { return action_letters(action); }
  [[nodiscard]] uint32_t nr_sectors() const { return bytes >> 9; }
  [[nodiscard]] bool is_message() const { return action_code(action) == __BLK_TN_MESSAGE && is_notify(action); }
};

// One trace record decoded in place: the payload (after the cgroup id) and
// the interned comm are views into the reader's buffers, valid until the
// reader moves on.
struct EventView : EventFields {
  std::string_view comm;      // from the BLK_TN_PROCESS notify, "" if none
  std::span<const uint8_t> pdu;  // payload after the cgroup id

  // The text of a message event (up to the first NUL).
  [[nodiscard]] std::string_view message() const;
  // The big-endian 64-bit integer some actions carry (unplug depth, split
  // sector), 0 when the payload is shorter.
  [[nodiscard]] uint64_t pdu_u64() const;
};

// One decoded trace record that owns its comm and payload (notify records
// are folded into the reader's state and not returned, except messages).
struct Event : EventFields {
  std::string comm;           // from the BLK_TN_PROCESS notify, "" if none
  std::vector<uint8_t> pdu;   // payload after the cgroup id

  [[nodiscard]] std::string rwbs() const { return blktrace::rwbs(action, bytes); }
  // The text of a message event.
  [[nodiscard]] std::string message() const { return std::string(view().message()); }
  // The big-endian 64-bit integer some actions carry (unplug depth, split
  // sector), 0 when the payload is shorter.
  [[nodiscard]] uint64_t pdu_u64() const { return view().pdu_u64(); }
  // A view of this event (valid while it lives and is not changed).
  [[nodiscard]] EventView view() const;
  // Copies a view, reusing this event's string and vector storage.
  void assign(const EventView& v);
};

// Reads raw records from one stream, in file order.  The byte order is
// detected from the first record; every later record must agree.
class RecordReader {
 public:
  struct Record {
    blk_io_trace hdr{};       // native order
    std::vector<uint8_t> pdu;
  };
  RecordReader(std::istream& in, std::string name);
  // The next record, or false at a clean end of stream; throws TraceError
  // for a bad or truncated record.
  bool next(Record& out);
  [[nodiscard]] std::optional<ByteOrder> order() const { return order_; }

 private:
  std::istream& in_;
  std::string name_;
  uint64_t offset_ = 0;
  std::optional<ByteOrder> order_;
};

// The bytes of one per-CPU trace file, in order: read(2) on the file in the
// system layer (trace/sys/trace_files.hpp), a stream in tests.
class ByteSource {
 public:
  ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ByteSource(ByteSource&&) = delete;
  ByteSource& operator=(ByteSource&&) = delete;
  virtual ~ByteSource() = default;
  // Up to `n` bytes into `dst`; 0 at the end.  Throws TraceError.
  virtual size_t read(uint8_t* dst, size_t n) = 0;
};

// A ByteSource over a stream.
class StreamSource final : public ByteSource {
 public:
  explicit StreamSource(std::unique_ptr<std::istream> in);
  ~StreamSource() override;
  size_t read(uint8_t* dst, size_t n) override;

 private:
  std::unique_ptr<std::istream> in_;
};

// One per-CPU input of a TraceReader: its bytes and the name its errors use.
struct TraceInput {
  std::string name;
  std::unique_ptr<ByteSource> source;
};

// Converts a record to an Event (comm left empty; cpu = `cpu`), splitting a
// cgroup id off the payload.
Event to_event(const RecordReader::Record& rec, uint32_t cpu);

// Merges per-CPU record streams into one event stream ordered by time (ties:
// sequence, then CPU), like blkparse.  Each per-CPU input is read in large
// chunks and its records are decoded in place; only the head
// record of each stream is decoded, so memory does not grow with the trace.
// The merge emits runs: the CPU with the earliest head keeps the turn, with
// no heap operation, while its records come before the best head of the
// other CPUs.  Process notify records fill in comm (the name noted on the
// event's CPU, else the first name seen for the pid; for pid 0, whose name
// differs per CPU, blkparse may pick another); names are interned, so an
// event's comm is a view.  Timestamp notify records set wall_clock();
// messages are returned as events (letters() == "m").
class TraceReader {
 public:
  // Inputs for CPU 0, 1, ...; throws TraceError when there is none.
  explicit TraceReader(std::vector<TraceInput> inputs);
  // Streams for CPU 0, 1, ... (tests).
  explicit TraceReader(std::vector<std::unique_ptr<std::istream>> streams);
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;
  TraceReader(TraceReader&&) = delete;
  TraceReader& operator=(TraceReader&&) = delete;
  ~TraceReader();

  // The next event in time order, or nullptr at the end of every stream.
  // The view (and what it points to) is valid until the next call.
  const EventView* next_view();
  // The same, copied into `out` (its storage reused); false at the end.
  bool next(Event& out);
  // Time of the first event returned (blkparse prints times relative to it).
  uint64_t genesis_ns() const { return genesis_; }
  // Wall clock (seconds, nanoseconds) at the BLK_TN_TIMESTAMP record, if any.
  std::optional<std::pair<uint32_t, uint32_t>> wall_clock() const { return wall_clock_; }
  size_t streams() const { return sources_.size(); }
  std::optional<std::string_view> comm_of(uint32_t pid) const;

 private:
  struct Source;
  static bool before(const Source& a, const Source& b);
  // Heap order: a min-heap on before().
  static bool later(const Source* a, const Source* b) { return before(*b, *a); }
  void start();
  bool read_record(Source& s);
  void advance(Source& s);
  void handle_notify(Source& s);
  std::string_view comm_for(Source& s, uint32_t pid);
  std::string_view intern(std::string_view name);
  void pick_next();
  static uint64_t cpu_pid(uint32_t cpu, uint32_t pid) { return (uint64_t{cpu} << 32) | pid; }

  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<Source*> heap_;       // sources with a pending record, except cur_
  Source* cur_ = nullptr;           // the source whose run is being emitted
  bool cur_emitted_ = false;        // cur_'s head was returned: advance first
  std::unordered_set<std::string> names_;                       // interned comms
  std::unordered_map<uint32_t, std::string_view> comms_;        // pid -> first name
  std::unordered_map<uint64_t, std::string_view> cpu_comms_;    // (cpu, pid) -> name
  uint64_t notes_ = 0;              // process notes that added a name
  uint64_t genesis_ = 0;
  bool have_genesis_ = false;
  EventView view_;
  std::optional<std::pair<uint32_t, uint32_t>> wall_clock_;
};

// The file name blktrace uses for one CPU.
std::string cpu_file_name(const std::string& prefix, uint32_t cpu);
// PREFIX from "PREFIX" or "PREFIX.blktrace.N".
std::string normalize_prefix(const std::string& prefix);

// Reads all (remaining) events of a trace matching `codes` (all events if
// empty).
std::vector<Event> read_events(TraceReader& reader, const std::vector<uint16_t>& codes = {});

// Parses an --actions value: "QDC", "Q,D,UT" (T means UT).  Throws
// std::invalid_argument for an unknown letter.
std::vector<uint16_t> parse_action_filter(std::string_view spec);
bool action_selected(const EventView& ev, const std::vector<uint16_t>& codes);
bool action_selected(const Event& ev, const std::vector<uint16_t>& codes);

// One line in blkparse's default format (time relative to genesis_ns):
//   "254,32   1        7     0.000105000   143  Q  RA 1316 + 24 [cat]"
std::string format_text(const Event& ev, uint64_t genesis_ns);
// One JSON object on a single line (the schema is in Documentation/tracing.rst).
std::string format_json(const Event& ev, uint64_t genesis_ns);
// The same, appended to `out` without a newline.
void append_text(OutBuffer& out, const EventView& ev, uint64_t genesis_ns);
void append_json(OutBuffer& out, const EventView& ev, uint64_t genesis_ns);
// The JSON object's members without the braces (explain adds its own).
void append_json_members(OutBuffer& out, const EventView& ev, uint64_t genesis_ns);
// `s` as a JSON string (quoted, escaped; bytes that are no UTF-8 become
// U+FFFD, as nlohmann::json's dump with error_handler_t::replace does).
void append_json_string(OutBuffer& out, std::string_view s);

// mpagectl decode: every event of `reader` matching `codes`, one line each
// (text or JSON), in time order, to `out`.  Returns the number of lines.
uint64_t decode(TraceReader& reader, const std::vector<uint16_t>& codes, bool json, OutBuffer& out);

}  // namespace mpagefs::blktrace
