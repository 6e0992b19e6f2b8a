// fsck_args.hpp - the command line of fsck.mpagefs (mpagectl run under that
// name by fsck(8)).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mpagefs {

// fsck.mpagefs's command line as fsck(8) passes it, with e2fsck's flags:
// -n check only (the default), -y / -p / -a repair (-p and -a quietly),
// -f force (every check is full: accepted), -v / -V accepted, -C FD
// progress (not drawn), flags combinable ("-fy"); plus --json.
struct FsckCommandLine {
  std::string image;
  bool repair = false;
  bool quiet = false;
  bool json = false;
};
// `args` without the program name; nullopt for a usage error (exit 16):
// an unknown flag, no or two devices, -n with a repair flag.
std::optional<FsckCommandLine> parse_fsck_command_line(const std::vector<std::string>& args);

}  // namespace mpagefs
