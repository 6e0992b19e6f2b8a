// host_tree.hpp - a host directory as a SourceNode tree for mkfs --populate
// (image/sys/host_tree.cpp).  Regular files, directories and symlinks;
// holes found with SEEK_DATA/SEEK_HOLE; mode, uid, gid and mtime kept.
// Other file types (devices, fifos, sockets) are refused with their path.
#pragma once

#include <string>

#include "mpagefs/image/mkfs.hpp"

namespace mpagefs {

// Throws IoError (system errors) or FormatError (unsupported file type).
// File contents are read lazily, during make_filesystem().
SourceNode scan_host_tree(const std::string& dir);

}  // namespace mpagefs
