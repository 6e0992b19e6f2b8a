// cmd_fsck.cpp - mpagectl fsck, and the fsck.mpagefs name fsck(8) runs.
// Exit status as e2fsck's: 0 clean, 1 errors corrected, 4 errors left,
// 8 operational error (cannot open or read, not mpagefs), 16 usage error.
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fsck_args.hpp"
#include "image/sys/file_blockio.hpp"
#include "mpagefs/fsck/fsck.hpp"

namespace mpagefs {

namespace {

using nlohmann::json;

struct FsckArgs {
  std::string image;
  bool repair = false;
  bool json_out = false;
  bool quiet = false;  // fsck.mpagefs -p/-a: only what was wrong
};

// The result's JSON (fsck/fsck.hpp) with what only the command knows.
json result_json(const FsckArgs& a, const FsckResult& r) {
  json j = to_json(r);
  j["image"] = a.image;
  j["repair"] = a.repair;
  return j;
}

void print_result(const FsckArgs& a, const FsckResult& r) {
  for (const Finding& f : r.findings)
    std::printf("%s%s: %s%s\n", f.pass > 1 ? fmt::format("pass {}: ", f.pass).c_str() : "",
                std::string(to_string(f.kind)).c_str(), f.message.c_str(),
                f.fixable ? "" : " (not repairable)");
  const char* state = r.findings.empty()  ? "clean"
                      : r.remaining.empty() ? "repaired, now clean"
                      : r.repaired          ? "errors left after repair"
                                            : "errors found";
  if (a.quiet && r.findings.empty()) return;
  std::printf("%s: %s", a.image.c_str(), state);
  if (r.stats.blocks_used != 0)  // 0: the check stopped before counting
    std::printf(", %u/%u inodes, %llu/%llu blocks", r.stats.inodes_used, r.stats.inodes_count,
                static_cast<unsigned long long>(r.stats.blocks_used),
                static_cast<unsigned long long>(r.stats.blocks_count));
  if (!r.findings.empty())
    std::printf(" (%zu finding%s, %zu left)", r.findings.size(),
                r.findings.size() == 1 ? "" : "s", r.remaining.size());
  std::printf("\n");
}

// Runs the check; every failure to get at the image is an operational error.
int run_fsck(const FsckArgs& a) {
  FsckResult r;
  try {
    FileBlockIo dev(a.image, a.repair ? FileBlockIo::Mode::ReadWrite : FileBlockIo::Mode::ReadOnly);
    r = fsck(dev, FsckOptions{a.repair});
  } catch (const std::exception& e) {
    if (a.json_out)
      std::cout << json{{"image", a.image}, {"exit_code", kFsckOperational}, {"error", e.what()}}
                       .dump(2)
                << "\n";
    std::fprintf(stderr, "fsck.mpagefs: %s: %s\n", a.image.c_str(), e.what());
    return kFsckOperational;
  }
  if (a.json_out)
    std::cout << result_json(a, r).dump(2) << "\n";
  else
    print_result(a, r);
  return r.exit_code();
}

}  // namespace

void register_fsck_commands(CLI::App& app) {
  auto args = std::make_shared<FsckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fsck", "check an mpagefs image (exit 0 clean, 1 repaired, 4 errors left, 8 cannot "
              "check, 16 usage)");
  cmd->add_option("IMAGE", args->image, "image file or block device")->required();
  cmd->add_flag("--repair,-y", args->repair,
                "fix bitmaps, free counts, link counts, bad entries and pointers; orphans are "
                "freed");
  cmd->add_flag("--json", args->json_out, "JSON output");
  cmd->callback([args] { throw CliExit{run_fsck(*args)}; });
}

int fsck_main(int argc, char** argv) {
  const auto c = parse_fsck_command_line(std::vector<std::string>(argv + 1, argv + argc));
  if (!c) {
    std::fprintf(stderr, "usage: fsck.mpagefs [-n] [-y|-p|-a] [-f] [-v] [-C fd] [--json] DEVICE\n");
    return kFsckUsage;
  }
  return run_fsck(FsckArgs{c->image, c->repair, c->json, c->quiet});
}

}  // namespace mpagefs
