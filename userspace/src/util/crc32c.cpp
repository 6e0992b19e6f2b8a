// crc32c.cpp - table-driven CRC-32C; speed is irrelevant for 252 bytes.
#include "mpagefs/util/crc32c.hpp"

#include <array>

namespace mpagefs {

namespace {
constexpr uint32_t kPoly = 0x82F63B78U;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = make_table();
}  // namespace

uint32_t crc32c_update(uint32_t crc, std::span<const uint8_t> data) {
  for (uint8_t b : data) crc = kTable[(crc ^ b) & 0xFFU] ^ (crc >> 8);
  return crc;
}

uint32_t crc32c(std::span<const uint8_t> data) { return ~crc32c_update(~0U, data); }

}  // namespace mpagefs
