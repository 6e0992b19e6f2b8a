// CRC-32C against published check values (RFC 3720 appendix B.4, "123456789").
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "mpagefs/util/crc32c.hpp"

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, CheckValue) { EXPECT_EQ(mpagefs::crc32c(bytes("123456789")), 0xE3069283U); }

TEST(Crc32c, Rfc3720Vectors) {
  const std::vector<uint8_t> zeros(32, 0);
  const std::vector<uint8_t> ones(32, 0xFF);
  std::vector<uint8_t> inc(32);
  for (size_t i = 0; i < inc.size(); ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(mpagefs::crc32c(zeros), 0x8A9136AAU);
  EXPECT_EQ(mpagefs::crc32c(ones), 0x62A8AB43U);
  EXPECT_EQ(mpagefs::crc32c(inc), 0x46DD794EU);
}

TEST(Crc32c, KernelConvention) {
  // The kernel computes __crc32c_le(~0, buf, len) ^ ~0.
  const auto data = bytes("mpagefs");
  EXPECT_EQ(mpagefs::crc32c(data), ~mpagefs::crc32c_update(~0U, data));
  EXPECT_EQ(mpagefs::crc32c({}), 0U);
}

}  // namespace
