// host_tree.cpp - scanning a host directory for mkfs --populate.
#include "image/sys/host_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>

#include "util/sys/unique_fd.hpp"

namespace mpagefs {

namespace {

[[noreturn]] void throw_sys_error(const std::string& what, const std::string& path) {
  throw IoError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

using Fd = UniqueFd;

Fd open_or_throw(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_sys_error("open", path);
  return fd;
}

// Data ranges of a file by SEEK_DATA/SEEK_HOLE; the whole file if the
// filesystem does not support them.
std::vector<std::pair<uint64_t, uint64_t>> data_ranges(const std::string& path, uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (size == 0) return out;
  const Fd fd = open_or_throw(path);
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < size) {
    const off_t data = ::lseek(fd.get(), pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      if (errno == EINVAL) return {{0, size}};
      throw_sys_error("lseek SEEK_DATA", path);
    }
    off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
    if (hole < 0) throw_sys_error("lseek SEEK_HOLE", path);
    if (static_cast<uint64_t>(hole) > size) hole = static_cast<off_t>(size);
    out.emplace_back(data, hole);
    pos = hole;
  }
  return out;
}

SourceNode scan(const std::string& path, const std::string& name) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw_sys_error("stat", path);
  SourceNode n;
  n.name = name;
  n.mode = static_cast<uint16_t>(st.st_mode & 07777);
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.mtime = st.st_mtim.tv_sec;
  n.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  if (S_ISREG(st.st_mode)) {
    n.type = SourceNode::Type::File;
    n.size = static_cast<uint64_t>(st.st_size);
    n.data = data_ranges(path, n.size);
    // Opened per read: a tree can have more files than the fd limit allows.
    n.read = [path](uint64_t off, std::span<uint8_t> out) {
      const Fd fd = open_or_throw(path);
      size_t done = 0;
      while (done < out.size()) {
        const ssize_t r = ::pread(fd.get(), out.data() + done, out.size() - done,
                                  static_cast<off_t>(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw_sys_error("read", path);
        if (r == 0) throw IoError(path + ": file shrank while being copied");
        done += static_cast<size_t>(r);
      }
    };
  } else if (S_ISDIR(st.st_mode)) {
    n.type = SourceNode::Type::Dir;
    const std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) throw_sys_error("opendir", path);
    errno = 0;
    while (const dirent* e = ::readdir(d.get())) {
      const std::string child = e->d_name;
      if (child == "." || child == "..") continue;
      std::string child_path = path;
      child_path += '/';
      child_path += child;
      n.children.push_back(scan(child_path, child));
      errno = 0;
    }
    if (errno != 0) throw_sys_error("readdir", path);
  } else if (S_ISLNK(st.st_mode)) {
    n.type = SourceNode::Type::Symlink;
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    const ssize_t len = ::readlink(path.c_str(), target.data(), target.size());
    if (len < 0) throw_sys_error("readlink", path);
    target.resize(static_cast<size_t>(len));
    n.target = target;
  } else {
    throw FormatError(path + ": not a regular file, directory or symlink (unsupported)");
  }
  return n;
}

}  // namespace

SourceNode scan_host_tree(const std::string& dir) {
  SourceNode root = scan(dir, "");
  if (root.type != SourceNode::Type::Dir) throw FormatError(dir + ": not a directory");
  return root;
}

}  // namespace mpagefs
