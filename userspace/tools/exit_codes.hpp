// exit_codes.hpp - mpagectl's exit statuses, one convention for every
// subcommand (README.md, "Exit codes"):
//   0  success
//   1  a check ran and found a difference: check, scenario run, fsx
//   2  usage error: unknown subcommand or flag, missing or invalid argument
//   3  runtime error: cannot open or read a file or device, bad input,
//      netlink failure, module not loaded, permission denied ...
// Two commands keep their own convention: fsck (fsck(8)'s bits, fsck.hpp:
// kFsck*) and `trace -- CMD`, whose status is CMD's when CMD fails.
#pragma once

namespace mpagefs {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRuntime = 3;

}  // namespace mpagefs
