// mpagectl - format images, capture and explain block traces, check them.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "mpagefs/cli.hpp"
#include "mpagefs/fsck.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"mpagectl: the mpagefs lab's image, trace, check and control tool"};
  app.require_subcommand(1);
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
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    // fsck's usage errors exit 16, as fsck(8) expects.
    if (status != 0 && args.size() > 1 && std::string_view(args[1]) == "fsck")
      return mpagefs::kFsckUsage;
    return status;
  } catch (const mpagefs::CliExit& e) {
    return e.status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpagectl: %s\n", e.what());
    return 1;
  }
  return 0;
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
  return 1;
}
