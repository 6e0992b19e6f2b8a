// mutate.cpp - seeded corruption of an mpagefs image (see mutate.hpp).
#include "mpagefs/image/mutate.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "mpagefs/image/format.hpp"
#include "mpagefs/image/mpagefs_image.hpp"
#include "mpagefs/util/le.hpp"

namespace mpagefs {

namespace {

// splitmix64: the same sequence on every platform (std's distributions are
// implementation-defined, and a seed must replay anywhere).
class Rng {
 public:
  explicit Rng(uint64_t seed) : x_(seed) {}
  uint64_t next() {
    uint64_t z = (x_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for n > 0.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

 private:
  uint64_t x_;
};

// One non-zero block pointer of an in-use inode, with where it is stored.
struct PointerSite {
  uint32_t ino = 0;
  BlockPointer p;
  uint64_t offset = 0;  // device byte offset of the 32-bit pointer
};

// One directory record of the pristine image.
struct RecordSite {
  uint32_t dir = 0;
  uint64_t block = 0;
  uint32_t off = 0;       // byte offset in the block
  uint32_t inode = 0;
  uint16_t rec_len = 0;
  uint8_t name_len = 0;
  uint8_t file_type = 0;
  std::string name;
  uint64_t pos() const { return off; }
};

struct Model {
  uint32_t bs = 0;
  SuperBlock sb;
  std::array<uint8_t, kSuperSize> raw_sb{};
  std::vector<uint8_t> block_bitmap, inode_bitmap;
  std::vector<std::pair<uint32_t, Inode>> inodes;   // in use
  std::map<uint32_t, Inode> by_ino;
  std::map<uint32_t, uint32_t> parent;              // directory -> its parent
  std::vector<PointerSite> pointers;                // every level
  std::vector<RecordSite> records;                  // used records
  std::set<uint64_t> data_blocks;                   // blocks some inode holds
  uint64_t inode_offset(uint32_t ino) const {
    return uint64_t{sb.inode_table} * bs + uint64_t{ino - 1} * kInodeSize;
  }
};

Model build_model(BlockIo& dev) {
  Model m;
  const MpagefsImage img(dev);  // validates the superblock
  m.sb = img.super();
  m.bs = m.sb.block_size();
  dev.read(0, m.raw_sb);
  m.block_bitmap = img.block_bitmap();
  m.inode_bitmap = img.inode_bitmap();
  for (uint32_t ino : img.inodes_in_use()) {
    const Inode in = img.raw_inode(ino);  // throws for a corrupt inode
    m.inodes.emplace_back(ino, in);
    m.by_ino[ino] = in;
    if (!has_block_map(in)) continue;
    img.walk_pointers(inode_info(ino, in), [&](const BlockPointer& p, PointerFault fault) {
      if (fault != PointerFault::None)
        throw FormatError(fmt::format("mutate needs a valid image: inode {} {} is bad", ino,
                                      pointer_location(p)));
      const uint64_t off = p.holder == 0
                               ? m.inode_offset(ino) + offsetof(mpagefs_inode, i_block) + 4 * p.index
                               : p.holder * m.bs + 4ULL * p.index;
      m.pointers.push_back({ino, p, off});
      m.data_blocks.insert(p.block);
      return true;
    });
  }
  std::vector<uint8_t> block(m.bs);
  for (const auto& [ino, in] : m.inodes) {
    if (!mode_is_dir(in.mode)) continue;
    for (const PointerSite& ps : m.pointers) {
      if (ps.ino != ino || ps.p.level != 0) continue;
      dev.read(ps.p.block * m.bs, block);
      std::vector<Dirent> entries;
      try {
        entries = parse_dir_block(block, m.sb.inodes_count);
      } catch (const FormatError& e) {
        throw FormatError(fmt::format("mutate needs a valid image: directory {} block {}: {}", ino, ps.p.block,
                                      e.what()));
      }
      uint32_t off = 0;
      for (Dirent& d : entries) {
        const uint32_t next = off + d.rec_len;
        if (d.inode != 0) {
          if (d.name == "..") m.parent[ino] = d.inode;
          const auto name_len = static_cast<uint8_t>(d.name.size());
          m.records.push_back({ino, ps.p.block, off, d.inode, d.rec_len, name_len, d.file_type, std::move(d.name)});
        }
        off = next;
      }
    }
  }
  return m;
}

// Accumulates mutations and their writes.
class Planner {
 public:
  Planner(const Model& m, uint64_t seed) : m_(m), rng_(seed), raw_sb_(m.raw_sb) {}
  MutationPlan plan(unsigned count) {
    for (unsigned i = 0; i < count; ++i) one();
    return std::move(out_);
  }

 private:
  void write_le(uint64_t offset, uint32_t width, uint64_t v) {
    std::vector<uint8_t> b(width);
    for (uint32_t i = 0; i < width; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    out_.writes.push_back({offset, std::move(b)});
  }
  Mutation& add(Mutation mu) {
    if (mu.width != 0) write_le(mu.offset, mu.width, mu.new_value);
    out_.mutations.push_back(std::move(mu));
    return out_.mutations.back();
  }
  uint64_t other(uint64_t old, std::vector<uint64_t> candidates) {
    candidates.erase(std::remove(candidates.begin(), candidates.end(), old), candidates.end());
    return candidates.empty() ? old ^ 1 : rng_.pick(candidates);
  }

  void one() {
    // Weights: inodes and directories are where the kernel parses most.
    static constexpr std::array<void (Planner::*)(), 8> kKinds = {
        &Planner::superblock, &Planner::superblock_crc, &Planner::bitmap, &Planner::inode_field,
        &Planner::pointer, &Planner::pointer, &Planner::dirent, &Planner::dirent};
    (this->*kKinds[rng_.below(kKinds.size())])();
  }

  // A field changed, the checksum left stale: the mount's first check.
  void superblock() {
    if (rng_.below(4) == 0) return superblock_cosmetic();
    const auto field = static_cast<uint32_t>(rng_.below(20));  // the 20 le32 fields before times
    const uint64_t off = 4ULL * field;
    const uint32_t old = get_le32(raw_sb_, off);
    const uint32_t nv = old ^ (1U << rng_.below(32));
    sb_changed(off, 4, nv);
    Mutation mu{"sb-stale-crc", "superblock", fmt::format("le32 #{} (byte {})", field, off), off, 4,
                old, nv, false, true, "checksum left stale"};
    add(std::move(mu));
  }

  void superblock_cosmetic() {
    using SB = mpagefs_super_block;
    struct F { const char* name; uint64_t off; uint32_t width; };
    static constexpr std::array<F, 6> kFields = {{
        {"s_mount_count", offsetof(SB, s_mount_count), 4},
        {"s_mkfs_time", offsetof(SB, s_mkfs_time), 8},
        {"s_mount_time", offsetof(SB, s_mount_time), 8},
        {"s_write_time", offsetof(SB, s_write_time), 8},
        {"s_uuid[0]", offsetof(SB, s_uuid), 1},
        {"s_volume_name[0]", offsetof(SB, s_volume_name), 1}}};
    const F& f = kFields[rng_.below(kFields.size())];
    uint64_t old = 0;
    for (uint32_t i = 0; i < f.width; ++i) old |= uint64_t{raw_sb_[f.off + i]} << (8 * i);
    const uint64_t nv = old ^ (uint64_t{1} << rng_.below(8 * f.width));
    sb_changed(f.off, f.width, nv);
    Mutation mu{"sb-cosmetic", "superblock", f.name, f.off, f.width, old, nv, true, false,
                "informational field, nothing checks it"};
    add(std::move(mu));
    rewrite_sb_checksum();
  }

  // A field changed and the checksum recomputed: the checks after it.
  void superblock_crc() {
    using SB = mpagefs_super_block;
    struct F { const char* name; uint64_t off; };
    static constexpr std::array<F, 19> kFields = {{
        {"s_magic", offsetof(SB, s_magic)}, {"s_version", offsetof(SB, s_version)},
        {"s_log_block_size", offsetof(SB, s_log_block_size)},
        {"s_inode_size", offsetof(SB, s_inode_size)},
        {"s_feature_incompat", offsetof(SB, s_feature_incompat)},
        {"s_feature_ro_compat", offsetof(SB, s_feature_ro_compat)},
        {"s_state", offsetof(SB, s_state)},
        {"s_blocks_count", offsetof(SB, s_blocks_count)},
        {"s_free_blocks_count", offsetof(SB, s_free_blocks_count)},
        {"s_inodes_count", offsetof(SB, s_inodes_count)},
        {"s_free_inodes_count", offsetof(SB, s_free_inodes_count)},
        {"s_block_bitmap", offsetof(SB, s_block_bitmap)},
        {"s_block_bitmap_blocks", offsetof(SB, s_block_bitmap_blocks)},
        {"s_inode_bitmap", offsetof(SB, s_inode_bitmap)},
        {"s_inode_bitmap_blocks", offsetof(SB, s_inode_bitmap_blocks)},
        {"s_inode_table", offsetof(SB, s_inode_table)},
        {"s_inode_table_blocks", offsetof(SB, s_inode_table_blocks)},
        {"s_first_data_block", offsetof(SB, s_first_data_block)},
        {"s_root_ino", offsetof(SB, s_root_ino)}}};
    const F& f = kFields[rng_.below(kFields.size())];
    const uint32_t old = get_le32(raw_sb_, f.off);
    const uint64_t nblocks = m_.sb.blocks_count;
    const uint32_t nv = static_cast<uint32_t>(other(
        old, {0, 1, 2, old + 1ULL, old - 1ULL, old * 2ULL, old / 2, 0xFFFFFFFFULL, 0x80000000ULL,
              nblocks, nblocks + 1, m_.sb.inodes_count, m_.sb.inodes_count + 1ULL,
              rng_.below(nblocks), MPAGEFS_STATE_ERRORS, 0x10000ULL}));
    sb_changed(f.off, 4, nv);
    Mutation mu{"sb-field", "superblock", f.name, f.off, 4, old, nv, true, true,
                "the checks after the checksum"};
    add(std::move(mu));
    rewrite_sb_checksum();
  }

  void bitmap() {
    const bool inodes = rng_.below(3) == 0;
    const std::vector<uint8_t>& map = inodes ? m_.inode_bitmap : m_.block_bitmap;
    const uint64_t nbits = inodes ? m_.sb.inodes_count : m_.sb.blocks_count;
    const bool set = rng_.below(2) == 0;  // set a free bit, or clear a used one
    uint64_t bit = rng_.below(nbits);
    for (uint64_t i = 0; i < nbits && test_bit(map, bit) == set; ++i) bit = (bit + 1) % nbits;
    if (test_bit(map, bit) == set) return bitmap();  // all bits equal: try another
    const uint32_t first = inodes ? m_.sb.inode_bitmap : m_.sb.block_bitmap;
    const uint64_t off = uint64_t{first} * m_.bs + bit / 8;
    const uint8_t old = map[bit / 8];
    const auto nv = static_cast<uint8_t>(old ^ (1U << (bit % 8)));
    const std::string what = inodes ? fmt::format("inode {}", bit + 1) : fmt::format("block {}", bit);
    Mutation mu{inodes ? "inode-bitmap" : "block-bitmap",
                inodes ? "inode bitmap" : "block bitmap",
                fmt::format("byte {} (bit of {})", bit / 8, what), off, 1, old, nv, false, true,
                set ? fmt::format("{} marked in use but free", what)
                    : fmt::format("{} marked free but in use", what)};
    add(std::move(mu));
  }

  void inode_field() {
    using IN = mpagefs_inode;
    const auto& [ino, in] = rng_.pick(m_.inodes);
    const uint64_t base = m_.inode_offset(ino);
    const std::string where = fmt::format("inode {}", ino);
    const uint64_t maxsize = max_file_size(m_.bs);
    switch (rng_.below(9)) {
      case 0: {  // type bits
        const uint16_t type = static_cast<uint16_t>(other(
            in.mode & kIfmt, {0, kIfreg, kIfdir, kIflnk, kIfchr, kIfifo, kIfsock, kIfmt,
                               0010000 | 0020000}));
        const auto nv = static_cast<uint16_t>((in.mode & ~kIfmt) | type);
        add({"inode-mode", where, "i_mode (type)", base + offsetof(IN, i_mode), 2, in.mode, nv,
             false, true, "the directory entry's file type no longer matches"});
        return;
      }
      case 1: {  // permission bits only
        const auto nv = static_cast<uint16_t>(in.mode ^ (1U << rng_.below(12)));
        add({"inode-perm", where, "i_mode (permissions)", base + offsetof(IN, i_mode), 2,
             in.mode, nv, false, false, "permission bits: any value is valid"});
        return;
      }
      case 2: {
        const uint16_t nv = static_cast<uint16_t>(
            other(in.links_count, {0, in.links_count + 1ULL, in.links_count - 1ULL, 0xFFFF}));
        add({"inode-links", where, "i_links_count", base + offsetof(IN, i_links_count), 2,
             in.links_count, nv, false, true, "link count disagrees with the entries"});
        return;
      }
      case 3: {  // size
        uint64_t mapped_end = 0;  // bytes up to the last mapped block's start
        for (const PointerSite& p : m_.pointers)
          if (p.ino == ino && p.p.level == 0) mapped_end = std::max(mapped_end, p.p.logical * m_.bs + 1);
        const uint64_t nv = other(in.size, {0, 1, in.size - 1, in.size + 1, in.size + m_.bs,
                                            in.size + 1000ULL * m_.bs, maxsize, maxsize + 1,
                                            uint64_t{1} << 63, ~uint64_t{0}, 4096, 60, 59});
        bool detectable = true;
        std::string note = "i_size disagrees with the blocks mapped";
        if (mode_is_reg(in.mode) && nv >= mapped_end && nv <= maxsize) {
          detectable = false;
          note = "a regular file may end in a hole: any size past its last block is valid";
        }
        if (nv == maxsize) note += " (a huge size over few blocks)";
        add({"inode-size", where, "i_size", base + offsetof(IN, i_size), 8, in.size, nv, false,
             detectable, note});
        return;
      }
      case 4: {
        const uint32_t nv = static_cast<uint32_t>(
            other(in.blocks, {0, in.blocks + 1ULL, in.blocks - 1ULL, 0xFFFFFFFFULL,
                              m_.sb.blocks_count}));
        add({"inode-i_blocks", where, "i_blocks", base + offsetof(IN, i_blocks), 4, in.blocks, nv,
             false, true, "i_blocks disagrees with the blocks held"});
        return;
      }
      case 5:
        add({"inode-nsec", where, "i_mtime_nsec", base + offsetof(IN, i_mtime_nsec), 4,
             in.mtime_nsec, 1000000000ULL + rng_.below(0xC0000000ULL), false, true,
             "nanoseconds >= 1e9"});
        return;
      case 6:
        add({"inode-flags", where, "i_flags", base + offsetof(IN, i_flags), 4, in.flags,
             in.flags ^ (1U << rng_.below(32)), false, false,
             "reserved field: neither the kernel nor fsck reads it"});
        return;
      case 7: {
        static constexpr std::array<std::pair<const char*, size_t>, 5> kCosmetic = {{
            {"i_mtime", offsetof(IN, i_mtime)}, {"i_atime", offsetof(IN, i_atime)},
            {"i_ctime", offsetof(IN, i_ctime)}, {"i_uid", offsetof(IN, i_uid)},
            {"i_generation", offsetof(IN, i_generation)}}};
        const auto& [name, off] = kCosmetic[rng_.below(kCosmetic.size())];
        add({"inode-cosmetic", where, name, base + off, 1, 0,
             uint64_t{1} << rng_.below(8), false, false, "any value is valid"});
        out_.mutations.back().old_value = 0xFFFF;  // fixed below
        fix_old_byte(base + off);
        return;
      }
      default: {  // no links at all: iput would free a live inode
        add({"inode-links", where, "i_links_count", base + offsetof(IN, i_links_count), 2,
             in.links_count, 0, false, true, "an inode in use with no links"});
        return;
      }
    }
  }

  // The old value of a one-byte change of the inode table, from the model.
  void fix_old_byte(uint64_t off) {
    const uint64_t rel = off - uint64_t{m_.sb.inode_table} * m_.bs;
    const uint32_t ino = static_cast<uint32_t>(rel / kInodeSize) + 1;
    const auto raw = encode_inode(m_.by_ino.at(ino));
    Mutation& mu = out_.mutations.back();
    mu.old_value = raw[rel % kInodeSize];
    mu.new_value ^= mu.old_value;
    out_.writes.back().bytes[0] = static_cast<uint8_t>(mu.new_value);
  }

  void pointer() {
    if (m_.pointers.empty()) return inode_field();
    const PointerSite& ps = rng_.pick(m_.pointers);
    const std::string where = fmt::format("inode {}", ps.ino);
    const std::string field = pointer_location(ps.p) + (ps.p.level > 0
                                                            ? fmt::format(" (level {} indirect)", ps.p.level)
                                                            : fmt::format(" (file block {})", ps.p.logical));
    const uint64_t nblocks = m_.sb.blocks_count;
    const uint64_t first_data = m_.sb.first_data_block;
    // A block of another inode (or of the same one) for duplicates.
    std::vector<const PointerSite*> others;
    for (const PointerSite& o : m_.pointers)
      if (o.p.block != ps.p.block) others.push_back(&o);
    // The indirect blocks above this pointer (loops).
    std::vector<uint64_t> ancestors;
    if (ps.p.holder != 0) ancestors.push_back(ps.p.holder);
    for (const PointerSite& o : m_.pointers)
      if (o.ino == ps.ino && o.p.level > ps.p.level && o.p.level > 0 &&
          o.p.logical <= ps.p.logical)
        ancestors.push_back(o.p.block);
    uint64_t nv = 0;
    std::string note;
    switch (rng_.below(ps.p.level > 0 || ps.p.holder != 0 ? 9 : 7)) {
      case 0: nv = nblocks + rng_.below(4); note = "past the end of the device"; break;
      case 1: nv = 0xFFFFFFFFULL - rng_.below(2); note = "far past the end of the device"; break;
      case 2: nv = MPAGEFS_SUPER_BLOCKNR; note = "the superblock"; break;
      case 3:
        nv = m_.sb.block_bitmap + rng_.below(2) * (m_.sb.inode_bitmap - m_.sb.block_bitmap);
        note = "into a bitmap";
        break;
      case 4:
        nv = m_.sb.inode_table + rng_.below(m_.sb.inode_table_blocks);
        note = "into the inode table";
        break;
      case 5:
        if (others.empty()) { nv = 0; note = "cleared: the block is orphaned"; break; }
        {
          const PointerSite* o = rng_.pick(others);
          nv = o->p.block;
          note = fmt::format("shared with inode {} ({})", o->ino,
                             o->p.level ? "an indirect block" : "a data block");
        }
        break;
      case 6: {
        uint64_t b = first_data + rng_.below(nblocks - first_data);
        for (uint64_t i = 0; i < nblocks && m_.data_blocks.count(b) != 0; ++i)
          b = first_data + (b - first_data + 1) % (nblocks - first_data);
        nv = b;
        note = test_bit(m_.block_bitmap, b) ? "a block no inode holds" : "a free block";
        break;
      }
      default:  // loops: an indirect chain that comes back to itself
        if (ps.p.level > 0 && rng_.below(2) == 0) {
          nv = ps.p.block;  // stays the same: make the first entry of it point at itself
          const uint64_t off = ps.p.block * m_.bs;
          add({"indirect-loop", where, fmt::format("level {} indirect block {} entry 0", ps.p.level,
                                                   ps.p.block),
               off, 4, 0xFFFFFFFF, ps.p.block, false, true,
               "an indirect block whose first entry points at itself"});
          fix_old_entry(off);
          return;
        }
        if (!ancestors.empty()) {
          nv = rng_.pick(ancestors);
          note = "an indirect block above it: the chain loops";
        } else {
          nv = ps.p.holder;
          note = "its own holder";
        }
        break;
    }
    if (nv == ps.p.block) nv = nblocks;
    add({"inode-pointer", where, field, ps.offset, 4, ps.p.block, nv, false, true, note});
  }

  void fix_old_entry(uint64_t off) {
    // The old first entry of an indirect block: the pointer site stored there.
    Mutation& mu = out_.mutations.back();
    mu.old_value = 0;
    for (const PointerSite& o : m_.pointers)
      if (o.offset == off) mu.old_value = o.p.block;
  }

  void dirent() {
    if (m_.records.empty()) return inode_field();
    const RecordSite& r = rng_.pick(m_.records);
    const std::string where = fmt::format("directory {} block {}", r.dir, r.block);
    const uint64_t at = r.block * m_.bs + r.off;
    const std::string rec = fmt::format("record at {} '{}'", r.off, r.name);
    const bool dot = r.name == "." || r.name == "..";
    switch (rng_.below(9)) {
      case 0: {
        const uint64_t nv = other(r.rec_len, {0, 4, r.rec_len + 1ULL, r.rec_len + 2ULL,
                                              r.rec_len - 1ULL, m_.bs - r.off + 4ULL, 0xFFFC,
                                              dirent_len(r.name_len) - 4ULL});
        add({"dirent-rec_len", where, rec + " rec_len", at + 4, 2, r.rec_len, nv & 0xFFFF, false,
             true, "rec_len 0, unaligned, crossing the block or shorter than the name"});
        return;
      }
      case 1: {
        const uint64_t nv = other(r.name_len, {0, 255, r.rec_len - 7ULL, r.rec_len + 0ULL});
        add({"dirent-name_len", where, rec + " name_len", at + 6, 1, r.name_len, nv & 0xFF, false,
             true, "name_len 0 or longer than the record"});
        return;
      }
      case 2: {
        const uint64_t nv = other(r.inode, {0, m_.sb.inodes_count + 1ULL, 0xFFFFFFFFULL,
                                            m_.sb.inodes_count * 2ULL});
        // inode 0 frees the record: its child is orphaned (or "." / ".." missing).
        add({"dirent-inode", where, rec + " inode", at, 4, r.inode, nv, false, true,
             nv == 0 ? "record freed: its inode loses a link" : "inode number out of range"});
        return;
      }
      case 3: {  // a free inode
        auto ino = static_cast<uint32_t>(1 + rng_.below(m_.sb.inodes_count));
        for (uint32_t i = 0; i < m_.sb.inodes_count && test_bit(m_.inode_bitmap, ino - 1); ++i)
          ino = ino % m_.sb.inodes_count + 1;
        add({"dirent-inode", where, rec + " inode", at, 4, r.inode, ino, false, true,
             "an entry naming a free inode"});
        return;
      }
      case 4: {  // cycles: an entry naming this directory or one of its ancestors
        std::vector<uint64_t> up{r.dir};
        for (uint32_t d = r.dir; m_.parent.count(d) != 0 && m_.parent.at(d) != d;) {
          d = m_.parent.at(d);
          up.push_back(d);
        }
        const uint64_t nv = other(r.inode, up);
        add({"dirent-cycle", where, rec + " inode", at, 4, r.inode, nv, false, true,
             dot ? "'.' or '..' naming the wrong directory"
                 : "an entry naming its own directory or an ancestor: a cycle"});
        return;
      }
      case 5: {
        const auto it = m_.by_ino.find(r.inode);
        const uint8_t right = it == m_.by_ino.end() ? r.file_type : file_type_of_mode(it->second.mode);
        const uint64_t nv = other(right, {MPAGEFS_FT_UNKNOWN, MPAGEFS_FT_REG_FILE, MPAGEFS_FT_DIR,
                                          MPAGEFS_FT_SYMLINK, MPAGEFS_FT_CHRDEV, MPAGEFS_FT_FIFO,
                                          MPAGEFS_FT_MAX, 0xFF});
        add({"dirent-file_type", where, rec + " file_type", at + 7, 1, r.file_type, nv, false,
             true, "file type disagrees with the inode"});
        return;
      }
      case 6: {  // a '/' or NUL inside the name
        if (r.name_len == 0) return dirent();
        const auto i = static_cast<uint32_t>(rng_.below(r.name_len));
        const uint8_t nv = rng_.below(2) ? '/' : 0;
        add({"dirent-name", where, fmt::format("{} name[{}]", rec, i), at + 8 + i, 1,
             static_cast<uint8_t>(r.name[i]), nv, false, true, "'/' or NUL inside a name"});
        return;
      }
      case 7: {  // another letter: a rename nobody can tell from a real one
        if (r.name_len == 0) return dirent();
        const auto i = static_cast<uint32_t>(rng_.below(r.name_len));
        const auto old = static_cast<uint8_t>(r.name[i]);
        auto nv = static_cast<uint8_t>('A' + rng_.below(26));
        if (nv == old) nv = 'Z' - (old == 'Z');
        // A new name may equal a sibling's, or turn "." / ".." into a plain name.
        std::string renamed = r.name;
        renamed[i] = static_cast<char>(nv);
        bool clash = dot;
        for (const RecordSite& s : m_.records)
          if (s.dir == r.dir && s.name == renamed) clash = true;
        add({"dirent-rename", where, fmt::format("{} name[{}]", rec, i), at + 8 + i, 1, old, nv,
             false, clash,
             clash ? "the new name clashes with '.', '..' or a sibling"
                   : "a plain rename: a valid directory"});
        return;
      }
      default: {  // the record's name becomes "." or ".." of a plain entry
        if (dot || r.name_len < 1) return dirent();
        add({"dirent-name", where, rec + " name[0]", at + 8, 1, static_cast<uint8_t>(r.name[0]),
             '.', false, r.name_len <= 2 && r.name.find_first_not_of('.', 1) == std::string::npos,
             "an entry renamed to start with '.'"});
        Mutation& mu = out_.mutations.back();
        std::string renamed = r.name;
        renamed[0] = '.';
        bool clash = renamed == "." || renamed == "..";
        for (const RecordSite& s : m_.records)
          if (s.dir == r.dir && s.name == renamed) clash = true;
        mu.detectable = clash;
        mu.note = clash ? "renamed to '.' / '..' or a sibling's name" : "a plain rename";
        return;
      }
    }
  }

  // The superblock as the mutations so far left it (a recomputed checksum
  // covers every earlier change too).
  void sb_changed(uint64_t off, uint32_t width, uint64_t v) {
    for (uint32_t i = 0; i < width; ++i) raw_sb_[off + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  void rewrite_sb_checksum() {
    const uint32_t crc = super_checksum(raw_sb_);
    put_le32(raw_sb_, MPAGEFS_SUPER_CSUM_OFFSET, crc);
    write_le(MPAGEFS_SUPER_CSUM_OFFSET, 4, crc);
  }

  const Model& m_;
  Rng rng_;
  std::array<uint8_t, kSuperSize> raw_sb_;
  MutationPlan out_;
};

}  // namespace

std::string Mutation::describe() const {
  std::string s = fmt::format("{} {}: {} -> {}", structure, field, old_value, new_value);
  if (crc_recomputed) s += " (checksum recomputed)";
  if (!note.empty()) s += " (" + note + ")";
  if (!detectable) s += " [undetectable by fsck]";
  return s;
}

MutationPlan plan_mutations(BlockIo& dev, uint64_t seed, unsigned count) {
  const Model m = build_model(dev);
  return Planner(m, seed).plan(count);
}

MutationPlan mutate_image(BlockIo& dev, uint64_t seed, unsigned count) {
  MutationPlan plan = plan_mutations(dev, seed, count);
  for (const MutationWrite& w : plan.writes) dev.write(w.offset, w.bytes);
  dev.flush();
  return plan;
}

nlohmann::json to_json(const MutationPlan& plan) {
  nlohmann::json list = nlohmann::json::array();
  for (const Mutation& m : plan.mutations)
    list.push_back({{"kind", m.kind}, {"structure", m.structure}, {"field", m.field}, {"offset", m.offset},
                    {"width", m.width}, {"old", m.old_value}, {"new", m.new_value},
                    {"crc_recomputed", m.crc_recomputed}, {"detectable", m.detectable}, {"note", m.note},
                    {"description", m.describe()}});
  return {{"mutations", list}};
}

}  // namespace mpagefs
