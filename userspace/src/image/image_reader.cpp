// image_reader.cpp - what mpagefs and ext2 share: walking the i_block tree
// (direct, IND, DIND, TIND), reading file content, linear directories, path
// resolution and the owner map.  Format specifics come from the subclasses.
#include <algorithm>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <set>

#include "mpagefs/image/ext2.hpp"
#include "mpagefs/image/image.hpp"
#include "mpagefs/image/mpagefs_image.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

std::vector<Hole> FileMap::holes() const {
  std::vector<Hole> out;
  uint64_t next = 0;
  for (const DataRun& r : runs) {
    if (r.logical >= size_blocks) break;
    if (r.logical > next) out.push_back({next, r.logical - next});
    next = r.logical + r.count;
  }
  if (next < size_blocks) out.push_back({next, size_blocks - next});
  return out;
}

void FsImage::read_block(uint64_t block, std::span<uint8_t> out) const {
  dev_.read(block * block_size(), out);
}

std::string pointer_location(const BlockPointer& p) {
  if (p.holder == 0) return fmt::format("i_block[{}]", p.index);
  const int holder_level = p.level + 1;
  const char* name = holder_level == 1 ? "IND" : (holder_level == 2 ? "DIND" : "TIND");
  return fmt::format("{} block {} entry {}", name, p.holder, p.index);
}

namespace {

// Walks one inode's i_block tree.  Every indirect block is visited once: a
// second visit means the chain loops (or two pointers share a block).
class PointerWalker {
 public:
  PointerWalker(const FsImage& img, const std::function<bool(uint64_t)>& valid,
                const std::function<void(uint64_t, std::span<uint8_t>)>& read,
                const PointerVisitor& visit)
      : valid_(valid), read_(read), visit_(visit), block_size_(img.block_size()),
        per_block_(img.block_size() / 4) {}

  void walk(const InodeInfo& in) {
    for (uint32_t i = 0; i < kNDirBlocks; ++i)
      if (in.block[i] != 0) pointer({in.block[i], 0, i, 0, i});
    uint64_t first = kNDirBlocks;
    uint64_t span = 1;
    for (int level = 1; level <= 3; ++level) {
      span *= per_block_;  // file blocks under one pointer at this level
      const uint32_t slot = kNDirBlocks + level - 1;
      if (in.block[slot] != 0) pointer({in.block[slot], level, first, 0, slot});
      first += span;
    }
  }

 private:
  void pointer(const BlockPointer& p) {
    if (!valid_(p.block)) {
      visit_(p, PointerFault::OutOfRange);
      return;
    }
    if (p.level == 0) {
      visit_(p, PointerFault::None);
      return;
    }
    if (!seen_.insert(p.block).second) {
      visit_(p, PointerFault::Loop);
      return;
    }
    if (!visit_(p, PointerFault::None)) return;
    std::vector<uint8_t> buf(block_size_);
    read_(p.block, buf);
    uint64_t child_span = 1;
    for (int l = 1; l < p.level; ++l) child_span *= per_block_;
    for (uint32_t i = 0; i < per_block_; ++i) {
      const uint32_t v = get_le32(buf, uint64_t{i} * 4);
      if (v != 0) pointer({v, p.level - 1, p.logical + i * child_span, p.block, i});
    }
  }

  const std::function<bool(uint64_t)>& valid_;
  const std::function<void(uint64_t, std::span<uint8_t>)>& read_;
  const PointerVisitor& visit_;
  uint32_t block_size_;
  uint32_t per_block_;
  std::set<uint64_t> seen_;
};

}  // namespace

void FsImage::walk_pointers(const InodeInfo& in, const PointerVisitor& visit) const {
  const std::function<bool(uint64_t)> valid = [this](uint64_t b) { return valid_data_block(b); };
  const std::function<void(uint64_t, std::span<uint8_t>)> rd =
      [this](uint64_t b, std::span<uint8_t> out) { read_block(b, out); };
  PointerWalker(*this, valid, rd, visit).walk(in);
}

FileMap FsImage::map_file(uint32_t ino) const {
  const InodeInfo in = inode(ino);
  FileMap map;
  map.block_size = block_size();
  map.size = in.size;
  map.size_blocks = (in.size + block_size() - 1) / block_size();
  if (!in.has_block_map) return map;
  // The strict reader: the first bad pointer is an error.
  walk_pointers(in, [&map, ino](const BlockPointer& p, PointerFault fault) {
    if (fault == PointerFault::OutOfRange)
      throw FormatError(fmt::format("inode {}: {} = {} outside the data area", ino,
                                    pointer_location(p), p.block));
    if (fault == PointerFault::Loop)
      throw FormatError(fmt::format("inode {}: indirect block {} referenced twice (a loop in the "
                                    "block map)", ino, p.block));
    if (p.level > 0) {
      map.indirect.push_back({p.block, p.level, p.logical});
      return true;
    }
    if (!map.runs.empty()) {
      DataRun& last = map.runs.back();
      if (last.logical + last.count == p.logical && last.physical + last.count == p.block) {
        ++last.count;
        return true;
      }
    }
    map.runs.push_back({p.logical, p.block, 1});
    return true;
  });
  return map;
}

std::vector<uint8_t> FsImage::read_range(const FileMap& map, uint64_t offset, uint64_t len) const {
  if (offset >= map.size) return {};
  len = std::min(len, map.size - offset);
  std::vector<uint8_t> out(len);
  const uint64_t bs = map.block_size;
  const uint64_t end = offset + len;
  for (const DataRun& r : map.runs) {
    const uint64_t rs = r.logical * bs;
    const uint64_t re = (r.logical + r.count) * bs;
    const uint64_t s = std::max(rs, offset);
    const uint64_t e = std::min(re, end);
    if (s >= e) continue;
    dev_.read(r.physical * bs + (s - rs), std::span<uint8_t>(out).subspan(s - offset, e - s));
  }
  return out;
}

std::vector<uint8_t> FsImage::read_file(uint32_t ino) const {
  const FileMap map = map_file(ino);
  return read_range(map, 0, map.size);
}

std::string FsImage::read_symlink(uint32_t ino) const {
  const InodeInfo in = inode(ino);
  if (!mode_is_lnk(in.mode)) throw FormatError(fmt::format("inode {} is not a symlink", ino));
  if (in.fast_symlink) {
    // i_block[] is le32 on disk: re-encode to get the bytes back in order.
    std::array<uint8_t, kFastSymlinkMax> raw{};
    for (uint32_t i = 0; i < kNBlocks; ++i) put_le32(raw, 4 * i, in.block[i]);
    return {reinterpret_cast<const char*>(raw.data()),
            static_cast<size_t>(std::min<uint64_t>(in.size, raw.size()))};
  }
  const std::vector<uint8_t> b = read_file(ino);
  return {b.begin(), b.end()};
}

std::vector<DirEntryInfo> FsImage::list_dir(uint32_t ino) const {
  const InodeInfo in = inode(ino);
  if (!mode_is_dir(in.mode)) throw FormatError(fmt::format("inode {} is not a directory", ino));
  const FileMap map = map_file(ino);
  std::vector<DirEntryInfo> out;
  std::vector<uint8_t> buf(block_size());
  for (const DataRun& r : map.runs) {
    for (uint64_t i = 0; i < r.count && r.logical + i < map.size_blocks; ++i) {
      read_block(r.physical + i, buf);
      std::vector<Dirent> recs;
      try {
        recs = parse_dir_block(buf, inodes_count());
      } catch (const FormatError& e) {
        throw FormatError(fmt::format("directory inode {} block {} (disk {}): {}", ino,
                                      r.logical + i, r.physical + i, e.what()));
      }
      for (Dirent& d : recs)
        if (d.inode != 0) out.push_back({d.inode, d.file_type, std::move(d.name)});
    }
  }
  return out;
}

std::optional<uint32_t> FsImage::lookup(uint32_t dir_ino, std::string_view name) const {
  for (const DirEntryInfo& d : list_dir(dir_ino))
    if (d.name == name) return d.ino;
  return std::nullopt;
}

uint32_t FsImage::resolve(std::string_view path) const {
  uint32_t ino = root_ino();
  std::string walked;
  while (!path.empty()) {
    const size_t start = path.find_first_not_of('/');
    if (start == std::string_view::npos) break;
    path.remove_prefix(start);
    const size_t end = path.find('/');
    const std::string_view name = path.substr(0, end);
    path.remove_prefix(end == std::string_view::npos ? path.size() : end);
    walked += "/";
    walked += name;
    const auto next = lookup(ino, name);
    if (!next) throw FormatError(fmt::format("{}: no such file or directory", walked));
    ino = *next;
  }
  return ino;
}

BlockOwnerMap FsImage::owner_map() const {
  // Paths first: breadth-first from the root, each directory once.
  std::map<uint32_t, std::string> paths;
  paths.emplace(root_ino(), "/");  // not paths[..] = "/": GCC 12 -Wrestrict false positive (PR105329)
  std::deque<uint32_t> todo{root_ino()};
  std::set<uint32_t> seen_dirs{root_ino()};
  while (!todo.empty()) {
    const uint32_t dir = todo.front();
    todo.pop_front();
    const std::string base = dir == root_ino() ? "" : paths[dir];
    for (const DirEntryInfo& d : list_dir(dir)) {
      if (d.name == "." || d.name == "..") continue;
      paths.try_emplace(d.ino, base + "/" + d.name);
      if (d.file_type == MPAGEFS_FT_DIR && seen_dirs.insert(d.ino).second) todo.push_back(d.ino);
    }
  }

  struct Segment {
    uint64_t first;
    uint64_t count;
    BlockOwner owner;
  };
  std::vector<Segment> segs;
  BlockOwnerMap meta(block_size());
  add_metadata(meta);
  for (const auto& [first, run] : meta.runs()) segs.push_back({first, run.count, run.owner});
  for (uint32_t ino : inodes_in_use()) {
    const InodeInfo in = inode(ino);
    const FileMap map = map_file(ino);
    const auto it = paths.find(ino);
    const std::string path = it == paths.end() ? "" : it->second;
    const BlockKind kind = mode_is_dir(in.mode) ? BlockKind::Dir : BlockKind::Data;
    for (const DataRun& r : map.runs)
      segs.push_back({r.physical, r.count, BlockOwner{kind, ino, r.logical, path}});
    for (const IndirectBlock& ib : map.indirect) {
      const BlockKind k = ib.level == 1 ? BlockKind::Ind
                                        : (ib.level == 2 ? BlockKind::Dind : BlockKind::Tind);
      segs.push_back({ib.physical, 1, BlockOwner{k, ino, ib.first_logical, path}});
    }
  }
  std::sort(segs.begin(), segs.end(),
            [](const Segment& a, const Segment& b) { return a.first < b.first; });
  BlockOwnerMap out(block_size());
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    if (i > 0 && segs[i - 1].first + segs[i - 1].count > s.first) {
      const BlockOwner& o = segs[i - 1].owner;
      throw FormatError(fmt::format("block {} is claimed twice: by {} of inode {} and by {} of "
                                    "inode {}", s.first, to_string(o.kind), o.ino,
                                    to_string(s.owner.kind), s.owner.ino));
    }
    const bool advances = s.owner.kind != BlockKind::Ind && s.owner.kind != BlockKind::Dind &&
                          s.owner.kind != BlockKind::Tind;
    BlockOwner o = s.owner;
    for (uint64_t k = 0; k < s.count; ++k) {
      out.add(s.first + k, o);
      if (advances) ++o.logical;
    }
  }
  return out;
}

std::unique_ptr<FsImage> open_image(BlockIo& dev) {
  std::array<uint8_t, 4> magic{};
  if (dev.size() >= 4) dev.read(0, magic);
  if (get_le32(magic, 0) == MPAGEFS_MAGIC) return std::make_unique<MpagefsImage>(dev);
  std::array<uint8_t, 2> emagic{};
  if (dev.size() >= kExt2SuperOffset + 58) dev.read(kExt2SuperOffset + 56, emagic);
  if (get_le16(emagic, 0) == kExt2Magic) return std::make_unique<Ext2Image>(dev);
  throw FormatError("neither an mpagefs nor an ext2 image (no magic number found)");
}

BlockOwnerMap build_owner_map(BlockIo& dev) { return open_image(dev)->owner_map(); }

}  // namespace mpagefs
