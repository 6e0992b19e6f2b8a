// blockmap.cpp - BlockOwnerMap: a run-length map from disk blocks to owners.
#include "mpagefs/image/blockmap.hpp"

namespace mpagefs {

std::string_view to_string(BlockKind k) {
  switch (k) {
    case BlockKind::Super: return "super";
    case BlockKind::GroupDesc: return "gdt";
    case BlockKind::BlockBitmap: return "bbitmap";
    case BlockKind::InodeBitmap: return "ibitmap";
    case BlockKind::InodeTable: return "itable";
    case BlockKind::Data: return "data";
    case BlockKind::Dir: return "dir";
    case BlockKind::Ind: return "IND";
    case BlockKind::Dind: return "DIND";
    case BlockKind::Tind: return "TIND";
    case BlockKind::Unknown: break;
  }
  return "unknown";
}

namespace {
bool logical_advances(BlockKind k) {
  return k != BlockKind::Ind && k != BlockKind::Dind && k != BlockKind::Tind;
}
}  // namespace

void BlockOwnerMap::add(uint64_t block, const BlockOwner& owner) {
  if (!runs_.empty()) {
    auto& last = std::prev(runs_.end())->second;
    const BlockOwner& o = last.owner;
    if (last.first_block + last.count == block && o.kind == owner.kind && o.ino == owner.ino &&
        o.path == owner.path && logical_advances(o.kind) &&
        o.logical + last.count == owner.logical) {
      ++last.count;
      return;
    }
  }
  runs_[block] = OwnerRun{block, 1, owner};
}

std::optional<BlockOwner> BlockOwnerMap::lookup(uint64_t block) const {
  auto it = runs_.upper_bound(block);
  if (it == runs_.begin()) return std::nullopt;
  --it;
  const OwnerRun& r = it->second;
  if (block >= r.first_block + r.count) return std::nullopt;
  BlockOwner o = r.owner;
  if (logical_advances(o.kind)) o.logical += block - r.first_block;
  return o;
}

}  // namespace mpagefs
