// cmd_bench.cpp - mpagectl bench-io (timed I/O on a file or device, JSON
// report) and mpagectl trace-synth (a synthetic blktrace capture of N
// events, for timing decoders).  Used by `make bench` (tests/bench/).
// Bad parameters are usage errors (exit 2), checked before any I/O.
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "exercise/sys/bench_io.hpp"
#include "mpagefs/exercise/bench.hpp"
#include "mpagefs/trace/trace_writer.hpp"
#include "trace/sys/trace_files.hpp"

namespace mpagefs {

namespace {

struct BenchIoArgs {
  bench::IoParams p;
  bool no_fsync = false;
};

void run_bench_io(BenchIoArgs& a) {
  bench::IoParams p = a.p;
  p.fsync = !a.no_fsync;
  parse_arg([&] { bench::validate(p); });
  std::cout << bench::to_json(bench::run_io(p)).dump() << '\n';
}

struct SynthArgs {
  std::string prefix;
  uint64_t events = 1000000;
  uint32_t cpus = 2;
  uint32_t bio_sectors = 256;
};

void run_synth(const SynthArgs& a) {
  bench::SynthTrace synth = parse_arg([&] { return bench::SynthTrace(a.events, a.cpus, a.bio_sectors); });
  blktrace::TraceWriter w(a.prefix);
  for (blktrace::Event ev; synth.next(ev);) w.write(ev);
  w.close();
  std::cerr << "mpagectl trace-synth: " << synth.produced() << " events in " << w.files().size() << " files "
            << a.prefix << ".blktrace.N\n";
}

}  // namespace

void register_bench_commands(CLI::App& app) {
  {
    auto a = std::make_shared<BenchIoArgs>();
    CLI::App* c = app.add_subcommand(
        "bench-io", "timed I/O on a file or block device, one JSON line on stdout: seq-read (to EOF or --bytes), "
                    "seq-write (--bytes, then fsync, timed together), rand-read (--ops reads at random "
                    "block-aligned offsets, --threads threads at queue depth 1 each)");
    c->add_option("OP", a->p.op, "seq-read | seq-write | rand-read")->required();
    c->add_option("PATH", a->p.path, "file or block device")->required();
    c->add_option("--block", a->p.block, "bytes per request (K/M/G suffixes)")
        ->transform(size_bytes())
        ->capture_default_str();
    c->add_option("--bytes", a->p.bytes, "bytes to transfer, K/M/G suffixes (seq-read: 0 = to end of file)")
        ->transform(size_bytes())
        ->capture_default_str();
    c->add_option("--ops", a->p.ops, "rand-read: number of reads");
    c->add_option("--threads", a->p.threads, "rand-read: threads")->capture_default_str();
    c->add_flag("--direct", a->p.direct, "O_DIRECT (buffer and requests must suit the device's alignment)");
    c->add_flag("--no-fsync", a->no_fsync, "seq-write: no fsync at the end");
    c->add_option("--seed", a->p.seed, "rand-read: seed of the offsets")->capture_default_str();
    c->footer("Example: mpagectl bench-io rand-read /mnt/a/big --block 4K --ops 2000 --threads 4");
    c->callback([a] { run_bench_io(*a); });
  }
  {
    auto a = std::make_shared<SynthArgs>();
    CLI::App* c = app.add_subcommand(
        "trace-synth", "write a synthetic blktrace capture (Q G I D C per bio of a sequential read, two CPUs) of "
                       "N events in blktrace's file format, for timing decoders (blkparse reads it too)");
    c->add_option("-o,--output", a->prefix, "output PREFIX: files PREFIX.blktrace.<cpu> (as trace -o)")->required();
    c->add_option("--events", a->events, "number of events")->capture_default_str();
    c->add_option("--cpus", a->cpus, "per-CPU files")->capture_default_str();
    c->add_option("--bio-sectors", a->bio_sectors, "sectors per bio")->capture_default_str();
    c->callback([a] { run_synth(*a); });
  }
}

}  // namespace mpagefs
