// describe.hpp - an image and its block maps as JSON: what mpagectl dump
// and map --json print (the text forms are the command's).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "mpagefs/image/image.hpp"

namespace mpagefs {

// "01234567-89ab-cdef-0123-456789abcdef".
std::string hex_uuid(const std::array<uint8_t, 16>& u);
// "IND", "DIND" or "TIND" for an indirect block of level 1, 2 or 3.
const char* indirect_kind_name(int level);
// {"size", "block_size", "size_blocks", "runs", "holes", "indirect"}.
nlohmann::json to_json(const FileMap& m);
// The superblock's fields (and ext2's group descriptors) by name.
nlohmann::json describe_image(const FsImage& img);

}  // namespace mpagefs
