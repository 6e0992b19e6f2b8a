// The system side: a host directory scanned for --populate (holes found by
// SEEK_DATA), image files through FileBlockIo, load_owner_map.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "image/sys/file_blockio.hpp"
#include "image/sys/host_tree.hpp"
#include "image/sys/owner_map_loader.hpp"
#include "mpagefs/image/image.hpp"
#include "temp_dir.hpp"
#include "test_image_util.hpp"

using namespace mpagefs;
using namespace mpagefs::testing;

namespace {

void write_at(const std::string& path, uint64_t off, const std::string& data, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)),
            static_cast<ssize_t>(data.size()));
  ::close(fd);
}

TEST(HostTree, PopulateFromDirectory) {
  TempDir t;
  const std::string src = t / "src";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/sub").c_str(), 0700), 0);
  const std::string f17 = pattern(17 * 1024, 1);
  write_at(src + "/f17", 0, f17, f17.size());
  // 1 MiB with 8 KiB of data in the middle: the rest is a hole.
  const std::string mid = pattern(8192, 2);
  write_at(src + "/sparse", 512 << 10, mid, 1 << 20);
  write_at(src + "/sub/tail", 0, "tail", 4);
  ASSERT_EQ(::symlink("f17", (src + "/link").c_str()), 0);
  struct timespec times[2] = {{1000, 0}, {1234567, 89}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/f17").c_str(), times, 0), 0);

  const SourceNode tree = scan_host_tree(src);
  const std::string image = t / "img";
  {
    const auto dev = FileBlockIo::create(image, 4 << 20);
    EXPECT_FALSE(dev->is_block_device());
    EXPECT_EQ(dev->size(), 4U << 20);
    make_filesystem(*dev, options(1024), &tree);
  }
  FileBlockIo dev(image, FileBlockIo::Mode::ReadOnly);
  const auto img = open_image(dev);
  const uint32_t f = img->resolve("/f17");
  EXPECT_EQ(as_string(img->read_file(f)), f17);
  EXPECT_EQ(img->inode(f).mtime, 1234567);
  EXPECT_EQ(img->inode(img->resolve("/sub")).mode, S_IFDIR | 0700);
  EXPECT_EQ(as_string(img->read_file(img->resolve("/sub/tail"))), "tail");
  EXPECT_EQ(img->read_symlink(img->resolve("/link")), "f17");

  const uint32_t s = img->resolve("/sparse");
  std::string expect(1 << 20, '\0');
  expect.replace(512 << 10, mid.size(), mid);
  EXPECT_EQ(as_string(img->read_file(s)), expect);
  EXPECT_EQ(img->inode(s).mode, S_IFREG | 0640);
  // Where the host filesystem reports holes, they stay holes.
  const int fd = ::open((src + "/sparse").c_str(), O_RDONLY);
  const off_t first_data = ::lseek(fd, 0, SEEK_DATA);
  ::close(fd);
  if (first_data > 0) {
    const FileMap m = img->map_file(s);
    uint64_t mapped = 0;
    for (const DataRun& r : m.runs) mapped += r.count;
    EXPECT_LE(mapped, 16U);  // 8 KiB of data, at most one host page either side
    EXPECT_GE(m.runs.at(0).logical, 500U);
  }

  const BlockOwnerMap om = load_owner_map(image);
  EXPECT_EQ(om.lookup(img->map_file(f).indirect.at(0).physical)->path, "/f17");
  EXPECT_THROW(load_owner_map(t / "missing"), IoError);
}

TEST(HostTree, RefusesSpecialFiles) {
  TempDir t;
  ASSERT_EQ(::mkfifo((t / "fifo").c_str(), 0644), 0);
  EXPECT_THROW(scan_host_tree(t.str()), FormatError);
  EXPECT_THROW(scan_host_tree(t / "nope"), IoError);
}

TEST(FileBlockIo, BoundsAndPrefix) {
  TempDir t;
  const auto dev = FileBlockIo::create(t / "f", 8192);
  std::vector<uint8_t> buf(16, 0xAB);
  dev->write(8192 - 16, buf);
  std::vector<uint8_t> back(16);
  dev->read(8192 - 16, back);
  EXPECT_EQ(back, buf);
  EXPECT_THROW(dev->read(8192 - 8, back), IoError);
  EXPECT_THROW(dev->write(8192, buf), IoError);
  PrefixBlockIo pre(*dev, 4096);
  EXPECT_EQ(pre.size(), 4096U);
  EXPECT_THROW(pre.read(4090, back), IoError);
  EXPECT_THROW(PrefixBlockIo(*dev, 9000), IoError);
  EXPECT_EQ(device_size(t / "f"), 8192U);
}

}  // namespace
