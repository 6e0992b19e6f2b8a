// scenario_runner.cpp - runs one scenario on a block device: mkfs, mount,
// setup steps, the traced action (a child `mpagectl scenario exec`, so the
// blktrace capture covers exactly it), counters, umount, then explain, fsck
// and the pure checks of scenario.cpp.
#include "scenario/sys/scenario_runner.hpp"

#include <fcntl.h>
#include <sched.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <ostream>
#include <sstream>

#include "control/sys/genl_client.hpp"
#include "image/sys/file_blockio.hpp"
#include "mpagefs/fsck/fsck.hpp"
#include "mpagefs/image/blockio.hpp"
#include "mpagefs/image/image.hpp"
#include "mpagefs/image/mkfs.hpp"
#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/trace/check.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"
#include "scenario/sys/dm_device.hpp"
#include "trace/sys/capture.hpp"
#include "trace/sys/trace_files.hpp"
#include "util/sys/files.hpp"
#include "util/sys/unique_fd.hpp"

namespace mpagefs::scenario {

namespace {

namespace fs = std::filesystem;
constexpr uint64_t kPage = 4096;
constexpr size_t kChunk = 64 * 1024;

std::string read_text(const std::string& path) { return try_read_file(path).value_or(""); }

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::string dev_name(const std::string& device) { return fs::path(device).filename().string(); }
std::string read_ahead_path(const std::string& device) {
  return "/sys/block/" + dev_name(device) + "/queue/read_ahead_kb";
}

// An mmap'ed window, unmapped on scope exit.
class Mapping {
 public:
  Mapping(int fd, uint64_t offset, size_t len, int prot) : len_(len) {
    addr_ = ::mmap(nullptr, len, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&&) = delete;
  Mapping& operator=(Mapping&&) = delete;
  ~Mapping() {
    if (ok()) ::munmap(addr_, len_);
  }
  [[nodiscard]] bool ok() const { return addr_ != MAP_FAILED; }
  [[nodiscard]] uint8_t* data() const { return static_cast<uint8_t*>(addr_); }

 private:
  void* addr_ = MAP_FAILED;
  size_t len_;
};

uint64_t page_end_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  return (static_cast<uint64_t>(st.st_size) + kPage - 1) / kPage * kPage;
}

StepResult do_read(int fd, const Step& st, bool willneed) {
  StepResult r;
  if (willneed && ::posix_fadvise(fd, static_cast<off_t>(st.offset), static_cast<off_t>(st.length),
                                  POSIX_FADV_WILLNEED) != 0) {
    r.err = errno;
    return r;
  }
  Sha256 h;
  std::vector<uint8_t> buf(kChunk);
  uint64_t pos = st.offset;
  const uint64_t end = st.offset + st.length;
  while (pos < end) {
    const size_t want = std::min<uint64_t>(kChunk, end - pos);
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      r.err = errno;
      return r;
    }
    if (n == 0) break;
    h.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    pos += static_cast<uint64_t>(n);
    r.bytes += static_cast<uint64_t>(n);
  }
  r.sha256 = h.hex_digest();
  return r;
}

StepResult do_mmap_read(int fd, const Step& st) {
  StepResult r;
  const uint64_t end = std::min(st.offset + st.length, page_end_of(fd));
  if (end <= st.offset) {
    r.sha256 = sha256_hex({});
    return r;
  }
  const Mapping m(fd, st.offset, end - st.offset, PROT_READ);
  if (!m.ok()) {
    r.err = errno;
    return r;
  }
  if (st.random) ::madvise(m.data(), end - st.offset, MADV_RANDOM);
  std::vector<uint8_t> copy(m.data(), m.data() + (end - st.offset));
  r.bytes = copy.size();
  r.sha256 = sha256_hex(copy);
  return r;
}

StepResult do_write(int fd, const Step& st) {
  StepResult r;
  std::vector<uint8_t> buf;
  for (uint64_t pos = st.offset; pos < st.offset + st.length;) {
    buf.resize(std::min<uint64_t>(kChunk, st.offset + st.length - pos));
    fill_pattern(st.key, pos, buf);
    const ssize_t n = ::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
    if (n < 0) {
      r.err = errno;
      return r;
    }
    pos += static_cast<uint64_t>(n);
    r.bytes += static_cast<uint64_t>(n);
  }
  return r;
}

StepResult do_mmap_write(int fd, const Step& st) {
  StepResult r;
  const uint64_t end = std::min(st.offset + st.length, page_end_of(fd));
  if (end > st.offset) {
    const Mapping m(fd, st.offset, end - st.offset, PROT_READ | PROT_WRITE);
    if (!m.ok()) {
      r.err = errno;
      return r;
    }
    fill_pattern(st.key, st.offset, std::span<uint8_t>(m.data(), end - st.offset));
  }
  r.bytes = st.length;
  return r;
}

StepResult do_fill(int fd) {
  StepResult r;
  std::vector<uint8_t> buf(kChunk);
  fill_pattern(3, 0, buf);
  while (true) {
    const ssize_t n = ::write(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno != ENOSPC) r.err = errno;
      break;
    }
    r.bytes += static_cast<uint64_t>(n);
  }
  if (r.err == 0 && ::fsync(fd) != 0) r.err = errno;
  return r;
}

StepResult do_evict_every_other(int fd, const Step& st) {
  StepResult r;
  for (uint64_t pos = st.offset; pos < st.offset + st.length; pos += 2 * kPage)
    if (::posix_fadvise(fd, static_cast<off_t>(pos), kPage, POSIX_FADV_DONTNEED) != 0) {
      r.err = errno;
      break;
    }
  return r;
}

StepResult run_step(const Step& st, const std::string& mnt, const std::string& device) {
  StepResult r;
  if (st.op == Op::DropCaches || st.op == Op::DropPages) {
    ::sync();
    if (!write_text("/proc/sys/vm/drop_caches", st.op == Op::DropCaches ? "3\n" : "1\n")) r.err = EIO;
    return r;
  }
  if (st.op == Op::ReadAheadKb) {
    if (!write_text(read_ahead_path(device), std::to_string(st.offset) + "\n")) r.err = EIO;
    return r;
  }
  const std::string path = mnt + "/" + st.file;
  const bool writes = st.op == Op::Write || st.op == Op::MmapWrite || st.op == Op::Truncate ||
                      st.op == Op::Fsync || st.op == Op::Fill;
  const int flags = writes ? (O_RDWR | O_CREAT) : O_RDONLY;
  const UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    r.err = errno;
    return r;
  }
  switch (st.op) {
    case Op::Read: return do_read(fd.get(), st, true);
    case Op::ReadPlain: return do_read(fd.get(), st, false);
    case Op::MmapRead: return do_mmap_read(fd.get(), st);
    case Op::Write: return do_write(fd.get(), st);
    case Op::MmapWrite: return do_mmap_write(fd.get(), st);
    case Op::Fill: return do_fill(fd.get());
    case Op::EvictEveryOther: return do_evict_every_other(fd.get(), st);
    case Op::Truncate:
      if (::ftruncate(fd.get(), static_cast<off_t>(st.offset)) != 0) r.err = errno;
      return r;
    case Op::Fsync:
      if (::fsync(fd.get()) != 0) r.err = errno;
      return r;
    case Op::DropCaches:
    case Op::DropPages:
    case Op::ReadAheadKb:
      break;
  }
  return r;
}

// Overwrites the map entry of `c.logical` in its indirect block with
// `value`; returns the entry it replaced.
uint32_t plant(BlockIo& dev, const Corruption& c, uint32_t value) {
  const auto img = open_image(dev);
  const InodeInfo in = img->inode(img->resolve("/" + c.file));
  std::optional<BlockPointer> hit;
  img->walk_pointers(in, [&](const BlockPointer& p, PointerFault) {
    if (p.level == 0 && p.logical == c.logical) hit = p;
    return true;
  });
  if (!hit || hit->holder == 0)
    throw std::runtime_error("scenario: no indirect map entry for block " + std::to_string(c.logical) + " of " + c.file);
  const std::array<uint8_t, 4> le{static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                                  static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
  dev.write(hit->holder * img->block_size() + uint64_t{hit->index} * 4, le);
  dev.flush();
  return static_cast<uint32_t>(hit->block);
}

// Writes back and drops the device's page cache, so what we read next is
// what the filesystem put on the disk.
void flush_bdev_cache(const std::string& device) {
  const UniqueFd fd(::open(device.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() >= 0) (void)::ioctl(fd.get(), BLKFLSBUF, 0);
}

// Formats the device; returns the map entry a planted corruption replaced.
uint32_t make_fs(const Scenario& s, const std::string& device) {
  flush_bdev_cache(device);
  FileBlockIo dev(device, FileBlockIo::Mode::ReadWrite);
  PrefixBlockIo part(dev, std::min(s.fs_size, dev.size()));
  const SourceNode tree = source_tree(s);
  (void)make_filesystem(part, s.mkfs, &tree);
  part.flush();
  return s.corrupt ? plant(part, *s.corrupt, s.corrupt->value) : 0;
}

// The mount's counters over generic netlink (the library's one way to read
// them: control/sys/genl_client.hpp).
std::map<std::string, int64_t> stats_of(const std::string& device) {
  control::GenlClient genl;
  return counters(genl.get_stats(genl.resolve(device)).stats);
}

// umount on scope exit (also when a step throws).
class MountGuard {
 public:
  MountGuard(const std::string& dev, const std::string& mnt, const std::string& opts) : mnt_(mnt) {
    fs::create_directories(mnt);
    if (::mount(dev.c_str(), mnt.c_str(), "mpagefs", 0, opts.empty() ? nullptr : opts.c_str()) != 0)
      throw std::runtime_error("mount " + dev + " on " + mnt + " (" + opts + "): " + std::strerror(errno));
    mounted_ = true;
  }
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  MountGuard(MountGuard&&) = delete;
  MountGuard& operator=(MountGuard&&) = delete;
  ~MountGuard() { (void)umount(); }
  int umount() {
    if (!mounted_) return 0;
    mounted_ = false;
    return ::umount(mnt_.c_str()) == 0 ? 0 : errno;
  }

 private:
  std::string mnt_;
  bool mounted_ = false;
};

// Restores queue/read_ahead_kb on scope exit.
class ReadAheadGuard {
 public:
  explicit ReadAheadGuard(std::string path) : path_(std::move(path)), saved_(read_text(path_)) {}
  ReadAheadGuard(const ReadAheadGuard&) = delete;
  ReadAheadGuard& operator=(const ReadAheadGuard&) = delete;
  ReadAheadGuard(ReadAheadGuard&&) = delete;
  ReadAheadGuard& operator=(ReadAheadGuard&&) = delete;
  ~ReadAheadGuard() {
    if (!saved_.empty()) (void)write_text(path_, saved_);
  }

 private:
  std::string path_;
  std::string saved_;
};

std::vector<StepResult> read_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("scenario: the traced action left no results in " + path);
  const auto j = nlohmann::json::parse(in);
  std::vector<StepResult> out;
  for (const auto& e : j) out.push_back(step_result_from_json(e));
  return out;
}

std::vector<std::string> describe(const std::vector<const explain::ExplainedEvent*>& b) {
  std::vector<std::string> out;
  out.reserve(b.size());
  for (const auto* e : b) out.push_back(check::describe_bio(*e));
  return out;
}

// The dm device fails every I/O from construction to end() (or scope exit:
// the umount must reach the disk).
class FailingWindow {
 public:
  explicit FailingWindow(DmDevice* dm) : dm_(dm) {
    if (dm_) dm_->set_error(true);
  }
  FailingWindow(const FailingWindow&) = delete;
  FailingWindow& operator=(const FailingWindow&) = delete;
  FailingWindow(FailingWindow&&) = delete;
  FailingWindow& operator=(FailingWindow&&) = delete;
  ~FailingWindow() {
    try {
      end();
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): best effort on an error path
    }
  }
  void end() {
    if (dm_) dm_->set_error(false);
    dm_ = nullptr;
  }

 private:
  DmDevice* dm_;
};

// Runs this process and the traced child on CPU 0: the pages a setup step
// frees (EvictEveryOther) sit in that CPU's free lists, where the action's
// allocations find them, and the order of the trace does not depend on
// which CPU the child lands on.
void pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (::sched_setaffinity(0, sizeof(set), &set) != 0)
    throw std::runtime_error(std::string("sched_setaffinity: ") + std::strerror(errno));
}

void run_checked(const Scenario& s, const RunOptions& opts, std::ostream& log, RunResult& res) {
  pin_to_cpu0();
  // I/O-error scenarios run on a dm device over the disk.
  std::optional<DmDevice> dm;
  if (s.io_error) dm.emplace("mpagefs-scenario", opts.device);
  const std::string device = dm ? dm->path() : opts.device;
  const uint32_t original = make_fs(s, device);
  Observation o;
  struct utsname uts {};
  if (::uname(&uts) == 0) o.kernel_series = kernel_series(uts.release);
  const std::string prefix = opts.work_dir + "/" + s.name;
  {
    const ReadAheadGuard ra(read_ahead_path(device));
    MountGuard mnt(device, opts.mountpoint, s.mount_options);
    o.results = execute_steps(s.setup, opts.mountpoint, device);
    const auto before = stats_of(device);
    FailingWindow failing(dm ? &*dm : nullptr);

    const std::string result_file = prefix + ".result.json";
    fs::remove(result_file);
    blktrace::CaptureOptions copts;
    copts.device = device;
    copts.prefix = prefix;
    std::ostringstream capture_log;
    const auto cap = blktrace::capture(copts,
                                       {opts.self_exe, "scenario", "exec", s.name, "--mnt", opts.mountpoint, "--dev",
                                        device, "--result", result_file},
                                       capture_log);
    log << capture_log.str();
    if (cap.command_status != 0)
      throw std::runtime_error("the traced action exited with status " + std::to_string(cap.command_status));
    if (cap.dropped != 0) throw std::runtime_error("blktrace dropped " + std::to_string(cap.dropped) + " events");
    failing.end();
    const auto action = read_results(result_file);
    o.results.insert(o.results.end(), action.begin(), action.end());

    const auto after = stats_of(device);
    for (const auto& [k, v] : after) o.stats_delta[k] = v - (before.count(k) ? before.at(k) : 0);
    if (const int err = mnt.umount(); err != 0) throw std::runtime_error(std::string("umount: ") + std::strerror(err));
  }
  flush_bdev_cache(device);
  FileBlockIo dev(device, s.corrupt ? FileBlockIo::Mode::ReadWrite : FileBlockIo::Mode::ReadOnly);
  PrefixBlockIo part(dev, std::min(s.fs_size, dev.size()));
  // The planted entry goes back, so the image explains and checks clean.
  if (s.corrupt) (void)plant(part, *s.corrupt, original);
  const BlockOwnerMap map = build_owner_map(part);
  const auto events = blktrace::read_events(prefix, blktrace::parse_action_filter("Q"));
  o.events = explain::explain_events(events, map);
  if (s.fsck_after)
    for (const auto& f : check_image(part).findings) o.fsck_findings.push_back(f.message);
  res.verdicts = evaluate(s, o);
  for (const auto& x : s.expect) {
    if (x.kind == ExpectKind::Stat) continue;
    res.bios_read = describe(file_bios(o.events, x.file, 'R'));
    res.bios_write = describe(file_bios(o.events, x.file, 'W'));
    break;
  }
  res.stats_delta = o.stats_delta;
  res.passed = std::all_of(res.verdicts.begin(), res.verdicts.end(), [](const Verdict& v) { return v.passed; });
}

}  // namespace

std::vector<StepResult> execute_steps(const std::vector<Step>& steps, const std::string& mountpoint,
                                      const std::string& device) {
  std::vector<StepResult> out;
  out.reserve(steps.size());
  for (const auto& st : steps) out.push_back(run_step(st, mountpoint, device));
  return out;
}

RunResult run_scenario(const Scenario& s, const RunOptions& opts, std::ostream& log) {
  RunResult res;
  res.name = s.name;
  const auto t0 = std::chrono::steady_clock::now();
  fs::create_directories(opts.work_dir);
  try {
    run_checked(s, opts, log, res);
  } catch (const std::exception& e) {
    res.passed = false;
    res.error = e.what();
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

nlohmann::json to_json(const RunResult& r) {
  nlohmann::json j;
  j["name"] = r.name;
  j["passed"] = r.passed;
  j["seconds"] = r.seconds;
  if (!r.error.empty()) j["error"] = r.error;
  j["bios"] = {{"R", r.bios_read}, {"W", r.bios_write}};
  j["stats_delta"] = r.stats_delta;
  j["verdicts"] = nlohmann::json::array();
  for (const auto& v : r.verdicts)
    j["verdicts"].push_back({{"check", v.check}, {"passed", v.passed}, {"message", v.message}});
  return j;
}

}  // namespace mpagefs::scenario
