// Hand-made owner maps and events for the explain/check tests: the seed
// example, a 17-block file at 1 KiB blocks laid out data 0-11, IND, data
// 12-16 (as in /work/shared/reference/ext2-traces.md: disk blocks 658-675).
#pragma once

#include "blktrace_test_util.hpp"
#include "mpagefs/image/blockmap.hpp"

namespace mpagefs::testutil {

inline void add_run(BlockOwnerMap& m, uint64_t disk, uint64_t count, BlockKind kind, uint32_t ino,
                    const std::string& path, uint64_t logical) {
  for (uint64_t i = 0; i < count; ++i) {
    const bool indirect = kind == BlockKind::Ind || kind == BlockKind::Dind || kind == BlockKind::Tind;
    m.add(disk + i, BlockOwner{kind, ino, indirect ? logical : logical + i, path});
  }
}

inline BlockOwnerMap seed_map() {
  BlockOwnerMap m(1024);
  add_run(m, 1, 1, BlockKind::Super, 0, "", 0);
  add_run(m, 3, 1, BlockKind::BlockBitmap, 0, "", 0);
  add_run(m, 4, 1, BlockKind::InodeBitmap, 0, "", 0);
  add_run(m, 5, 32, BlockKind::InodeTable, 0, "", 0);
  add_run(m, 657, 1, BlockKind::Dir, 2, "/", 0);
  add_run(m, 658, 12, BlockKind::Data, 12, "/f17", 0);
  add_run(m, 670, 1, BlockKind::Ind, 12, "/f17", 12);
  add_run(m, 671, 5, BlockKind::Data, 12, "/f17", 12);
  // /sparse: data 0 at 800, hole 1-4, data 5 at 801 (disk-contiguous,
  // logically not); blocks 802.. are free.
  add_run(m, 800, 1, BlockKind::Data, 13, "/sparse", 0);
  add_run(m, 801, 1, BlockKind::Data, 13, "/sparse", 5);
  return m;
}

inline blktrace::Event queue_read(uint32_t seq, uint64_t sector, uint32_t sectors, bool ahead = true) {
  if (ahead)
    return make_event(0, seq, 1000 + seq, BLK_TA_QUEUE, {BLK_TC_READ, BLK_TC_AHEAD}, sector, sectors * 512,
                      143, "cat");
  return make_event(0, seq, 1000 + seq, BLK_TA_QUEUE, {BLK_TC_READ}, sector, sectors * 512, 143, "cat");
}

// What ext2 queues (boundary on): data 0-11, IND, data 12-16.
inline std::vector<blktrace::Event> boundary_on_events() {
  return {queue_read(1, 1316, 24), queue_read(2, 1340, 2, false), queue_read(3, 1342, 10)};
}
// Without BH_Boundary the IND read comes first.
inline std::vector<blktrace::Event> boundary_off_events() {
  return {queue_read(1, 1340, 2, false), queue_read(2, 1316, 24), queue_read(3, 1342, 10)};
}

}  // namespace mpagefs::testutil
