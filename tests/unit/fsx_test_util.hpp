// Helpers shared by the fsx tests (tests/unit and tests/system).
#pragma once

#include <cstdint>

#include "mpagefs/exercise/fsx.hpp"

namespace mpagefs::testutil {

// Short, fast fsx options for `seed`: small files and ops, O_DIRECT on.
inline fsx::Options small(uint64_t seed) {
  fsx::Options o;
  o.seed = seed;
  o.maxlen = 8192;
  o.file_size_max = 64 * 1024;
  o.direct = true;
  o.direct_align = 1024;
  o.progress_every = 0;
  return o;
}

}  // namespace mpagefs::testutil
