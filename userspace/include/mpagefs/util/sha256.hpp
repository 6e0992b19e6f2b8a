// sha256.hpp - SHA-256 (FIPS 180-4), pure and streaming: workloads report the
// digest of each file they wrote so the VM tests can compare it with
// sha256sum of the file read back after a remount.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace mpagefs {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  // Feeds more message bytes; may be called any number of times.
  void update(std::span<const uint8_t> data);
  // Feeds `count` zero bytes (a hole) without a buffer of that size.
  void update_zeros(uint64_t count);
  // Pads and returns the digest; the object must not be updated afterwards.
  Digest finish();
  // finish() as 64 lowercase hex digits (sha256sum's format).
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // message length in bytes
};

std::string to_hex(std::span<const uint8_t> bytes);
// One-shot digest as hex.
std::string sha256_hex(std::span<const uint8_t> data);

}  // namespace mpagefs
