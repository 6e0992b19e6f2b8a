// cmd_mutate.cpp - mpagectl mutate: seeded, replayable corruption of an
// mpagefs image or device for the hostile-image tests (src/mutate.cpp).
// Exit 0, 2 for bad arguments, 3 when the image cannot be read or is not a
// valid mpagefs image (run_cli).
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.hpp"
#include "exit_codes.hpp"
#include "image/sys/file_blockio.hpp"
#include "mpagefs/image/mutate.hpp"

namespace mpagefs {

namespace {

using nlohmann::json;

struct MutateArgs {
  std::string image;
  uint64_t seed = 0;
  unsigned count = 1;
  bool json_out = false;
  bool dry_run = false;
};

int run_mutate(const MutateArgs& a) {
  FileBlockIo dev(a.image, a.dry_run ? FileBlockIo::Mode::ReadOnly : FileBlockIo::Mode::ReadWrite);
  const MutationPlan plan =
      a.dry_run ? plan_mutations(dev, a.seed, a.count) : mutate_image(dev, a.seed, a.count);
  if (a.json_out) {
    json j = to_json(plan);
    j["image"] = a.image;
    j["seed"] = a.seed;
    j["count"] = a.count;
    j["written"] = !a.dry_run;
    std::cout << j.dump(2) << "\n";
  } else {
    for (const Mutation& m : plan.mutations)
      std::printf("seed %llu: %s\n", static_cast<unsigned long long>(a.seed),
                  m.describe().c_str());
  }
  return kExitOk;
}

}  // namespace

void register_mutate_commands(CLI::App& app) {
  auto args = std::make_shared<MutateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "mutate", "corrupt a valid mpagefs image on purpose (seeded, replayable: the same seed "
                "makes the same change), printing what was changed");
  cmd->add_option("IMAGE", args->image, "image file or block device (modified in place)")
      ->required();
  cmd->add_option("--seed", args->seed, "seed of the mutation choice")->required();
  cmd->add_option("--count", args->count, "mutations to make (default 1)")
      ->check(CLI::Range(1U, 1000U));
  cmd->add_flag("--json", args->json_out, "JSON output");
  cmd->add_flag("--dry-run,-n", args->dry_run, "print the mutations, write nothing");
  cmd->callback([args] { throw CliExit{run_mutate(*args)}; });
}

}  // namespace mpagefs
