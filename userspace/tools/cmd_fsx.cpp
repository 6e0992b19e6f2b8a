// cmd_fsx.cpp - mpagectl fsx (randomized exerciser with a shadow copy) and
// mpagectl workload (named write workloads reported as JSON).  Both are plain
// POSIX programs: run them on a mounted mpagefs in the VM, or anywhere.
// fsx exits 1 when the file differs from its shadow copy (a check); bad
// arguments exit 2, errors that stop a run 3 (run_cli).
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "cli.hpp"
#include "exercise/sys/fsx_file.hpp"
#include "exercise/sys/workload.hpp"
#include "exit_codes.hpp"
#include "mpagefs/exercise/fsx.hpp"
#include "mpagefs/exercise/workload.hpp"

namespace mpagefs {

namespace {

struct FsxArgs {
  std::string file;
  fsx::Options opts;
  std::optional<uint64_t> seed;
  std::optional<uint64_t> direct_align;
  bool no_mmap = false;
  bool json = false;
};

uint64_t random_seed() {
  std::random_device rd;
  return ((uint64_t{rd()} << 32) | rd()) & 0xFFFFFFFFFFFFULL;  // short enough to type
}

void run_fsx(FsxArgs& a) {
  fsx::Options o = a.opts;
  o.seed = a.seed.value_or(random_seed());
  o.mmap = !a.no_mmap;
  const uint64_t direct_align = a.direct_align.value_or(0);
  // The options' own checks (OpGenerator's) are usage errors: those that
  // need no file before it is created, the O_DIRECT alignment after.
  const auto check_options = [](const fsx::Options& opts) {
    (void)parse_arg([&opts] { return fsx::OpGenerator(opts); });
  };
  fsx::Options without_direct = o;
  without_direct.direct = false;
  check_options(without_direct);
  auto file = fsx::open_posix_file(a.file, o.direct);
  if (o.direct) {
    // O_DIRECT ops align to the filesystem's block size unless told.
    o.direct_align = direct_align;
    if (o.direct_align == 0) {
      struct stat st {};
      o.direct_align = ::stat(a.file.c_str(), &st) == 0 && st.st_blksize > 0 ? st.st_blksize : 4096;
    }
    check_options(o);
  }
  std::cerr << fmt::format("fsx: {} seed {} ops {} maxlen {} file-size-max {}{}{}\n", a.file, o.seed, o.num_ops,
                           o.maxlen, o.file_size_max, o.mmap ? "" : " no-mmap",
                           o.direct ? fmt::format(" direct (align {})", o.direct_align) : "");
  const fsx::Result r = fsx::run(*file, o, std::cerr, ::isatty(STDERR_FILENO) != 0);
  for (const auto& n : r.notes) std::cerr << "fsx: " << n << '\n';
  if (a.json) {
    nlohmann::json j = fsx::to_json(r);
    j["file"] = a.file;
    j["seed"] = o.seed;
    std::cout << j.dump(2) << '\n';
  }
  if (!r.ok) {
    std::cerr << r.failure;
    throw CliExit{kExitCheckFailed};
  }
  std::string counts;
  for (size_t k = 0; k < fsx::kOpKinds; ++k)
    if (r.counts[k] != 0)
      fmt::format_to(std::back_inserter(counts), " {}={}", fsx::op_name(static_cast<fsx::OpKind>(k)), r.counts[k]);
  std::cerr << fmt::format("fsx: {} ops passed, file verified (seed {}):{}\n", r.ops_done, o.seed, counts);
}

struct WorkloadArgs {
  workload::Params p;
  bool no_fsync = false;
  bool json = false;
};

void run_workload(WorkloadArgs& a) {
  workload::Params p = a.p;
  p.fsync = !a.no_fsync;
  (void)parse_arg([&] { return workload::make_plan(p); });  // an unknown name, a zero chunk: usage errors
  const workload::Report r = workload::run(p);
  if (a.json)
    std::cout << workload::to_json(r).dump(2) << '\n';
  else
    std::cout << workload::format_text(r);
}

}  // namespace

void register_fsx_commands(CLI::App& app) {
  {
    auto a = std::make_shared<FsxArgs>();
    CLI::App* c = app.add_subcommand(
        "fsx", "randomized file exerciser (after fstests' fsx): read, write, truncate, mmap read/write, fsync, "
               "fdatasync, close/reopen, optional O_DIRECT, every byte checked against a shadow copy; exit 1 on a "
               "mismatch with the op log and a hex dump");
    c->add_option("FILE", a->file, "the file to create and exercise (truncated at start)")->required();
    c->add_option("-N,--ops", a->opts.num_ops, "number of operations")->capture_default_str();
    c->add_option("--seed", a->seed, "PRNG seed (default: random, printed; the same seed replays the run)");
    c->add_option("--maxlen", a->opts.maxlen, "longest read/write in bytes, K/M/G suffixes (e.g. 64K)")
        ->transform(size_bytes())
        ->capture_default_str();
    c->add_option("--file-size-max", a->opts.file_size_max, "writes and truncates stay below this size")
        ->transform(size_bytes())
        ->capture_default_str();
    c->add_flag("--no-mmap", a->no_mmap, "no mapped reads/writes");
    c->add_flag("--direct", a->opts.direct, "also O_DIRECT reads/writes (left out if open gives EINVAL)");
    c->add_option("--direct-align", a->direct_align, "O_DIRECT alignment (default: the file's st_blksize)")
        ->transform(size_bytes());
    c->add_option("--log", a->opts.log_size, "ops kept for the failure report")->capture_default_str();
    c->add_option("--progress", a->opts.progress_every, "a progress line every N ops (0: none)")
        ->capture_default_str();
    c->add_flag("--drop-caches", a->opts.drop_caches,
                "check the file again after close, sync and echo 3 > /proc/sys/vm/drop_caches");
    c->add_flag("--json", a->json, "a JSON summary on stdout (counts per op)");
    c->footer("Example: mpagectl fsx /mnt/a/fsx.dat -N 50000 --seed 42 --direct --drop-caches");
    c->callback([a] { run_fsx(*a); });
  }
  {
    auto a = std::make_shared<WorkloadArgs>();
    std::string names;
    for (const auto& n : workload::names()) names += (names.empty() ? "" : ", ") + n;
    CLI::App* c = app.add_subcommand(
        "workload", "run a named workload in DIR and report what was done (files, bytes, ops, fsyncs, elapsed, "
                    "sha256 of each file): " + names);
    c->add_option("NAME", a->p.name, "workload: " + names)->required();
    c->add_option("DIR", a->p.dir, "existing directory to work in")->required();
    c->add_option("--size", a->p.size, "file size, K/M/G suffixes (many-small-files: largest file); default per "
                                      "workload")
        ->transform(size_bytes());
    c->add_option("--count", a->p.count, "number of files (default 1; many-small-files 100)");
    c->add_option("--chunk", a->p.chunk, "bytes per write, K/M/G suffixes (rand/sparse: the slot size)")
        ->transform(size_bytes())
        ->capture_default_str();
    c->add_option("--seed", a->p.seed, "seed of offsets, sizes and data")->capture_default_str();
    c->add_option("--first", a->p.first,
                  "index of the first file: files N..N+count-1 of one run of N+count files (the same names, "
                  "sizes and data), to cut a run into batches")
        ->capture_default_str();
    c->add_flag("--no-fsync", a->no_fsync, "do not fsync the files and the directory");
    c->add_flag("--json", a->json, "JSON report on stdout");
    c->callback([a] { run_workload(*a); });
  }
}

}  // namespace mpagefs
