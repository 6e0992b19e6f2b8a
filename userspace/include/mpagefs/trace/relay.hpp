// relay.hpp - the pure side of capturing block events through the kernel's
// blktrace interface (trace/sys/capture.hpp does the capture): where records
// begin in a relay file read while the kernel writes it, and the small
// texts the capture parses (fdinfo, CPU lists, device names).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpagefs::blktrace {

class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --- Reading a relay file while the kernel writes it (pure parts) ---------
//
// relay's read() returns everything up to the channel's write offset, which
// relay_reserve() moves *before* __blk_add_trace() fills the record: bytes
// read from the sub-buffer being written may be a record still unfilled,
// and relay never returns them again.  A sub-buffer the writer has switched
// away from is complete (blktrace reserves and fills with interrupts off on
// its own CPU).  So while tracing the reader only reads from a complete
// sub-buffer (poll() says POLLIN exactly when subbufs_produced >
// subbufs_consumed) and never lets one read() run past its end: a record
// never straddles sub-buffers and the padding at a sub-buffer's end is
// shorter than the record that did not fit, so at a record boundary at
// offset `off` a read of subbuf_size - off - kMaxRelayRecord bytes stays
// inside the sub-buffer; nearer the end it reads one record at a time.
// What is left is read after BLKTRACESTOP (relay_flush() completes it).

// The largest blktrace record: 48-byte header + cgroup id + a notify message
// (BLK_TN_MAX_MSG 128), rounded up generously.
inline constexpr size_t kMaxRelayRecord = 512;

// Follows a stream of blk_io_trace records (native order) to know where
// the next record begins; checks every header's magic.
class RecordCutter {
 public:
  // Accounts `n` more bytes of the stream; throws CaptureError on a record
  // that is no blktrace record (the message names `where` and the offset).
  void feed(const uint8_t* data, size_t n, const std::string& where);
  // True between two records.
  [[nodiscard]] bool at_boundary() const { return have_ == 0 && pdu_left_ == 0; }
  // Bytes that surely belong to the current record (the rest of its header,
  // or of its payload); 0 at a boundary.
  [[nodiscard]] size_t needed() const;
  [[nodiscard]] uint64_t offset() const { return offset_; }
  [[nodiscard]] uint64_t records() const { return records_; }

 private:
  std::array<uint8_t, 48> header_{};
  size_t have_ = 0;      // header bytes collected
  size_t pdu_left_ = 0;  // payload bytes still to come
  uint64_t offset_ = 0;  // stream offset
  uint64_t records_ = 0;
};

// How many bytes one read() may ask for at a record boundary `off` bytes into
// a complete sub-buffer of `subbuf_size` bytes without reading past its
// data (at most `cap`): a bulk size, or one header when near the end.
size_t relay_read_size(uint64_t off, uint32_t subbuf_size, size_t cap);

// The "pos:" field of a /proc/<pid>/fdinfo/<fd> text; throws CaptureError.
uint64_t parse_fdinfo_pos(const std::string& text);

// The debugfs directory name of a device path: "/dev/vdc" -> "vdc".
std::string debugfs_name(const std::string& device);
// Parses a CPU list as in /sys/devices/system/cpu/online ("0-3,5").
std::vector<uint32_t> parse_cpu_list(const std::string& text);

}  // namespace mpagefs::blktrace
