// cmd_format.cpp - mpagectl mkfs, map, cat, ls, dump: making images and
// looking inside them (mpagefs or ext2).  Errors propagate as exceptions;
// run_cli prints them and exits 2 (UsageError) or 3.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "cli.hpp"
#include "image/sys/file_blockio.hpp"
#include "image/sys/host_tree.hpp"
#include "image/sys/mount_check.hpp"
#include "mpagefs/image/describe.hpp"
#include "mpagefs/image/ext2.hpp"
#include "mpagefs/image/fs_probe.hpp"
#include "mpagefs/image/image.hpp"
#include "mpagefs/image/mkfs.hpp"
#include "mpagefs/image/mpagefs_image.hpp"

namespace mpagefs {

namespace {

using nlohmann::json;

struct MkfsArgs {
  std::string image;
  uint32_t block_size = 1024;
  std::optional<uint64_t> size;
  bool force = false;
  uint32_t inodes = 0;
  std::string populate;
  std::string layout = "contiguous";
  uint32_t frag_run = 1;
  std::optional<int64_t> time;
  std::optional<uint64_t> uuid_seed;
  std::string label;
  std::string errors = "continue";
};

std::array<uint8_t, 16> random_uuid() {
  std::random_device rd;
  return uuid_from_seed((uint64_t{rd()} << 32) | rd());
}

// mke2fs's checks before writing to an existing device or image: never
// when it is mounted (-F does not override that: mke2fs's -F -F has no
// equivalent here), an existing filesystem only with -F.  Both refusals are
// runtime errors (exit 3) raised before anything is written.
void refuse_to_overwrite(const MkfsArgs& a, const struct stat& st) {
  if (const auto m = find_mount(a.image))
    throw std::runtime_error(a.image + " is mounted on " + m->target + "; will not make a filesystem here");
  if (a.force || (S_ISREG(st.st_mode) && st.st_size == 0)) return;
  const FileBlockIo dev(a.image, FileBlockIo::Mode::ReadOnly);
  if (const auto fs = probe_filesystem(dev))
    throw std::runtime_error(a.image + " already contains a filesystem (type " + *fs + "); use -F to overwrite it");
}

void run_mkfs(const MkfsArgs& a) {
  // Scan the source first: a bad tree must not leave a half-made image.
  std::optional<SourceNode> tree;
  if (!a.populate.empty()) tree = scan_host_tree(a.populate);

  const std::optional<uint64_t> size = a.size;
  struct stat st {};
  const bool exists = ::stat(a.image.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) throw IoError(a.image + ": " + std::strerror(errno));
  if (exists) refuse_to_overwrite(a, st);
  std::unique_ptr<FileBlockIo> file;
  const bool blockdev = exists && S_ISBLK(st.st_mode);
  if (size && !blockdev) {
    file = FileBlockIo::create(a.image, *size);  // a regular file: (re)sized, sparse
  } else if (blockdev || (exists && S_ISREG(st.st_mode) && st.st_size > 0)) {
    file = std::make_unique<FileBlockIo>(a.image, FileBlockIo::Mode::ReadWrite);
  } else {
    throw UsageError(a.image + ": give --size to create the image (or name a block device)");
  }
  std::optional<PrefixBlockIo> prefix;
  BlockIo* dev = file.get();
  if (size && *size < file->size()) dev = &prefix.emplace(*file, *size);
  if (size && *size > file->size())
    throw FormatError(fmt::format("{}: --size {} is larger than the device ({} bytes)", a.image,
                                  *size, file->size()));

  MkfsOptions o;
  o.block_size = a.block_size;
  o.inodes = a.inodes;
  o.layout = a.layout == "fragmented" ? Layout::Fragmented : Layout::Contiguous;
  o.frag_run = a.frag_run;
  o.mkfs_time = a.time ? *a.time : static_cast<int64_t>(std::time(nullptr));
  o.uuid = a.uuid_seed ? uuid_from_seed(*a.uuid_seed) : random_uuid();
  o.volume_name = a.label;
  o.errors = a.errors == "panic"        ? MPAGEFS_ERRORS_PANIC
             : a.errors == "remount-ro" ? MPAGEFS_ERRORS_RO
                                        : MPAGEFS_ERRORS_CONTINUE;
  const MkfsResult r = make_filesystem(*dev, o, tree ? &*tree : nullptr);
  const Geometry& g = r.geometry;
  std::printf("mpagefs on %s: %u blocks of %u bytes (%llu KiB), %u inodes, uuid %s\n",
              a.image.c_str(), g.blocks_count, g.block_size,
              static_cast<unsigned long long>(uint64_t{g.blocks_count} * g.block_size / 1024),
              g.inodes_count, hex_uuid(o.uuid).c_str());
  std::printf("  block bitmap %u (+%u), inode bitmap %u (+%u), inode table %u (+%u), "
              "first data block %u\n",
              g.block_bitmap, g.block_bitmap_blocks, g.inode_bitmap, g.inode_bitmap_blocks,
              g.inode_table, g.inode_table_blocks, g.first_data_block);
  if (tree)
    std::printf("  populated from %s (%s layout): %u files, %u directories, %u symlinks\n",
                a.populate.c_str(), a.layout.c_str(), r.files, r.dirs, r.symlinks);
  std::printf("  free: %u blocks, %u inodes\n", r.free_blocks, r.free_inodes);
}

std::string range(uint64_t first, uint64_t count) {
  return count == 1 ? std::to_string(first) : fmt::format("{}-{}", first, first + count - 1);
}

// The block map's JSON (image/describe.hpp) with where it came from.
json map_json(const FsImage& img, const std::string& path, uint32_t ino, const FileMap& m) {
  json j = to_json(m);
  j["fs"] = std::string(img.type());
  j["path"] = path;
  j["ino"] = ino;
  return j;
}

// The block map in logical order, each indirect block just before the
// first block it maps (where ext2 also puts it on disk).
void print_map(const std::string& path, uint32_t ino, const FileMap& m) {
  std::printf("%s: inode %u, %llu bytes, %llu blocks of %u\n", path.c_str(), ino,
              static_cast<unsigned long long>(m.size),
              static_cast<unsigned long long>(m.size_blocks), m.block_size);
  struct Line {
    uint64_t logical;
    int order;  // indirect (by level, outermost first), then data/hole
    std::string text;
  };
  std::vector<Line> lines;
  for (const DataRun& r : m.runs)
    lines.push_back({r.logical, 4, fmt::format("  data  {:>14}  disk {}", range(r.logical, r.count),
                                               range(r.physical, r.count))});
  for (const Hole& h : m.holes())
    lines.push_back({h.logical, 4, fmt::format("  hole  {:>14}", range(h.logical, h.count))});
  for (const IndirectBlock& b : m.indirect)
    lines.push_back({b.first_logical, 3 - b.level,
                     fmt::format("  {:<4}  from {:>9}  disk {}", indirect_kind_name(b.level), b.first_logical,
                                 b.physical)});
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return a.logical != b.logical ? a.logical < b.logical : a.order < b.order;
  });
  for (const Line& l : lines) std::printf("%s\n", l.text.c_str());
}

std::string mode_string(uint16_t mode) {
  std::string s = S_ISDIR(mode) ? "d" : (S_ISLNK(mode) ? "l" : (S_ISREG(mode) ? "-" : "?"));
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

void print_ls_line(const FsImage& img, const InodeInfo& in, const std::string& name) {
  std::string extra;
  if (S_ISLNK(in.mode)) extra = " -> " + img.read_symlink(in.ino);
  std::printf("%8u %s %3u %5u %5u %12llu %s%s\n", in.ino, mode_string(in.mode).c_str(), in.links,
              in.uid, in.gid, static_cast<unsigned long long>(in.size), name.c_str(),
              extra.c_str());
}

void print_dump(const json& j) {
  for (const auto& [k, v] : j.items()) {
    if (k == "groups") {
      for (size_t g = 0; g < v.size(); ++g)
        std::printf("%-22s %zu: %s\n", "group", g, v[g].dump().c_str());
    } else {
      std::printf("%-22s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str()
                                                          : v.dump().c_str());
    }
  }
}

}  // namespace

void register_format_commands(CLI::App& app) {
  auto args = std::make_shared<MkfsArgs>();
  CLI::App* mkfs = app.add_subcommand("mkfs", "make an mpagefs filesystem in a file or block device");
  mkfs->add_option("--block-size,-b", args->block_size, "block size in bytes")
      ->check(CLI::IsMember({1024, 2048, 4096}));
  mkfs->add_option("--size,-s", args->size,
                   "filesystem size in bytes (K/M/G suffixes); creates or truncates a regular file")
      ->transform(size_bytes());
  mkfs->add_flag("--force,-F", args->force,
                 "overwrite an existing filesystem (a mounted device is always refused)");
  mkfs->add_option("--inodes,-N", args->inodes, "number of inodes (default: one per 4 KiB)");
  mkfs->add_option("--populate,-d", args->populate, "copy this host directory in")
      ->check(CLI::ExistingDirectory);
  mkfs->add_option("--layout", args->layout, "data block layout with --populate")
      ->check(CLI::IsMember({"contiguous", "fragmented"}));
  mkfs->add_option("--frag-run", args->frag_run,
                   "data blocks per run with --layout fragmented (a free block after each run)")
      ->check(CLI::Range(1U, UINT32_MAX));
  mkfs->add_option("--time", args->time, "mkfs time, seconds since the epoch (default: now)");
  mkfs->add_option("--uuid-seed", args->uuid_seed, "derive the uuid from this number (default: random)");
  mkfs->add_option("--label,-L", args->label, "volume name (at most 16 bytes)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            return text.size() <= 16 ? std::string() : std::string("longer than 16 bytes");
          },
          "LABEL"));
  mkfs->add_option("--errors,-e", args->errors,
                   "what the kernel does on corruption unless mounted with errors= "
                   "(s_errors; default continue, as mke2fs)")
      ->check(CLI::IsMember({"continue", "remount-ro", "panic"}));
  mkfs->add_option("IMAGE", args->image, "image file or block device")->required();
  mkfs->callback([args] { run_mkfs(*args); });

  auto image = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);

  CLI::App* map = app.add_subcommand("map", "show a file's block map: data runs, holes, indirect blocks");
  map->add_option("IMAGE", *image, "image file or block device (mpagefs or ext2)")->required();
  map->add_option("PATH", *path, "path inside the image")->required();
  map->add_flag("--json", *as_json, "JSON output");
  map->callback([image, path, as_json] {
    FileBlockIo dev(*image, FileBlockIo::Mode::ReadOnly);
    const auto img = open_image(dev);
    const uint32_t ino = img->resolve(*path);
    const FileMap m = img->map_file(ino);
    if (*as_json)
      std::cout << map_json(*img, *path, ino, m).dump(2) << "\n";
    else
      print_map(*path, ino, m);
  });

  CLI::App* cat = app.add_subcommand("cat", "write a file's content to stdout");
  cat->add_option("IMAGE", *image, "image file or block device (mpagefs or ext2)")->required();
  cat->add_option("PATH", *path, "path inside the image")->required();
  cat->callback([image, path] {
    FileBlockIo dev(*image, FileBlockIo::Mode::ReadOnly);
    const auto img = open_image(dev);
    const uint32_t ino = img->resolve(*path);
    const InodeInfo in = img->inode(ino);
    if (S_ISDIR(in.mode)) throw FormatError(*path + ": is a directory");
    if (S_ISLNK(in.mode)) {
      std::cout << img->read_symlink(ino);
      return;
    }
    const FileMap m = img->map_file(ino);
    constexpr uint64_t kChunk = 1U << 20;
    for (uint64_t off = 0; off < m.size; off += kChunk) {
      const std::vector<uint8_t> buf = img->read_range(m, off, kChunk);
      if (std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size())
        throw IoError("write to stdout failed");
    }
    std::fflush(stdout);
  });

  auto ls_path = std::make_shared<std::string>("/");
  CLI::App* ls = app.add_subcommand("ls", "list a directory (inode, mode, links, uid, gid, size, name)");
  ls->add_option("IMAGE", *image, "image file or block device (mpagefs or ext2)")->required();
  ls->add_option("PATH", *ls_path, "directory or file inside the image (default /)");
  ls->callback([image, ls_path] {
    FileBlockIo dev(*image, FileBlockIo::Mode::ReadOnly);
    const auto img = open_image(dev);
    const uint32_t ino = img->resolve(*ls_path);
    const InodeInfo in = img->inode(ino);
    if (!S_ISDIR(in.mode)) {
      print_ls_line(*img, in, *ls_path);
      return;
    }
    for (const DirEntryInfo& d : img->list_dir(ino)) print_ls_line(*img, img->inode(d.ino), d.name);
  });

  CLI::App* dump = app.add_subcommand("dump", "show the superblock and geometry");
  dump->add_option("IMAGE", *image, "image file or block device (mpagefs or ext2)")->required();
  dump->add_flag("--json", *as_json, "JSON output");
  dump->callback([image, as_json] {
    FileBlockIo dev(*image, FileBlockIo::Mode::ReadOnly);
    const auto img = open_image(dev);
    const json j = describe_image(*img);
    if (*as_json)
      std::cout << j.dump(2) << "\n";
    else
      print_dump(j);
  });
}

}  // namespace mpagefs
