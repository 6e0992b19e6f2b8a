// dm_device.hpp - a device-mapper device over a disk, made through the
// kernel's DM ioctls (/dev/mapper/control; no dmsetup needed), whose table
// can be switched between "linear" (the disk) and "error" (every I/O fails
// at completion).  Removed on destruction.  Used by the scenario runner for
// the I/O-error scenarios.
#pragma once

#include <string>

#include "util/sys/unique_fd.hpp"

namespace mpagefs {

class DmDevice {
 public:
  // Creates /dev/mapper/NAME (node /dev/dm-N) mapping all of `disk` linearly.
  // Throws std::runtime_error (naming dm-mod when the control node is missing).
  DmDevice(std::string name, const std::string& disk);
  DmDevice(const DmDevice&) = delete;
  DmDevice& operator=(const DmDevice&) = delete;
  DmDevice(DmDevice&&) = delete;
  DmDevice& operator=(DmDevice&&) = delete;
  ~DmDevice();

  // The device node, /dev/dm-N.
  [[nodiscard]] const std::string& path() const { return path_; }
  // Loads and activates a table: the disk (linear) or the error target.
  void set_error(bool error);

 private:
  void load(const char* type, const std::string& params);
  void suspend(bool suspend);
  std::string name_;
  std::string disk_dev_;   // "major:minor"
  unsigned long long sectors_ = 0;
  std::string path_;
  UniqueFd control_;
};

}  // namespace mpagefs
