// pattern.hpp - reproducible test data: byte `pos` of stream `key` is a
// well-mixed function of both, so data written by different operations (fsx)
// or to different files (workloads) differs and can be regenerated to check
// or hash it without keeping it.
#pragma once

#include <cstdint>
#include <span>

namespace mpagefs {

uint8_t pattern_byte(uint64_t key, uint64_t pos);
// out[i] = pattern_byte(key, offset + i), one hash per 8 bytes.
void fill_pattern(uint64_t key, uint64_t offset, std::span<uint8_t> out);

}  // namespace mpagefs
