// cli.hpp - how mpagectl's subcommand groups plug into the one CLI::App, and
// how a run ends with an exit status (exit_codes.hpp).
// Each tools/cmd_*.cpp defines one register_* function; mpagectl.cpp calls
// them all and run_cli().  A subcommand's callback ends the run by returning
// (exit 0), by throwing CliExit{status} (after printing its own message), by
// throwing UsageError (exit 2), or by letting any other std::exception out
// (a runtime error: exit 3).  run_cli prints "mpagectl: what()" for the last
// two.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <stdexcept>
#include <utility>

#include "exit_codes.hpp"

namespace mpagefs {

struct CliExit {
  int status;
};

// A usage problem CLI11's parser cannot see: options that need each other,
// an unknown scenario name, a malformed value.  Exit kExitUsage, as for
// CLI11's own parse errors.
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Returns fn(), turning the std::invalid_argument the library's parsers throw
// for malformed text (parse_action_filter, parse_expect_order,
// control's ArgError ...) into a UsageError.  Only around the parsing of
// command-line values: elsewhere std::invalid_argument is a runtime error.
template <class F>
decltype(auto) parse_arg(F&& fn) {
  try {
    return std::forward<F>(fn)();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

// Size options (the convention of README.md, "Command line"): a number with
// an optional K, M, G, T suffix (KiB, MiB, GiB, TiB; "KB", "KiB", "k" alike),
// through CLI11's AsSizeValue, so a malformed size is a parse error (exit 2).
// size_bytes(): a plain number is bytes (mkfs --size, fsx --maxlen ...).
// size_kib(): a plain number is KiB, as blktrace's -b and ftrace's
// buffer_size_kb; the value is in KiB, a suffix scales it ("4M" = 4096).
CLI::Validator size_bytes();
CLI::Validator size_kib();

// The statuses run_cli gives usage and runtime errors: kExitUsage and
// kExitRuntime, except for fsck (fsck(8)'s 16 and 8).
struct ExitStatuses {
  int usage = kExitUsage;
  int runtime = kExitRuntime;
};

// Parses argv (argv[0]: the program) and runs the chosen subcommand; returns
// the exit status: 0 (also for --help and --version, printed on `out`),
// statuses.usage for a CLI11 parse error (its message and hint on `err`) or a
// UsageError, CliExit's status, statuses.runtime for any other exception.
int run_cli(CLI::App& app, int argc, const char* const* argv, ExitStatuses statuses = {},
            std::ostream& out = std::cout, std::ostream& err = std::cerr);

void register_format_commands(CLI::App& app);   // mkfs, dump (cmd_format.cpp)
void register_trace_commands(CLI::App& app);    // trace, decode, explain, check (cmd_trace.cpp)
void register_fsck_commands(CLI::App& app);     // fsck (cmd_fsck.cpp)
// mpagectl run as fsck.mpagefs, with e2fsck's flags (cmd_fsck.cpp).
int fsck_main(int argc, char** argv);
void register_fsx_commands(CLI::App& app);      // fsx, workload (cmd_fsx.cpp)
// mounts, stats, reset, set, inject, faults, clear (cmd_control.cpp)
void register_control_commands(CLI::App& app);
void register_scenario_commands(CLI::App& app); // scenario list|run (cmd_scenario.cpp)
void register_bench_commands(CLI::App& app);    // bench-io, trace-synth (cmd_bench.cpp)
void register_mutate_commands(CLI::App& app);   // mutate (cmd_mutate.cpp)

}  // namespace mpagefs
