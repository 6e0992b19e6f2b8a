// crc32c.hpp - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
// checksum of mpagefs's superblock.  crc32c(data) = ~crc32c_update(~0, data),
// which is what the kernel computes as __crc32c_le(~0, buf, len) ^ ~0.
#pragma once

#include <cstdint>
#include <span>

namespace mpagefs {

// Raw update: no initial or final inversion (the kernel's __crc32c_le).
uint32_t crc32c_update(uint32_t crc, std::span<const uint8_t> data);
// The standard CRC-32C: init ~0, final xor ~0 ("123456789" -> 0xE3069283).
uint32_t crc32c(std::span<const uint8_t> data);

}  // namespace mpagefs
