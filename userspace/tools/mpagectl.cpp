// mpagectl - format images, capture and explain block traces, check them.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "mpagefs/cli.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"mpagectl: the mpagefs lab's image, trace and check tool"};
  app.require_subcommand(1);
  mpagefs::register_format_commands(app);
  mpagefs::register_trace_commands(app);
  mpagefs::register_fsx_commands(app);
  // Invoked as mkfs.mpagefs (a link to mpagectl): the same as "mpagectl mkfs".
  std::vector<char*> args(argv, argv + argc);
  static char mkfs_arg[] = "mkfs";
  const std::string_view self = argc > 0 ? argv[0] : "";
  if (self.substr(self.rfind('/') + 1) == "mkfs.mpagefs") args.insert(args.begin() + 1, mkfs_arg);
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
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
