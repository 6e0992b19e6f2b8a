// control.cpp - the control plane's pure side: arguments, tables, JSON,
// deltas and tracepoint lines.
#include "mpagefs/control/control.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include "mpagefs/util/text.hpp"

namespace mpagefs::control {

namespace {

template <typename T>
std::optional<T> parse_uint(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct ErrnoName {
  const char* name;
  int value;
};

constexpr ErrnoName kErrnos[] = {
    {"EPERM", EPERM},   {"ENOENT", ENOENT},   {"EINTR", EINTR},     {"EIO", EIO},
    {"ENXIO", ENXIO},   {"E2BIG", E2BIG},     {"EBADF", EBADF},     {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM}, {"EACCES", EACCES},   {"EFAULT", EFAULT},   {"EBUSY", EBUSY},
    {"EEXIST", EEXIST}, {"ENODEV", ENODEV},   {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR},
    {"EINVAL", EINVAL}, {"EFBIG", EFBIG},     {"ENOSPC", ENOSPC},   {"EROFS", EROFS},
    {"ERANGE", ERANGE}, {"ENAMETOOLONG", ENAMETOOLONG}, {"EOVERFLOW", EOVERFLOW},
    {"EUCLEAN", EUCLEAN}, {"EDQUOT", EDQUOT}, {"ESTALE", ESTALE},
};

struct StatDesc {
  const char* name;
  const char* description;
};

// Indexed by attribute - 1 (enum mpagefs_stat_attr).
constexpr StatDesc kStats[] = {
    {"get_block_read", "get_block calls, create=0"},
    {"get_block_create", "get_block calls, create=1"},
    {"blocks_mapped", "blocks mapped by those calls"},
    {"multi_block", "calls that mapped more than one block"},
    {"boundary_set", "calls that set BH_Boundary"},
    {"holes", "calls that found a hole"},
    {"ind_reads", "indirect blocks read from disk"},
    {"blocks_allocated", "blocks allocated"},
    {"blocks_freed", "blocks freed"},
    {"inodes_allocated", "inodes allocated"},
    {"inodes_freed", "inodes freed"},
    {"readahead_calls", "->readahead calls (mpage_readahead)"},
    {"read_folio_calls", "->read_folio calls (mpage_read_folio)"},
    {"writepages_calls", "->writepages calls (mpage_writepages)"},
    {"bh_get_block", "get_block calls for buffer-head I/O"},
    {"bh_pages", "pages handled by buffer-head code"},
    {"faults_hit", "injected faults that fired"},
};
static_assert(std::size(kStats) == kNumStats, "one name per enum mpagefs_stat_attr counter");

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

// --- device numbers ----------------------------------------------------------

// "254,32", as blkparse and the mpagefs tracepoints print a device.
std::string format_dev(uint32_t dev) { return num(dev_major(dev)) + "," + num(dev_minor(dev)); }

std::optional<std::string> device_name_arg(std::string_view arg) {
  std::string_view s = arg;
  if (s.starts_with("/dev/")) s.remove_prefix(5);
  else if (s.find('/') != std::string_view::npos || s == "." || s == ".." || s.empty())
    return std::nullopt;
  if (s.empty() || s.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(s);
}

// --- policy ------------------------------------------------------------------

std::string_view to_string(Alloc a) { return a == Alloc::Scatter ? "scatter" : "contig"; }

PolicyChange parse_policy_args(const std::vector<std::string>& args) {
  if (args.empty())
    throw ArgError("nothing to set: give at least one of boundary=on|off, maxmap=N, alloc=contig|scatter");
  PolicyChange c;
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos)
      throw ArgError("'" + arg + "': expected key=value (boundary=on|off, maxmap=N, alloc=contig|scatter)");
    const std::string_view key = std::string_view(arg).substr(0, eq);
    const std::string_view val = std::string_view(arg).substr(eq + 1);
    if (key == "boundary") {
      if (val == "on") c.boundary = true;
      else if (val == "off") c.boundary = false;
      else throw ArgError("boundary=" + std::string(val) + ": expected boundary=on or boundary=off");
    } else if (key == "maxmap") {
      const auto v = parse_uint<uint32_t>(val);
      if (!v)
        throw ArgError("maxmap=" + std::string(val) +
                       ": expected a number of blocks (0 = no limit, at most 4294967295)");
      c.maxmap = *v;
    } else if (key == "alloc") {
      if (val == "contig") c.alloc = Alloc::Contig;
      else if (val == "scatter") c.alloc = Alloc::Scatter;
      else throw ArgError("alloc=" + std::string(val) + ": expected alloc=contig or alloc=scatter");
    } else {
      throw ArgError("unknown policy key '" + std::string(key) + "' (known: boundary, maxmap, alloc)");
    }
  }
  return c;
}

std::string format_policy(const Policy& p) {
  return std::string("boundary=") + (p.boundary ? "on" : "off") + " maxmap=" + num(p.maxmap) +
         " alloc=" + std::string(to_string(p.alloc));
}

nlohmann::json to_json(const Policy& p) {
  return {{"boundary", p.boundary}, {"maxmap", p.maxmap}, {"alloc", std::string(to_string(p.alloc))}};
}

// --- mounts ------------------------------------------------------------------

std::string format_mounts(const std::vector<MountInfo>& mounts) {
  if (mounts.empty()) return "no mpagefs mounts\n";
  std::string out;
  std::array<char, 160> line{};
  std::snprintf(line.data(), line.size(), "%-10s %-9s %6s %-3s %s\n", "DEVICE", "DEV", "BSIZE", "RW", "POLICY");
  out += line.data();
  for (const auto& m : mounts) {
    std::snprintf(line.data(), line.size(), "%-10s %-9s %6u %-3s %s\n", m.dev_name.c_str(),
                  format_dev(m.dev).c_str(), m.block_size, m.readonly ? "ro" : "rw",
                  format_policy(m.policy).c_str());
    out += line.data();
  }
  return out;
}

nlohmann::json to_json(const MountInfo& m) {
  return {{"dev", format_dev(m.dev)},   {"dev_num", m.dev},          {"dev_name", m.dev_name},
          {"block_size", m.block_size}, {"readonly", m.readonly}, {"policy", to_json(m.policy)}};
}

// --- counters ----------------------------------------------------------------

std::string_view stat_name(size_t attr) {
  if (attr < 1 || attr > kNumStats) throw std::out_of_range("no counter attribute " + num(attr));
  return kStats[attr - 1].name;
}

std::string_view stat_description(size_t attr) {
  if (attr < 1 || attr > kNumStats) throw std::out_of_range("no counter attribute " + num(attr));
  return kStats[attr - 1].description;
}

std::string bucket_label(size_t i) {
  const uint64_t lo = uint64_t{1} << i;
  if (i + 1 >= kRunBuckets) return num(lo) + "+";
  const uint64_t hi = (uint64_t{1} << (i + 1)) - 1;
  return lo == hi ? num(lo) : num(lo) + "-" + num(hi);
}

Stats delta(const Stats& prev, const Stats& cur) {
  Stats d;
  for (size_t i = 0; i < d.counter.size(); ++i)
    d.counter[i] = cur.counter[i] >= prev.counter[i] ? cur.counter[i] - prev.counter[i] : 0;
  for (size_t i = 0; i < d.run_hist.size(); ++i)
    d.run_hist[i] = cur.run_hist[i] >= prev.run_hist[i] ? cur.run_hist[i] - prev.run_hist[i] : 0;
  return d;
}

std::string format_stats(const MountStats& m) {
  std::string out = m.dev_name + " (" + format_dev(m.dev) + ")\n";
  std::array<char, 160> line{};
  for (size_t a = 1; a <= kNumStats; ++a) {
    std::snprintf(line.data(), line.size(), "  %-42s %14llu\n", std::string(stat_description(a)).c_str(),
                  static_cast<unsigned long long>(m.stats.get(a)));
    out += line.data();
  }
  const uint64_t calls = m.stats.get_block_calls();
  const uint64_t mapped = m.stats.get(MPAGEFS_STAT_A_BLOCKS_MAPPED);
  if (calls != 0) {
    std::snprintf(line.data(), line.size(), "  %-42s %14.2f\n", "blocks per get_block call",
                  static_cast<double>(mapped) / static_cast<double>(calls));
    out += line.data();
  }
  out += "  blocks mapped per call (run-length histogram):\n";
  size_t last = 0;
  uint64_t peak = 0;
  for (size_t i = 0; i < kRunBuckets; ++i) {
    if (m.stats.run_hist[i] != 0) last = i;
    peak = std::max(peak, m.stats.run_hist[i]);
  }
  for (size_t i = 0; i <= last; ++i) {
    const uint64_t n = m.stats.run_hist[i];
    const size_t bar = peak == 0 ? 0 : static_cast<size_t>((n * 40 + peak - 1) / peak);
    std::snprintf(line.data(), line.size(), "    %11s %12llu%s%s\n", bucket_label(i).c_str(),
                  static_cast<unsigned long long>(n), bar ? " " : "", std::string(bar, '#').c_str());
    out += line.data();
  }
  return out;
}

nlohmann::json to_json(const MountStats& m) {
  nlohmann::json stats = nlohmann::json::object();
  for (size_t a = 1; a <= kNumStats; ++a) stats[std::string(stat_name(a))] = m.stats.get(a);
  nlohmann::json hist = nlohmann::json::array();
  for (size_t i = 0; i < kRunBuckets; ++i) {
    nlohmann::json b = {{"blocks", bucket_label(i)}, {"min", uint64_t{1} << i}, {"calls", m.stats.run_hist[i]}};
    b["max"] = i + 1 >= kRunBuckets ? nlohmann::json(nullptr) : nlohmann::json((uint64_t{1} << (i + 1)) - 1);
    hist.push_back(std::move(b));
  }
  return {{"dev", format_dev(m.dev)},
          {"dev_num", m.dev},
          {"dev_name", m.dev_name},
          {"get_block_calls", m.stats.get_block_calls()},
          {"stats", std::move(stats)},
          {"run_hist", std::move(hist)}};
}

std::string watch_header() {
  std::array<char, 200> line{};
  std::snprintf(line.data(), line.size(), "%-8s %6s %9s %9s %10s %8s %7s %6s %6s %6s %8s %8s %6s\n", "DEVICE",
                "SECS", "GB_READ", "GB_CREATE", "MAPPED", "MULTI", "HOLES", "IND", "RA", "WP", "ALLOC", "FREED",
                "FAULTS");
  return line.data();
}

std::string format_watch_line(const MountStats& d, double seconds) {
  const auto& s = d.stats;
  auto u = [&](size_t a) { return static_cast<unsigned long long>(s.get(a)); };
  std::array<char, 240> line{};
  std::snprintf(line.data(), line.size(), "%-8s %6.1f %9llu %9llu %10llu %8llu %7llu %6llu %6llu %6llu %8llu %8llu %6llu\n",
                d.dev_name.c_str(), seconds, u(MPAGEFS_STAT_A_GET_BLOCK_READ), u(MPAGEFS_STAT_A_GET_BLOCK_CREATE),
                u(MPAGEFS_STAT_A_BLOCKS_MAPPED), u(MPAGEFS_STAT_A_MULTI_BLOCK), u(MPAGEFS_STAT_A_HOLES),
                u(MPAGEFS_STAT_A_IND_READS), u(MPAGEFS_STAT_A_READAHEAD_CALLS), u(MPAGEFS_STAT_A_WRITEPAGES_CALLS),
                u(MPAGEFS_STAT_A_BLOCKS_ALLOCATED), u(MPAGEFS_STAT_A_BLOCKS_FREED), u(MPAGEFS_STAT_A_FAULTS_HIT));
  return line.data();
}

// --- faults ------------------------------------------------------------------

uint32_t parse_errno(std::string_view s) {
  if (all_digits(s)) {
    const auto v = parse_uint<uint32_t>(s);
    if (!v || *v < 1 || *v > 4095) throw ArgError("errno " + std::string(s) + ": must be 1 .. 4095");
    return *v;
  }
  std::string up(s);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& e : kErrnos)
    if (up == e.name) return static_cast<uint32_t>(e.value);
  std::string known;
  for (const auto& e : kErrnos) known += std::string(known.empty() ? "" : " ") + e.name;
  throw ArgError("unknown errno '" + std::string(s) + "': give a number (1 .. 4095) or one of " + known);
}

std::string errno_name(uint32_t e) {
  for (const auto& n : kErrnos)
    if (static_cast<uint32_t>(n.value) == e) return n.name;
  return num(e);
}

std::pair<uint64_t, uint64_t> parse_block_range(std::string_view s) {
  const auto dash = s.find('-');
  const std::string_view a = dash == std::string_view::npos ? s : s.substr(0, dash);
  const std::string_view b = dash == std::string_view::npos ? s : s.substr(dash + 1);
  const auto first = parse_uint<uint64_t>(a);
  const auto last = parse_uint<uint64_t>(b);
  if (!first || !last)
    throw ArgError("block range '" + std::string(s) + "': expected FIRST-LAST or BLOCK (logical block numbers)");
  if (*last < *first)
    throw ArgError("block range '" + std::string(s) + "': the last block is before the first");
  return {*first, *last};
}

uint32_t parse_side(std::string_view s) {
  if (s == "read") return MPAGEFS_FAULT_SIDE_READ;
  if (s == "create") return MPAGEFS_FAULT_SIDE_CREATE;
  if (s == "both") return MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE;
  throw ArgError("side '" + std::string(s) + "': expected read (create=0), create (create=1) or both");
}

std::string side_name(uint32_t side) {
  switch (side & (MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE)) {
    case MPAGEFS_FAULT_SIDE_READ: return "read";
    case MPAGEFS_FAULT_SIDE_CREATE: return "create";
    case MPAGEFS_FAULT_SIDE_READ | MPAGEFS_FAULT_SIDE_CREATE: return "both";
    default: return "none";
  }
}

FaultKind parse_fault_kind(std::string_view s) {
  if (s == "get_block") return FaultKind::GetBlock;
  if (s == "enospc") return FaultKind::AllocEnospc;
  throw ArgError("fault kind '" + std::string(s) + "': expected get_block or enospc");
}

std::string format_fault(const Fault& f) {
  std::string s = "fault " + num(f.id) + ": ";
  if (f.kind == FaultKind::GetBlock) s += "get_block -> " + errno_name(f.error);
  else s += "allocation -> ENOSPC";
  s += f.ino == 0 ? ", every inode" : ", ino " + num(f.ino);
  if (f.kind == FaultKind::GetBlock) {
    s += ", blocks " + num(f.first) + "-" + (f.last ? num(*f.last) : std::string("end"));
    s += ", side " + side_name(f.side);
  }
  s += f.once ? ", once" : ", always";
  s += ", hits " + num(f.hits);
  return s;
}

std::string format_faults(const std::vector<Fault>& faults) {
  if (faults.empty()) return "no faults armed\n";
  std::string out;
  for (const auto& f : faults) out += format_fault(f) + "\n";
  return out;
}

nlohmann::json to_json(const Fault& f) {
  nlohmann::json j = {{"id", f.id},
                      {"kind", f.kind == FaultKind::GetBlock ? "get_block" : "enospc"},
                      {"ino", f.ino},
                      {"once", f.once},
                      {"hits", f.hits}};
  if (f.kind == FaultKind::GetBlock) {
    j["errno"] = errno_name(f.error);
    j["errno_num"] = f.error;
    j["first"] = f.first;
    j["last"] = f.last ? nlohmann::json(*f.last) : nlohmann::json(nullptr);
    j["side"] = side_name(f.side);
  }
  return j;
}

// --- tracepoints -------------------------------------------------------------

std::string_view to_string(TraceEvent e) {
  switch (e) {
    case TraceEvent::GetBlock: return "mpagefs_get_block";
    case TraceEvent::AllocBlock: return "mpagefs_alloc_block";
    case TraceEvent::FreeBlocks: return "mpagefs_free_blocks";
  }
  return "?";
}

namespace {

struct Fields {
  std::vector<std::pair<std::string_view, std::string_view>> kv;
  size_t line = 0;
  std::string_view event;

  [[nodiscard]] std::string_view raw(std::string_view key) const {
    for (const auto& [k, v] : kv)
      if (k == key) return v;
    throw TraceParseError("trace line " + num(line) + ": " + std::string(event) + " without field '" +
                          std::string(key) + "'");
  }
  [[nodiscard]] uint64_t u(std::string_view key) const {
    const auto v = parse_uint<uint64_t>(raw(key));
    if (!v)
      throw TraceParseError("trace line " + num(line) + ": " + std::string(event) + " field '" + std::string(key) +
                            "' is not a number: '" + std::string(raw(key)) + "'");
    return *v;
  }
  [[nodiscard]] int64_t i(std::string_view key) const {
    const auto v = parse_int(raw(key));
    if (!v)
      throw TraceParseError("trace line " + num(line) + ": " + std::string(event) + " field '" + std::string(key) +
                            "' is not a number: '" + std::string(raw(key)) + "'");
    return *v;
  }
  [[nodiscard]] bool flag(std::string_view key) const {
    const uint64_t v = u(key);
    if (v > 1)
      throw TraceParseError("trace line " + num(line) + ": " + std::string(event) + " field '" + std::string(key) +
                            "' is not 0 or 1");
    return v == 1;
  }
};

// Splits "a 1 b 2" into pairs.
Fields split_fields(std::string_view body, size_t line, std::string_view event) {
  Fields f;
  f.line = line;
  f.event = event;
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  while (pos < body.size()) {
    while (pos < body.size() && body[pos] == ' ') ++pos;
    const size_t start = pos;
    while (pos < body.size() && body[pos] != ' ') ++pos;
    if (pos > start) tokens.push_back(body.substr(start, pos - start));
  }
  if (tokens.size() % 2 != 0)
    throw TraceParseError("trace line " + num(line) + ": " + std::string(event) +
                          ": expected 'name value' pairs, got '" + std::string(body) + "'");
  for (size_t k = 0; k < tokens.size(); k += 2) f.kv.emplace_back(tokens[k], tokens[k + 1]);
  return f;
}

// The event name at `pos` of `line` if an mpagefs event marker starts there.
std::optional<TraceEvent> event_at(std::string_view line, size_t pos, size_t& name_len) {
  for (const auto e : {TraceEvent::GetBlock, TraceEvent::AllocBlock, TraceEvent::FreeBlocks}) {
    const std::string_view name = to_string(e);
    if (line.substr(pos, name.size()) == name && pos + name.size() < line.size() && line[pos + name.size()] == ':') {
      name_len = name.size();
      return e;
    }
  }
  return std::nullopt;
}

// The ftrace prefix "  task-pid  [cpu] flags  timestamp:" (or perf script's
// "task  pid [cpu] timestamp:"); best effort: fields it cannot find stay empty.
void parse_prefix(std::string_view prefix, TraceRecord& r) {
  prefix = trim(prefix);
  if (prefix.ends_with("mpagefs:")) prefix = trim(prefix.substr(0, prefix.size() - 8));  // perf: "mpagefs:mpagefs_..."
  if (prefix.ends_with(':')) prefix.remove_suffix(1);
  const auto sp = prefix.find_last_of(" \t");
  if (sp == std::string_view::npos) return;
  r.timestamp = std::string(prefix.substr(sp + 1));
  prefix = trim(prefix.substr(0, sp));
  const auto open = prefix.rfind('[');
  const auto close = prefix.rfind(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return;
  if (const auto cpu = parse_uint<uint32_t>(prefix.substr(open + 1, close - open - 1))) r.cpu = *cpu;
  std::string_view who = trim(prefix.substr(0, open));
  if (who.ends_with(')')) {  // ftrace's record-tgid option: "task-pid (tgid)"
    const auto p = who.rfind('(');
    if (p != std::string_view::npos) who = trim(who.substr(0, p));
  }
  const auto dash = who.rfind('-');
  const auto blank = who.find_last_of(" \t");
  if (dash != std::string_view::npos && all_digits(who.substr(dash + 1)) &&
      (blank == std::string_view::npos || blank < dash)) {
    r.task = std::string(trim(who.substr(0, dash)));
    r.pid = parse_uint<uint32_t>(who.substr(dash + 1)).value_or(0);
  } else if (blank != std::string_view::npos && all_digits(who.substr(blank + 1))) {
    r.task = std::string(trim(who.substr(0, blank)));
    r.pid = parse_uint<uint32_t>(who.substr(blank + 1)).value_or(0);
  } else {
    r.task = std::string(who);
  }
}

}  // namespace

std::optional<TraceRecord> parse_trace_line(std::string_view line, size_t line_no) {
  const std::string_view t = trim(line);
  if (t.empty() || t.front() == '#') return std::nullopt;
  size_t name_len = 0;
  std::optional<TraceEvent> ev;
  size_t pos = 0;
  for (pos = line.find("mpagefs_"); pos != std::string_view::npos; pos = line.find("mpagefs_", pos + 1)) {
    if (pos > 0 && line[pos - 1] != ' ' && line[pos - 1] != ':' && line[pos - 1] != '\t') continue;
    ev = event_at(line, pos, name_len);
    if (ev) break;
  }
  if (!ev) return std::nullopt;
  TraceRecord r;
  r.line = line_no;
  r.event = *ev;
  parse_prefix(line.substr(0, pos), r);
  const Fields f = split_fields(trim(line.substr(pos + name_len + 1)), line_no, to_string(*ev));
  const std::string_view dev = f.raw("dev");
  const auto comma = dev.find(',');
  const auto major = comma == std::string_view::npos ? std::nullopt : parse_uint<uint32_t>(dev.substr(0, comma));
  const auto minor = comma == std::string_view::npos ? std::nullopt : parse_uint<uint32_t>(dev.substr(comma + 1));
  if (!major || !minor)
    throw TraceParseError("trace line " + num(line_no) + ": dev '" + std::string(dev) + "' is not MAJOR,MINOR");
  r.major = *major;
  r.minor = *minor;
  r.ino = f.u("ino");
  switch (*ev) {
    case TraceEvent::GetBlock:
      r.lblk = f.u("lblk");
      r.max = f.u("max");
      r.create = f.flag("create");
      r.ret = f.i("ret");
      r.pblk = f.u("pblk");
      r.len = f.u("len");
      r.boundary = f.flag("boundary");
      r.is_new = f.flag("new");
      break;
    case TraceEvent::AllocBlock:
      r.goal = f.u("goal");
      r.pblk = f.u("pblk");
      r.ret = f.i("ret");
      break;
    case TraceEvent::FreeBlocks:
      r.pblk = f.u("pblk");
      r.len = f.u("count");
      break;
  }
  return r;
}

std::vector<TraceRecord> parse_trace(std::string_view text) {
  std::vector<TraceRecord> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    ++line_no;
    if (auto r = parse_trace_line(text.substr(pos, nl - pos), line_no)) out.push_back(std::move(*r));
    pos = nl + 1;
  }
  return out;
}

std::optional<std::pair<uint64_t, uint64_t>> parse_entries_header(std::string_view text) {
  constexpr std::string_view key = "entries-in-buffer/entries-written:";
  const auto pos = text.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(pos + key.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  uint64_t in = 0;
  uint64_t written = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), in);
  if (ec != std::errc() || p == rest.data() + rest.size() || *p != '/') return std::nullopt;
  const char* q = p + 1;
  auto [p2, ec2] = std::from_chars(q, rest.data() + rest.size(), written);
  if (ec2 != std::errc() || p2 == q) return std::nullopt;
  return std::make_pair(in, written);
}

nlohmann::json to_json(const TraceRecord& r) {
  nlohmann::json j = {{"line", r.line},
                      {"task", r.task},
                      {"pid", r.pid},
                      {"cpu", r.cpu},
                      {"timestamp", r.timestamp},
                      {"event", std::string(to_string(r.event))},
                      {"dev", format_dev(encode_dev(r.major, r.minor))},
                      {"ino", r.ino}};
  switch (r.event) {
    case TraceEvent::GetBlock:
      j["lblk"] = r.lblk;
      j["max"] = r.max;
      j["create"] = r.create;
      j["ret"] = r.ret;
      j["pblk"] = r.pblk;
      j["len"] = r.len;
      j["boundary"] = r.boundary;
      j["new"] = r.is_new;
      break;
    case TraceEvent::AllocBlock:
      j["goal"] = r.goal;
      j["pblk"] = r.pblk;
      j["ret"] = r.ret;
      break;
    case TraceEvent::FreeBlocks:
      j["pblk"] = r.pblk;
      j["count"] = r.len;
      break;
  }
  return j;
}

std::string format_call(const TraceRecord& r) {
  std::string s = "get_block ino " + num(r.ino) + " lblk " + num(r.lblk) + " max " + num(r.max) +
                  " create " + (r.create ? "1" : "0") + " -> pblk " + num(r.pblk) + " len " + num(r.len);
  if (r.boundary) s += " boundary";
  if (r.is_new) s += " new";
  if (r.ret != 0) s += " ret " + std::to_string(r.ret);
  s += " [" + (r.task.empty() ? std::string("?") : r.task) + "-" + num(r.pid) + " " + r.timestamp + "]";
  return s;
}

nlohmann::json call_json(const TraceRecord& r, size_t index) {
  nlohmann::json j = to_json(r);
  j["index"] = index;
  return j;
}

}  // namespace mpagefs::control
