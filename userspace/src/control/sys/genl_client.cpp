// genl_client.cpp - the "mpagefs" generic netlink family over libnl-genl-3.
//
// One request at a time: genlmsg_put + attributes, nl_send_auto, then
// nl_recvmsgs until the kernel's ACK (do requests, NLM_F_ACK) or
// NLMSG_DONE (dumps).  Replies are walked attribute by attribute (a reply
// may repeat MPAGEFS_A_FAULT).  Errors arrive as NLMSG_ERROR: the errno and
// the extended ack (NETLINK_EXT_ACK) message become a ControlError.
#include "control/sys/genl_client.hpp"

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <exception>
#include <functional>
#include <map>

namespace mpagefs::control {

namespace {

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
struct CbPut {
  void operator()(nl_cb* c) const { nl_cb_put(c); }
};
using SockPtr = std::unique_ptr<nl_sock, SockFree>;
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;
using CbPtr = std::unique_ptr<nl_cb, CbPut>;

const char* command_name(uint8_t cmd) {
  switch (cmd) {
    case MPAGEFS_CMD_LIST_MOUNTS: return "LIST_MOUNTS";
    case MPAGEFS_CMD_GET_STATS: return "GET_STATS";
    case MPAGEFS_CMD_RESET_STATS: return "RESET_STATS";
    case MPAGEFS_CMD_SET_POLICY: return "SET_POLICY";
    case MPAGEFS_CMD_INJECT: return "INJECT";
    case MPAGEFS_CMD_CLEAR_FAULTS: return "CLEAR_FAULTS";
    case MPAGEFS_CMD_GET_FAULTS: return "GET_FAULTS";
    default: return "?";
  }
}

// The attributes of one message by type (the last of a type wins) plus
// every one in order, for repeated ones.
struct Attrs {
  std::map<int, const nlattr*> by_type;
  std::vector<const nlattr*> all;

  static Attrs of(const nlattr* head, int len) {
    Attrs a;
    const nlattr* pos = nullptr;
    int rem = 0;
    nla_for_each_attr(pos, head, len, rem) {
      a.by_type[nla_type(pos)] = pos;
      a.all.push_back(pos);
    }
    return a;
  }
  static Attrs nested(const nlattr* nest) {
    return of(static_cast<const nlattr*>(nla_data(nest)), nla_len(nest));
  }
  [[nodiscard]] const nlattr* get(int type) const {
    const auto it = by_type.find(type);
    return it == by_type.end() ? nullptr : it->second;
  }
  [[nodiscard]] uint64_t u64(int type, uint64_t dflt = 0) const {
    const nlattr* a = get(type);
    if (a == nullptr) return dflt;
    switch (nla_len(a)) {
      case 1: return nla_get_u8(a);
      case 2: return nla_get_u16(a);
      case 4: return nla_get_u32(a);
      case 8: return nla_get_u64(a);
      default: throw ControlError("malformed reply: attribute " + std::to_string(type) + " of " +
                                      std::to_string(nla_len(a)) + " bytes", EPROTO);
    }
  }
  [[nodiscard]] std::string str(int type) const {
    const nlattr* a = get(type);
    if (a == nullptr || nla_len(a) == 0) return "";
    const char* p = static_cast<const char*>(nla_data(a));
    return {p, strnlen(p, static_cast<size_t>(nla_len(a)))};
  }
};

struct Request {
  std::function<void(const Attrs&)> on_reply;
  bool done = false;
  int error = 0;              // positive errno from NLMSG_ERROR
  std::string ext_msg;        // extended ack message
  int64_t missing_attr = -1;  // NLMSGERR_ATTR_MISS_TYPE
  std::exception_ptr failure; // thrown by on_reply
};

int on_valid(nl_msg* msg, void* arg) {
  auto* req = static_cast<Request*>(arg);
  try {
    nlmsghdr* nlh = nlmsg_hdr(msg);
    auto* gnlh = static_cast<genlmsghdr*>(nlmsg_data(nlh));
    req->on_reply(Attrs::of(genlmsg_attrdata(gnlh, 0), genlmsg_attrlen(gnlh, 0)));
  } catch (...) {
    req->failure = std::current_exception();
    req->done = true;
    return NL_STOP;
  }
  return NL_OK;
}

int on_finish(nl_msg* /*msg*/, void* arg) {
  static_cast<Request*>(arg)->done = true;
  return NL_STOP;
}

int on_ack(nl_msg* /*msg*/, void* arg) {
  static_cast<Request*>(arg)->done = true;
  return NL_STOP;
}

// NLMSG_ERROR: the errno, and the extended ack attributes that follow the
// echoed request (only its header with NETLINK_CAP_ACK).
int on_error(sockaddr_nl* /*nla*/, nlmsgerr* err, void* arg) {
  auto* req = static_cast<Request*>(arg);
  req->error = -err->error;
  req->done = true;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN);
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return NL_STOP;
  size_t ack_len = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) ack_len += err->msg.nlmsg_len - NLMSG_HDRLEN;
  ack_len = NLMSG_ALIGN(ack_len);
  if (nlh->nlmsg_len <= ack_len) return NL_STOP;
  const auto* head = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(nlh) + ack_len);
  const Attrs tlvs = Attrs::of(head, static_cast<int>(nlh->nlmsg_len - ack_len));
  req->ext_msg = tlvs.str(NLMSGERR_ATTR_MSG);
  if (tlvs.get(NLMSGERR_ATTR_MISS_TYPE) != nullptr)
    req->missing_attr = static_cast<int64_t>(tlvs.u64(NLMSGERR_ATTR_MISS_TYPE));
  return NL_STOP;
}

void put_u64(nl_msg* msg, int type, uint64_t v) {
  if (nla_put_u64(msg, type, v) < 0) throw ControlError("netlink message too large", EMSGSIZE);
}
void put_u32(nl_msg* msg, int type, uint32_t v) {
  if (nla_put_u32(msg, type, v) < 0) throw ControlError("netlink message too large", EMSGSIZE);
}
void put_u8(nl_msg* msg, int type, uint8_t v) {
  if (nla_put_u8(msg, type, v) < 0) throw ControlError("netlink message too large", EMSGSIZE);
}

MountInfo mount_of(const Attrs& a) {
  MountInfo m;
  m.dev = static_cast<uint32_t>(a.u64(MPAGEFS_A_DEV));
  m.dev_name = a.str(MPAGEFS_A_DEV_NAME);
  m.block_size = static_cast<uint32_t>(a.u64(MPAGEFS_A_BLOCK_SIZE));
  m.readonly = a.u64(MPAGEFS_A_READONLY) != 0;
  m.policy.boundary = a.u64(MPAGEFS_A_BOUNDARY, 1) != 0;
  m.policy.maxmap = static_cast<uint32_t>(a.u64(MPAGEFS_A_MAXMAP));
  m.policy.alloc = a.u64(MPAGEFS_A_ALLOC) == MPAGEFS_ALLOC_SCATTER ? Alloc::Scatter : Alloc::Contig;
  return m;
}

MountStats stats_of(const Attrs& a) {
  MountStats m;
  m.dev = static_cast<uint32_t>(a.u64(MPAGEFS_A_DEV));
  m.dev_name = a.str(MPAGEFS_A_DEV_NAME);
  if (const nlattr* s = a.get(MPAGEFS_A_STATS)) {
    const Attrs st = Attrs::nested(s);
    for (size_t i = 1; i <= kNumStats; ++i) m.stats.counter.at(i) = st.u64(static_cast<int>(i));
  }
  if (const nlattr* h = a.get(MPAGEFS_A_RUN_HIST)) {
    const Attrs hist = Attrs::nested(h);
    for (size_t i = 0; i < kRunBuckets; ++i) m.stats.run_hist.at(i) = hist.u64(static_cast<int>(i + 1));
  }
  return m;
}

Fault fault_of(const nlattr* nest) {
  const Attrs a = Attrs::nested(nest);
  Fault f;
  f.id = static_cast<uint32_t>(a.u64(MPAGEFS_FAULT_A_ID));
  f.kind = static_cast<FaultKind>(a.u64(MPAGEFS_FAULT_A_KIND, MPAGEFS_FAULT_GET_BLOCK));
  f.error = static_cast<uint32_t>(a.u64(MPAGEFS_FAULT_A_ERRNO));
  f.ino = a.u64(MPAGEFS_FAULT_A_INO);
  f.first = a.u64(MPAGEFS_FAULT_A_FIRST);
  // The kernel answers LAST = U64_MAX for "to the end".
  if (a.get(MPAGEFS_FAULT_A_LAST) != nullptr && a.u64(MPAGEFS_FAULT_A_LAST) != UINT64_MAX)
    f.last = a.u64(MPAGEFS_FAULT_A_LAST);
  f.side = static_cast<uint32_t>(a.u64(MPAGEFS_FAULT_A_SIDE, MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE));
  f.once = a.u64(MPAGEFS_FAULT_A_ONCE) != 0;
  f.hits = a.u64(MPAGEFS_FAULT_A_HITS);
  return f;
}

}  // namespace

struct GenlClient::Impl {
  SockPtr sock;
  int family = 0;

  // One request; `fill` adds attributes, `on_reply` sees each reply message.
  void transact(uint8_t cmd, bool dump, const std::string& mount_arg, const std::function<void(nl_msg*)>& fill,
                const std::function<void(const Attrs&)>& on_reply) {
    MsgPtr msg(nlmsg_alloc());
    if (!msg) throw std::bad_alloc();
    const int flags = dump ? NLM_F_DUMP : NLM_F_ACK;
    if (genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, MPAGEFS_GENL_VERSION) == nullptr)
      throw ControlError("cannot build a netlink message", EMSGSIZE);
    if (fill) fill(msg.get());
    Request req;
    req.on_reply = on_reply ? on_reply : [](const Attrs&) {};
    CbPtr cb(nl_cb_alloc(NL_CB_DEFAULT));
    if (!cb) throw std::bad_alloc();
    nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &req);
    nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &req);
    nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &req);
    nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &req);
    int r = nl_send_auto(sock.get(), msg.get());
    if (r < 0) throw ControlError(std::string(command_name(cmd)) + ": send: " + nl_geterror(r), EIO);
    while (!req.done) {
      r = nl_recvmsgs(sock.get(), cb.get());
      if (req.done) break;
      if (r < 0) throw ControlError(std::string(command_name(cmd)) + ": receive: " + nl_geterror(r), EIO);
    }
    if (req.failure) std::rethrow_exception(req.failure);
    if (req.error != 0) throw error_for(cmd, req, mount_arg);
  }

  static ControlError error_for(uint8_t cmd, const Request& req, const std::string& mount_arg) {
    const std::string name = command_name(cmd);
    if (req.error == EPERM)
      return {"not permitted: " + name + " needs CAP_SYS_ADMIN", EPERM};
    if (req.error == ENODEV && !mount_arg.empty())
      return {"no such mount: " + mount_arg + " is not an mpagefs mount", ENODEV};
    std::string what = name + ": ";
    if (!req.ext_msg.empty()) what += req.ext_msg + " (" + std::strerror(req.error) + ")";
    else what += std::strerror(req.error);
    if (req.missing_attr >= 0) what += " (missing attribute " + std::to_string(req.missing_attr) + ")";
    return {what, req.error};
  }
};

GenlClient::GenlClient() : impl_(std::make_unique<Impl>()) {
  impl_->sock.reset(nl_socket_alloc());
  if (!impl_->sock) throw std::bad_alloc();
  int r = genl_connect(impl_->sock.get());
  if (r < 0) throw ControlError(std::string("generic netlink socket: ") + nl_geterror(r), EIO);
  const int fd = nl_socket_get_fd(impl_->sock.get());
  const int one = 1;
  // The kernel's error messages (extended ack), and errors without an echo
  // of the request.  Both are best effort: older kernels lack them.
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  r = genl_ctrl_resolve(impl_->sock.get(), MPAGEFS_GENL_NAME);
  if (r == -NLE_OBJ_NOTFOUND)
    throw ControlError("mpagefs module not loaded (no generic netlink family \"" MPAGEFS_GENL_NAME "\")", ENOENT);
  if (r < 0) throw ControlError(std::string("resolving the generic netlink family: ") + nl_geterror(r), EIO);
  impl_->family = r;
}

GenlClient::GenlClient(GenlClient&&) noexcept = default;
GenlClient& GenlClient::operator=(GenlClient&&) noexcept = default;
GenlClient::~GenlClient() = default;

MountRef GenlClient::resolve(const std::string& arg) {
  if (arg.empty()) throw ControlError("no such mount: empty MOUNT argument", ENODEV);
  if (const auto name = device_name_arg(arg)) {
    for (const auto& m : list_mounts())
      if (m.dev_name == *name) return {m.dev, arg};
  }
  struct stat st {};
  if (::stat(arg.c_str(), &st) != 0) {
    const int e = errno;
    throw ControlError("no such mount: " + arg + ": " + std::strerror(e), ENODEV);
  }
  const dev_t d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
  return {encode_dev(major(d), minor(d)), arg};
}

std::vector<MountInfo> GenlClient::list_mounts() {
  std::vector<MountInfo> out;
  impl_->transact(MPAGEFS_CMD_LIST_MOUNTS, true, "", nullptr,
                  [&](const Attrs& a) { out.push_back(mount_of(a)); });
  return out;
}

MountStats GenlClient::get_stats(const MountRef& m) {
  std::optional<MountStats> out;
  impl_->transact(
      MPAGEFS_CMD_GET_STATS, false, m.arg, [&](nl_msg* msg) { put_u32(msg, MPAGEFS_A_DEV, m.dev); },
      [&](const Attrs& a) { out = stats_of(a); });
  if (!out) throw ControlError("GET_STATS: the kernel answered without counters", EPROTO);
  return *out;
}

std::vector<MountStats> GenlClient::get_all_stats() {
  std::vector<MountStats> out;
  impl_->transact(MPAGEFS_CMD_GET_STATS, true, "", nullptr, [&](const Attrs& a) { out.push_back(stats_of(a)); });
  return out;
}

void GenlClient::reset_stats(const MountRef& m) {
  impl_->transact(
      MPAGEFS_CMD_RESET_STATS, false, m.arg, [&](nl_msg* msg) { put_u32(msg, MPAGEFS_A_DEV, m.dev); }, nullptr);
}

Policy GenlClient::set_policy(const MountRef& m, const PolicyChange& c) {
  std::optional<Policy> out;
  impl_->transact(
      MPAGEFS_CMD_SET_POLICY, false, m.arg,
      [&](nl_msg* msg) {
        put_u32(msg, MPAGEFS_A_DEV, m.dev);
        if (c.boundary) put_u8(msg, MPAGEFS_A_BOUNDARY, *c.boundary ? 1 : 0);
        if (c.maxmap) put_u32(msg, MPAGEFS_A_MAXMAP, *c.maxmap);
        if (c.alloc) put_u8(msg, MPAGEFS_A_ALLOC, static_cast<uint8_t>(*c.alloc));
      },
      [&](const Attrs& a) { out = mount_of(a).policy; });
  if (!out) throw ControlError("SET_POLICY: the kernel answered without the policy", EPROTO);
  return *out;
}

uint32_t GenlClient::inject(const MountRef& m, const Fault& f) {
  std::optional<uint32_t> id;
  impl_->transact(
      MPAGEFS_CMD_INJECT, false, m.arg,
      [&](nl_msg* msg) {
        put_u32(msg, MPAGEFS_A_DEV, m.dev);
        nlattr* nest = nla_nest_start(msg, MPAGEFS_A_FAULT | NLA_F_NESTED);
        if (nest == nullptr) throw ControlError("netlink message too large", EMSGSIZE);
        put_u32(msg, MPAGEFS_FAULT_A_KIND, static_cast<uint32_t>(f.kind));
        if (f.kind == FaultKind::GetBlock) {
          put_u32(msg, MPAGEFS_FAULT_A_ERRNO, f.error);
          put_u64(msg, MPAGEFS_FAULT_A_FIRST, f.first);
          if (f.last) put_u64(msg, MPAGEFS_FAULT_A_LAST, *f.last);
          put_u32(msg, MPAGEFS_FAULT_A_SIDE, f.side);
        }
        if (f.ino != 0) put_u64(msg, MPAGEFS_FAULT_A_INO, f.ino);
        if (f.once) put_u8(msg, MPAGEFS_FAULT_A_ONCE, 1);
        nla_nest_end(msg, nest);
      },
      [&](const Attrs& a) {
        if (const nlattr* fa = a.get(MPAGEFS_A_FAULT)) id = fault_of(fa).id;
        else if (a.get(MPAGEFS_A_FAULT_ID) != nullptr) id = static_cast<uint32_t>(a.u64(MPAGEFS_A_FAULT_ID));
      });
  if (!id) throw ControlError("INJECT: the kernel answered without a fault ID", EPROTO);
  return *id;
}

void GenlClient::clear_faults(const MountRef& m, std::optional<uint32_t> id) {
  impl_->transact(
      MPAGEFS_CMD_CLEAR_FAULTS, false, m.arg,
      [&](nl_msg* msg) {
        put_u32(msg, MPAGEFS_A_DEV, m.dev);
        if (id) put_u32(msg, MPAGEFS_A_FAULT_ID, *id);
      },
      nullptr);
}

std::vector<Fault> GenlClient::get_faults(const MountRef& m) {
  std::vector<Fault> out;
  impl_->transact(
      MPAGEFS_CMD_GET_FAULTS, false, m.arg, [&](nl_msg* msg) { put_u32(msg, MPAGEFS_A_DEV, m.dev); },
      [&](const Attrs& a) {
        for (const nlattr* x : a.all)
          if (nla_type(x) == MPAGEFS_A_FAULT) out.push_back(fault_of(x));
      });
  return out;
}

}  // namespace mpagefs::control
