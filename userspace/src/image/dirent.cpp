// dirent.cpp - directory blocks: ext2-style records that never cross a
// block boundary.  The same parser serves ext2 images (same record layout).
#include <cstring>
#include <fmt/format.h>

#include "mpagefs/image/format.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

DirentCheck check_dirent(std::span<const uint8_t> block, size_t off, uint32_t inodes_count) {
  DirentCheck c;
  auto fail = [&c](std::string m, bool walkable) {
    c.error = std::move(m);
    c.walkable = walkable;
    return c;
  };
  if (block.size() - off < MPAGEFS_DIRENT_HEADER) return fail("header crosses the block end", false);
  Dirent& d = c.dirent;
  d.inode = get_le32(block, off);
  d.rec_len = get_le16(block, off + 4);
  const uint8_t name_len = block[off + 6];
  d.file_type = block[off + 7];
  if (d.rec_len < MPAGEFS_DIRENT_HEADER) return fail(fmt::format("rec_len {} below 8", d.rec_len), false);
  if (d.rec_len % 4 != 0)
    return fail(fmt::format("rec_len {} not a multiple of 4", d.rec_len), false);
  if (d.rec_len > block.size() - off)
    return fail(fmt::format("rec_len {} crosses the block end", d.rec_len), false);
  if (d.inode == 0) return c;
  if (name_len == 0) return fail("name_len is 0", true);
  if (d.rec_len < dirent_len(name_len))
    return fail(fmt::format("rec_len {} too small for name_len {}", d.rec_len, name_len), true);
  if (d.inode > inodes_count)
    return fail(fmt::format("inode {} outside 1..{}", d.inode, inodes_count), true);
  if (d.file_type >= MPAGEFS_FT_MAX) return fail(fmt::format("file_type {} unknown", d.file_type), true);
  d.name.assign(reinterpret_cast<const char*>(&block[off + MPAGEFS_DIRENT_HEADER]), name_len);
  if (d.name.find('/') != std::string::npos || d.name.find('\0') != std::string::npos)
    return fail("name contains '/' or NUL", true);
  return c;
}

std::vector<Dirent> parse_dir_block(std::span<const uint8_t> block, uint32_t inodes_count) {
  std::vector<Dirent> out;
  size_t off = 0;
  while (off < block.size()) {
    DirentCheck c = check_dirent(block, off, inodes_count);
    if (!c.error.empty()) throw FormatError(fmt::format("dirent at offset {}: {}", off, c.error));
    out.push_back(std::move(c.dirent));
    off += out.back().rec_len;
  }
  return out;
}

std::vector<uint8_t> encode_dir_block(const std::vector<Dirent>& entries, uint32_t block_size) {
  std::vector<uint8_t> block(block_size);
  if (entries.empty()) {  // one free record spanning the block
    put_le16(block, 4, static_cast<uint16_t>(block_size));
    return block;
  }
  size_t off = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Dirent& d = entries[i];
    if (d.name.empty() || d.name.size() > MPAGEFS_NAME_LEN)
      throw FormatError(fmt::format("name of {} bytes not in 1..{}", d.name.size(), MPAGEFS_NAME_LEN));
    const uint32_t need = dirent_len(d.name.size());
    if (off + need > block_size) throw FormatError("directory records overflow the block");
    const bool last = i + 1 == entries.size();
    const auto rec_len = static_cast<uint16_t>(last ? block_size - off : need);
    put_le32(block, off, d.inode);
    put_le16(block, off + 4, rec_len);
    block[off + 6] = static_cast<uint8_t>(d.name.size());
    block[off + 7] = d.file_type;
    std::memcpy(&block[off + MPAGEFS_DIRENT_HEADER], d.name.data(), d.name.size());
    off += rec_len;
  }
  return block;
}

}  // namespace mpagefs
