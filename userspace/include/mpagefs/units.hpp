// units.hpp - sizes on the command line: "4096", "64K", "16M", "1G", "2T"
// (binary multiples; a trailing "iB" or "B" is accepted: "64MiB", "1GB").
#pragma once

#include <cstdint>
#include <string_view>

namespace mpagefs {

// Throws std::invalid_argument with a message for malformed or overflowing
// input.
uint64_t parse_size(std::string_view text);

}  // namespace mpagefs
