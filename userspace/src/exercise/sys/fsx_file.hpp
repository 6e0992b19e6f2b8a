// fsx_file.hpp - the POSIX FsxFile (exercise/fsx.hpp): the file under test
// opened by path, with mmap and O_DIRECT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mpagefs/exercise/fsx.hpp"

namespace mpagefs::fsx {

// Opens (creates, truncates to 0) `path` for fsx.  `direct` asks for an
// O_DIRECT descriptor too; EINVAL there only makes direct_supported() false.
std::unique_ptr<FsxFile> open_posix_file(const std::string& path, bool direct);
// Bytes of the page size (mmap granularity).
uint64_t page_size();

}  // namespace mpagefs::fsx
