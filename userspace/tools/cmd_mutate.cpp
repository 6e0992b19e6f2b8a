// cmd_mutate.cpp - mpagectl mutate: seeded, replayable corruption of an
// mpagefs image or device for the hostile-image tests (src/mutate.cpp).
// Exit 0, 2 for bad arguments, 3 when the image cannot be read or is not a
// valid mpagefs image (run_cli).
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "mpagefs/cli.hpp"
#include "mpagefs/exit_codes.hpp"
#include "mpagefs/mutate.hpp"

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
    json j{{"image", a.image}, {"seed", a.seed}, {"count", a.count}, {"written", !a.dry_run}};
    j["mutations"] = json::array();
    for (const Mutation& m : plan.mutations)
      j["mutations"].push_back(json{{"kind", m.kind}, {"structure", m.structure},
                                    {"field", m.field}, {"offset", m.offset}, {"width", m.width},
                                    {"old", m.old_value}, {"new", m.new_value},
                                    {"crc_recomputed", m.crc_recomputed},
                                    {"detectable", m.detectable}, {"note", m.note},
                                    {"description", m.describe()}});
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
