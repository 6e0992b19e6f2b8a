// workload.cpp - executes a workload plan on a directory: open/pwrite (or
// O_APPEND write)/ftruncate/fsync per file, fsync of the directory, and
// seq-read's read-back of every regular file.  Timing covers the system
// calls only; digests are computed afterwards.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fmt/format.h>
#include <memory>
#include <system_error>

#include "exercise/sys/workload.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"
#include "util/sys/files.hpp"
#include "util/sys/unique_fd.hpp"

namespace mpagefs::workload {

namespace {

// A file opened for a workload; remembers its path for error messages.
class Fd {
 public:
  Fd(const std::string& path, int flags) : path_(path), fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (!fd_.valid()) throw_errno("open " + path);
  }
  int get() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // close(2) can report a write-back error: check it when writing.
  void close_checked() {
    if (fd_.close_checked() != 0) throw_errno("close " + path_);
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

using Clock = std::chrono::steady_clock;

void write_all(const Fd& fd, const Write& w, bool append, std::span<const uint8_t> data, uint64_t& ops) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = append ? ::write(fd.get(), data.data() + done, data.size() - done)
                             : ::pwrite(fd.get(), data.data() + done, data.size() - done,
                                        static_cast<off_t>(w.offset + done));
    ++ops;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(fmt::format("write {} at {}", fd.path(), w.offset + done));
    if (n == 0) throw std::system_error(EIO, std::generic_category(), "write returned 0 on " + fd.path());
    done += static_cast<size_t>(n);
  }
}

Report run_writes(const Params& p, const std::vector<FilePlan>& plan) {
  Report r;
  std::vector<uint8_t> buf;
  const auto t0 = Clock::now();
  for (const FilePlan& f : plan) {
    Fd fd(p.dir + "/" + f.name, O_WRONLY | O_CREAT | O_TRUNC | (f.append ? O_APPEND : 0));
    if (f.truncate_first && ::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0)
      throw_errno("ftruncate " + fd.path());
    uint64_t end = 0;
    for (const Write& w : f.writes) {
      // Generated inside the timed region: fill_pattern costs far less than
      // the write it feeds.
      buf.resize(w.length);
      fill_pattern(f.key, w.offset, buf);
      write_all(fd, w, f.append, buf, r.ops);
      r.bytes += w.length;
      end = std::max(end, w.offset + w.length);
    }
    if (end < f.size && !f.truncate_first && ::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0)
      throw_errno("ftruncate " + fd.path());
    if (p.fsync) {
      if (::fsync(fd.get()) != 0) throw_errno("fsync " + fd.path());
      ++r.fsyncs;
    }
    fd.close_checked();
  }
  if (p.fsync) {
    Fd dir(p.dir, O_RDONLY | O_DIRECTORY);
    if (::fsync(dir.get()) != 0) throw_errno("fsync " + p.dir);
    ++r.fsyncs;
  }
  r.elapsed_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  for (const FilePlan& f : plan) r.files.push_back({f.name, f.size, expected_sha256(f)});
  return r;
}

std::vector<std::string> regular_files(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) throw_errno("opendir " + dir);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(d.get())) {
    struct stat st {};
    const std::string path = dir + "/" + e->d_name;
    if (::lstat(path.c_str(), &st) != 0) throw_errno("stat " + path);
    if (S_ISREG(st.st_mode)) names.emplace_back(e->d_name);
  }
  if (errno != 0) throw_errno("readdir " + dir);
  std::sort(names.begin(), names.end());
  return names;
}

Report run_seq_read(const Params& p) {
  Report r;
  const uint64_t chunk = p.chunk;
  std::vector<uint8_t> buf(chunk);
  // Timed: listing the directory, open, read and close of every file (what
  // the filesystem does); not timed: hashing.
  uint64_t elapsed = 0;
  auto lap = [&elapsed](Clock::time_point t0) {
    elapsed += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  };
  auto t0 = Clock::now();
  const auto names = regular_files(p.dir);
  lap(t0);
  for (const auto& name : names) {
    t0 = Clock::now();
    Fd fd(p.dir + "/" + name, O_RDONLY);
    lap(t0);
    Sha256 h;
    uint64_t size = 0;
    for (;;) {
      t0 = Clock::now();
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      lap(t0);
      ++r.ops;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read " + fd.path());
      if (n == 0) break;
      h.update({buf.data(), static_cast<size_t>(n)});
      size += static_cast<uint64_t>(n);
    }
    t0 = Clock::now();
    fd.close_checked();
    lap(t0);
    r.bytes += size;
    r.files.push_back({name, size, h.hex_digest()});
  }
  r.elapsed_ns = elapsed;
  return r;
}

}  // namespace

Report run(const Params& p) {
  const auto plan = make_plan(p);  // validates the name and chunk first
  Report r = p.name == "seq-read" ? run_seq_read(p) : run_writes(p, plan);
  r.workload = p.name;
  r.dir = p.dir;
  r.seed = p.seed;
  return r;
}

}  // namespace mpagefs::workload
