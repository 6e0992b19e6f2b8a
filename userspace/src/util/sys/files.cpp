// files.cpp - whole-file reads and errno exceptions for the system layer.
#include "util/sys/files.hpp"

#include <fstream>
#include <sstream>

namespace mpagefs {

std::optional<std::string> try_read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace mpagefs
