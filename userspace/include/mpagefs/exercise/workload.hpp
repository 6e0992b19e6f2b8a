// workload.hpp - named write workloads for the VM tests and benchmarks.
// A workload is first planned (pure, src/workload_plan.cpp: which files,
// which writes at which offsets, the data a function of seed/file/offset),
// then executed on a directory (exercise/sys/workload.hpp), and reported as
// JSON with the sha256 each file must have: the tests compare it with the
// file read back after unmount and remount.
//
//   seq-write         --count files of --size bytes, written front to back
//                     in --chunk pieces
//   rand-write        the same files, every chunk written once in a random
//                     order (the file is ftruncated to --size first)
//   append            records of 1..2*chunk bytes appended (O_APPEND) until
//                     the file holds --size bytes
//   sparse-write      --size bytes of which about one chunk in eight holds
//                     data at a random chunk-aligned place; the rest holes
//   many-small-files  --count files (default 100) of 0..--size bytes each
//   seq-read          reads every regular file in DIR (sorted by name) and
//                     reports its size and sha256; writes nothing; elapsed
//                     covers listing, open, read and close (not hashing)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mpagefs::workload {

struct Params {
  std::string name;
  std::string dir;
  std::optional<uint64_t> size;   // default per workload (default_size())
  std::optional<uint64_t> count;  // files; default 1 (many-small-files: 100)
  uint64_t chunk = 64 * 1024;     // bytes per write call (rand/sparse: the slot size)
  uint64_t seed = 1;
  // Index of the first file: files first..first+count-1 of one run of
  // first+count files (the same names, sizes and data), so that a run can
  // be cut into batches.
  uint64_t first = 0;
  bool fsync = true;              // fsync each file, then the directory
};

// The names above, in that order.
const std::vector<std::string>& names();
// Throws std::invalid_argument for an unknown name.
uint64_t default_size(const std::string& name);
uint64_t default_count(const std::string& name);

struct Write {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct FilePlan {
  std::string name;          // relative to the directory
  uint64_t key = 0;          // the data stream (fill_pattern key)
  uint64_t size = 0;         // the file's final size
  bool append = false;       // O_APPEND writes (the offsets are where they land)
  bool truncate_first = false;  // ftruncate to `size` before writing (rand-write)
  std::vector<Write> writes;    // in issue order; they never overlap
};

// The writes of a workload (empty for seq-read).  Deterministic for a seed;
// throws std::invalid_argument for an unknown name or a zero chunk.
std::vector<FilePlan> make_plan(const Params& p);

// The file's content as planned: the writes' data, zeros elsewhere, up to
// `size`.  Streams (the file is never held in memory).
std::string expected_sha256(const FilePlan& f);

struct FileReport {
  std::string name;
  uint64_t size = 0;
  std::string sha256;
};

struct Report {
  std::string workload;
  std::string dir;
  uint64_t seed = 0;
  uint64_t bytes = 0;   // written (seq-read: read)
  uint64_t ops = 0;     // write (or read) system calls
  uint64_t fsyncs = 0;  // fsync calls, files and directory
  uint64_t elapsed_ns = 0;  // wall time of the I/O, fsyncs included, hashing not
  std::vector<FileReport> files;
};

nlohmann::json to_json(const Report& r);
std::string format_text(const Report& r);

}  // namespace mpagefs::workload
