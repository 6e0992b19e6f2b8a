// SHA-256 against FIPS 180-4 / NIST example vectors and padding edge cases
// (55, 56 and 64 bytes: the length field just fits, spills, a full block);
// streaming in odd pieces and update_zeros give the one-shot digest.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "mpagefs/util/sha256.hpp"

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string hex(std::string_view s) { return mpagefs::sha256_hex(bytes(s)); }

TEST(Sha256, NistVectors) {
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnop"
                "qrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, OneMillionA) {
  const std::string a(1000000, 'a');
  EXPECT_EQ(hex(a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  EXPECT_EQ(hex(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hex(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hex(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, StreamingEqualsOneShot) {
  std::vector<uint8_t> data(10007);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + (i >> 8));
  const std::string whole = mpagefs::sha256_hex(data);
  for (size_t piece : {1U, 3U, 63U, 64U, 65U, 1000U}) {
    mpagefs::Sha256 h;
    for (size_t off = 0; off < data.size(); off += piece)
      h.update(std::span<const uint8_t>(data).subspan(off, std::min(piece, data.size() - off)));
    EXPECT_EQ(h.hex_digest(), whole) << "piece " << piece;
  }
}

TEST(Sha256, ZerosWithoutABuffer) {
  mpagefs::Sha256 h;
  h.update(bytes("x"));
  h.update_zeros(1 << 20);
  std::string ref = "x";
  ref.append(1 << 20, '\0');
  EXPECT_EQ(h.hex_digest(), hex(ref));
  mpagefs::Sha256 z;
  z.update_zeros(1 << 20);
  EXPECT_EQ(z.hex_digest(), "30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58");
}

}  // namespace
