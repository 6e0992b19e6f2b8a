// owner_map_loader.cpp - the owner map of an image file or block device.
#include "image/sys/owner_map_loader.hpp"

#include "image/sys/file_blockio.hpp"
#include "mpagefs/image/image.hpp"

namespace mpagefs {

BlockOwnerMap load_owner_map(const std::string& image_path) {
  FileBlockIo dev(image_path, FileBlockIo::Mode::ReadOnly);
  return build_owner_map(dev);
}

}  // namespace mpagefs
