// Helpers shared by the workload tests (tests/unit and tests/system).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpagefs/exercise/workload.hpp"
#include "mpagefs/util/pattern.hpp"

namespace mpagefs::testutil {

inline workload::Params params(const std::string& name, const std::string& dir = "/nonexistent") {
  workload::Params p;
  p.name = name;
  p.dir = dir;
  p.seed = 5;
  p.chunk = 4096;
  return p;
}

// A planned file's content in memory.
inline std::vector<uint8_t> materialize(const workload::FilePlan& f) {
  std::vector<uint8_t> v(f.size, 0);
  for (const workload::Write& w : f.writes) {
    EXPECT_LE(w.offset + w.length, f.size);
    fill_pattern(f.key, w.offset, std::span<uint8_t>(v).subspan(w.offset, w.length));
  }
  return v;
}

}  // namespace mpagefs::testutil
