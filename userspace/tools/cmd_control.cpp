// cmd_control.cpp - mpagectl mounts, stats, reset, set, inject, faults,
// clear: the control plane (generic netlink family "mpagefs"); mounts,
// stats and faults only read, the verbs change.  Errors are exceptions
// with the message users see (run_cli prints it): a malformed argument is
// a UsageError (exit 2), checked before any netlink; netlink
// failures, an unknown mount, the module not loaded, EPERM exit 3.
#include <cerrno>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "control/sys/genl_client.hpp"
#include "mpagefs/control/control.hpp"

namespace mpagefs {

namespace {

using namespace mpagefs::control;

struct MountsArgs {
  bool json = false;
};

void run_mounts(const MountsArgs& a) {
  GenlClient c;
  const auto mounts = c.list_mounts();
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : mounts) j.push_back(to_json(m));
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << format_mounts(mounts);
  }
}

struct StatsArgs {
  std::string mount;
  bool json = false;
  double watch = 0;
  size_t watch_given = 0;
  uint64_t count = 0;  // 0 = forever
};

std::vector<MountStats> sample(GenlClient& c, const std::optional<MountRef>& m) {
  if (m) return {c.get_stats(*m)};
  return c.get_all_stats();
}

void run_watch(GenlClient& c, const std::optional<MountRef>& m, const StatsArgs& a) {
  const double secs = a.watch > 0 ? a.watch : 1.0;
  auto prev = sample(c, m);
  auto t0 = std::chrono::steady_clock::now();
  if (!a.json) std::cout << watch_header() << std::flush;
  for (uint64_t i = 1; a.count == 0 || i <= a.count; ++i) {
    std::this_thread::sleep_for(std::chrono::duration<double>(secs));
    auto cur = sample(c, m);
    const auto t1 = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(t1 - t0).count();
    for (const auto& s : cur) {
      MountStats d{s.dev, s.dev_name, s.stats};
      for (const auto& p : prev)
        if (p.dev == s.dev) d.stats = delta(p.stats, s.stats);
      if (a.json) {
        nlohmann::json j = to_json(d);
        j["interval"] = i;
        j["seconds"] = elapsed;
        std::cout << j.dump() << '\n';
      } else {
        std::cout << format_watch_line(d, elapsed);
      }
    }
    std::cout << std::flush;
    prev = std::move(cur);
    t0 = t1;
  }
}

void run_stats(const StatsArgs& a) {
  GenlClient c;
  std::optional<MountRef> m;
  if (!a.mount.empty()) m = c.resolve(a.mount);
  if (a.watch_given != 0) {
    run_watch(c, m, a);
    return;
  }
  const auto all = sample(c, m);
  if (a.json) {
    if (m) {
      std::cout << to_json(all.front()).dump(2) << '\n';
    } else {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& s : all) j.push_back(to_json(s));
      std::cout << j.dump(2) << '\n';
    }
    return;
  }
  if (all.empty()) std::cout << "no mpagefs mounts\n";
  for (size_t i = 0; i < all.size(); ++i) std::cout << (i ? "\n" : "") << format_stats(all[i]);
}

struct SetArgs {
  std::string mount;
  std::vector<std::string> settings;
  bool json = false;
};

void run_reset(const std::string& mount) {
  GenlClient c;
  c.reset_stats(c.resolve(mount));
  std::cout << "counters of " << mount << " reset\n";
}

void run_set(const SetArgs& a) {
  // Bad arguments first, no netlink needed.
  const PolicyChange change = parse_arg([&] { return parse_policy_args(a.settings); });
  GenlClient c;
  const MountRef m = c.resolve(a.mount);
  const Policy p = c.set_policy(m, change);
  if (a.json) std::cout << to_json(p).dump(2) << '\n';
  else std::cout << a.mount << ": " << format_policy(p) << '\n';
}

struct InjectArgs {
  std::string mount;
  std::string kind;
  std::string error;
  std::optional<uint64_t> ino;
  std::string blocks;
  std::string side;
  bool once = false;
  bool json = false;
};

// The fault the arguments describe; ArgError (a usage error) when they are bad.
Fault parse_fault(const InjectArgs& a) {
  Fault f;
  f.kind = parse_fault_kind(a.kind);
  if (f.kind == FaultKind::GetBlock) {
    if (a.error.empty()) throw ArgError("inject get_block needs --errno (EIO, ENOSPC, ... or a number)");
    f.error = parse_errno(a.error);
    if (!a.blocks.empty()) {
      const auto [first, last] = parse_block_range(a.blocks);
      f.first = first;
      f.last = last;
    }
    if (!a.side.empty()) f.side = parse_side(a.side);
  } else {
    if (!a.error.empty() || !a.blocks.empty() || !a.side.empty())
      throw ArgError("inject enospc takes only --ino and --once (--errno, --blocks and --side are for get_block)");
    f.error = ENOSPC;
  }
  f.ino = a.ino.value_or(0);
  f.once = a.once;
  return f;
}

void run_inject(const InjectArgs& a) {
  Fault f = parse_arg([&] { return parse_fault(a); });
  GenlClient c;
  const MountRef m = c.resolve(a.mount);
  f.id = c.inject(m, f);
  if (a.json) std::cout << to_json(f).dump(2) << '\n';
  else std::cout << format_fault(f) << '\n';
}

struct FaultsArgs {
  std::string mount;
  bool json = false;
};

void run_faults(const FaultsArgs& a) {
  GenlClient c;
  const auto faults = c.get_faults(c.resolve(a.mount));
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& f : faults) j.push_back(to_json(f));
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << format_faults(faults);
  }
}

struct ClearArgs {
  std::string mount;
  std::optional<uint32_t> id;
};

void run_clear(const ClearArgs& a) {
  GenlClient c;
  c.clear_faults(c.resolve(a.mount), a.id);
  std::cout << (a.id ? "fault " + std::to_string(*a.id) + " cleared" : std::string("all faults cleared")) << '\n';
}

constexpr const char* kMountHelp = "a mount point, a path inside it, or its device (vdc, /dev/vdc)";

}  // namespace

void register_control_commands(CLI::App& app) {
  {
    auto args = std::make_shared<MountsArgs>();
    CLI::App* c = app.add_subcommand("mounts", "list mpagefs mounts with their device, block size and policy");
    c->add_flag("--json", args->json, "JSON output");
    c->callback([args] { run_mounts(*args); });
  }
  {
    auto args = std::make_shared<StatsArgs>();
    CLI::App* c = app.add_subcommand(
        "stats", "get_block and I/O counters per mount, with the histogram of blocks mapped per call");
    c->add_option("MOUNT", args->mount, std::string(kMountHelp) + " (default: every mount)");
    c->add_flag("--json", args->json, "JSON output (with --watch: one JSON object per line and interval)");
    c->add_flag("--watch", args->watch, "print what changed every SECONDS (default 1): --watch or --watch=SECONDS");
    c->add_option("--count", args->count, "with --watch: stop after N intervals");
    c->callback([args, c] {
      args->watch_given = c->count("--watch");
      run_stats(*args);
    });
  }
  {
    auto mount = std::make_shared<std::string>();
    CLI::App* c =
        app.add_subcommand("reset", "zero a mount's get_block and I/O counters and histogram (CAP_SYS_ADMIN)");
    c->add_option("MOUNT", *mount, kMountHelp)->required();
    c->callback([mount] { run_reset(*mount); });
  }
  {
    auto args = std::make_shared<SetArgs>();
    CLI::App* c = app.add_subcommand(
        "set", "change a mounted filesystem's get_block policy (as the mount options do); prints the policy in force");
    c->add_option("MOUNT", args->mount, kMountHelp)->required();
    c->add_option("SETTING", args->settings, "boundary=on|off maxmap=N alloc=contig|scatter")->required();
    c->add_flag("--json", args->json, "print the policy as JSON");
    c->footer("Example: mpagectl set /mnt/a boundary=off maxmap=1");
    c->callback([args] { run_set(*args); });
  }
  {
    auto args = std::make_shared<InjectArgs>();
    CLI::App* c = app.add_subcommand("inject", "arm a fault: get_block returns an error, or allocation reports ENOSPC");
    c->add_option("MOUNT", args->mount, kMountHelp)->required();
    c->add_option("KIND", args->kind, "get_block or enospc")->required();
    c->add_option("--errno", args->error, "get_block: the error (EIO, ENOSPC, EUCLEAN, ... or 1..4095)");
    c->add_option("--ino", args->ino, "only this inode (default: every inode)");
    c->add_option("--blocks", args->blocks, "get_block: logical blocks A-B or A (default: all)");
    c->add_option("--side", args->side, "get_block: read (create=0), create (create=1) or both (default)");
    c->add_flag("--once", args->once, "disarm after the first hit");
    c->add_flag("--json", args->json, "print the armed fault as JSON");
    c->footer("Examples: mpagectl inject /mnt/a get_block --errno EIO --ino 12 --side read\n"
              "          mpagectl inject /mnt/a enospc --once");
    c->callback([args] { run_inject(*args); });
  }
  {
    auto args = std::make_shared<FaultsArgs>();
    CLI::App* c = app.add_subcommand("faults", "list a mount's armed faults and how often they fired");
    c->add_option("MOUNT", args->mount, kMountHelp)->required();
    c->add_flag("--json", args->json, "JSON output");
    c->callback([args] { run_faults(*args); });
  }
  {
    auto args = std::make_shared<ClearArgs>();
    CLI::App* c = app.add_subcommand("clear", "disarm one fault (by ID) or all of a mount's faults");
    c->add_option("MOUNT", args->mount, kMountHelp)->required();
    c->add_option("ID", args->id, "the fault ID inject printed (default: all)");
    c->callback([args] { run_clear(*args); });
  }
}

}  // namespace mpagefs
