// bench_io.hpp - the timed I/O of mpagectl bench-io (exercise/bench.hpp
// holds its parameters and report).
#pragma once

#include "mpagefs/exercise/bench.hpp"

namespace mpagefs::bench {

// Runs the I/O; throws std::system_error.
IoReport run_io(const IoParams& p);

}  // namespace mpagefs::bench
