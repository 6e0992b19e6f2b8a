// blktrace_capture.cpp - the one place that drives the kernel's blktrace:
// ioctls on the block device, relay files in debugfs, signals and the
// traced command's process.
#include "trace/sys/capture.hpp"

#include <fcntl.h>
#include <linux/blktrace_api.h>
#include <linux/fs.h>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

#include "mpagefs/trace/blktrace.hpp"
#include "trace/sys/trace_files.hpp"
#include "util/sys/files.hpp"
#include "util/sys/unique_fd.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): for posix_spawnp

namespace mpagefs::blktrace {

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

using Fd = UniqueFd;

Fd open_or_throw(const std::string& path, int flags, mode_t mode = 0) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw CaptureError(errno_text("cannot open " + path));
  return Fd(fd);
}


// The kernel side of one trace: set up, started, stopped, torn down.  The
// destructor stops and tears down whatever is still set up.
class KernelTrace {
 public:
  KernelTrace(const std::string& device, const CaptureOptions& opts, std::ostream& log)
      : dev_(open_or_throw(device, O_RDONLY | O_NONBLOCK)) {
    struct stat st {};
    if (::fstat(dev_.get(), &st) != 0 || !S_ISBLK(st.st_mode))
      throw CaptureError(device + " is not a block device");
    blk_user_trace_setup buts{};
    buts.act_mask = 0xffff;  // every category
    buts.buf_size = opts.buf_size;
    buts.buf_nr = opts.buf_nr;
    if (::ioctl(dev_.get(), BLKTRACESETUP, &buts) != 0) {
      if (errno != EBUSY) throw CaptureError(errno_text("BLKTRACESETUP on " + device));
      // A trace left behind (a killed blktrace or mpagectl): remove it, retry once.
      log << "mpagectl trace: " << device << " already has a trace set up; tearing it down\n";
      (void)::ioctl(dev_.get(), BLKTRACESTOP);
      (void)::ioctl(dev_.get(), BLKTRACETEARDOWN);
      buts = blk_user_trace_setup{};
      buts.act_mask = 0xffff;
      buts.buf_size = opts.buf_size;
      buts.buf_nr = opts.buf_nr;
      if (::ioctl(dev_.get(), BLKTRACESETUP, &buts) != 0)
        throw CaptureError(errno_text("BLKTRACESETUP on " + device + " (after teardown)"));
    }
    set_up_ = true;
    name_.assign(buts.name, strnlen(buts.name, sizeof(buts.name)));
  }
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;
  KernelTrace(KernelTrace&&) = delete;
  KernelTrace& operator=(KernelTrace&&) = delete;
  ~KernelTrace() {
    stop();
    if (set_up_) (void)::ioctl(dev_.get(), BLKTRACETEARDOWN);
  }

  void start() {
    if (::ioctl(dev_.get(), BLKTRACESTART) != 0) throw CaptureError(errno_text("BLKTRACESTART"));
    running_ = true;
  }
  // Stops tracing and flushes the relay buffers (idempotent).
  void stop() {
    if (running_) (void)::ioctl(dev_.get(), BLKTRACESTOP);
    running_ = false;
  }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  Fd dev_;
  std::string name_;
  bool set_up_ = false;
  bool running_ = false;
};

// Copies one CPU's relay file to its PREFIX.blktrace.N.  While tracing it
// reads only complete sub-buffers and never past the end of one (see
// blktrace_capture.hpp for why); after BLKTRACESTOP it drains the rest.
class CpuReader {
 public:
  CpuReader(const std::string& relay, const std::string& out, uint32_t subbuf_size)
      : in_(open_or_throw(relay, O_RDONLY | O_NONBLOCK)),
        out_(open_or_throw(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)),
        fdinfo_(open_or_throw("/proc/self/fdinfo/" + std::to_string(in_.get()), O_RDONLY)),
        relay_(relay),
        out_name_(out),
        subbuf_size_(subbuf_size) {}

  void run(const std::atomic<bool>& stop) {
    try {
      while (!stop.load()) {
        pollfd p{in_.get(), POLLIN, 0};
        (void)::poll(&p, 1, 100);  // POLLIN: a complete sub-buffer is waiting
        copy_complete();
      }
      // The trace is stopped: relay_flush() completed the last sub-buffer
      // and every reservation is filled: read all that is left.
      for (int idle = 0; idle < 3;) idle = drain() == 0 ? idle + 1 : 0;
      if (!cutter_.at_boundary())
        throw CaptureError(relay_ + ": the last record is cut short at offset " + std::to_string(cutter_.offset()));
    } catch (const CaptureError& e) {
      error_ = e.what();
    }
  }
  [[nodiscard]] uint64_t bytes() const { return bytes_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  [[nodiscard]] bool complete_subbuf_waiting() const {
    pollfd p{in_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
  }
  // The relay file's position: the ring offset of the next byte to read.
  [[nodiscard]] uint64_t position() const {
    std::array<char, 256> text{};
    const ssize_t n = ::pread(fdinfo_.get(), text.data(), text.size() - 1, 0);
    if (n <= 0) throw CaptureError(errno_text("read fdinfo of " + relay_));
    return parse_fdinfo_pos(std::string(text.data(), static_cast<size_t>(n)));
  }
  // Reads what complete sub-buffers hold, stopping at the first incomplete one.
  void copy_complete() {
    while (true) {
      size_t want = cutter_.needed();  // the rest of a record: same sub-buffer
      if (want == 0) {
        if (!complete_subbuf_waiting()) return;
        want = relay_read_size(position() % subbuf_size_, subbuf_size_, buf_.size());
      }
      if (read_some(std::min(want, buf_.size())) == 0) return;
    }
  }
  size_t drain() {
    size_t total = 0;
    for (size_t n; (n = read_some(buf_.size())) != 0;) total += n;
    return total;
  }
  size_t read_some(size_t count) {
    ssize_t n = 0;
    do n = ::read(in_.get(), buf_.data(), count);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      throw CaptureError(errno_text("read " + relay_));
    }
    const auto got = static_cast<size_t>(n);
    cutter_.feed(buf_.data(), got, relay_);
    write_all(got);
    bytes_ += got;
    return got;
  }
  void write_all(size_t n) {
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(out_.get(), buf_.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw CaptureError(errno_text("write " + out_name_));
      done += static_cast<size_t>(w);
    }
  }

  Fd in_;
  Fd out_;
  Fd fdinfo_;
  std::string relay_;
  std::string out_name_;
  uint32_t subbuf_size_;
  RecordCutter cutter_;
  std::array<uint8_t, 1 << 16> buf_{};
  uint64_t bytes_ = 0;
  std::string error_;
};

volatile sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) { g_stop_signal = sig; }
void on_child(int /*sig*/) {}

// Installs our SIGINT/SIGTERM/SIGCHLD handlers and blocks those signals
// (threads started meanwhile inherit the block); restores everything on
// destruction.
class SignalScope {
 public:
  SignalScope() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    struct sigaction sc {};
    sc.sa_handler = on_child;
    sigemptyset(&sc.sa_mask);
    ::sigaction(SIGCHLD, &sc, &old_chld_);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
  SignalScope(SignalScope&&) = delete;
  SignalScope& operator=(SignalScope&&) = delete;
  ~SignalScope() {
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGCHLD, &old_chld_, nullptr);
  }
  // Sleeps until one of our signals arrives (atomically unblocking them),
  // or until `deadline` when one is given.
  void wait(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) const {
    sigset_t m = old_mask_;
    sigdelset(&m, SIGINT);
    sigdelset(&m, SIGTERM);
    sigdelset(&m, SIGCHLD);
    if (!deadline) {
      ::sigsuspend(&m);
      return;
    }
    const auto left = std::max(*deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{});
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    ::ppoll(nullptr, 0, &ts, &m);  // like sigsuspend, with a timeout
  }
  [[nodiscard]] const sigset_t& old_mask() const { return old_mask_; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  struct sigaction old_chld_ {};
  sigset_t old_mask_{};
};

pid_t spawn(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw CaptureError("cannot run " + command[0] + ": " + std::strerror(rc));
  return pid;
}

// Waits for the child, passing SIGINT/SIGTERM on to it, and sending it
// SIGINT at `deadline` (the stopwatch); returns its status as a shell would
// (128 + signal when killed).
int wait_child(pid_t pid, const SignalScope& sigs, std::optional<std::chrono::steady_clock::time_point> deadline,
               std::ostream& log) {
  bool forwarded = false;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) throw CaptureError(errno_text("waitpid"));
    if (!forwarded && deadline && std::chrono::steady_clock::now() >= *deadline) {
      log << "mpagectl trace: stopwatch expired, sending SIGINT to the command\n";
      ::kill(pid, SIGINT);
      forwarded = true;
    }
    if (g_stop_signal != 0 && !forwarded) {
      ::kill(pid, g_stop_signal);
      forwarded = true;
    }
    sigs.wait(forwarded ? std::nullopt : deadline);
  }
}

}  // namespace

std::string debugfs_name(const std::string& device) {
  const auto slash = device.find_last_of('/');
  return slash == std::string::npos ? device : device.substr(slash + 1);
}

std::vector<uint32_t> parse_cpu_list(const std::string& text) {
  std::vector<uint32_t> cpus;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    if (item.empty()) continue;
    const auto dash = item.find('-');
    try {
      const auto a = static_cast<uint32_t>(std::stoul(item.substr(0, dash)));
      const auto b = dash == std::string::npos ? a : static_cast<uint32_t>(std::stoul(item.substr(dash + 1)));
      for (uint32_t c = a; c <= b; ++c) cpus.push_back(c);
    } catch (const std::logic_error&) {
      throw CaptureError("bad CPU list '" + text + "'");
    }
  }
  if (cpus.empty()) throw CaptureError("empty CPU list '" + text + "'");
  return cpus;
}

CaptureResult capture(const CaptureOptions& opts, const std::vector<std::string>& command, std::ostream& log) {
  CaptureResult result;
  const std::string prefix = normalize_prefix(opts.prefix);
  const auto cpus = parse_cpu_list(read_file<CaptureError>("/sys/devices/system/cpu/online"));
  const uint32_t max_cpu = *std::max_element(cpus.begin(), cpus.end());

  SignalScope sigs;
  KernelTrace trace(opts.device, opts, log);
  std::string name = trace.name().empty() ? debugfs_name(opts.device) : trace.name();
  const std::string dir = opts.debugfs + "/block/" + name;

  // blkparse stops at the first missing CPU file: create them all.
  // relay_open() page-aligns the sub-buffer size: the readers need the real one.
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const auto subbuf = static_cast<uint32_t>((opts.buf_size + page - 1) / page * page);
  std::vector<std::unique_ptr<CpuReader>> readers;
  for (uint32_t cpu = 0; cpu <= max_cpu; ++cpu) {
    const std::string out = cpu_file_name(prefix, cpu);
    result.files.push_back(out);
    if (std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) {
      (void)open_or_throw(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      continue;
    }
    readers.push_back(std::make_unique<CpuReader>(dir + "/trace" + std::to_string(cpu), out, subbuf));
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  struct Joiner {  // joins the readers on every exit path
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Joiner() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } joiner{stop, threads};
  for (auto& r : readers) threads.emplace_back([&stop, rd = r.get()] { rd->run(stop); });

  trace.start();
  log << "mpagectl trace: tracing " << opts.device << " (" << dir << ") on " << cpus.size() << " CPUs, "
      << opts.buf_nr << " x " << opts.buf_size / 1024 << " KiB buffers"
      << (command.empty() ? "; stop with SIGINT or SIGTERM" : "")
      << (opts.stopwatch_s != 0 ? "; stopwatch " + std::to_string(opts.stopwatch_s) + " s\n" : "\n");

  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (opts.stopwatch_s != 0) deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opts.stopwatch_s);
  if (command.empty()) {
    while (g_stop_signal == 0 && (!deadline || std::chrono::steady_clock::now() < *deadline)) sigs.wait(deadline);
    if (g_stop_signal != 0)
      log << "mpagectl trace: got signal " << g_stop_signal << ", stopping\n";
    else
      log << "mpagectl trace: stopwatch expired after " << opts.stopwatch_s << " s, stopping\n";
  } else {
    const pid_t pid = spawn(command);
    result.ran_command = true;
    result.command_status = wait_child(pid, sigs, deadline, log);
  }

  trace.stop();  // flushes the relay sub-buffers
  stop = true;
  for (auto& t : threads) t.join();
  for (const auto& r : readers) {
    if (!r->error().empty()) throw CaptureError(r->error());
    result.bytes += r->bytes();
  }
  const std::string dropped_text = read_file<CaptureError>(dir + "/dropped");
  result.dropped = std::stoull(dropped_text);

  // Count what we saved by decoding it: also proves the files are sound.
  const auto reader = open_trace(prefix);
  for (Event ev; reader->next(ev);) ++result.events;
  return result;  // ~KernelTrace tears the trace down
}

}  // namespace mpagefs::blktrace
