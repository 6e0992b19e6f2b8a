// control.hpp - the C++ model of mpagefs's control plane (the generic
// netlink family of kmod/mpagefs_genl.h): mounts, per-mount counters,
// policy knobs and injected faults, plus the get_block/allocation
// tracepoint lines (their join with a block trace is explain's:
// trace/get_block_join.hpp).
//
// Everything here is pure: parsing command-line arguments ("boundary=off",
// "--errno EIO", "--blocks 3-7"), formatting (text tables, JSON), deltas for
// `mpagectl stats --watch`, and parsing ftrace/perf output.  The netlink
// transport is control/sys/genl_client.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs_genl.h"

namespace mpagefs::control {

// A bad argument (policy key, errno name, block range...); the message says
// which and what is accepted.
class ArgError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// --- device numbers ----------------------------------------------------------

// new_encode_dev(): what MPAGEFS_A_DEV carries.
constexpr uint32_t encode_dev(uint32_t major, uint32_t minor) {
  return (minor & 0xffU) | (major << 8) | ((minor & ~0xffU) << 12);
}
constexpr uint32_t dev_major(uint32_t dev) { return (dev & 0xfff00U) >> 8; }
constexpr uint32_t dev_minor(uint32_t dev) { return (dev & 0xffU) | ((dev >> 12) & 0xfff00U); }
// "253,32": MAJOR,MINOR as blkparse prints a device (decode does too).
std::string format_dev(uint32_t dev);
// A MOUNT argument that names a device rather than a path: "vdc" or
// "/dev/vdc" -> "vdc"; nullopt for anything else ("/mnt/a", "./x").
std::optional<std::string> device_name_arg(std::string_view arg);

// --- policy ------------------------------------------------------------------

enum class Alloc : uint8_t { Contig = MPAGEFS_ALLOC_CONTIG, Scatter = MPAGEFS_ALLOC_SCATTER };
std::string_view to_string(Alloc a);

struct Policy {
  bool boundary = true;
  uint32_t maxmap = 0;  // 0 = no limit
  Alloc alloc = Alloc::Contig;
};

// What `mpagectl set` asks for: only the keys given.
struct PolicyChange {
  std::optional<bool> boundary;
  std::optional<uint32_t> maxmap;
  std::optional<Alloc> alloc;
  [[nodiscard]] bool empty() const { return !boundary && !maxmap && !alloc; }
};

// Parses "boundary=on|off", "maxmap=N", "alloc=contig|scatter" (the mount
// options' names and values); a key may repeat (the last wins).  Throws
// ArgError for an unknown key, a bad value or no argument at all.
PolicyChange parse_policy_args(const std::vector<std::string>& args);
// "boundary=on maxmap=0 alloc=contig" (as mount options read).
std::string format_policy(const Policy& p);
nlohmann::json to_json(const Policy& p);

// --- mounts ------------------------------------------------------------------

struct MountInfo {
  uint32_t dev = 0;          // new_encode_dev
  std::string dev_name;      // "vdc"
  uint32_t block_size = 0;
  bool readonly = false;
  Policy policy;
};

std::string format_mounts(const std::vector<MountInfo>& mounts);
nlohmann::json to_json(const MountInfo& m);

// --- counters ----------------------------------------------------------------

inline constexpr size_t kNumStats = MPAGEFS_STAT_A_MAX;          // attributes 1 .. MAX
inline constexpr size_t kRunBuckets = MPAGEFS_RUN_HIST_BUCKETS;

// The JSON/short name of counter attribute `attr` (1 .. kNumStats):
// "get_block_read", "blocks_mapped", ...
std::string_view stat_name(size_t attr);
// Its description in the text table.
std::string_view stat_description(size_t attr);
// "1", "2-3", "4-7", ... "32768+" for histogram bucket i (0-based).
std::string bucket_label(size_t i);

struct Stats {
  std::array<uint64_t, kNumStats + 1> counter{};   // index = attribute; [0] unused
  std::array<uint64_t, kRunBuckets> run_hist{};

  [[nodiscard]] uint64_t get(size_t attr) const { return counter.at(attr); }
  [[nodiscard]] uint64_t get_block_calls() const {
    return get(MPAGEFS_STAT_A_GET_BLOCK_READ) + get(MPAGEFS_STAT_A_GET_BLOCK_CREATE);
  }
};

struct MountStats {
  uint32_t dev = 0;
  std::string dev_name;
  Stats stats;
};

// cur - prev per counter and bucket (0 where a counter went backwards: a
// reset in between).
Stats delta(const Stats& prev, const Stats& cur);
// The full table of one mount: counters and the run-length histogram.
std::string format_stats(const MountStats& m);
nlohmann::json to_json(const MountStats& m);
// --watch: the header line and one line per mount and interval.
std::string watch_header();
std::string format_watch_line(const MountStats& delta, double seconds);

// --- faults ------------------------------------------------------------------

enum class FaultKind : uint32_t { GetBlock = MPAGEFS_FAULT_GET_BLOCK, AllocEnospc = MPAGEFS_FAULT_ALLOC_ENOSPC };

struct Fault {
  uint32_t id = 0;
  FaultKind kind = FaultKind::GetBlock;
  uint32_t error = 0;                // positive errno (GetBlock)
  uint64_t ino = 0;                  // 0 = every inode
  uint64_t first = 0;
  std::optional<uint64_t> last;      // nullopt = to the end
  uint32_t side = MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE;
  bool once = false;
  uint64_t hits = 0;
};

// "EIO", "eio", "ENOSPC", "5" -> 5, 28 ...; throws ArgError (1 .. 4095).
uint32_t parse_errno(std::string_view s);
// 5 -> "EIO"; unknown numbers print as the number.
std::string errno_name(uint32_t e);
// "A-B" or "A" -> {A, B}; throws ArgError (B < A, not numbers).
std::pair<uint64_t, uint64_t> parse_block_range(std::string_view s);
// "read", "create", "both" -> MPAGEFS_FAULT_SIDE_* mask.
uint32_t parse_side(std::string_view s);
std::string side_name(uint32_t side);
// "get_block" or "enospc" (as `mpagectl inject` takes them).
FaultKind parse_fault_kind(std::string_view s);

// One line: "3  get_block EIO ino 12 blocks 0-end side read once hits 1".
std::string format_fault(const Fault& f);
std::string format_faults(const std::vector<Fault>& faults);
nlohmann::json to_json(const Fault& f);

// --- tracepoints -------------------------------------------------------------

enum class TraceEvent { GetBlock, AllocBlock, FreeBlocks };
std::string_view to_string(TraceEvent e);

// One mpagefs tracepoint line as ftrace (trace, trace_pipe) or perf script
// prints it.
struct TraceRecord {
  size_t line = 0;                   // 1-based line number in the input
  std::string task;
  uint32_t pid = 0;
  uint32_t cpu = 0;
  std::string timestamp;             // as printed, in the trace clock
  TraceEvent event = TraceEvent::GetBlock;
  uint32_t major = 0, minor = 0;
  uint64_t ino = 0;
  // get_block
  uint64_t lblk = 0, max = 0, pblk = 0, len = 0;
  bool create = false, boundary = false, is_new = false;
  int64_t ret = 0;
  // alloc_block: goal, pblk, ret; free_blocks: pblk, count (in len)
  uint64_t goal = 0;
};

class TraceParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one line: nullopt for comments, blank lines and other events; a
// record for an mpagefs event; throws TraceParseError (naming the line) for
// an mpagefs event whose fields do not follow the header's format.
std::optional<TraceRecord> parse_trace_line(std::string_view line, size_t line_no = 0);
// Every mpagefs record of a whole trace text, in order.
std::vector<TraceRecord> parse_trace(std::string_view text);
nlohmann::json to_json(const TraceRecord& r);
// "# entries-in-buffer/entries-written: 10/12   #P:2" -> {10, 12}: the
// header of tracefs's `trace` file (how many entries the ring lost).
std::optional<std::pair<uint64_t, uint64_t>> parse_entries_header(std::string_view trace_text);

// --- one tracepoint record as explain shows it ------------------------------

// "  <- get_block ino 12 lblk 0 max 32 -> pblk 658 len 12 boundary [cat-143 12.000001]"
std::string format_call(const TraceRecord& r);
nlohmann::json call_json(const TraceRecord& r, size_t index);

}  // namespace mpagefs::control
