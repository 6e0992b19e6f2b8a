// pattern.cpp - splitmix64's finaliser over (key, pos / 8): cheap enough to
// regenerate gigabytes, and no two keys give the same bytes in practice.
#include "mpagefs/util/pattern.hpp"

namespace mpagefs {

namespace {
uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
uint64_t word(uint64_t key, uint64_t n) { return mix(mix(key) ^ n); }
}  // namespace

uint8_t pattern_byte(uint64_t key, uint64_t pos) { return static_cast<uint8_t>(word(key, pos / 8) >> (8 * (pos % 8))); }

void fill_pattern(uint64_t key, uint64_t offset, std::span<uint8_t> out) {
  const uint64_t k = mix(key);
  size_t i = 0;
  while (i < out.size()) {
    const uint64_t pos = offset + i;
    const uint64_t w = mix(k ^ (pos / 8));
    for (uint64_t b = pos % 8; b < 8 && i < out.size(); ++b, ++i) out[i] = static_cast<uint8_t>(w >> (8 * b));
  }
}

}  // namespace mpagefs
