// files.hpp - small helpers of the system layer: whole files read by path,
// errno turned into an exception.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace mpagefs {

// The whole content of the file at `path`, or nullopt (errno set) when it
// cannot be opened.
std::optional<std::string> try_read_file(const std::string& path);

// The whole content of the file at `path`; throws
// Error("cannot read PATH: <strerror>") when it cannot be opened.
template <class Error = std::runtime_error>
std::string read_file(const std::string& path) {
  std::optional<std::string> text = try_read_file(path);
  if (!text) throw Error("cannot read " + path + ": " + std::strerror(errno));
  return *std::move(text);
}

// Throws std::system_error for the current errno, `what` naming the call
// and its object ("open /mnt/f").
[[noreturn]] void throw_errno(const std::string& what);

}  // namespace mpagefs
