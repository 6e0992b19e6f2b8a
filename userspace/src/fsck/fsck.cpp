// fsck.cpp - the repair loop around check_image(): apply the planned
// writes, check again, stop when clean.
#include "mpagefs/fsck/fsck.hpp"

#include <algorithm>

namespace mpagefs {

std::string_view to_string(FindingKind k) {
  switch (k) {
    case FindingKind::Superblock: return "superblock";
    case FindingKind::InodeMode: return "inode-mode";
    case FindingKind::InodeField: return "inode-field";
    case FindingKind::InodeBlocks: return "inode-blocks";
    case FindingKind::InodeSize: return "inode-size";
    case FindingKind::BadPointer: return "bad-pointer";
    case FindingKind::IndirectLoop: return "indirect-loop";
    case FindingKind::CrossLink: return "cross-link";
    case FindingKind::DirRecord: return "dir-record";
    case FindingKind::DirDot: return "dir-dot";
    case FindingKind::DirHole: return "dir-hole";
    case FindingKind::DirEntryFree: return "dir-entry-free";
    case FindingKind::DirFileType: return "dir-file-type";
    case FindingKind::DirHardLink: return "dir-hard-link";
    case FindingKind::Orphan: return "orphan";
    case FindingKind::LinkCount: return "link-count";
    case FindingKind::BlockBitmap: return "block-bitmap";
    case FindingKind::InodeBitmap: return "inode-bitmap";
    case FindingKind::FreeBlocks: return "free-blocks";
    case FindingKind::FreeInodes: return "free-inodes";
  }
  return "unknown";
}

int FsckResult::exit_code() const {
  if (findings.empty()) return kFsckClean;
  return remaining.empty() ? kFsckCorrected : kFsckUncorrected;
}

FsckResult fsck(BlockIo& dev, const FsckOptions& opts) {
  FsckResult r;
  FsckPass pass = check_image(dev);
  r.passes = 1;
  r.findings = pass.findings;
  while (opts.repair && !pass.findings.empty() && !pass.patches.empty() &&
         r.passes <= opts.max_passes) {
    for (const Patch& p : pass.patches) dev.write(p.offset, p.bytes);
    dev.flush();
    r.repaired = true;
    pass = check_image(dev);
    ++r.passes;
    // A fix can uncover what the first check could not see (an entry in a
    // block that was unreadable before): report it too.
    for (Finding f : pass.findings) {
      const bool known = std::any_of(r.findings.begin(), r.findings.end(), [&f](const Finding& o) {
        return o.kind == f.kind && o.ino == f.ino && o.block == f.block && o.message == f.message;
      });
      if (known) continue;
      f.pass = r.passes;
      r.findings.push_back(std::move(f));
    }
  }
  r.remaining = std::move(pass.findings);
  r.stats = pass.stats;
  return r;
}

nlohmann::json to_json(const Finding& f) {
  return {{"kind", std::string(to_string(f.kind))}, {"ino", f.ino}, {"block", f.block},
          {"message", f.message}, {"fixable", f.fixable}, {"pass", f.pass}};
}

nlohmann::json to_json(const FsckResult& r) {
  nlohmann::json j{{"exit_code", r.exit_code()}, {"clean", r.remaining.empty()}, {"repaired", r.repaired},
                   {"passes", r.passes}, {"inodes_count", r.stats.inodes_count},
                   {"inodes_used", r.stats.inodes_used}, {"blocks_count", r.stats.blocks_count},
                   {"blocks_used", r.stats.blocks_used}, {"block_size", r.stats.block_size}};
  j["findings"] = nlohmann::json::array();
  for (const Finding& f : r.findings) j["findings"].push_back(to_json(f));
  j["remaining"] = nlohmann::json::array();
  for (const Finding& f : r.remaining) j["remaining"].push_back(to_json(f));
  return j;
}

}  // namespace mpagefs
