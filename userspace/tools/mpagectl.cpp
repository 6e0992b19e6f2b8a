// mpagectl - format images, capture and explain block traces, check them.
// Exit statuses: exit_codes.hpp (fsck: fsck(8)'s, fsck.hpp).
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "exit_codes.hpp"
#include "mpagefs/fsck/fsck.hpp"

#ifndef MPAGECTL_VERSION
#error "MPAGECTL_VERSION is set by userspace/CMakeLists.txt (project VERSION)"
#endif

namespace {

int run(int argc, char** argv) {
  CLI::App app{"mpagectl: the mpagefs lab's image, trace, check and control tool"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mpagectl " MPAGECTL_VERSION);
  mpagefs::register_format_commands(app);
  mpagefs::register_trace_commands(app);
  mpagefs::register_fsck_commands(app);
  mpagefs::register_fsx_commands(app);
  mpagefs::register_control_commands(app);
  mpagefs::register_scenario_commands(app);
  mpagefs::register_bench_commands(app);
  mpagefs::register_mutate_commands(app);
  // Invoked as mkfs.mpagefs (a link to mpagectl): the same as "mpagectl mkfs".
  std::vector<char*> args(argv, argv + argc);
  static char mkfs_arg[] = "mkfs";
  const std::string_view self = argc > 0 ? argv[0] : "";
  if (self.substr(self.rfind('/') + 1) == "mkfs.mpagefs") args.insert(args.begin() + 1, mkfs_arg);
  // As fsck.mpagefs: fsck(8)'s calling convention (-n, -y, -p, -f ...).
  if (self.substr(self.rfind('/') + 1) == "fsck.mpagefs") return mpagefs::fsck_main(argc, argv);
  // fsck's usage and operational errors exit 16 and 8, as fsck(8) expects.
  const bool fsck = args.size() > 1 && std::string_view(args[1]) == "fsck";
  return mpagefs::run_cli(app, static_cast<int>(args.size()), args.data(),
                          fsck ? mpagefs::ExitStatuses{mpagefs::kFsckUsage, mpagefs::kFsckOperational}
                               : mpagefs::ExitStatuses{});
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing may escape main: building the CLI can throw too (bad_alloc).
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpagectl: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mpagectl: unknown error\n");
  }
  return mpagefs::kExitRuntime;
}
