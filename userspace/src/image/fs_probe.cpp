// fs_probe.cpp - probe_filesystem (signatures at blkid's offsets) and
// parse_mount_table.
#include "mpagefs/image/fs_probe.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "mpagefs/image/ext2.hpp"
#include "mpagefs/image/format.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

namespace {

// The bits of the ext2 superblock's feature words that tell ext3 and ext4
// from ext2, as libblkid's probe_ext2/3/4 decide: a journal makes ext3; a
// feature ext3 does not know makes ext4.
constexpr uint32_t kExtHasJournal = 0x4;
constexpr uint32_t kExt3Incompat = 0x2 | 0x4 | 0x10;    // filetype, recover, meta_bg
constexpr uint32_t kExt3RoCompat = 0x1 | 0x2 | 0x4;     // sparse_super, large_file, btree_dir

constexpr size_t kProbeBytes = 68 * 1024;  // btrfs's superblock ends below 64 KiB + 4 KiB

bool has(std::span<const uint8_t> b, size_t off, std::string_view sig) {
  return b.size() >= off + sig.size() && std::memcmp(b.data() + off, sig.data(), sig.size()) == 0;
}

std::optional<std::string> ext_kind(std::span<const uint8_t> b) {
  if (b.size() < kExt2SuperOffset + 1024) return std::nullopt;
  const Ext2Super s = ext2_super_fields(b.subspan(kExt2SuperOffset, 1024));
  if (s.magic != kExt2Magic) return std::nullopt;
  if ((s.feature_incompat & ~kExt3Incompat) != 0 || (s.feature_ro_compat & ~kExt3RoCompat) != 0) return "ext4";
  if ((s.feature_compat & kExtHasJournal) != 0) return "ext3";
  return "ext2";
}

// A FAT boot sector: the 0x55AA signature and the file system type mkfs.vfat
// writes (FAT12/16 at 54, FAT32 at 82).
bool is_vfat(std::span<const uint8_t> b) {
  return b.size() >= 512 && b[510] == 0x55 && b[511] == 0xAA && (has(b, 54, "FAT") || has(b, 82, "FAT32"));
}

// The decoded value of a mount table field: "\040" is a space, as the
// kernel's mangle() writes space, tab, newline and backslash.
std::string unescape(std::string_view f) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\' && i + 3 < f.size() && octal(f[i + 1]) && octal(f[i + 2]) && octal(f[i + 3])) {
      out += static_cast<char>(((f[i + 1] - '0') << 6) | ((f[i + 2] - '0') << 3) | (f[i + 3] - '0'));
      i += 3;
    } else {
      out += f[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> probe_filesystem(const BlockIo& dev) {
  std::vector<uint8_t> buf(std::min<uint64_t>(dev.size(), kProbeBytes));
  dev.read(0, buf);
  const std::span<const uint8_t> b(buf);
  if (b.size() >= 4 && get_le32(b, 0) == MPAGEFS_MAGIC) return "mpagefs";
  if (auto ext = ext_kind(b)) return ext;
  if (is_vfat(b)) return "vfat";
  if (has(b, 0, "XFSB")) return "xfs";
  if (has(b, 65536 + 64, "_BHRfS_M")) return "btrfs";
  if (has(b, 4096 - 10, "SWAPSPACE2") || has(b, 4096 - 10, "SWAP-SPACE")) return "swap";
  return std::nullopt;
}

std::vector<MountEntry> parse_mount_table(std::string_view text) {
  std::vector<MountEntry> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::vector<std::string_view> fields;
    while (fields.size() < 3) {
      const size_t start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) break;
      line.remove_prefix(start);
      const size_t end = line.find_first_of(" \t");
      fields.push_back(line.substr(0, end));
      line = end == std::string_view::npos ? std::string_view() : line.substr(end);
    }
    if (fields.size() < 3) continue;
    out.push_back({unescape(fields[0]), unescape(fields[1]), unescape(fields[2])});
  }
  return out;
}

}  // namespace mpagefs
