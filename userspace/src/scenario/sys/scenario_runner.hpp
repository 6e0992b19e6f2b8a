// scenario_runner.hpp - running a scenario (scenario.hpp) on a real block
// device in the VM: mkfs (with the scenario's layout and files, plus a
// planted corruption if any), mount, the untraced setup steps, the action
// steps in a child process traced through blktrace (`mpagectl scenario exec`),
// the get_block counters around it, umount, then the trace explained against
// the image, fsck, and the scenario's checks.
#pragma once

#include <chrono>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpagefs/scenario/scenario.hpp"

namespace mpagefs::scenario {

struct RunOptions {
  std::string device = "/dev/vdc";           // a whole disk, overwritten
  std::string mountpoint = "/mnt/scenario";
  std::string work_dir = "/tmp/mpagectl-scenario";  // traces: WORK/NAME.blktrace.N
  std::string self_exe;                      // mpagectl, for the traced child
};

struct RunResult {
  std::string name;
  bool passed = false;
  std::string error;                         // set when the run itself failed
  std::vector<Verdict> verdicts;
  std::vector<std::string> bios_read;        // the file bios, described
  std::vector<std::string> bios_write;
  std::map<std::string, int64_t> stats_delta;
  double seconds = 0;
};

RunResult run_scenario(const Scenario& s, const RunOptions& opts, std::ostream& log);

// Runs steps against the files under `mountpoint` (the child side of a run,
// and the setup steps).  `device` is for ReadAheadKb.  Never throws for a
// failing step: its errno is the result.
std::vector<StepResult> execute_steps(const std::vector<Step>& steps, const std::string& mountpoint,
                                      const std::string& device);

nlohmann::json to_json(const RunResult& r);

}  // namespace mpagefs::scenario
