// workload.hpp - running a planned workload (exercise/workload.hpp) on a
// directory.
#pragma once

#include "mpagefs/exercise/workload.hpp"

namespace mpagefs::workload {

// Runs the workload on p.dir (which must exist).
Report run(const Params& p);

}  // namespace mpagefs::workload
