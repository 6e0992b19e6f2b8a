// dm_device.cpp - see dm_device.hpp.  The ioctl layout is the one
// libdevmapper uses: struct dm_ioctl, then (for a table) one
// struct dm_target_spec followed by its NUL-terminated parameters.
#include "scenario/sys/dm_device.hpp"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace mpagefs {

namespace {

std::runtime_error dm_error(const std::string& what) {
  return std::runtime_error("device-mapper: " + what + ": " + std::strerror(errno));
}

// A dm_ioctl buffer with room for `extra` bytes of payload.
std::vector<char> make_request(const std::string& name, size_t extra) {
  std::vector<char> buf(sizeof(dm_ioctl) + extra, '\0');
  dm_ioctl io{};
  io.version[0] = DM_VERSION_MAJOR;
  io.data_size = static_cast<uint32_t>(buf.size());
  io.data_start = sizeof(dm_ioctl);
  std::strncpy(io.name, name.c_str(), DM_NAME_LEN - 1);
  std::memcpy(buf.data(), &io, sizeof(io));
  return buf;
}

dm_ioctl header(const std::vector<char>& buf) {
  dm_ioctl io{};
  std::memcpy(&io, buf.data(), sizeof(io));
  return io;
}

}  // namespace

DmDevice::DmDevice(std::string name, const std::string& disk) : name_(std::move(name)) {
  control_ = UniqueFd(::open("/dev/mapper/control", O_RDWR | O_CLOEXEC));
  if (control_.get() < 0) throw dm_error("/dev/mapper/control (is dm-mod loaded?)");
  struct stat st {};
  if (::stat(disk.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) throw dm_error(disk + " is not a block device");
  disk_dev_ = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  {
    const UniqueFd fd(::open(disk.c_str(), O_RDONLY | O_CLOEXEC));
    uint64_t bytes = 0;
    if (fd.get() < 0 || ::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) throw dm_error("size of " + disk);
    sectors_ = bytes / 512;
  }
  auto req = make_request(name_, 0);
  if (::ioctl(control_.get(), DM_DEV_CREATE, req.data()) != 0) throw dm_error("create " + name_);
  const dm_ioctl io = header(req);
  const auto dev = static_cast<unsigned long long>(io.dev);
  // huge_encode_dev(): minor in bits 0-7 and 20-31, major in bits 8-19.
  const unsigned long long mnr = (dev & 0xffU) | ((dev >> 12U) & 0xfff00U);
  path_ = "/dev/dm-" + std::to_string(mnr);
  try {
    load("linear", disk_dev_ + " 0");
    suspend(false);  // activates the table
  } catch (...) {
    auto rm = make_request(name_, 0);
    (void)::ioctl(control_.get(), DM_DEV_REMOVE, rm.data());
    throw;
  }
}

DmDevice::~DmDevice() {
  auto req = make_request(name_, 0);
  (void)::ioctl(control_.get(), DM_DEV_REMOVE, req.data());
}

void DmDevice::load(const char* type, const std::string& params) {
  const size_t spec_len = (sizeof(dm_target_spec) + params.size() + 1 + 7) & ~size_t{7};
  auto req = make_request(name_, spec_len);
  dm_ioctl io = header(req);
  io.target_count = 1;
  std::memcpy(req.data(), &io, sizeof(io));
  dm_target_spec spec{};
  spec.sector_start = 0;
  spec.length = sectors_;
  std::strncpy(spec.target_type, type, DM_MAX_TYPE_NAME - 1);
  std::memcpy(req.data() + sizeof(dm_ioctl), &spec, sizeof(spec));
  std::memcpy(req.data() + sizeof(dm_ioctl) + sizeof(spec), params.c_str(), params.size() + 1);
  if (::ioctl(control_.get(), DM_TABLE_LOAD, req.data()) != 0) throw dm_error(std::string("load ") + type + " table");
}

void DmDevice::suspend(bool suspend) {
  auto req = make_request(name_, 0);
  if (suspend) {
    dm_ioctl io = header(req);
    // No freeze of the filesystem on it: a sync through the error table
    // would fail the suspend.
    io.flags |= DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG;
    std::memcpy(req.data(), &io, sizeof(io));
  }
  if (::ioctl(control_.get(), DM_DEV_SUSPEND, req.data()) != 0) throw dm_error(suspend ? "suspend" : "resume");
}

void DmDevice::set_error(bool error) {
  if (error)
    load("error", "");
  else
    load("linear", disk_dev_ + " 0");
  suspend(true);
  suspend(false);
}

}  // namespace mpagefs
