// fsck_args.cpp - the e2fsck-style command line fsck(8) gives fsck.TYPE.
#include "fsck_args.hpp"

namespace mpagefs {

std::optional<FsckCommandLine> parse_fsck_command_line(const std::vector<std::string>& args) {
  FsckCommandLine c;
  bool no_change = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      c.json = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (!c.image.empty()) return std::nullopt;
      c.image = arg;
      continue;
    }
    for (size_t k = 1; k < arg.size(); ++k) {
      switch (arg[k]) {
        case 'n': no_change = true; break;
        case 'y': c.repair = true; break;
        case 'p': case 'a': c.repair = true; c.quiet = true; break;
        case 'f': case 'v': case 'V': break;
        case 'C':  // "-C0" or "-C 0"
          if (k + 1 == arg.size() && ++i >= args.size()) return std::nullopt;
          k = arg.size();
          break;
        default: return std::nullopt;
      }
    }
  }
  if (c.image.empty() || (no_change && c.repair)) return std::nullopt;
  return c;
}

}  // namespace mpagefs
