// Helpers for the image tests: deterministic content and a formatted
// in-memory image.
#pragma once

#include <cstdint>
#include <string>

#include "mpagefs/image/blockio.hpp"
#include "mpagefs/image/mkfs.hpp"
#include "mpagefs/image/mpagefs_image.hpp"

namespace mpagefs::testing {

// `n` bytes that differ from block to block and file to file.
inline std::string pattern(uint64_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ULL * (seed + 1);
  for (uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

inline std::string as_string(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

inline MkfsOptions options(uint32_t bs, Layout layout = Layout::Contiguous, uint32_t run = 1) {
  MkfsOptions o;
  o.block_size = bs;
  o.layout = layout;
  o.frag_run = run;
  o.mkfs_time = 1700000000;
  o.uuid = uuid_from_seed(42);
  return o;
}

}  // namespace mpagefs::testing
