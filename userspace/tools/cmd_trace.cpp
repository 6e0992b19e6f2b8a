// cmd_trace.cpp - mpagectl trace, decode, explain, check: capturing block
// events through the kernel's blktrace interface and reading them back in
// filesystem terms.  Errors propagate as exceptions (run_cli prints them:
// UsageError exit 2, others exit 3); check ends with CliExit{1} when a rule
// fails; trace -- CMD exits with CMD's status when CMD fails.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.hpp"
#include "exit_codes.hpp"
#include "image/sys/owner_map_loader.hpp"
#include "mpagefs/control/control.hpp"
#include "mpagefs/image/image.hpp"
#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/trace/check.hpp"
#include "mpagefs/trace/explain.hpp"
#include "mpagefs/trace/explain_stream.hpp"
#include "mpagefs/util/out_buffer.hpp"
#include "trace/sys/capture.hpp"
#include "trace/sys/trace_files.hpp"
#include "trace/sys/tracefs.hpp"
#include "util/sys/fd_sink.hpp"
#include "util/sys/files.hpp"

namespace mpagefs {

namespace {

namespace bt = blktrace;

struct TraceArgs {
  bt::CaptureOptions opts;
  uint32_t buffer_kib = bt::CaptureOptions{}.buf_size / 1024;  // -b, blktrace's unit
  std::vector<std::string> command;
  std::string gb_trace;             // --gb-trace FILE: mpagefs tracepoints too
  tracefs::Options gb_opts;
};

void run_trace(const TraceArgs& a) {
  std::unique_ptr<tracefs::EventTrace> events;
  if (!a.gb_trace.empty()) events = std::make_unique<tracefs::EventTrace>(a.gb_opts);
  bt::CaptureOptions opts = a.opts;
  opts.buf_size = a.buffer_kib * 1024;  // at most 4 GiB - 1 KiB: the option's range
  const auto r = bt::capture(opts, a.command, std::cerr);
  if (events) {
    const auto g = events->finish(a.gb_trace);
    std::cerr << "mpagectl trace: " << g.records << " mpagefs events in " << a.gb_trace << " (from "
              << events->root() << "/trace)\n";
    if (g.lost != 0) {
      std::cerr << "mpagectl trace: ERROR: the ftrace ring buffer lost " << g.lost
                << " events; the get_block trace is incomplete: use a larger --gb-buffer-size\n";
      if (!r.ran_command || r.command_status == 0) throw CliExit{kExitRuntime};
    }
  }
  std::cerr << "mpagectl trace: " << r.events << " events, " << r.bytes << " bytes in "
            << bt::normalize_prefix(a.opts.prefix) << ".blktrace.{0.." << (r.files.empty() ? 0 : r.files.size() - 1)
            << "}, " << r.dropped << " dropped\n";
  // CMD's status when it failed (any value: 1, 2, 3 too), else ours.
  int status = r.ran_command ? r.command_status : kExitOk;
  if (r.dropped != 0) {
    std::cerr << "mpagectl trace: ERROR: the kernel dropped " << r.dropped
              << " events (relay buffers full); the trace is incomplete: use a larger -b/--buffer-size or "
                 "-n/--num-sub-buffers\n";
    if (status == kExitOk) status = kExitRuntime;
  }
  if (status != kExitOk) throw CliExit{status};
}

struct DecodeArgs {
  std::string prefix;
  std::string actions;
  bool json = false;
};

void run_decode(const DecodeArgs& a) {
  const auto codes = parse_arg([&] { return bt::parse_action_filter(a.actions); });
  const auto reader = bt::open_trace(a.prefix);
  FdSink sink(STDOUT_FILENO);
  OutBuffer out(sink);
  const uint64_t n = bt::decode(*reader, codes, a.json, out);
  out.flush();
  if (!a.json) std::cerr << "mpagectl decode: " << n << " events\n";
}

struct ExplainArgs {
  std::string image;
  std::string prefix;
  std::string gb_trace;
  std::string file;
  std::string actions = "Q";
  bool json = false;
  bool notation = false;
};

void run_explain(const ExplainArgs& a) {
  const std::string file = a.file.empty() ? "" : explain::normalize_path(a.file);
  if (a.notation && file.empty()) throw UsageError("--notation needs --file PATH");
  const auto codes = parse_arg([&] { return bt::parse_action_filter(a.actions); });
  const BlockOwnerMap map = load_owner_map(a.image);
  // --gb-trace: which get_block calls mapped each bio's blocks.
  std::vector<control::TraceRecord> records;
  if (!a.gb_trace.empty()) records = control::parse_trace(read_file(a.gb_trace));
  explain::StreamOptions o{codes, file, a.json, a.notation, a.gb_trace.empty() ? nullptr : &records};
  const auto reader = bt::open_trace(a.prefix);
  FdSink sink(STDOUT_FILENO);
  OutBuffer out(sink);
  explain::explain_trace(map, *reader, o, out);
  out.flush();
}

struct CheckArgs {
  std::string image;
  std::string prefix;
  std::string file;
  std::string actions = "Q";
  std::string expect_order;
  std::optional<uint64_t> max_bios, max_bio_kib, min_bio_kib;
  bool json = false;
};

void run_check(const CheckArgs& a) {
  check::Rules rules;
  if (!a.expect_order.empty()) {
    rules.expect_order = parse_arg([&] { return check::parse_expect_order(a.expect_order); });
    rules.expect_order_text = a.expect_order;
  }
  const auto codes = parse_arg([&] { return bt::parse_action_filter(a.actions); });
  rules.max_bios = a.max_bios;
  rules.max_bio_kib = a.max_bio_kib;
  rules.min_bio_kib = a.min_bio_kib;
  const BlockOwnerMap map = load_owner_map(a.image);
  const auto events = bt::read_events(a.prefix, codes);
  const auto report = check::run_checks(events, map, a.file, rules);
  if (a.json)
    std::cout << check::to_json(report).dump(2) << '\n';
  else
    std::cout << check::format_report(report);
  if (!report.ok()) throw CliExit{kExitCheckFailed};
}

}  // namespace

void register_trace_commands(CLI::App& app) {
  {
    auto args = std::make_shared<TraceArgs>();
    CLI::App* c = app.add_subcommand(
        "trace", "capture block events on a device (kernel blktrace ioctls + debugfs relay files) while a "
                 "command runs, or until SIGINT/SIGTERM; writes PREFIX.blktrace.N like blktrace");
    c->add_option("-d,--dev", args->opts.device, "block device to trace, e.g. /dev/vdc (blktrace's -d)")->required();
    c->add_option("-o,--output", args->opts.prefix, "output PREFIX: files PREFIX.blktrace.<cpu> (blktrace's -o)")
        ->required();
    c->add_option("-b,--buffer-size", args->buffer_kib,
                  "relay sub-buffer size in KiB, or with a K/M/G suffix (blktrace's -b)")
        ->transform(size_kib())
        ->check(CLI::Range(1U, UINT32_MAX / 1024))
        ->capture_default_str();
    c->add_option("-n,--num-sub-buffers", args->opts.buf_nr, "relay sub-buffers per CPU (blktrace's -n)")
        ->check(CLI::Range(1U, UINT32_MAX))
        ->capture_default_str();
    c->add_option("-r,--debugfs", args->opts.debugfs, "debugfs mount point (blktrace's -r)")->capture_default_str();
    c->add_option("-w,--stopwatch", args->opts.stopwatch_s,
                  "stop after SECONDS (blktrace's -w); with CMD, CMD gets SIGINT then and its status is ours")
        ->check(CLI::Range(1U, UINT32_MAX));
    c->add_option("CMD", args->command, "command to trace (after --); if it fails, its exit status is ours");
    c->add_option("--gb-trace", args->gb_trace,
                  "also record mpagefs's tracepoints (tracefs events/mpagefs) to FILE, as ftrace prints them");
    c->add_option("--gb-buffer-size", args->gb_opts.buffer_kb,
                  "per-CPU ftrace ring buffer size while tracing, in KiB (as ftrace's buffer_size_kb) or with a "
                  "K/M/G suffix (default: as configured)")
        ->transform(size_kib())
        ->check(CLI::Range(1U, UINT32_MAX));
    c->add_option("--tracefs", args->gb_opts.root, "tracefs mount point (default: /sys/kernel/tracing)");
    c->footer("Example: mpagectl trace -d /dev/vdc -o /out/f17 --gb-trace /out/f17.gb -- cat /mnt/f17");
    c->callback([args] { run_trace(*args); });
  }
  {
    auto args = std::make_shared<DecodeArgs>();
    CLI::App* c = app.add_subcommand("decode", "print a blktrace capture one event per line (blkparse's layout) or as JSON lines");
    c->add_option("PREFIX", args->prefix, "trace PREFIX (or PREFIX.blktrace.N)")->required();
    c->add_flag("--json", args->json, "JSON lines");
    c->add_option("--actions", args->actions, "only these actions, e.g. QDC or Q,UT (default: all)");
    c->callback([args] { run_decode(*args); });
  }
  {
    auto args = std::make_shared<ExplainArgs>();
    CLI::App* c = app.add_subcommand("explain", "map each event's sectors to the image's files and metadata");
    c->add_option("IMAGE", args->image, "the traced filesystem image or device (mpagefs or ext2)")->required();
    c->add_option("PREFIX", args->prefix, "trace PREFIX (or PREFIX.blktrace.N)")->required();
    c->add_option("--file", args->file, "only bios touching this file, and its notation");
    c->add_option("--gb-trace", args->gb_trace,
                  "mpagefs tracepoint text (mpagectl trace --gb-trace, or tracefs's trace file): show the "
                  "get_block calls that mapped each bio's blocks (joined by disk block and order)");
    c->add_option("--actions", args->actions, "actions to explain")->capture_default_str();
    c->add_flag("--json", args->json, "JSON Lines: one object per event, then a summary object");
    c->add_flag("--notation", args->notation,
                "print only the mpage.c comment notation for --file: the file's blocks numbered from its "
                "lowest disk block, one [] per bio in submission order");
    c->callback([args] { run_explain(*args); });
  }
  {
    auto args = std::make_shared<CheckArgs>();
    CLI::App* c = app.add_subcommand("check", "assert I/O patterns for one file (exit 0: all pass, 1: failures, 2: usage, 3: cannot read "
                                     "the image or trace)");
    c->add_option("IMAGE", args->image, "the traced filesystem image or device (mpagefs or ext2)")->required();
    c->add_option("PREFIX", args->prefix, "trace PREFIX (or PREFIX.blktrace.N)")->required();
    c->add_option("--file", args->file, "the file whose bios are checked")->required();
    c->add_option("--actions", args->actions, "actions to check")->capture_default_str();
    c->add_option("--expect-order", args->expect_order,
                  "bios in order: ',' between bios, '+' between segments of one bio, segment KIND[:a[-b]] "
                  "(data dir IND DIND TIND itable super gdt bbitmap ibitmap free), e.g. data:0-11,IND,data:12-16");
    c->add_option("--max-bios", args->max_bios, "at most N bios touch the file");
    c->add_option("--max-bio-kib", args->max_bio_kib, "no file bio larger than N KiB");
    c->add_option("--min-bio-kib", args->min_bio_kib, "no data bio smaller than N KiB (except the file's tail)");
    c->add_flag("--json", args->json, "JSON report");
    c->footer("Always checked: no bio crosses a discontinuity, no I/O to holes/free blocks, each data block read once.");
    c->callback([args] { run_check(*args); });
  }
}

}  // namespace mpagefs
