// blktrace_format.cpp - events as text (blkparse's default line layout, so
// people can diff our output against blkparse's) and as JSON lines.
//
// Both are written straight into the caller's buffer: each line's size is
// bounded first (fixed fields + comm + payload), then every field is
// formatted in place with std::to_chars.  No allocation per event.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "mpagefs/trace/blktrace.hpp"

namespace mpagefs::blktrace {

namespace {

// printf's "%<width>llu" with `pad` ('0' or ' ') at p; returns the end.
char* put_uint(char* p, uint64_t v, int width = 0, char pad = ' ') {
  std::array<char, 20> d{};
  const auto r = std::to_chars(d.data(), d.data() + d.size(), v);
  const auto len = static_cast<int>(r.ptr - d.data());
  for (int i = len; i < width; ++i) *p++ = pad;
  std::memcpy(p, d.data(), static_cast<size_t>(len));
  return p + len;
}
// printf's "%-<width>llu".
char* put_uint_left(char* p, uint64_t v, int width) {
  char* e = std::to_chars(p, p + 20, v).ptr;
  while (e - p < width) *e++ = ' ';
  return e;
}
// printf's "%<width>s".
char* put_str(char* p, std::string_view s, size_t width = 0) {
  for (size_t i = s.size(); i < width; ++i) *p++ = ' ';
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// RWBS into `out` (at most 6 letters); returns the length.
size_t rwbs_chars(uint32_t action, uint32_t bytes, std::array<char, 8>& out) {
  const uint32_t tc = action >> BLK_TC_SHIFT;
  size_t n = 0;
  if (tc & BLK_TC_FLUSH) out[n++] = 'F';
  if (tc & BLK_TC_DISCARD)
    out[n++] = 'D';
  else if (tc & BLK_TC_WRITE)
    out[n++] = 'W';
  else if (bytes != 0)
    out[n++] = 'R';
  else
    out[n++] = 'N';
  if (tc & BLK_TC_FUA) out[n++] = 'F';
  if (tc & BLK_TC_AHEAD) out[n++] = 'A';
  if (tc & BLK_TC_SYNC) out[n++] = 'S';
  if (tc & BLK_TC_META) out[n++] = 'M';
  return n;
}

// blkparse's dump_pdu: bytes in hex, stopping with " .." where the rest is
// zero (at most 3 * size + 3 bytes).
char* put_pdu_hex(char* p, std::span<const uint8_t> pdu) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  size_t nonzero_end = pdu.size();  // one past the last non-zero byte
  while (nonzero_end > 0 && pdu[nonzero_end - 1] == 0) --nonzero_end;
  for (size_t i = 0; i < pdu.size(); ++i) {
    if (i) *p++ = ' ';
    *p++ = kHex[pdu[i] >> 4];
    *p++ = kHex[pdu[i] & 0xf];
    if (i >= nonzero_end) return put_str(p, " ..");
  }
  return p;
}

// An upper bound of the text line of `ev`.
size_t text_bound(const EventView& ev) { return 192 + ev.comm.size() + 3 * ev.pdu.size(); }

// "%3u,%-3u %2u " (device, cpu) and the time "%5d.%09lu ".
char* put_head(char* p, const EventView& ev) {
  p = put_uint(p, dev_major(ev.device), 3);
  *p++ = ',';
  p = put_uint_left(p, dev_minor(ev.device), 3);
  *p++ = ' ';
  p = put_uint(p, ev.cpu, 2);
  *p++ = ' ';
  return p;
}
char* put_time(char* p, uint64_t rel) {
  const auto secs = static_cast<int>(rel / 1000000000ULL);
  const auto nsecs = rel % 1000000000ULL;
  if (secs < 0) {
    std::array<char, 16> b{};
    const int n = std::snprintf(b.data(), b.size(), "%5d", secs);
    p = put_str(p, std::string_view(b.data(), static_cast<size_t>(n)));
  } else {
    p = put_uint(p, static_cast<unsigned>(secs), 5);
  }
  *p++ = '.';
  p = put_uint(p, nsecs, 9, '0');
  *p++ = ' ';
  return p;
}

char* put_text(char* p, const EventView& ev, uint64_t genesis_ns) {
  const uint64_t rel = ev.time_ns >= genesis_ns ? ev.time_ns - genesis_ns : 0;
  p = put_head(p, ev);
  if (ev.is_message()) {
    // "%8s %5d.%09lu %5u %2s %3s %s" with "0", 0, "m", "N", the message
    p = put_str(p, "0", 8);
    *p++ = ' ';
    p = put_time(p, rel);
    return put_str(put_str(p, "    0  m   N "), ev.message());
  }
  p = put_uint(p, ev.sequence, 8);
  *p++ = ' ';
  p = put_time(p, rel);
  p = put_uint(p, ev.pid, 5);
  *p++ = ' ';
  const std::string_view act = ev.letters();
  p = put_str(p, act.empty() ? std::string_view("?") : act, 2);
  *p++ = ' ';
  std::array<char, 8> rw{};
  p = put_str(p, std::string_view(rw.data(), rwbs_chars(ev.action, ev.bytes, rw)), 3);
  *p++ = ' ';
  const std::string_view comm = ev.comm.empty() ? std::string_view("?") : ev.comm;
  const bool pc = (ev.action & BLK_TC_ACT(BLK_TC_PC)) != 0;
  // blkparse 1.2 leaves "sector + n" out when the event has no whole sector
  // (flushes, tiny payloads).
  auto put_span = [&](char* q) {
    if (ev.nr_sectors() == 0) return q;
    q = put_uint(q, ev.sector);
    q = put_str(q, " + ");
    q = put_uint(q, ev.nr_sectors());
    *q++ = ' ';
    return q;
  };
  auto put_comm = [&](char* q) {
    *q++ = '[';
    q = put_str(q, comm);
    *q++ = ']';
    return q;
  };
  auto put_pdu = [&](char* q) {  // "(hex) " when there is a payload
    if (ev.pdu.empty()) return q;
    *q++ = '(';
    q = put_pdu_hex(q, ev.pdu);
    return put_str(q, ") ");
  };
  switch (ev.code()) {
    case __BLK_TA_REQUEUE:
    case __BLK_TA_COMPLETE:
      p = pc ? put_pdu(p) : put_span(p);
      *p++ = '[';
      p = put_uint(p, ev.error);
      *p++ = ']';
      break;
    case __BLK_TA_ISSUE:
    case __BLK_TA_INSERT:
    case __BLK_TA_QUEUE:
    case __BLK_TA_BOUNCE:
      if (pc) {
        p = put_uint(p, ev.bytes);
        *p++ = ' ';
        p = put_pdu(p);
      } else {
        p = put_span(p);
      }
      p = put_comm(p);
      break;
    case __BLK_TA_BACKMERGE:
    case __BLK_TA_FRONTMERGE:
    case __BLK_TA_GETRQ:
    case __BLK_TA_SLEEPRQ:
      p = put_comm(put_span(p));
      break;
    case __BLK_TA_PLUG:
      p = put_comm(p);
      break;
    case __BLK_TA_UNPLUG_IO:
    case __BLK_TA_UNPLUG_TIMER:  // "[comm] depth"
      p = put_comm(p);
      *p++ = ' ';
      p = put_uint(p, ev.pdu_u64());
      break;
    case __BLK_TA_SPLIT:  // "sector / new sector [comm]"
      p = put_uint(p, ev.sector);
      p = put_str(p, " / ");
      p = put_uint(p, ev.pdu_u64());
      *p++ = ' ';
      p = put_comm(p);
      break;
    case __BLK_TA_REMAP: {
      // struct blk_io_trace_remap: be32 device_from, be32 device_to, be64 sector_from.
      uint32_t from = 0;
      uint64_t from_sector = 0;
      if (ev.pdu.size() >= 16) {
        for (size_t i = 0; i < 4; ++i) from = (from << 8) | ev.pdu[i];
        for (size_t i = 8; i < 16; ++i) from_sector = (from_sector << 8) | ev.pdu[i];
      }
      // "sector + n <- (major,minor) from_sector"
      p = put_uint(p, ev.sector);
      p = put_str(p, " + ");
      p = put_uint(p, ev.nr_sectors());
      p = put_str(p, " <- (");
      p = put_uint(p, dev_major(from));
      *p++ = ',';
      p = put_uint(p, dev_minor(from));
      p = put_str(p, ") ");
      p = put_uint(p, from_sector);
      break;
    }
    default:
      p = put_comm(put_span(p));
      break;
  }
  return p;
}

// --- JSON ----------------------------------------------------------------

// Whether `s` needs no escaping in a JSON string (printable ASCII, no quote
// or backslash): the common case, copied as it is.
bool json_plain(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
}

// `s` as a JSON string at p (at most 6 * size + 2 bytes).
char* put_json_string(char* p, std::string_view s) {
  if (json_plain(s)) {
    *p++ = '"';
    p = put_str(p, s);
    *p++ = '"';
    return p;
  }
  // The rare case (control characters, quotes, UTF-8 or bytes that are not)
  // escaped by nlohmann::json itself: the same escapes as a DOM's dump().
  const std::string esc =
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return put_str(p, esc);
}

size_t json_bound(const EventView& ev) { return 320 + 6 * (ev.comm.size() + ev.pdu.size()); }

// One member after the first: `prefix` is its ",\"name\":".
char* put_uint_member(char* p, std::string_view prefix, uint64_t v) { return put_uint(put_str(p, prefix), v); }
char* put_string_member(char* p, std::string_view prefix, std::string_view v) {
  return put_json_string(put_str(p, prefix), v);
}

// The members in nlohmann::json's (sorted) key order, so that the lines are
// what a DOM per event printed before.
char* put_json_members(char* p, const EventView& ev, uint64_t genesis_ns) {
  const uint64_t rel = ev.time_ns >= genesis_ns ? ev.time_ns - genesis_ns : 0;
  auto key = [](char* q, std::string_view k) {
    *q++ = '"';
    q = put_str(q, k);
    *q++ = '"';
    *q++ = ':';
    return q;
  };
  const bool msg = ev.is_message();
  p = key(p, "action");
  p = put_json_string(p, ev.letters());
  if (!msg) {
    p = put_uint_member(p, ",\"bytes\":", ev.bytes);
  }
  p = put_uint_member(p, ",\"code\":", ev.code());
  p = put_string_member(p, ",\"comm\":", ev.comm);
  p = put_uint_member(p, ",\"cpu\":", ev.cpu);
  p = put_str(p, R"(,"dev":")");
  p = put_uint(p, dev_major(ev.device));
  *p++ = ',';
  p = put_uint(p, dev_minor(ev.device));
  *p++ = '"';
  if (msg) {
    p = put_string_member(p, ",\"message\":", ev.message());
  } else {
    p = put_uint_member(p, ",\"error\":", ev.error);
    p = put_uint_member(p, ",\"nr_sectors\":", ev.nr_sectors());
  }
  p = put_uint_member(p, ",\"pid\":", ev.pid);
  p = put_uint_member(p, ",\"rel_ns\":", rel);
  if (!msg) {
    std::array<char, 8> rw{};
    p = put_str(p, R"(,"rwbs":")");
    p = put_str(p, std::string_view(rw.data(), rwbs_chars(ev.action, ev.bytes, rw)));
    *p++ = '"';
    p = put_uint_member(p, ",\"sector\":", ev.sector);
  }
  p = put_uint_member(p, ",\"seq\":", ev.sequence);
  return put_uint_member(p, ",\"time_ns\":", ev.time_ns);
}

}  // namespace

std::string rwbs(uint32_t action, uint32_t bytes) {  // NOLINT(bugprone-easily-swappable-parameters)
  std::array<char, 8> rw{};
  return {rw.data(), rwbs_chars(action, bytes, rw)};
}

std::string format_text(const Event& ev, uint64_t genesis_ns) {
  const EventView v = ev.view();
  std::string s(text_bound(v), '\0');
  s.resize(static_cast<size_t>(put_text(s.data(), v, genesis_ns) - s.data()));
  return s;
}

std::string format_json(const Event& ev, uint64_t genesis_ns) {
  const EventView v = ev.view();
  std::string s(json_bound(v), '\0');
  char* p = s.data();
  *p++ = '{';
  p = put_json_members(p, v, genesis_ns);
  *p++ = '}';
  s.resize(static_cast<size_t>(p - s.data()));
  return s;
}

void append_text(OutBuffer& out, const EventView& ev, uint64_t genesis_ns) {
  out.commit(put_text(out.reserve(text_bound(ev)), ev, genesis_ns));
}

void append_json(OutBuffer& out, const EventView& ev, uint64_t genesis_ns) {
  char* p = out.reserve(json_bound(ev));
  *p++ = '{';
  p = put_json_members(p, ev, genesis_ns);
  *p++ = '}';
  out.commit(p);
}

void append_json_members(OutBuffer& out, const EventView& ev, uint64_t genesis_ns) {
  out.commit(put_json_members(out.reserve(json_bound(ev)), ev, genesis_ns));
}

void append_json_string(OutBuffer& out, std::string_view s) {
  out.commit(put_json_string(out.reserve(6 * s.size() + 2), s));
}

}  // namespace mpagefs::blktrace
