// fsx_runner.cpp - fsx's file under test on a real filesystem: an owned
// O_RDWR descriptor, a second O_DIRECT one with page-aligned bounce buffers,
// short-lived MAP_SHARED mappings, and /proc/sys/vm/drop_caches.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <system_error>

#include "exercise/sys/fsx_file.hpp"
#include "mpagefs/exercise/fsx.hpp"
#include "util/sys/files.hpp"
#include "util/sys/unique_fd.hpp"

namespace mpagefs::fsx {

namespace {

using Fd = UniqueFd;

// A MAP_SHARED mapping of whole pages, unmapped on scope exit.
class Mapping {
 public:
  Mapping(int fd, uint64_t offset, size_t length, bool writable) {
    const uint64_t pg = page_size();
    start_ = offset & ~(pg - 1);
    len_ = static_cast<size_t>(offset - start_) + length;
    addr_ = ::mmap(nullptr, len_, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
                   static_cast<off_t>(start_));
    if (addr_ == MAP_FAILED) throw_errno(fmt::format("mmap {:#x}+{:#x}", start_, len_));
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&&) = delete;
  Mapping& operator=(Mapping&&) = delete;
  ~Mapping() { ::munmap(addr_, len_); }
  uint8_t* at(uint64_t offset) const { return static_cast<uint8_t*>(addr_) + (offset - start_); }
  void sync() const {
    if (::msync(addr_, len_, MS_SYNC) != 0) throw_errno("msync");
  }

 private:
  void* addr_ = MAP_FAILED;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }  // NOLINT: aligned_alloc's pair
};
using AlignedBuffer = std::unique_ptr<uint8_t, FreeDeleter>;

class PosixFile final : public FsxFile {
 public:
  PosixFile(std::string path, bool direct) : path_(std::move(path)), want_direct_(direct) {
    fd_ = open_fd(O_RDWR | O_CREAT | O_TRUNC);
    open_direct();
  }

  uint64_t size() override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw_errno("fstat");
    return static_cast<uint64_t>(st.st_size);
  }

  size_t pread(uint64_t offset, std::span<uint8_t> out) override { return read_loop(fd_.get(), offset, out); }

  void pwrite(uint64_t offset, std::span<const uint8_t> in) override { write_loop(fd_.get(), offset, in); }

  void truncate(uint64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) throw_errno(fmt::format("ftruncate {:#x}", size));
  }

  void map_read(uint64_t offset, std::span<uint8_t> out) override {
    const Mapping m(fd_.get(), offset, out.size(), false);
    std::memcpy(out.data(), m.at(offset), out.size());
  }

  void map_write(uint64_t offset, std::span<const uint8_t> in) override {
    const Mapping m(fd_.get(), offset, in.size(), true);
    std::memcpy(m.at(offset), in.data(), in.size());
    m.sync();
  }

  std::vector<uint8_t> map_eof_tail(uint64_t size) override {
    const uint64_t pg = page_size();
    if (size % pg == 0) return {};
    const Mapping m(fd_.get(), size, 0, false);
    const uint8_t* p = m.at(size);
    return {p, p + (pg - size % pg)};
  }

  void fsync() override {
    if (::fsync(fd_.get()) != 0) throw_errno("fsync");
  }
  void fdatasync() override {
    if (::fdatasync(fd_.get()) != 0) throw_errno("fdatasync");
  }

  void reopen() override {
    fd_.reset();
    dfd_.reset();
    fd_ = open_fd(O_RDWR);
    open_direct();
  }

  bool direct_supported() override { return dfd_.valid(); }

  size_t direct_read(uint64_t offset, std::span<uint8_t> out) override {
    AlignedBuffer b = aligned(out.size());
    const size_t n = read_loop(dfd_.get(), offset, {b.get(), out.size()});
    std::memcpy(out.data(), b.get(), n);
    return n;
  }

  void direct_write(uint64_t offset, std::span<const uint8_t> in) override {
    AlignedBuffer b = aligned(in.size());
    std::memcpy(b.get(), in.data(), in.size());
    write_loop(dfd_.get(), offset, {b.get(), in.size()});
  }

  std::string close_drop_caches_reopen(bool drop) override {
    fsync();
    fd_.reset();
    dfd_.reset();
    std::string note = "closed and reopened";
    if (drop) {
      ::sync();
      const Fd p(::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC));
      if (p.valid() && ::write(p.get(), "3\n", 2) == 2)
        note = "closed, dropped caches (echo 3 > /proc/sys/vm/drop_caches), reopened";
      else
        note = fmt::format("closed and reopened; could not drop caches: {}", std::strerror(errno));
    }
    fd_ = open_fd(O_RDWR);
    open_direct();
    return note;
  }

 private:
  Fd open_fd(int flags) const {
    const int fd = ::open(path_.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("open " + path_);
    return Fd(fd);
  }

  void open_direct() {
    if (!want_direct_) return;
    const int fd = ::open(path_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0 && errno == EINVAL) {
      want_direct_ = false;  // the filesystem has no direct I/O
      return;
    }
    if (fd < 0) throw_errno("open O_DIRECT " + path_);
    dfd_ = Fd(fd);
  }

  static AlignedBuffer aligned(size_t n) {
    const size_t pg = page_size();
    const size_t rounded = (n + pg - 1) / pg * pg;
    AlignedBuffer b(static_cast<uint8_t*>(std::aligned_alloc(pg, rounded == 0 ? pg : rounded)));
    if (!b) throw std::bad_alloc();
    return b;
  }

  static size_t read_loop(int fd, uint64_t offset, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno(fmt::format("pread {:#x}+{:#x}", offset + done, out.size() - done));
      if (n == 0) break;  // EOF: the caller compares the count
      done += static_cast<size_t>(n);
    }
    return done;
  }

  static void write_loop(int fd, uint64_t offset, std::span<const uint8_t> in) {
    size_t done = 0;
    while (done < in.size()) {
      const ssize_t n = ::pwrite(fd, in.data() + done, in.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno(fmt::format("pwrite {:#x}+{:#x}", offset + done, in.size() - done));
      if (n == 0) throw std::system_error(EIO, std::generic_category(), "pwrite wrote nothing");
      done += static_cast<size_t>(n);
    }
  }

  std::string path_;
  bool want_direct_;
  Fd fd_;
  Fd dfd_;
};

}  // namespace

uint64_t page_size() {
  static const auto pg = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return pg;
}

std::unique_ptr<FsxFile> open_posix_file(const std::string& path, bool direct) {
  return std::make_unique<PosixFile>(path, direct);
}

}  // namespace mpagefs::fsx
