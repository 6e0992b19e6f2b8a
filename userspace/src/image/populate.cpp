// populate.cpp - make_filesystem(): the root directory and, optionally, a
// source tree copied in depth-first, children in name order (deterministic
// output for a given tree and options).
#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <random>

#include "image_writer.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

namespace {

using detail::ImageWriter;

// A directory being written: its current (last) block fills up record by
// record; a new block is mapped when the next record does not fit.
class DirWriter {
 public:
  DirWriter(ImageWriter& w, uint32_t ino, uint32_t parent, std::string path)
      : w_(w), ino_(ino), path_(std::move(path)) {
    // "." and ".." open the first block, in this order (the kernel relies
    // on it for the parent lookup).
    new_block();
    add(".", ino, MPAGEFS_FT_DIR);
    add("..", parent, MPAGEFS_FT_DIR);
  }

  void add(const std::string& name, uint32_t ino, uint8_t type) {
    const uint32_t need = dirent_len(name.size());
    if (used_ + need > w_.block_size()) {
      flush();
      new_block();
    }
    entries_.push_back({ino, 0, type, name});
    used_ += need;
  }

  // Writes the last block and sets the directory's size.
  void close() {
    flush();
    w_.inode(ino_).size = uint64_t{nblocks_} * w_.block_size();
  }
  uint32_t ino() const { return ino_; }
  const std::string& path() const { return path_; }

 private:
  void new_block() {
    phys_ = w_.map_block(ino_, nblocks_++, path_);
    entries_.clear();
    used_ = 0;
  }
  void flush() { w_.write_block(phys_, encode_dir_block(entries_, w_.block_size())); }

  ImageWriter& w_;
  uint32_t ino_;
  std::string path_;
  uint32_t nblocks_ = 0;
  uint32_t phys_ = 0;
  std::vector<Dirent> entries_;
  size_t used_ = 0;
};

void set_times(Inode& in, int64_t sec, uint32_t nsec) {
  in.atime = in.mtime = in.ctime = sec;
  in.atime_nsec = in.mtime_nsec = in.ctime_nsec = nsec;
}

void init_inode(Inode& in, uint16_t type, const SourceNode& src) {
  in.mode = static_cast<uint16_t>(type | (src.mode & 07777));
  in.uid = src.uid;
  in.gid = src.gid;
  in.links_count = 1;
  set_times(in, src.mtime, src.mtime_nsec);
}

// Block ranges [first, last) holding data, merged and sorted.
std::vector<std::pair<uint64_t, uint64_t>> data_blocks(const SourceNode& f, uint32_t bs) {
  std::vector<std::pair<uint64_t, uint64_t>> r;
  for (auto [s, e] : f.data) {
    e = std::min(e, f.size);
    if (s >= e) continue;
    r.emplace_back(s / bs, (e + bs - 1) / bs);
  }
  std::sort(r.begin(), r.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& x : r) {
    if (!merged.empty() && x.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, x.second);
    else
      merged.push_back(x);
  }
  return merged;
}

class Populator {
 public:
  Populator(ImageWriter& w, MkfsResult& r) : w_(w), r_(r) {}

  // Writes the content of a regular file or a slow symlink: only blocks
  // with data get a block, in file order.
  void write_content(uint32_t ino, const SourceNode& src, const std::string& path) {
    const uint32_t bs = w_.block_size();
    if (src.size > max_file_size(bs))
      throw FormatError(fmt::format("{}: {} bytes exceed the {}-byte limit of {}-byte blocks", path,
                                    src.size, max_file_size(bs), bs));
    w_.inode(ino).size = src.size;
    constexpr uint64_t kChunkBlocks = 256;
    std::vector<uint8_t> buf;
    uint32_t run_len = 0;
    for (const auto& [first, last] : data_blocks(src, bs)) {
      for (uint64_t b = first; b < last; b += kChunkBlocks) {
        const uint64_t n = std::min(kChunkBlocks, last - b);
        const uint64_t off = b * bs;
        const uint64_t len = std::min<uint64_t>(n * bs, src.size - off);
        buf.assign(n * bs, 0);
        src.read(off, std::span<uint8_t>(buf).first(len));
        for (uint64_t i = 0; i < n; ++i) {
          w_.before_data_block(run_len);
          const uint32_t phys = w_.map_block(ino, b + i, path);
          w_.write_block(phys, std::span<const uint8_t>(buf).subspan(i * bs, bs));
        }
      }
    }
  }

  void write_symlink(uint32_t ino, const SourceNode& src, const std::string& path) {
    const std::string& t = src.target;
    if (t.empty() || t.size() >= 4096)
      throw FormatError(fmt::format("{}: symlink target of {} bytes not in 1..4095", path, t.size()));
    Inode& in = w_.inode(ino);
    in.size = t.size();
    if (t.size() < kFastSymlinkMax) {  // fast symlink: the text in i_block
      std::array<uint8_t, kFastSymlinkMax> raw{};
      std::memcpy(raw.data(), t.data(), t.size());
      for (uint32_t i = 0; i < kNBlocks; ++i) in.block[i] = get_le32(raw, 4 * i);
      return;
    }
    SourceNode content;
    content.size = t.size();
    content.data = {{0, t.size()}};
    content.read = [&t](uint64_t off, std::span<uint8_t> out) {
      std::memcpy(out.data(), t.data() + off, out.size());
    };
    write_content(ino, content, path);
  }

  void fill_dir(DirWriter& dir, const SourceNode& node) {
    std::vector<const SourceNode*> kids;
    for (const SourceNode& c : node.children) kids.push_back(&c);
    std::sort(kids.begin(), kids.end(),
              [](const SourceNode* a, const SourceNode* b) { return a->name < b->name; });
    for (size_t i = 0; i + 1 < kids.size(); ++i)
      if (kids[i]->name == kids[i + 1]->name)
        throw FormatError(fmt::format("{}/{}: duplicate name", dir.path(), kids[i]->name));
    for (const SourceNode* c : kids) {
      const std::string path = (dir.path() == "/" ? "" : dir.path()) + "/" + c->name;
      if (c->name.empty() || c->name.size() > MPAGEFS_NAME_LEN)
        throw FormatError(fmt::format("{}: name of {} bytes not in 1..{}", path, c->name.size(),
                                      MPAGEFS_NAME_LEN));
      if (c->name == "." || c->name == ".." || c->name.find('/') != std::string::npos ||
          c->name.find('\0') != std::string::npos)
        throw FormatError(fmt::format("{}: invalid name", path));
      const uint32_t ino = w_.alloc_inode(path);
      switch (c->type) {
        case SourceNode::Type::File:
          init_inode(w_.inode(ino), kIfreg, *c);
          dir.add(c->name, ino, MPAGEFS_FT_REG_FILE);
          write_content(ino, *c, path);
          ++r_.files;
          break;
        case SourceNode::Type::Symlink:
          init_inode(w_.inode(ino), kIflnk, *c);
          w_.inode(ino).mode = kIflnk | 0777;
          dir.add(c->name, ino, MPAGEFS_FT_SYMLINK);
          write_symlink(ino, *c, path);
          ++r_.symlinks;
          break;
        case SourceNode::Type::Dir: {
          init_inode(w_.inode(ino), kIfdir, *c);
          w_.inode(ino).links_count = 2;  // "." and its entry in the parent
          dir.add(c->name, ino, MPAGEFS_FT_DIR);
          ++w_.inode(dir.ino()).links_count;  // the child's ".."
          DirWriter sub(w_, ino, dir.ino(), path);
          fill_dir(sub, *c);
          sub.close();
          ++r_.dirs;
          break;
        }
      }
    }
  }

 private:
  ImageWriter& w_;
  MkfsResult& r_;
};

}  // namespace

MkfsResult make_filesystem(BlockIo& dev, const MkfsOptions& opts, const SourceNode* root) {
  ImageWriter w(dev, opts);
  MkfsResult r;
  const uint32_t root_ino = w.alloc_inode("/");
  if (root_ino != MPAGEFS_ROOT_INO) throw FormatError("root inode is not inode 1");
  SourceNode attrs;
  if (root != nullptr) {
    if (root->type != SourceNode::Type::Dir) throw FormatError("the source root is not a directory");
    attrs.mode = root->mode;
    attrs.uid = root->uid;
    attrs.gid = root->gid;
    attrs.mtime = root->mtime;
    attrs.mtime_nsec = root->mtime_nsec;
  } else {
    attrs.mode = 0755;
    attrs.mtime = opts.mkfs_time;
  }
  init_inode(w.inode(root_ino), kIfdir, attrs);
  w.inode(root_ino).links_count = 2;  // "." and ".."
  DirWriter dir(w, root_ino, root_ino, "/");
  Populator p(w, r);
  if (root != nullptr) p.fill_dir(dir, *root);
  dir.close();
  return w.finish(r);
}

std::array<uint8_t, 16> uuid_from_seed(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::array<uint8_t, 16> u{};
  for (size_t i = 0; i < u.size(); i += 8) {
    const uint64_t v = gen();
    for (size_t k = 0; k < 8; ++k) u[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return u;
}

}  // namespace mpagefs
