// cli.hpp - how mpagectl's subcommand groups plug into the one CLI::App.
// Each tools/cmd_*.cpp defines one register_* function; mpagectl.cpp calls
// them all.  A subcommand's callback throws mpagefs::CliExit to end with a
// given exit status (after printing its own message).
#pragma once

#include <CLI/CLI.hpp>

namespace mpagefs {

struct CliExit {
  int status;
};

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
