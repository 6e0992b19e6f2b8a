// blktrace_relay.cpp - the pure parts of reading blktrace's relay files
// safely while tracing (see trace/relay.hpp): record boundaries, read
// sizes, the fdinfo position.
#include <linux/blktrace_api.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "mpagefs/trace/relay.hpp"

namespace mpagefs::blktrace {

static_assert(sizeof(blk_io_trace) == 48);

void RecordCutter::feed(const uint8_t* data, size_t n, const std::string& where) {
  while (n > 0) {
    if (pdu_left_ > 0) {
      const size_t k = std::min(n, pdu_left_);
      pdu_left_ -= k;
      data += k;
      n -= k;
      offset_ += k;
      continue;
    }
    const size_t k = std::min(n, header_.size() - have_);
    std::memcpy(header_.data() + have_, data, k);
    have_ += k;
    data += k;
    n -= k;
    offset_ += k;
    if (have_ < header_.size()) break;
    blk_io_trace t{};
    std::memcpy(&t, header_.data(), sizeof(t));
    if ((t.magic & 0xffffff00U) != BLK_IO_TRACE_MAGIC) {
      std::ostringstream os;
      os << where << ": bad record magic 0x" << std::hex << t.magic << std::dec << " at offset "
         << offset_ - header_.size() << " (a record read before the kernel filled it?)";
      throw CaptureError(os.str());
    }
    have_ = 0;
    pdu_left_ = t.pdu_len;
    ++records_;
  }
}

size_t RecordCutter::needed() const {
  if (pdu_left_ > 0) return pdu_left_;
  return have_ == 0 ? 0 : header_.size() - have_;
}

size_t relay_read_size(uint64_t off, uint32_t subbuf_size, size_t cap) {
  const uint64_t room = subbuf_size > off ? subbuf_size - off : 0;
  if (room > kMaxRelayRecord) return static_cast<size_t>(std::min<uint64_t>(room - kMaxRelayRecord, cap));
  return std::min<size_t>(sizeof(blk_io_trace), cap);
}

uint64_t parse_fdinfo_pos(const std::string& text) {
  std::istringstream is(text);
  for (std::string line; std::getline(is, line);) {
    if (line.rfind("pos:", 0) != 0) continue;
    try {
      size_t used = 0;
      const std::string v = line.substr(4);
      const auto pos = std::stoull(v, &used);
      if (v.find_first_not_of(" \t", used) != std::string::npos) break;
      return pos;
    } catch (const std::logic_error&) {
      break;
    }
  }
  throw CaptureError("no file position in fdinfo: '" + text.substr(0, 64) + "'");
}

}  // namespace mpagefs::blktrace
