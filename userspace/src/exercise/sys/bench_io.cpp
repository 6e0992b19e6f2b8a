// bench_io.cpp - timed I/O for mpagectl bench-io: sequential reads and
// writes in large requests, random reads at queue depth 1 per thread, on a
// file or a block device, buffered or O_DIRECT.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fmt/format.h>
#include <memory>
#include <system_error>
#include <thread>

#include "exercise/sys/bench_io.hpp"
#include "mpagefs/util/pattern.hpp"
#include "util/sys/files.hpp"
#include "util/sys/unique_fd.hpp"

namespace mpagefs::bench {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t ns_since(Clock::time_point t0) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

// A buffer aligned for O_DIRECT (4 KiB covers every logical block size).
struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }  // NOLINT(cppcoreguidelines-no-malloc)
};
using AlignedBuf = std::unique_ptr<uint8_t[], FreeDeleter>;  // NOLINT(modernize-avoid-c-arrays)

AlignedBuf aligned_buffer(uint64_t size) {
  void* p = nullptr;
  if (::posix_memalign(&p, 4096, size) != 0) throw std::bad_alloc();
  return AlignedBuf(static_cast<uint8_t*>(p));
}

UniqueFd open_path(const IoParams& p, int flags) {
  UniqueFd fd(::open(p.path.c_str(), flags | O_CLOEXEC | (p.direct ? O_DIRECT : 0), 0644));
  if (!fd.valid()) throw_errno("open " + p.path);
  return fd;
}

IoReport base_report(const IoParams& p) {
  IoReport r;
  r.op = p.op;
  r.path = p.path;
  r.block = p.block;
  r.threads = p.op == "rand-read" ? p.threads : 1;
  r.direct = p.direct;
  return r;
}

IoReport seq_read(const IoParams& p) {
  IoReport r = base_report(p);
  AlignedBuf buf = aligned_buffer(p.block);
  const auto t0 = Clock::now();
  const UniqueFd fd = open_path(p, O_RDONLY);
  while (p.bytes == 0 || r.bytes < p.bytes) {
    const uint64_t want = p.bytes == 0 ? p.block : std::min(p.block, p.bytes - r.bytes);
    const ssize_t n = ::read(fd.get(), buf.get(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(fmt::format("read {} at {}", p.path, r.bytes));
    ++r.ops;
    if (n == 0) break;
    r.bytes += static_cast<uint64_t>(n);
  }
  r.elapsed_ns = ns_since(t0);
  return r;
}

IoReport seq_write(const IoParams& p) {
  IoReport r = base_report(p);
  AlignedBuf buf = aligned_buffer(p.block);
  struct stat st {};
  const bool device = ::stat(p.path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
  const auto t0 = Clock::now();
  const UniqueFd fd = open_path(p, O_WRONLY | (device ? 0 : O_CREAT | O_TRUNC));
  while (r.bytes < p.bytes) {
    const uint64_t len = std::min(p.block, p.bytes - r.bytes);
    // Data differs per request (a pattern keyed by the offset); generating
    // it costs far less than the write.
    fill_pattern(1, r.bytes, std::span<uint8_t>(buf.get(), len));
    const ssize_t n = ::pwrite(fd.get(), buf.get(), len, static_cast<off_t>(r.bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno(fmt::format("write {} at {}", p.path, r.bytes));
    ++r.ops;
    r.bytes += static_cast<uint64_t>(n);
  }
  if (p.fsync) {
    const auto f0 = Clock::now();
    if (::fsync(fd.get()) != 0) throw_errno("fsync " + p.path);
    r.fsync_ns = ns_since(f0);
  }
  r.elapsed_ns = ns_since(t0);
  return r;
}

IoReport rand_read(const IoParams& p) {
  IoReport r = base_report(p);
  const UniqueFd probe = open_path(p, O_RDONLY);
  const off_t end = ::lseek(probe.get(), 0, SEEK_END);
  if (end < 0) throw_errno("lseek " + p.path);
  if (static_cast<uint64_t>(end) < p.block)
    throw std::invalid_argument(fmt::format("{} is smaller than one request ({} bytes)", p.path, p.block));
  std::vector<std::exception_ptr> errors(p.threads);
  std::vector<uint64_t> done(p.threads, 0);
  const auto t0 = Clock::now();
  {
    std::vector<std::jthread> workers;
    for (uint32_t t = 0; t < p.threads; ++t) {
      const uint64_t count = p.ops / p.threads + (t < p.ops % p.threads ? 1 : 0);
      workers.emplace_back([&, t, count] {
        try {
          const UniqueFd fd = open_path(p, O_RDONLY);
          AlignedBuf buf = aligned_buffer(p.block);
          for (const uint64_t off : random_offsets(static_cast<uint64_t>(end), p.block, count, p.seed * 1000003 + t)) {
            ssize_t n = 0;
            do n = ::pread(fd.get(), buf.get(), p.block, static_cast<off_t>(off));
            while (n < 0 && errno == EINTR);
            if (n < 0) throw_errno(fmt::format("read {} at {}", p.path, off));
            done[t] += static_cast<uint64_t>(n);
          }
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    }
  }
  r.elapsed_ns = ns_since(t0);
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (const uint64_t b : done) r.bytes += b;
  r.ops = p.ops;
  return r;
}

}  // namespace

IoReport run_io(const IoParams& p) {
  validate(p);
  if (p.op == "seq-read") return seq_read(p);
  if (p.op == "seq-write") return seq_write(p);
  return rand_read(p);
}

}  // namespace mpagefs::bench
