// owner_map_loader.hpp - the owner map (image/image.hpp) of an image
// named by its path.
#pragma once

#include <string>

#include "mpagefs/image/blockmap.hpp"

namespace mpagefs {

// build_owner_map() of the file or block device at `image_path`, opened
// read-only.
BlockOwnerMap load_owner_map(const std::string& image_path);

}  // namespace mpagefs
