// genl_client.hpp - the one place mpagectl talks generic netlink: a client
// of the "mpagefs" family (kmod/mpagefs_genl.h) over libnl-genl-3.
//
// Errors are ControlError with the message users see:
//   family missing  "mpagefs module not loaded (no generic netlink family \"mpagefs\")"
//   EPERM           "not permitted: SET_POLICY needs CAP_SYS_ADMIN"
//   ENODEV          "no such mount: /mnt/x is not an mpagefs mount"
//   other errors    "INJECT: <the kernel's extended ack message> (Invalid argument)"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpagefs/control/control.hpp"

namespace mpagefs::control {

class ControlError : public std::runtime_error {
 public:
  ControlError(const std::string& what, int error) : std::runtime_error(what), error_(error) {}
  // The positive errno behind it (0 when none applies).
  [[nodiscard]] int error() const { return error_; }

 private:
  int error_;
};

// A mount as the user named it and as the kernel knows it.
struct MountRef {
  uint32_t dev = 0;        // new_encode_dev
  std::string arg;         // what the user typed, for messages
};

class GenlClient {
 public:
  // Connects and resolves the family; throws ControlError (module not
  // loaded, no netlink).
  GenlClient();
  GenlClient(const GenlClient&) = delete;
  GenlClient& operator=(const GenlClient&) = delete;
  GenlClient(GenlClient&&) noexcept;
  GenlClient& operator=(GenlClient&&) noexcept;
  ~GenlClient();

  // MOUNT: a mount point, a path inside one, a device name as LIST_MOUNTS
  // shows it ("vdc") or its node ("/dev/vdc").  Paths are stat()ed (st_dev,
  // or st_rdev of a block device); names are looked up in LIST_MOUNTS.
  MountRef resolve(const std::string& arg);

  std::vector<MountInfo> list_mounts();
  MountStats get_stats(const MountRef& m);
  std::vector<MountStats> get_all_stats();       // a dump: every mount
  void reset_stats(const MountRef& m);
  Policy set_policy(const MountRef& m, const PolicyChange& change);
  uint32_t inject(const MountRef& m, const Fault& f);   // -> the fault's ID
  void clear_faults(const MountRef& m, std::optional<uint32_t> id);
  std::vector<Fault> get_faults(const MountRef& m);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpagefs::control
