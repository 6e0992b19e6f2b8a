// cmd_scenario.cpp - mpagectl scenario list|run: the fs/mpage.c scenario
// suite (scenario.hpp).  `run` ends with CliExit{1} when a check fails and
// CliExit{3} when a scenario could not run (its error: no device, no module,
// the trace lost events ...); an unknown name is a usage error, found before
// anything touches the device.  `exec` is the traced child of a run (not for
// direct use).
#include <unistd.h>

#include <climits>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.hpp"
#include "exit_codes.hpp"
#include "mpagefs/scenario/scenario.hpp"
#include "scenario/sys/scenario_runner.hpp"

namespace mpagefs {

namespace {

namespace sc = scenario;

std::string self_exe() {
  std::vector<char> buf(PATH_MAX + 1, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), PATH_MAX);
  if (n <= 0) throw std::runtime_error("cannot resolve /proc/self/exe");
  return {buf.data(), static_cast<size_t>(n)};
}

void run_list(bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& s : sc::all()) j.push_back(sc::to_json(s));
    std::cout << j.dump(2) << '\n';
    return;
  }
  for (const auto& s : sc::all()) {
    std::cout << s.name << " (" << s.side << ", " << s.mkfs.block_size / 1024 << " KiB blocks"
              << (s.mount_options.empty() ? "" : ", " + s.mount_options) << ")\n"
              << "    " << s.summary << "\n    mpage.c: " << s.target << "\n";
  }
}

void run_paths(bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& p : sc::kernel_paths()) j.push_back(sc::to_json(p));
    std::cout << j.dump(2) << '\n';
    return;
  }
  for (const auto& p : sc::kernel_paths()) {
    std::cout << p.path << "\n    only on:";
    for (const auto& k : p.kernels) std::cout << ' ' << k;
    std::cout << "\n    shown by:";
    if (p.scenarios.empty()) std::cout << " (no scenario)";
    for (const auto& s : p.scenarios) std::cout << ' ' << s;
    std::cout << "\n    " << p.why << '\n';
  }
}

struct RunArgs {
  std::vector<std::string> names;
  bool all = false;
  bool json = false;
  sc::RunOptions opts;
};

void print_text(const sc::RunResult& r) {
  std::cout << (r.passed ? "PASS " : "FAIL ") << r.name << " (" << static_cast<int>(r.seconds * 10) / 10.0 << " s)\n";
  if (!r.error.empty()) std::cout << "    error: " << r.error << '\n';
  auto bios = [](const char* dir, const std::vector<std::string>& v) {
    if (v.empty()) return;
    std::cout << "    " << dir << " bios:";
    for (const auto& b : v) std::cout << " [" << b << ']';
    std::cout << '\n';
  };
  bios("R", r.bios_read);
  bios("W", r.bios_write);
  for (const auto& v : r.verdicts)
    if (!v.passed) std::cout << "    FAILED " << v.check << ": " << v.message << '\n';
}

void run_run(RunArgs& a) {
  std::vector<const sc::Scenario*> chosen;
  if (a.all) {
    if (!a.names.empty()) throw UsageError("give scenario names or --all, not both");
    for (const auto& s : sc::all()) chosen.push_back(&s);
  }
  for (const auto& n : a.names) {
    const auto* s = sc::find(n);
    if (!s) throw UsageError("no scenario named '" + n + "' (see mpagectl scenario list)");
    chosen.push_back(s);
  }
  if (chosen.empty()) throw UsageError("give scenario names or --all");
  a.opts.self_exe = self_exe();
  nlohmann::json j;
  j["scenarios"] = nlohmann::json::array();
  int failed = 0;
  int errors = 0;  // failed because the run itself failed, not a check
  for (const auto* s : chosen) {
    const auto r = sc::run_scenario(*s, a.opts, std::cerr);
    if (!r.passed) ++failed;
    if (!r.error.empty()) ++errors;
    if (a.json)
      j["scenarios"].push_back(sc::to_json(r));
    else
      print_text(r);
  }
  if (a.json) {
    j["passed"] = static_cast<int>(chosen.size()) - failed;
    j["failed"] = failed;
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << chosen.size() - static_cast<size_t>(failed) << " passed, " << failed << " failed\n";
  }
  if (errors != 0) {
    std::cerr << "mpagectl: scenario run: " << errors << " scenario" << (errors == 1 ? "" : "s")
              << " could not run (see its error in the report)\n";
    throw CliExit{kExitRuntime};
  }
  if (failed != 0) throw CliExit{kExitCheckFailed};
}

struct ExecArgs {
  std::string name, mnt, dev, result;
};

void run_exec(const ExecArgs& a) {
  const auto* s = sc::find(a.name);
  if (!s) throw UsageError("no scenario named '" + a.name + "'");
  const auto results = sc::execute_steps(s->action, a.mnt, a.dev);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : results) j.push_back(sc::to_json(r));
  std::ofstream out(a.result);
  out << j.dump() << '\n';
  if (!out.flush()) throw std::runtime_error("cannot write " + a.result);
}

}  // namespace

void register_scenario_commands(CLI::App& app) {
  CLI::App* sc_cmd = app.add_subcommand(
      "scenario", "the fs/mpage.c scenario suite: each scenario drives one path of mpage.c on purpose and "
                  "checks the bios, counters and data it expects (Documentation/mpage-paths.rst)");
  sc_cmd->require_subcommand(1);
  {
    auto json = std::make_shared<bool>(false);
    CLI::App* c = sc_cmd->add_subcommand("list", "list the scenarios, the mpage.c path each targets");
    c->add_flag("--json", *json, "JSON array");
    c->callback([json] { run_list(*json); });
  }
  {
    auto json = std::make_shared<bool>(false);
    CLI::App* c = sc_cmd->add_subcommand(
        "paths", "the mpage.c paths only some kernels have (6.1, 6.12), and the scenarios that show them");
    c->add_flag("--json", *json, "JSON array");
    c->callback([json] { run_paths(*json); });
  }
  {
    auto args = std::make_shared<RunArgs>();
    CLI::App* c = sc_cmd->add_subcommand(
        "run", "run scenarios on a scratch disk (formatted, mounted on --mnt, traced); exit 1 if a check fails, 3 if a "
               "scenario could not run");
    c->add_option("NAME", args->names, "scenario names");
    c->add_flag("--all", args->all, "every scenario");
    c->add_flag("--json", args->json, "JSON report");
    c->add_option("-d,--dev", args->opts.device, "scratch block device (overwritten)")->capture_default_str();
    c->add_option("--mnt", args->opts.mountpoint, "mount point")->capture_default_str();
    c->add_option("--work", args->opts.work_dir, "directory for the traces")->capture_default_str();
    c->footer("Example: mpagectl scenario run --all -d /dev/vdc --json");
    c->callback([args] { run_run(*args); });
  }
  {
    auto args = std::make_shared<ExecArgs>();
    CLI::App* c = sc_cmd->add_subcommand("exec", "the traced action of a run (internal)");
    c->group("");
    c->add_option("name", args->name)->required();
    c->add_option("--mnt", args->mnt)->required();
    c->add_option("-d,--dev", args->dev)->required();
    c->add_option("--result", args->result)->required();
    c->callback([args] { run_exec(*args); });
  }
}

}  // namespace mpagefs
