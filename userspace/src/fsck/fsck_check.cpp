// fsck_check.cpp - one check of an mpagefs image, e2fsck's passes in one
// class: the superblock; every inode the bitmap marks in use (fields, block
// map, claims); the tree from the root (records, ".", "..", entries, file
// types); orphans and link counts; the bitmaps and free counts rebuilt
// from what the inodes hold.  Findings come with the writes that fix them,
// planned against the same analysis, so one repair leaves a clean image.
#include <algorithm>
#include <cstddef>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <optional>

#include "mpagefs/fsck/fsck.hpp"
#include "mpagefs/image/mpagefs_image.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

namespace {

constexpr uint32_t kNsecPerSec = 1000000000;

bool known_type(uint16_t mode) {
  switch (mode & kIfmt) {
    case kIfreg: case kIfdir: case kIflnk: case kIfchr: case kIfblk: case kIfifo:
    case kIfsock:
      return true;
    default:
      return false;
  }
}

std::string_view type_name(uint16_t mode) {
  switch (mode & kIfmt) {
    case kIfreg: return "regular file";
    case kIfdir: return "directory";
    case kIflnk: return "symlink";
    case kIfchr: return "character device";
    case kIfblk: return "block device";
    case kIfifo: return "fifo";
    case kIfsock: return "socket";
    default: return "inode of unknown type";
  }
}

std::vector<uint8_t> le_bytes(uint64_t v, size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

// What the check learns about one inode.
struct InodeState {
  Inode raw;
  bool alive = false;      // in use after this check's fixes
  bool cleared = false;    // to be zeroed (unusable)
  bool reached = false;    // a directory entry of the tree names it
  uint32_t parent = 0;     // directories: the one whose entry reached it
  uint32_t refs = 0;       // entries naming it (".", ".." included)
  uint64_t dir_blocks = 0; // directories: blocks to scan (size after fixes)
  std::vector<std::pair<uint64_t, uint64_t>> dir_map;  // (logical, physical)
  std::vector<uint64_t> claimed;  // blocks this inode's map holds
  uint64_t held = 0;              // blocks the map will hold after repair
  std::vector<BlockPointer> copies;  // cross-linked data blocks to copy
  std::vector<Patch> patches;     // dropped when the inode is freed
};

class Checker {
 public:
  explicit Checker(BlockIo& dev) : dev_(dev) {}

  FsckPass run() {
    if (!check_super()) return std::move(out_);
    img_.emplace(dev_, sb_);
    bs_ = sb_.block_size();
    out_.stats = FsckStats{sb_.inodes_count, 0, sb_.blocks_count, 0, bs_};
    claim_.assign(sb_.blocks_count, 0);
    const std::vector<uint8_t> ibitmap = img_->inode_bitmap();
    for (uint32_t ino = 1; ino <= sb_.inodes_count; ++ino)
      if (test_bit(ibitmap, ino - 1)) process_inode(ino);
    const InodeState* root = find(sb_.root_ino);
    if (root == nullptr || !root->alive || !mode_is_dir(root->raw.mode)) {
      // Without a root every inode would look orphaned: stop here, and
      // write nothing (the fixes planned so far are not made either).
      add(FindingKind::Superblock, sb_.root_ino, 0,
          fmt::format("root inode {} is not a directory in use; cannot check the tree", sb_.root_ino),
          false);
      for (Finding& f : out_.findings) f.fixable = false;
      return std::move(out_);
    }
    walk_tree();
    free_orphans();
    copy_cross_linked();
    check_i_blocks();
    check_link_counts();
    for (auto& [ino, st] : inodes_) {
      if (st.cleared) {
        patch(inode_offset(ino), std::vector<uint8_t>(kInodeSize, 0));
        continue;
      }
      for (Patch& p : st.patches) out_.patches.push_back(std::move(p));
    }
    check_bitmaps(ibitmap);
    return std::move(out_);
  }

 private:
  // --- findings and patches -------------------------------------------------
  void add(FindingKind k, uint32_t ino, uint64_t block, std::string msg, bool fixable) {
    out_.findings.push_back(Finding{k, ino, block, std::move(msg), fixable, 1});
  }
  void patch(uint64_t offset, std::vector<uint8_t> bytes) {
    out_.patches.push_back(Patch{offset, std::move(bytes)});
  }
  uint64_t inode_offset(uint32_t ino) const { return img_->inode_offset(ino); }
  void patch_inode(InodeState& st, uint32_t ino, size_t field, uint64_t value, size_t n) {
    st.patches.push_back(Patch{inode_offset(ino) + field, le_bytes(value, n)});
  }
  InodeState* find(uint32_t ino) {
    const auto it = inodes_.find(ino);
    return it == inodes_.end() ? nullptr : &it->second;
  }

  // --- superblock -----------------------------------------------------------
  bool check_super() {
    std::array<uint8_t, kSuperSize> raw{};
    if (dev_.size() < kSuperSize) throw FormatError("device smaller than a superblock");
    dev_.read(0, raw);
    if (get_le32(raw, 0) != MPAGEFS_MAGIC)
      throw FormatError(fmt::format("no mpagefs superblock (magic {:#010x})", get_le32(raw, 0)));
    sb_ = decode_super(raw);
    // The free counts are recomputed below: only the rest must be sound.
    SuperBlock shape = sb_;
    shape.free_blocks_count = 0;
    shape.free_inodes_count = 0;
    try {
      validate_super_fields(shape, dev_.size());
    } catch (const FormatError& e) {
      add(FindingKind::Superblock, 0, 0, fmt::format("superblock: {}; cannot check further", e.what()),
          false);
      return false;
    }
    fixed_sb_ = sb_;
    const uint32_t csum = super_checksum(raw);
    if (csum != sb_.checksum)
      add(FindingKind::Superblock, 0, 0,
          fmt::format("superblock checksum {:#010x}, computed {:#010x}", sb_.checksum, csum), true);
    if ((sb_.state & MPAGEFS_STATE_ERRORS) != 0)
      add(FindingKind::Superblock, 0, 0, "the kernel recorded errors (s_state has ERRORS)", true);
    else if ((sb_.state & MPAGEFS_STATE_CLEAN) == 0)
      add(FindingKind::Superblock, 0, 0, "not cleanly unmounted (s_state lacks CLEAN)", true);
    else if (sb_.state != MPAGEFS_STATE_CLEAN)
      add(FindingKind::Superblock, 0, 0, fmt::format("s_state {:#x} has unknown bits", sb_.state),
          true);
    // The kernel refuses a read-write mount with an unknown ro_compat bit;
    // a check that does not know the feature cannot vouch for the image.
    if ((sb_.feature_ro_compat & ~static_cast<uint32_t>(MPAGEFS_FEATURE_RO_COMPAT_SUPP)) != 0)
      add(FindingKind::Superblock, 0, 0,
          fmt::format("s_feature_ro_compat {:#x} has unknown features (read-only mounts only)",
                      sb_.feature_ro_compat),
          false);
    // s_errors: 0 (unset) and the three policies are valid; the kernel
    // applies remount-ro to anything else, which the repair writes down.
    if (sb_.errors != 0 && errors_policy_name(sb_.errors).empty()) {
      add(FindingKind::Superblock, 0, 0,
          fmt::format("s_errors {} is not an errors policy (the kernel applies remount-ro)",
                      sb_.errors),
          true);
      fixed_sb_.errors = MPAGEFS_ERRORS_RO;
    }
    fixed_sb_.state = MPAGEFS_STATE_CLEAN;
    super_dirty_ = csum != sb_.checksum || sb_.state != MPAGEFS_STATE_CLEAN ||
                   fixed_sb_.errors != sb_.errors;
    return true;
  }

  // --- inodes and block maps ------------------------------------------------
  // Reads inode `ino`, checks its fields and walks its map, claiming blocks.
  InodeState& process_inode(uint32_t ino) {
    InodeState& st = inodes_[ino];
    st.raw = img_->read_raw_inode(ino);
    const Inode& in = st.raw;
    if (!known_type(in.mode)) {
      add(FindingKind::InodeMode, ino, 0,
          fmt::format("inode {}: i_mode {:#o} has no known file type{}", ino, in.mode,
                      ino != sb_.root_ino ? "; clearing it" : ""),
          ino != sb_.root_ino);
      st.cleared = ino != sb_.root_ino;
      return st;
    }
    st.alive = true;
    check_fields(ino, st);
    if (!st.alive) return st;
    uint64_t end = 0;  // last mapped file block + 1
    if (has_block_map(in)) {
      img_->walk_pointers(inode_info(ino, in), [&](const BlockPointer& p, PointerFault fault) {
        return claim(ino, st, p, fault, end);
      });
    }
    check_size(ino, st, end);
    return st;
  }

  // After the copies of cross-linked blocks: what the map will hold.
  void check_i_blocks() {
    for (auto& [ino, st] : inodes_) {
      if (!st.alive || st.held == st.raw.blocks) continue;
      add(FindingKind::InodeBlocks, ino, 0,
          fmt::format("inode {}: i_blocks {}, but its map holds {} blocks", ino, st.raw.blocks,
                      st.held), true);
      patch_inode(st, ino, offsetof(struct mpagefs_inode, i_blocks), st.held, 4);
    }
  }

  // A cross-linked data block of a file gets its own copy (e2fsck's pass
  // 1B clones too): the first free block, once every claim is known.
  void copy_cross_linked() {
    uint64_t cursor = sb_.first_data_block;
    std::vector<uint8_t> buf(bs_);
    for (auto& [ino, st] : inodes_) {
      if (!st.alive) continue;
      for (const BlockPointer& p : st.copies) {
        while (cursor < sb_.blocks_count && claim_[cursor] != 0) ++cursor;
        if (cursor == sb_.blocks_count) {
          add(FindingKind::CrossLink, ino, p.block,
              fmt::format("inode {}: no free block to copy block {} to; clearing {}", ino, p.block,
                          pointer_location(p)), true);
          st.patches.push_back(clear_pointer(ino, p));
          --st.held;
          continue;
        }
        claim_[cursor] = ino;
        st.claimed.push_back(cursor);
        dev_.read(p.block * bs_, buf);
        st.patches.push_back(Patch{cursor * bs_, buf});
        Patch ptr = clear_pointer(ino, p);
        ptr.bytes = le_bytes(cursor, 4);
        st.patches.push_back(std::move(ptr));
      }
    }
  }

  void check_fields(uint32_t ino, InodeState& st) {
    const Inode& in = st.raw;
    if (in.atime_nsec >= kNsecPerSec || in.mtime_nsec >= kNsecPerSec ||
        in.ctime_nsec >= kNsecPerSec) {
      add(FindingKind::InodeField, ino, 0, fmt::format("inode {}: nanoseconds >= 1e9", ino), true);
      if (in.atime_nsec >= kNsecPerSec)
        patch_inode(st, ino, offsetof(struct mpagefs_inode, i_atime_nsec), 0, 4);
      if (in.mtime_nsec >= kNsecPerSec)
        patch_inode(st, ino, offsetof(struct mpagefs_inode, i_mtime_nsec), 0, 4);
      if (in.ctime_nsec >= kNsecPerSec)
        patch_inode(st, ino, offsetof(struct mpagefs_inode, i_ctime_nsec), 0, 4);
    }
    const bool special = !mode_is_reg(in.mode) && !mode_is_dir(in.mode) && !mode_is_lnk(in.mode);
    if (special && in.size != 0) {
      add(FindingKind::InodeField, ino, 0,
          fmt::format("inode {}: {} with i_size {}", ino, type_name(in.mode), in.size), true);
      patch_inode(st, ino, offsetof(struct mpagefs_inode, i_size), 0, 8);
    }
    if (mode_is_lnk(in.mode) && (in.size == 0 || in.size >= 4096)) {
      add(FindingKind::InodeMode, ino, 0,
          fmt::format("inode {}: symlink of {} bytes; clearing it", ino, in.size), true);
      st.alive = false;
      st.cleared = true;
    }
  }

  std::string block_desc(uint64_t b) const {
    if (b >= sb_.blocks_count) return fmt::format("past the last block {}", sb_.blocks_count - 1);
    if (b == MPAGEFS_SUPER_BLOCKNR) return "into the superblock";
    if (b < sb_.inode_bitmap) return "into the block bitmap";
    if (b < sb_.inode_table) return "into the inode bitmap";
    return "into the inode table";
  }

  Patch clear_pointer(uint32_t ino, const BlockPointer& p) const {
    const uint64_t at = p.holder == 0
        ? inode_offset(ino) + offsetof(struct mpagefs_inode, i_block) + 4 * uint64_t{p.index}
        : p.holder * bs_ + 4 * uint64_t{p.index};
    return Patch{at, std::vector<uint8_t>(4, 0)};
  }

  bool claim(uint32_t ino, InodeState& st, const BlockPointer& p, PointerFault fault,
             uint64_t& end) {
    const std::string where = pointer_location(p);
    if (fault == PointerFault::OutOfRange) {
      add(FindingKind::BadPointer, ino, p.block,
          fmt::format("inode {}: {} = {} points {}; clearing it", ino, where, p.block,
                      block_desc(p.block)), true);
      st.patches.push_back(clear_pointer(ino, p));
      return false;
    }
    if (fault == PointerFault::Loop) {
      add(FindingKind::IndirectLoop, ino, p.block,
          fmt::format("inode {}: {} = {}: indirect block met twice in this map (a loop); "
                      "clearing it", ino, where, p.block), true);
      st.patches.push_back(clear_pointer(ino, p));
      return false;
    }
    if (claim_[p.block] != 0) {
      const uint32_t other = claim_[p.block];
      // A file's data block is copied; an indirect block (whose entries
      // would be shared too) or a directory block is let go.
      const bool copy = p.level == 0 && !mode_is_dir(st.raw.mode);
      add(FindingKind::CrossLink, ino, p.block,
          fmt::format("inode {}: {} = {} is already used by inode {}; {}", ino, where, p.block,
                      other, copy ? "copying it to a free block" : "clearing it"), true);
      if (!copy) {
        st.patches.push_back(clear_pointer(ino, p));
        return false;
      }
      st.copies.push_back(p);
      ++st.held;
      end = std::max(end, p.logical + 1);
      return false;
    }
    claim_[p.block] = ino;
    st.claimed.push_back(p.block);
    ++st.held;
    if (p.level == 0) {
      end = std::max(end, p.logical + 1);
      if (mode_is_dir(st.raw.mode)) st.dir_map.emplace_back(p.logical, p.block);
    }
    return true;
  }

  void check_size(uint32_t ino, InodeState& st, uint64_t end) {
    const Inode& in = st.raw;
    const uint64_t size_blocks = (in.size + bs_ - 1) / bs_;
    const size_t size_field = offsetof(struct mpagefs_inode, i_size);
    if (mode_is_reg(in.mode)) {
      if (end > size_blocks) {
        add(FindingKind::InodeSize, ino, 0,
            fmt::format("inode {}: i_size {}, but file block {} is mapped; setting i_size to {}",
                        ino, in.size, end - 1, end * bs_), true);
        patch_inode(st, ino, size_field, end * bs_, 8);
      } else if (in.size > max_file_size(bs_)) {
        add(FindingKind::InodeSize, ino, 0,
            fmt::format("inode {}: i_size {} exceeds the {}-byte limit; setting it to {}", ino,
                        in.size, max_file_size(bs_), end * bs_), true);
        patch_inode(st, ino, size_field, end * bs_, 8);
      }
    } else if (mode_is_dir(in.mode)) {
      if (end == 0) {
        add(FindingKind::InodeMode, ino, 0,
            fmt::format("inode {}: directory without blocks{}", ino,
                        ino != sb_.root_ino ? "; clearing it" : ""),
            ino != sb_.root_ino);
        st.alive = false;
        st.cleared = ino != sb_.root_ino;
        return;
      }
      // i_size is made to end at the last block: trailing holes go (a
      // corrupt size must not make the scan huge), inner ones are reported.
      st.dir_blocks = end;
      if (in.size != end * bs_) {
        add(FindingKind::InodeSize, ino, 0,
            fmt::format("inode {}: directory i_size {}, but its blocks end at {}; setting it to {}",
                        ino, in.size, end * bs_, end * bs_), true);
        patch_inode(st, ino, size_field, end * bs_, 8);
      }
      uint64_t next = 0;  // the walk meets data blocks in logical order
      for (const auto& [logical, physical] : st.dir_map) {
        if (logical > next)
          add(FindingKind::DirHole, ino, 0,
              fmt::format("inode {}: directory block{} {} {} a hole", ino,
                          logical - next == 1 ? "" : "s",
                          logical - next == 1 ? std::to_string(next)
                                              : fmt::format("{}-{}", next, logical - 1),
                          logical - next == 1 ? "is" : "are"),
              false);
        next = logical + 1;
      }
    } else if (mode_is_lnk(in.mode) && has_block_map(in) && end > size_blocks) {
      add(FindingKind::InodeSize, ino, 0,
          fmt::format("inode {}: symlink of {} bytes maps file block {}", ino, in.size, end - 1),
          false);
    }
  }

  // --- the tree -------------------------------------------------------------
  void walk_tree() {
    InodeState& root = inodes_.at(sb_.root_ino);
    root.reached = true;
    root.parent = sb_.root_ino;
    std::deque<uint32_t> todo{sb_.root_ino};
    while (!todo.empty()) {
      const uint32_t dir = todo.front();
      todo.pop_front();
      scan_dir(dir, todo);
    }
  }

  void scan_dir(uint32_t dir, std::deque<uint32_t>& todo) {
    // Copies: scanning may add inodes (entries naming inodes the bitmap
    // marks free), and the map of this one must not change under the loop.
    const InodeState& st = inodes_.at(dir);
    const auto dir_map = st.dir_map;
    const uint64_t nblocks = st.dir_blocks;
    const uint32_t parent = st.parent;
    bool dot_seen = false;
    bool dotdot_seen = false;
    std::vector<uint8_t> buf(bs_);
    for (const auto& [logical, physical] : dir_map) {
      if (logical >= nblocks) continue;
      dev_.read(physical * bs_, buf);
      size_t off = 0;
      std::optional<size_t> prev;
      while (off < bs_) {
        const DirentCheck c = check_dirent(buf, off, sb_.inodes_count);
        const uint64_t at = physical * bs_ + off;
        if (!c.error.empty()) {
          add(FindingKind::DirRecord, dir, physical,
              fmt::format("directory {} block {} (disk {}) offset {}: {}; {}", dir, logical,
                          physical, off, c.error, c.walkable ? "freeing the record"
                                                             : "cutting the block there"),
              true);
          if (c.walkable) {
            patch(at, std::vector<uint8_t>(4, 0));
            prev = off;
            off += c.dirent.rec_len;
            continue;
          }
          if (prev) {
            patch(physical * bs_ + *prev + 4, le_bytes(bs_ - *prev, 2));
          } else {
            std::vector<uint8_t> empty(MPAGEFS_DIRENT_HEADER, 0);
            put_le16(empty, 4, static_cast<uint16_t>(bs_));
            patch(at, std::move(empty));
          }
          break;
        }
        const Dirent& d = c.dirent;
        const bool first = logical == 0 && off == 0;
        const bool second = logical == 0 && prev && *prev == 0;
        if (first) {
          dot_seen = dot_entry(dir, d, at, ".", dir);
          if (dot_seen) {
            prev = off;
            off += d.rec_len;
            continue;
          }
        } else if (second) {
          dotdot_seen = dot_entry(dir, d, at, "..", parent);
          if (dotdot_seen) {
            prev = off;
            off += d.rec_len;
            continue;
          }
        }
        if (d.inode != 0) entry(dir, d, at, todo);
        prev = off;
        off += d.rec_len;
      }
    }
    if (!dot_seen)
      add(FindingKind::DirDot, dir, 0,
          fmt::format("directory {}: first record is not \".\"", dir), false);
    if (!dotdot_seen)
      add(FindingKind::DirDot, dir, 0,
          fmt::format("directory {}: second record is not \"..\"", dir), false);
  }

  // "." or ".." where it belongs: true if the record is that entry (its
  // inode is then corrected to `want` and counted).
  bool dot_entry(uint32_t dir, const Dirent& d, uint64_t at, std::string_view name,
                 uint32_t want) {
    if (d.inode == 0 || d.name != name) return false;
    if (d.inode != want) {
      add(FindingKind::DirDot, dir, 0,
          fmt::format("directory {}: \"{}\" names inode {}, should be {}", dir, name, d.inode,
                      want), true);
      patch(at, le_bytes(want, 4));
    }
    if (d.file_type != MPAGEFS_FT_DIR) {
      add(FindingKind::DirFileType, dir, 0,
          fmt::format("directory {}: \"{}\" has file type {}, should be {}", dir, name,
                      d.file_type, MPAGEFS_FT_DIR), true);
      patch(at + 7, {MPAGEFS_FT_DIR});
    }
    ++inodes_.at(want).refs;
    return true;
  }

  // Whether `ino` can be named by an entry: in use, or marked free by the
  // bitmap but holding a live inode (then the bitmap is what is wrong, as
  // e2fsck decides from the inodes, not the bitmap).
  InodeState* live_target(uint32_t ino) {
    InodeState* t = find(ino);
    if (t == nullptr) {
      const Inode raw = img_->read_raw_inode(ino);
      if (!known_type(raw.mode) || raw.links_count == 0) return nullptr;
      t = &process_inode(ino);
    }
    return t->alive ? t : nullptr;
  }

  void entry(uint32_t dir, const Dirent& d, uint64_t at, std::deque<uint32_t>& todo) {
    const std::string name = fmt::format("directory {}: entry \"{}\"", dir, d.name);
    if (d.name == "." || d.name == "..") {
      // Left alone: it may be the real one in a directory whose first
      // block is lost (DirHole, DirDot), which repair does not rebuild.
      add(FindingKind::DirRecord, dir, 0, fmt::format("{} out of place", name), false);
      return;
    }
    InodeState* t = live_target(d.inode);
    if (t == nullptr) {
      add(FindingKind::DirEntryFree, dir, 0,
          fmt::format("{} names free inode {}; clearing it", name, d.inode), true);
      patch(at, le_bytes(0, 4));
      return;
    }
    if (mode_is_dir(t->raw.mode)) {
      if (t->reached) {
        add(FindingKind::DirHardLink, dir, 0,
            fmt::format("{} is a second link to directory {} (already in {}); clearing it", name,
                        d.inode, t->parent), true);
        patch(at, le_bytes(0, 4));
        return;
      }
      t->parent = dir;
      todo.push_back(d.inode);
    }
    t->reached = true;
    ++t->refs;
    const uint8_t want = file_type_of_mode(t->raw.mode);
    if (d.file_type != want) {
      add(FindingKind::DirFileType, dir, 0,
          fmt::format("{} has file type {}, inode {} is a {} ({})", name, d.file_type, d.inode,
                      type_name(t->raw.mode), want), true);
      patch(at + 7, {want});
    }
  }

  // --- orphans and link counts ----------------------------------------------
  void free_orphans() {
    for (auto& [ino, st] : inodes_) {
      if (!st.alive || st.reached) continue;
      add(FindingKind::Orphan, ino, 0,
          fmt::format("inode {} ({}, {} bytes, {} links) is in use but no directory reaches it; "
                      "freeing it", ino, type_name(st.raw.mode), st.raw.size,
                      st.raw.links_count), true);
      st.alive = false;
      st.cleared = true;
    }
    for (auto& [ino, st] : inodes_) {
      if (st.alive) continue;
      for (uint64_t b : st.claimed)
        if (claim_[b] == ino) claim_[b] = 0;
    }
  }

  void check_link_counts() {
    for (auto& [ino, st] : inodes_) {
      if (!st.alive || st.raw.links_count == st.refs) continue;
      add(FindingKind::LinkCount, ino, 0,
          fmt::format("inode {}: link count {}, but {} entries name it", ino, st.raw.links_count,
                      st.refs), true);
      patch_inode(st, ino, offsetof(struct mpagefs_inode, i_links_count), st.refs, 2);
    }
  }

  // --- bitmaps and free counts ----------------------------------------------
  void check_bitmaps(const std::vector<uint8_t>& ibitmap) {
    std::vector<uint8_t> bmap = img_->block_bitmap();
    const uint64_t used_blocks = compare_bitmap(
        bmap, sb_.blocks_count, [this](uint64_t b) {
          return b < sb_.first_data_block || claim_[b] != 0;
        },
        [this](uint64_t first, uint64_t count, bool used) {
          add(FindingKind::BlockBitmap, 0, first,
              fmt::format("block{} {} {}", count == 1 ? "" : "s",
                          count == 1 ? std::to_string(first)
                                     : fmt::format("{}-{}", first, first + count - 1),
                          used ? "in use but marked free" : "marked in use but free"),
              true);
        });
    if (bmap != img_->block_bitmap()) patch(uint64_t{sb_.block_bitmap} * bs_, bmap);

    std::vector<uint8_t> imap = ibitmap;
    const uint64_t used_inodes = compare_bitmap(
        imap, sb_.inodes_count, [this](uint64_t bit) {
          const auto it = inodes_.find(static_cast<uint32_t>(bit + 1));
          return it != inodes_.end() && it->second.alive;
        },
        [this](uint64_t first, uint64_t count, bool used) {
          for (uint64_t i = 0; i < count; ++i)
            add(FindingKind::InodeBitmap, static_cast<uint32_t>(first + i + 1), 0,
                fmt::format("inode {} {}", first + i + 1,
                            used ? "in use but marked free" : "marked in use but free"),
                true);
        });
    if (imap != ibitmap) patch(uint64_t{sb_.inode_bitmap} * bs_, imap);

    const auto free_blocks = static_cast<uint32_t>(sb_.blocks_count - used_blocks);
    const auto free_inodes = static_cast<uint32_t>(sb_.inodes_count - used_inodes);
    if (free_blocks != sb_.free_blocks_count)
      add(FindingKind::FreeBlocks, 0, 0,
          fmt::format("s_free_blocks_count {}, the bitmap gives {}", sb_.free_blocks_count,
                      free_blocks), true);
    if (free_inodes != sb_.free_inodes_count)
      add(FindingKind::FreeInodes, 0, 0,
          fmt::format("s_free_inodes_count {}, the bitmap gives {}", sb_.free_inodes_count,
                      free_inodes), true);
    fixed_sb_.free_blocks_count = free_blocks;
    fixed_sb_.free_inodes_count = free_inodes;
    if (super_dirty_ || fixed_sb_ != sb_) {
      const auto raw = encode_super(fixed_sb_);
      patch(0, {raw.begin(), raw.end()});
    }
    out_.stats = FsckStats{sb_.inodes_count, static_cast<uint32_t>(used_inodes),
                           sb_.blocks_count, used_blocks, bs_};
  }

  // Sets bits 0..n-1 of `map` to want(bit), reporting each run of bits that
  // changes; bits past n (padding) are left alone.  Returns the bits set.
  template <typename Want, typename Report>
  static uint64_t compare_bitmap(std::vector<uint8_t>& map, uint64_t n, Want want,
                                 Report report) {
    uint64_t set = 0;
    uint64_t run_first = 0;
    uint64_t run_len = 0;
    bool run_used = false;
    auto flush = [&] {
      if (run_len != 0) report(run_first, run_len, run_used);
      run_len = 0;
    };
    for (uint64_t b = 0; b < n; ++b) {
      const bool used = want(b);
      set += used ? 1 : 0;
      if (used == test_bit(map, b)) {
        flush();
        continue;
      }
      if (run_len != 0 && (run_used != used || run_first + run_len != b)) flush();
      if (run_len == 0) {
        run_first = b;
        run_used = used;
      }
      ++run_len;
      const auto mask = static_cast<uint8_t>(1U << (b % 8));
      map[b / 8] = static_cast<uint8_t>(used ? (map[b / 8] | mask) : (map[b / 8] & ~mask));
    }
    flush();
    return set;
  }

  BlockIo& dev_;
  SuperBlock sb_;
  SuperBlock fixed_sb_;
  bool super_dirty_ = false;
  std::optional<MpagefsImage> img_;
  uint32_t bs_ = 0;
  std::vector<uint32_t> claim_;  // block -> inode holding it (0: none)
  std::map<uint32_t, InodeState> inodes_;
  FsckPass out_;
};

}  // namespace

FsckPass check_image(BlockIo& dev) { return Checker(dev).run(); }

}  // namespace mpagefs
