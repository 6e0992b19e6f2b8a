// blktrace_format.cpp - events as text (blkparse's default line layout, so
// people can diff our output against blkparse's) and as JSON lines.
#include <array>
#include <charconv>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "mpagefs/blktrace.hpp"

namespace mpagefs::blktrace {

namespace {

std::string printf_string(const char* fmt, auto... args) {
  std::array<char, 512> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), fmt, args...);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < buf.size()) return {buf.data(), static_cast<size_t>(n)};
  std::string big(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(big.data(), big.size(), fmt, args...);
  big.resize(static_cast<size_t>(n));
  return big;
}

std::string pdu_hex(const std::vector<uint8_t>& pdu) {
  // blkparse's dump_pdu: bytes in hex, stop with " .." when the rest is zero.
  std::string s;
  for (size_t i = 0; i < pdu.size(); ++i) {
    if (i) s += ' ';
    s += printf_string("%02x", pdu[i]);
    bool rest_zero = pdu[i] == 0;
    for (size_t j = i; rest_zero && j < pdu.size(); ++j) rest_zero = pdu[j] == 0;
    if (rest_zero) {
      s += " ..";
      break;
    }
  }
  return s;
}

// printf's "%<width>u" / "%-<width>u" / "%0<width>u" appended to `out`
// without a temporary string.
void put_uint(std::string& out, unsigned long long v, int width, char pad = ' ', bool left = false) {
  std::array<char, 24> d{};
  const auto r = std::to_chars(d.data(), d.data() + d.size(), v);
  const auto len = static_cast<int>(r.ptr - d.data());
  if (!left && len < width) out.append(static_cast<size_t>(width - len), pad);
  out.append(d.data(), static_cast<size_t>(len));
  if (left && len < width) out.append(static_cast<size_t>(width - len), ' ');
}
// printf's "%<width>s" appended to `out`.
void put_str(std::string& out, std::string_view s, size_t width) {
  if (s.size() < width) out.append(width - s.size(), ' ');
  out.append(s);
}

}  // namespace

std::string format_text(const Event& ev, uint64_t genesis_ns) {
  const uint64_t rel = ev.time_ns >= genesis_ns ? ev.time_ns - genesis_ns : 0;
  const auto secs = static_cast<int>(rel / 1000000000ULL);
  const auto nsecs = static_cast<unsigned long>(rel % 1000000000ULL);
  const unsigned maj = dev_major(ev.device);
  const unsigned min = dev_minor(ev.device);
  if (ev.is_message())
    return printf_string("%3u,%-3u %2u %8s %5d.%09lu %5u %2s %3s %s", maj, min, ev.cpu, "0", secs,
                         nsecs, 0U, "m", "N", ev.message().c_str());

  const std::string_view act = ev.letters();
  std::string line;
  line.reserve(128);
  // "%3u,%-3u %2u %8u %5d.%09lu %5u %2s %3s "
  put_uint(line, maj, 3);
  line += ',';
  put_uint(line, min, 3, ' ', true);
  line += ' ';
  put_uint(line, ev.cpu, 2);
  line += ' ';
  put_uint(line, ev.sequence, 8);
  line += ' ';
  if (secs < 0) {
    line += printf_string("%5d", secs);
  } else {
    put_uint(line, static_cast<unsigned>(secs), 5);
  }
  line += '.';
  put_uint(line, nsecs, 9, '0');
  line += ' ';
  put_uint(line, ev.pid, 5);
  line += ' ';
  put_str(line, act.empty() ? std::string_view("?") : act, 2);
  line += ' ';
  put_str(line, ev.rwbs(), 3);
  line += ' ';
  const std::string_view comm = ev.comm.empty() ? std::string_view("?") : std::string_view(ev.comm);
  const bool pc = (ev.action & BLK_TC_ACT(BLK_TC_PC)) != 0;
  const auto sector = static_cast<unsigned long long>(ev.sector);
  // blkparse 1.2 leaves "sector + n" out when the event has no whole sector
  // (flushes, tiny payloads).
  auto add_span = [&] {
    if (ev.nr_sectors() == 0) return;
    put_uint(line, sector, 0);
    line += " + ";
    put_uint(line, ev.nr_sectors(), 0);
    line += ' ';
  };
  auto add_comm = [&] {
    line += '[';
    line += comm;
    line += ']';
  };
  switch (ev.code()) {
    case __BLK_TA_REQUEUE:
    case __BLK_TA_COMPLETE:
      if (pc)
        line += (ev.pdu.empty() ? "" : "(" + pdu_hex(ev.pdu) + ") ") + printf_string("[%u]", ev.error);
      else {
        add_span();
        line += '[';
        put_uint(line, ev.error, 0);
        line += ']';
      }
      break;
    case __BLK_TA_ISSUE:
    case __BLK_TA_INSERT:
    case __BLK_TA_QUEUE:
    case __BLK_TA_BOUNCE:
      if (pc)
        line += printf_string("%u ", ev.bytes) + (ev.pdu.empty() ? "" : "(" + pdu_hex(ev.pdu) + ") ") +
                "[" + std::string(comm) + "]";
      else {
        add_span();
        add_comm();
      }
      break;
    case __BLK_TA_BACKMERGE:
    case __BLK_TA_FRONTMERGE:
    case __BLK_TA_GETRQ:
    case __BLK_TA_SLEEPRQ:
      add_span();
      add_comm();
      break;
    case __BLK_TA_PLUG:
      add_comm();
      break;
    case __BLK_TA_UNPLUG_IO:
    case __BLK_TA_UNPLUG_TIMER:
      line += printf_string("[%s] %llu", std::string(comm).c_str(), static_cast<unsigned long long>(ev.pdu_u64()));
      break;
    case __BLK_TA_SPLIT:
      line += printf_string("%llu / %llu [%s]", sector, static_cast<unsigned long long>(ev.pdu_u64()),
                            std::string(comm).c_str());
      break;
    case __BLK_TA_REMAP: {
      // struct blk_io_trace_remap: be32 device_from, be32 device_to, be64 sector_from.
      uint32_t from = 0;
      uint64_t from_sector = 0;
      if (ev.pdu.size() >= 16) {
        for (size_t i = 0; i < 4; ++i) from = (from << 8) | ev.pdu[i];
        for (size_t i = 8; i < 16; ++i) from_sector = (from_sector << 8) | ev.pdu[i];
      }
      line += printf_string("%llu + %u <- (%u,%u) %llu", sector, ev.nr_sectors(), dev_major(from),
                            dev_minor(from), static_cast<unsigned long long>(from_sector));
      break;
    }
    default:
      add_span();
      add_comm();
      break;
  }
  return line;
}

std::string format_json(const Event& ev, uint64_t genesis_ns) {
  nlohmann::json j;
  j["dev"] = std::to_string(dev_major(ev.device)) + "," + std::to_string(dev_minor(ev.device));
  j["cpu"] = ev.cpu;
  j["seq"] = ev.sequence;
  j["time_ns"] = ev.time_ns;
  j["rel_ns"] = ev.time_ns >= genesis_ns ? ev.time_ns - genesis_ns : 0;
  j["pid"] = ev.pid;
  j["comm"] = ev.comm;
  j["action"] = std::string(ev.letters());
  j["code"] = ev.code();
  if (ev.is_message()) {
    j["message"] = ev.message();
    return j.dump();
  }
  j["rwbs"] = ev.rwbs();
  j["sector"] = ev.sector;
  j["nr_sectors"] = ev.nr_sectors();
  j["bytes"] = ev.bytes;
  j["error"] = ev.error;
  return j.dump();
}

}  // namespace mpagefs::blktrace
