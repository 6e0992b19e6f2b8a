// describe.cpp - an image and its block maps as JSON (mpagectl dump, map).
#include "mpagefs/image/describe.hpp"

#include <cstring>
#include <fmt/format.h>
#include <iterator>

#include "mpagefs/image/ext2.hpp"
#include "mpagefs/image/mpagefs_image.hpp"

namespace mpagefs {

using nlohmann::json;

std::string hex_uuid(const std::array<uint8_t, 16>& u) {
  std::string s;
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    fmt::format_to(std::back_inserter(s), "{:02x}", u[i]);
  }
  return s;
}

const char* indirect_kind_name(int level) { return level == 1 ? "IND" : (level == 2 ? "DIND" : "TIND"); }

nlohmann::json to_json(const FileMap& m) {
  json j{{"size", m.size}, {"block_size", m.block_size}, {"size_blocks", m.size_blocks}};
  j["runs"] = json::array();
  for (const DataRun& r : m.runs)
    j["runs"].push_back({{"logical", r.logical}, {"physical", r.physical}, {"count", r.count}});
  j["holes"] = json::array();
  for (const Hole& h : m.holes()) j["holes"].push_back({{"logical", h.logical}, {"count", h.count}});
  j["indirect"] = json::array();
  for (const IndirectBlock& b : m.indirect)
    j["indirect"].push_back({{"physical", b.physical}, {"level", b.level},
                             {"kind", indirect_kind_name(b.level)}, {"first_logical", b.first_logical}});
  return j;
}

nlohmann::json describe_image(const FsImage& img) {
  json j{{"fs", std::string(img.type())}, {"block_size", img.block_size()},
         {"blocks_count", img.blocks_count()}, {"inodes_count", img.inodes_count()},
         {"root_ino", img.root_ino()}};
  if (const auto* m = dynamic_cast<const MpagefsImage*>(&img)) {
    const SuperBlock& sb = m->super();
    j["version"] = sb.version;
    j["state"] = sb.state;
    j["free_blocks_count"] = sb.free_blocks_count;
    j["free_inodes_count"] = sb.free_inodes_count;
    j["block_bitmap"] = {{"first", sb.block_bitmap}, {"blocks", sb.block_bitmap_blocks}};
    j["inode_bitmap"] = {{"first", sb.inode_bitmap}, {"blocks", sb.inode_bitmap_blocks}};
    j["inode_table"] = {{"first", sb.inode_table}, {"blocks", sb.inode_table_blocks}};
    j["first_data_block"] = sb.first_data_block;
    j["features"] = {{"compat", sb.feature_compat}, {"incompat", sb.feature_incompat},
                     {"ro_compat", sb.feature_ro_compat}};
    j["mount_count"] = sb.mount_count;
    j["errors"] = sb.errors;
    j["errors_policy"] = std::string(errors_policy_name(effective_errors_policy(sb.errors)));
    j["mkfs_time"] = sb.mkfs_time;
    j["write_time"] = sb.write_time;
    j["uuid"] = hex_uuid(sb.uuid);
    j["volume_name"] = std::string(sb.volume_name.data(),
                                   strnlen(sb.volume_name.data(), sb.volume_name.size()));
    j["checksum"] = fmt::format("{:#010x}", sb.checksum);
    j["used_blocks_in_bitmap"] = m->used_blocks_in_bitmap();
  } else if (const auto* e = dynamic_cast<const Ext2Image*>(&img)) {
    const Ext2Super& sb = e->super();
    j["first_data_block"] = sb.first_data_block;
    j["blocks_per_group"] = sb.blocks_per_group;
    j["inodes_per_group"] = sb.inodes_per_group;
    j["inode_size"] = sb.inode_size;
    j["free_blocks_count"] = sb.free_blocks_count;
    j["free_inodes_count"] = sb.free_inodes_count;
    j["groups"] = json::array();
    for (const Ext2GroupDesc& g : e->groups())
      j["groups"].push_back({{"block_bitmap", g.block_bitmap}, {"inode_bitmap", g.inode_bitmap},
                             {"inode_table", g.inode_table}});
  }
  return j;
}

}  // namespace mpagefs
