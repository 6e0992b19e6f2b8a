// scenario.hpp - named scenarios, each driving one path of fs/mpage.c on
// purpose, and the pure checks of what a run observed.
//
// A scenario is data: a filesystem to make (block size, layout, files with
// data ranges and holes), mount options, untraced setup steps, traced action
// steps (read, mmap, write, truncate, fsync, ...) and expectations on
// - the bios of the trace that touch one file, in submission order, written
//   as check::describe_bio does ("data:0-11", "IND:12", "data:2"), per
//   direction (R or W);
// - the get_block counters of the mount (delta over the action);
// - the data: every read step is compared with a shadow model of the files
//   (their content from the spec, updated by the write/truncate steps), or
//   with the errno the scenario expects.
// Running one (mkfs, mount, I/O, blktrace) is scenario/sys/scenario_runner.hpp;
// everything here is pure and unit-tested (tests/unit/test_scenario.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/image/mkfs.hpp"
#include "mpagefs/control/control.hpp"
#include "mpagefs/trace/explain.hpp"

namespace mpagefs::scenario {

// A regular file in the root directory.  Data ranges hold
// fill_pattern(key, offset) bytes; the rest of [0, size) is a hole.
struct FileSpec {
  std::string name;
  uint64_t size = 0;
  // [first, second) byte ranges; empty: all data ({{0, 0}}: all hole)
  std::vector<std::pair<uint64_t, uint64_t>> data;
  uint64_t key = 1;
};

enum class Op {
  Read,         // posix_fadvise(WILLNEED) of the range (one readahead call), then pread
  ReadPlain,    // pread only (the kernel's own readahead heuristics)
  MmapRead,     // mmap + copy; `random` sets MADV_RANDOM (no fault-around readahead)
  Write,        // pwrite of fill_pattern(key, offset) bytes
  MmapWrite,    // the same through a shared mapping (may reach past EOF inside the last page)
  Truncate,     // ftruncate to `offset`
  Fsync,        // fsync; its errno is the step's result
  DropCaches,   // sync + echo 3 > /proc/sys/vm/drop_caches
  ReadAheadKb,  // the device's queue/read_ahead_kb := `offset` (restored after the scenario)
  DropPages,    // sync + echo 1 > /proc/sys/vm/drop_caches (page cache only: inodes stay)
  Fill,         // a new file written until ENOSPC (then fsync'ed); success means it hit ENOSPC
  EvictEveryOther,  // POSIX_FADV_DONTNEED on every other cached page of the file: the page
                    // allocator then hands out pages that are not physically adjacent, so
                    // a bio cannot merge them into multi-page segments
};

struct Step {
  Op op = Op::Read;
  std::string file;         // name in the root directory
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t key = 0;         // Write/MmapWrite: pattern key
  bool random = false;      // MmapRead: MADV_RANDOM
  int expect_errno = 0;     // 0: must succeed (reads: with the shadow's bytes)
};

// What the guest saw for one step.
struct StepResult {
  int err = 0;              // errno, 0 on success
  uint64_t bytes = 0;       // bytes read or written
  std::string sha256;       // of the bytes read (reads only)
  bool operator==(const StepResult&) const = default;
};

// A corrupt pointer planted after mkfs: the map entry of `logical` (held in
// an indirect block) is overwritten with `value`, so get_block fails there.
// The runner puts the original entry back after the umount.
struct Corruption {
  std::string file;
  uint64_t logical = 0;
  uint32_t value = 0;
};

enum class ExpectKind {
  Bios,           // the file's bios of `dir`, in order, are exactly `bios`
  BiosInclude,    // `bios` occur in that order as consecutive file bios of `dir`
  BioCount,       // min <= number of the file's bios of `dir` <= max
  ContiguousSplit,// two consecutive file bios of `dir` continue each other on disk
                  // (the bio was sent although the next block was adjacent)
  NoBioOf,        // no bio of `dir` touches data block `min` of the file
  ReadaheadFlag,  // every file read bio has (min=1) / lacks (min=0) the A (REQ_RAHEAD) flag
  Stat,           // min <= delta of counter `stat` over the action <= max
};

struct Expectation {
  ExpectKind kind = ExpectKind::Bios;
  char dir = 'R';                     // 'R' or 'W'
  std::string file;
  std::vector<std::string> bios;
  uint64_t min = 0;
  uint64_t max = UINT64_MAX;
  std::string stat;
  // The kernel series ("6.1", "6.12") whose mpage.c the expectation holds
  // for; empty: every kernel.  On any other series it is not checked (the
  // verdict says so).
  std::vector<std::string> kernels = {};
};

struct Scenario {
  std::string name;                   // e.g. "ra-boundary"
  std::string summary;                // one line
  std::string target;                 // the mpage.c function and path it drives
  std::string side;                   // "read" or "write"
  MkfsOptions mkfs;
  uint64_t fs_size = 8 << 20;         // bytes of the device the filesystem uses
  std::vector<FileSpec> files;
  std::string mount_options;          // e.g. "boundary=off"; "" for the defaults
  std::optional<Corruption> corrupt;
  std::vector<Step> setup;            // untraced, in order
  std::vector<Step> action;           // traced
  std::vector<Expectation> expect;
  bool fsck_after = true;             // the image must be fsck-clean afterwards
  // The scenario runs on a device-mapper device over the disk whose table is
  // "error" (every I/O fails at completion) during the action steps.
  bool io_error = false;
};

// A path of fs/mpage.c that only some of the kernels the lab runs on have,
// and the scenarios that show it (`mpagectl scenario paths`).
struct KernelPath {
  std::string path;                   // function and what it does
  std::vector<std::string> kernels;   // the series that have it
  std::vector<std::string> scenarios; // the scenarios whose runs show it; empty: none can
  std::string why;                    // what a run shows, or why none reaches it
};

// Every such path, in source order.
const std::vector<KernelPath>& kernel_paths();

// "6.12" from a release such as "6.12.117+deb12-amd64" (uname -r); "" if it
// does not start with MAJOR.MINOR.
std::string kernel_series(std::string_view release);

// Every scenario, in a stable order; names are unique.
const std::vector<Scenario>& all();
// The scenario called `name`, or nullptr.
const Scenario* find(std::string_view name);

// The source tree mkfs populates the filesystem with.
SourceNode source_tree(const Scenario& s);

// The expected outcome of every step (setup then action), from a shadow
// model of the files: reads give the shadow's bytes (mmap reads see zeros
// past EOF inside the last page), writes change it, truncate resizes it.
// A step with expect_errno has err set and no digest.
std::vector<StepResult> expected_results(const Scenario& s);

// What a run observed.
struct Observation {
  std::vector<explain::ExplainedEvent> events;   // Q events, explained against the image after the run
  std::map<std::string, int64_t> stats_delta;    // get_block counters, after - before the action
  std::vector<StepResult> results;               // setup then action
  std::vector<std::string> fsck_findings;        // empty: the image checked clean
  std::string kernel_series;                     // of the kernel it ran on, e.g. "6.12"
};

struct Verdict {
  std::string check;      // "bios R /f", "data step 3", "stat get_block_calls", ...
  bool passed = true;
  std::string message;    // what was expected and what was seen
};

// The file's bios of direction `dir` ('R'/'W'), in order.
std::vector<const explain::ExplainedEvent*> file_bios(const std::vector<explain::ExplainedEvent>& events,
                                                      std::string_view file, char dir);
// Evaluates every expectation plus the data and fsck checks.
std::vector<Verdict> evaluate(const Scenario& s, const Observation& o);

// A mount's counters by the names expectations use: control::stat_name()'s
// ("get_block_create", "blocks_allocated", ...) plus "get_block_calls",
// the calls of either kind.
std::map<std::string, int64_t> counters(const control::Stats& s);

nlohmann::json to_json(const Scenario& s);                 // for `scenario list --json`
nlohmann::json to_json(const KernelPath& p);               // for `scenario paths --json`
nlohmann::json to_json(const StepResult& r);
StepResult step_result_from_json(const nlohmann::json& j);
std::string_view to_string(Op op);

}  // namespace mpagefs::scenario
