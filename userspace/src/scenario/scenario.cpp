// scenario.cpp - the scenario definitions (one per path of fs/mpage.c) and
// the pure checks of a run: the file's bios, counters, data and fsck.
// Documentation/mpage-paths.rst walks through them with their traces.
#include "mpagefs/scenario/scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "mpagefs/trace/check.hpp"
#include "mpagefs/util/pattern.hpp"
#include "mpagefs/util/sha256.hpp"

namespace mpagefs::scenario {

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t kPage = 4096;

// --- builders: keep the table below readable -------------------------------

FileSpec file(std::string name, uint64_t size, std::vector<std::pair<uint64_t, uint64_t>> data = {}) {
  return FileSpec{std::move(name), size, std::move(data), 1};
}
Step read(std::string f, uint64_t off, uint64_t len, int err = 0) {
  return Step{Op::Read, std::move(f), off, len, 0, false, err};
}
Step read_plain(std::string f, uint64_t off, uint64_t len) {
  return Step{Op::ReadPlain, std::move(f), off, len, 0, false, 0};
}
Step mmap_read(std::string f, uint64_t off, uint64_t len, bool random = false) {
  return Step{Op::MmapRead, std::move(f), off, len, 0, random, 0};
}
Step write(std::string f, uint64_t off, uint64_t len, uint64_t key = 7) {
  return Step{Op::Write, std::move(f), off, len, key, false, 0};
}
Step mmap_write(std::string f, uint64_t off, uint64_t len, uint64_t key = 9) {
  return Step{Op::MmapWrite, std::move(f), off, len, key, false, 0};
}
Step truncate(std::string f, uint64_t size) { return Step{Op::Truncate, std::move(f), size, 0, 0, false, 0}; }
Step fsync(std::string f, int err = 0) { return Step{Op::Fsync, std::move(f), 0, 0, 0, false, err}; }
Step drop() { return Step{Op::DropCaches, "", 0, 0, 0, false, 0}; }
Step drop_pages() { return Step{Op::DropPages, "", 0, 0, 0, false, 0}; }
Step read_ahead_kb(uint64_t kb) { return Step{Op::ReadAheadKb, "", kb, 0, 0, false, 0}; }
Step fill(std::string f) { return Step{Op::Fill, std::move(f), 0, 0, 0, false, 0}; }
Step evict_every_other(std::string f, uint64_t len) { return Step{Op::EvictEveryOther, std::move(f), 0, len, 0, false, 0}; }

Expectation bios(char dir, std::vector<std::string> b) {
  return Expectation{ExpectKind::Bios, dir, "f", std::move(b), 0, UINT64_MAX, ""};
}
Expectation bios_include(char dir, std::vector<std::string> b) {
  return Expectation{ExpectKind::BiosInclude, dir, "f", std::move(b), 0, UINT64_MAX, ""};
}
Expectation bio_count(char dir, uint64_t lo, uint64_t hi) {
  return Expectation{ExpectKind::BioCount, dir, "f", {}, lo, hi, ""};
}
Expectation contiguous_split(char dir) {
  return Expectation{ExpectKind::ContiguousSplit, dir, "f", {}, 0, UINT64_MAX, ""};
}
Expectation no_bio_of(char dir, uint64_t block) {
  return Expectation{ExpectKind::NoBioOf, dir, "f", {}, block, block, ""};
}
Expectation readahead_flag(bool set) {
  return Expectation{ExpectKind::ReadaheadFlag, 'R', "f", {}, set ? 1U : 0U, set ? 1U : 0U, ""};
}
Expectation stat(std::string name, uint64_t lo, uint64_t hi = UINT64_MAX) {
  return Expectation{ExpectKind::Stat, 'R', "", {}, lo, hi, std::move(name)};
}
// `x`, checked only on the kernel series `series`, whose mpage.c it describes.
Expectation on(std::string series, Expectation x) {
  x.kernels = {std::move(series)};
  return x;
}

MkfsOptions mkfs_opts(uint32_t block_size, Layout layout = Layout::Contiguous, uint32_t frag_run = 1) {
  MkfsOptions o;
  o.block_size = block_size;
  o.layout = layout;
  o.frag_run = frag_run;
  o.inodes = 64;
  o.uuid = uuid_from_seed(7);
  return o;
}

// The sparse file used by the hole scenarios at 1 KiB blocks: block 0 a
// hole, blocks 1-7 data (page 0 is hole-then-data, page 1 all data).
FileSpec hole_then_data() { return file("f", 8 * KiB, {{1 * KiB, 8 * KiB}}); }

std::vector<Scenario> make_all() {
  std::vector<Scenario> v;
  auto add = [&v](Scenario s) { v.push_back(std::move(s)); };

  // ---- read side: do_mpage_readpage through mpage_readahead -----------------
  add({"ra-boundary", "48 blocks at 1 KiB read in one readahead call: the direct blocks go out before the IND read",
       "mpage_readahead/do_mpage_readpage: map_bh reuse across pages (first_logical_block), BH_Boundary "
       "(relative_block == nblocks) submits the bio before get_block reads the indirect block",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 48 * KiB)}, "boundary=on", std::nullopt,
       {drop()}, {read("f", 0, 48 * KiB)},
       {bios('R', {"data:0-11", "IND:12", "data:12-47"}), stat("boundary_set", 1), stat("get_block_calls", 2, 3)}});
  add({"ra-boundary-off", "the same file with boundary=off: the IND read overtakes the direct blocks (12 0 1 ... 11 13 ...)",
       "do_mpage_readpage: no BH_Boundary, the bio of blocks 0-11 is sent only when block 12 is not contiguous "
       "(last_block_in_bio != blocks[0] - 1), after get_block has read the indirect block",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 48 * KiB)}, "boundary=off", std::nullopt,
       {drop()}, {read("f", 0, 48 * KiB)},
       {bios('R', {"IND:12", "data:0-11", "data:12-47"}), stat("boundary_set", 0, 0)}});
  add({"ra-eof-in-page", "5 KiB + 100 bytes at 1 KiB blocks: the last page holds blocks 4-5, then EOF",
       "do_mpage_readpage: last_block clipped to i_size, blocks past EOF count as a hole at the end "
       "(first_hole = 2): folio_zero_segment, the page goes into the bio and the bio is sent at once",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 5 * KiB + 100)}, "", std::nullopt,
       {drop()}, {read("f", 0, 8 * KiB), mmap_read("f", 4 * KiB, 4 * KiB)},
       {bios('R', {"data:0-5"})}});
  add({"ra-hole-page", "a whole page of holes between two pages of data (1 KiB blocks, data adjacent on disk)",
       "do_mpage_readpage: first_hole == 0: the page is zeroed and marked up to date without I/O; the open "
       "bio is kept, so the next page's blocks (adjacent on disk) join the same bio",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 12 * KiB, {{0, 4 * KiB}, {8 * KiB, 12 * KiB}})}, "", std::nullopt,
       {drop()}, {read("f", 0, 12 * KiB)},
       {bios('R', {"data:0-3+data:8-11"}), stat("holes", 4)}});
  add({"ra-hole-then-data", "page 0 is a hole at block 0 then data: it falls back to buffer heads, page 1 reuses the mapping",
       "do_mpage_readpage: a mapped block after a hole (first_hole != blocks_per_page) -> confused -> "
       "block_read_full_folio reads blocks 1-3 one bio each; the next page reuses map_bh (blocks 4-7)",
       "read", mkfs_opts(1024), 8 << 20, {hole_then_data()}, "", std::nullopt,
       {drop()}, {read("f", 0, 8 * KiB)},
       {bios('R', {"data:1", "data:2", "data:3", "data:4-7"})}});
  add({"ra-discontig-in-page", "runs of 2 blocks at 1 KiB blocks: every page maps to two places on disk",
       "do_mpage_readpage: blocks[page_block-1] != b_blocknr - 1 -> confused -> block_read_full_folio, "
       "one bio per block",
       "read", mkfs_opts(1024, Layout::Fragmented, 2), 8 << 20, {file("f", 8 * KiB)}, "", std::nullopt,
       {drop()}, {read("f", 0, 8 * KiB)},
       {bios('R', {"data:0", "data:1", "data:2", "data:3", "data:4", "data:5", "data:6", "data:7"})}});
  add({"ra-discontig-pages", "runs of 4 blocks at 1 KiB: each page contiguous, the pages apart on disk",
       "do_mpage_readpage: a discontinuity between pages: the open bio is sent "
       "(last_block_in_bio != blocks[0] - 1) and a new one started; one readahead window, one bio per page",
       "read", mkfs_opts(1024, Layout::Fragmented, 4), 8 << 20, {file("f", 12 * KiB)}, "", std::nullopt,
       {drop()}, {read("f", 0, 12 * KiB)},
       {bios('R', {"data:0-3", "data:4-7", "data:8-11"}), stat("get_block_calls", 3, 3)}});
  add({"ra-bio-full", "1.5 MiB read in one readahead call into pages that are not physically adjacent (4 KiB blocks)",
       "do_mpage_readpage: bio_add_folio fails once the bio holds bio_max_segs(nr_pages) (at most 256) "
       "segments: mpage_bio_submit + alloc_new, so one readahead call gives bios that continue each other "
       "on disk (read_ahead_kb=4096, a fragmented page allocator: no multi-page segments)",
       "read", mkfs_opts(4096), 16 << 20, {file("f", 1536 * KiB), file("g", 8192 * KiB)}, "", std::nullopt,
       {drop(), read_ahead_kb(4096), read("g", 0, 8192 * KiB), evict_every_other("g", 8192 * KiB)},
       {read("f", 0, 1536 * KiB)},
       {contiguous_split('R'), bio_count('R', 4, 64)}});
  add({"ra-get-block-error", "a corrupt IND entry for block 20 (1 KiB blocks): get_block fails with EUCLEAN there",
       "do_mpage_readpage: get_block error -> confused -> block_read_full_folio, whose get_block fails too: "
       "the page is not up to date and read() gets EIO; the pages before it read normally",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 48 * KiB)}, "ro", Corruption{"f", 20, 0xfffffff0U},
       {drop()}, {read("f", 0, 20 * KiB), read("f", 20 * KiB, 4 * KiB, EIO)},
       {bios_include('R', {"data:0-11", "IND:12", "data:12-19"}), no_bio_of('R', 20)}});

  // ---- read side: a get_block that returns an up-to-date buffer ------------
  add({"ra-gb-uptodate-4k", "gb_uptodate=on at 4 KiB blocks: get_block reads each block into its page itself",
       "do_mpage_readpage: buffer_uptodate(map_bh) after get_block -> map_buffer_to_folio (one block per "
       "page: folio_mark_uptodate, no buffers) -> confused finds the folio up to date and only unlocks it",
       "read", mkfs_opts(4096), 8 << 20, {file("f", 32 * KiB)}, "gb_uptodate=on", std::nullopt,
       {drop()}, {read("f", 0, 32 * KiB)},
       {bios('R', {"data:0", "data:1", "data:2", "data:3", "data:4", "data:5", "data:6", "data:7"}),
        readahead_flag(false), stat("get_block_calls", 8, 8)}});
  add({"ra-gb-uptodate-1k", "gb_uptodate=on at 1 KiB blocks, block 0 a hole: get_block fills block 1 of page 0",
       "do_mpage_readpage: up-to-date map_bh -> map_buffer_to_folio creates the page's buffers and gives "
       "buffer page_block (walking past buffer 0) the mapping -> confused -> block_read_full_folio reads "
       "only the buffers still not up to date",
       "read", mkfs_opts(1024), 8 << 20, {hole_then_data()}, "gb_uptodate=on", std::nullopt,
       {drop()}, {read("f", 0, 8 * KiB)},
       {bios('R', {"data:1", "data:2", "data:3", "data:4", "data:5", "data:6", "data:7"}), readahead_flag(false)}});

  // ---- read side: mpage_read_folio (one page, no REQ_RAHEAD) ----------------
  add({"read-folio-mmap-random", "a page faulted in through a MADV_RANDOM mapping: no readahead, mpage_read_folio",
       "mpage_read_folio: nr_pages = 1, is_readahead false (no REQ_RAHEAD); bdev_read_page tried first "
       "(virtio has no rw_page), then one bio for the page",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 16 * KiB)}, "", std::nullopt,
       {drop()}, {mmap_read("f", 8 * KiB, 4 * KiB, true)},
       {bios('R', {"data:8-11"}), readahead_flag(false)}});
  add({"read-folio-buffers", "a 1-byte write to a cold page attaches buffers; reading the page then finds them",
       "do_mpage_readpage: folio_buffers() -> confused -> block_read_full_folio reads only the buffers "
       "that are not up to date (blocks 1-3); write side: buffer 0 dirty, 1-3 clean -> confused -> "
       "block_write_full_page writes block 0 alone",
       "read", mkfs_opts(1024), 8 << 20, {file("f", 16 * KiB)}, "", std::nullopt,
       {drop()}, {write("f", 0, 1), read_plain("f", 0, 4 * KiB), fsync("f")},
       {bios('R', {"data:0", "data:1", "data:2", "data:3"}), readahead_flag(false), bios('W', {"data:0"})}});

  // ---- write side: __mpage_writepage through mpage_writepages ---------------
  add({"wb-boundary", "write() of 48 new blocks at 1 KiB, fsync: the IND goes out right after block 11",
       "__mpage_writepage (page has buffers, all mapped, dirty, contiguous): buffer_boundary -> the bio is "
       "sent and write_boundary_block writes the dirty indirect block that follows",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 0)}, "", std::nullopt,
       {}, {write("f", 0, 48 * KiB), fsync("f"), drop(), read("f", 0, 48 * KiB)},
       {bios('W', {"data:0-11", "IND:12", "data:12-47"}), stat("blocks_allocated", 49, 49)}});
  add({"wb-mmap-nobuffers", "mmap writes over an existing 48-block file: pages without buffers are mapped by get_block",
       "__mpage_writepage (no buffers): get_block(create=1) block by block, BH_Boundary remembered "
       "(write_boundary_block finds no dirty IND), bio sent at the boundary",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 48 * KiB)}, "", std::nullopt,
       {drop(), read("f", 0, 48 * KiB)}, {mmap_write("f", 0, 48 * KiB), fsync("f"), drop(), read("f", 0, 48 * KiB)},
       {bios('W', {"data:0-11", "data:12-47"}), stat("get_block_create", 48, 48), stat("blocks_allocated", 0, 0)}});
  add({"wb-mmap-fill-holes", "mmap writes into a 16 KiB file that is all hole (1 KiB blocks)",
       "__mpage_writepage (no buffers): get_block allocates (BH_New -> clean_bdev_bh_alias); contiguous "
       "new blocks go into one bio",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 16 * KiB, {{0, 0}})}, "", std::nullopt,
       {drop(), read("f", 0, 16 * KiB)}, {mmap_write("f", 0, 16 * KiB), fsync("f"), drop(), read("f", 0, 16 * KiB)},
       {bios_include('W', {"data:0-11"}), stat("blocks_allocated", 17, 17)}});
  add({"wb-eof-in-page", "mmap writes over a whole 8 KiB page range of a 5 KiB + 100 byte file, then truncate up",
       "__mpage_writepage: the last page straddles i_size: get_block stops at last_block (first_unmapped = 2), "
       "zero_user_segment clears the bytes past EOF before the write: they read back as zeros after growing",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 5 * KiB + 100)}, "", std::nullopt,
       {drop(), read("f", 0, 8 * KiB)},
       {mmap_write("f", 0, 8 * KiB), fsync("f"), drop(), truncate("f", 8 * KiB), read("f", 0, 8 * KiB)},
       {bios('W', {"data:0-5"})}});
  add({"wb-partial-dirty", "rewrite of block 1 of a written page: buffer 0 is mapped but clean",
       "__mpage_writepage (buffers): !buffer_dirty -> confused -> block_write_full_page writes the one dirty buffer",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 8 * KiB)}, "", std::nullopt,
       {drop(), read("f", 0, 8 * KiB)}, {write("f", 1 * KiB, 1 * KiB), fsync("f"), drop(), read("f", 0, 8 * KiB)},
       {bios('W', {"data:1"})}});
  add({"wb-hole-then-mapped", "page 0 = hole then data, read through buffer heads, then block 1 rewritten",
       "__mpage_writepage (buffers): buffer 0 unmapped and clean, buffer 1 mapped -> 'hole -> non-hole' "
       "confused -> block_write_full_page; the hole stays a hole (nothing allocated)",
       "write", mkfs_opts(1024), 8 << 20, {hole_then_data()}, "", std::nullopt,
       {drop(), read("f", 0, 8 * KiB)}, {write("f", 1 * KiB, 1 * KiB), fsync("f"), drop(), read("f", 0, 8 * KiB)},
       {bios('W', {"data:1"}), stat("blocks_allocated", 0, 0)}});
  add({"wb-mmap-unmapped-dirty", "the same page dirtied through mmap: every buffer dirty, buffer 0 unmapped",
       "__mpage_writepage (buffers): an unmapped dirty buffer (block_dirty_folio after an mmap write) -> "
       "confused -> block_write_full_page allocates block 0",
       "write", mkfs_opts(1024), 8 << 20, {hole_then_data()}, "", std::nullopt,
       {drop(), read("f", 0, 8 * KiB)}, {mmap_write("f", 0, 4 * KiB), fsync("f"), drop(), read("f", 0, 8 * KiB)},
       {bios_include('W', {"data:0"}), stat("blocks_allocated", 1, 1)}});
  add({"wb-scatter-pages", "8 new pages at 4 KiB blocks with alloc=scatter: no two blocks adjacent",
       "__mpage_writepage: the page's block does not follow the bio's last block -> the bio is sent "
       "(mpd->last_block_in_bio != blocks[0] - 1): one bio per page",
       "write", mkfs_opts(4096), 8 << 20, {file("f", 0)}, "alloc=scatter", std::nullopt,
       {}, {write("f", 0, 32 * KiB), fsync("f"), drop(), read("f", 0, 32 * KiB)},
       {bios('W', {"data:0", "data:1", "data:2", "data:3", "data:4", "data:5", "data:6", "data:7"})}});
  add({"wb-scatter-in-page", "one new page at 1 KiB blocks with alloc=scatter: its 4 blocks apart on disk",
       "__mpage_writepage (buffers): bh->b_blocknr != blocks[page_block-1] + 1 -> confused -> "
       "block_write_full_page, one bio per buffer",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 0)}, "alloc=scatter", std::nullopt,
       {}, {write("f", 0, 4 * KiB), fsync("f"), drop(), read("f", 0, 4 * KiB)},
       {bios('W', {"data:0", "data:1", "data:2", "data:3"})}});
  add({"wb-mmap-scatter", "mmap writes into a 4 KiB hole with alloc=scatter (1 KiB blocks, no buffers)",
       "__mpage_writepage (no buffers): map_bh.b_blocknr != blocks[page_block-1] + 1 -> confused -> "
       "block_write_full_page (which maps the blocks again through the buffers it creates)",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 4 * KiB, {{0, 0}})}, "alloc=scatter", std::nullopt,
       {drop(), read("f", 0, 4 * KiB)}, {mmap_write("f", 0, 4 * KiB), fsync("f"), drop(), read("f", 0, 4 * KiB)},
       {bio_count('W', 4, 4), stat("blocks_allocated", 4, 4)}});
  add({"wb-bio-full", "write() of 1.5 MiB at 4 KiB blocks into pages that are not physically adjacent, fsync",
       "__mpage_writepage: bio_add_page fails when the bio has BIO_MAX_VECS (256) segments: the bio is "
       "sent and a new one started at the next, adjacent block",
       "write", mkfs_opts(4096), 16 << 20, {file("f", 0), file("g", 8192 * KiB)}, "", std::nullopt,
       {drop(), read("g", 0, 8192 * KiB), evict_every_other("g", 8192 * KiB)}, {write("f", 0, 1536 * KiB), fsync("f")},
       {contiguous_split('W'), bio_count('W', 4, 64)}});
  add({"wb-enospc", "mmap writes into holes of a full filesystem: get_block cannot allocate at writeback",
       "__mpage_writepage (no buffers): get_block(create=1) returns ENOSPC -> confused -> "
       "block_write_full_page fails the same way; mapping_set_error, fsync reports it",
       "write", mkfs_opts(1024), 512 * KiB, {file("f", 8 * KiB, {{0, 0}})}, "", std::nullopt,
       {drop(), read("f", 0, 8 * KiB), fill("fill")}, {mmap_write("f", 0, 4 * KiB), fsync("f", ENOSPC)},
       {bio_count('W', 0, 1), stat("get_block_create", 2)}});
  // The only way a dirty folio wholly beyond EOF meets __mpage_writepage is a
  // flusher inside truncate_setsize(), between i_size_write() and
  // truncate_pagecache(); truncate_wb=on (kmod/emulate.c) puts one there.
  // 6.12 (mpage.c lines 531-535): "Whole page beyond EOF? Skip allocating
  // blocks to avoid leaking space" -> page_is_mapped -> folio_pos >= i_size
  // -> block_write_full_folio, which drops the folio: no get_block at all.
  // 6.1 has no such test: the get_block loop never meets last_block, so it
  // calls get_block(create=1) for all 4 blocks of each page (allocating 8 data
  // blocks and the IND for blocks 12-15) before page_is_mapped sends the page
  // to block_write_full_page, which drops it; mpagefs_truncate_blocks() then
  // frees the 9 blocks again, so nothing leaks on either kernel.
  add({"wb-beyond-eof", "mmap-dirtied pages wholly beyond a shrinking EOF meet writeback inside truncate "
                        "(truncate_wb=on; 1 KiB blocks, over holes)",
       "__mpage_writepage (no buffers), folio wholly beyond i_size: 6.12 skips get_block (\"avoid leaking "
       "space\"), 6.1 calls get_block(create=1) for every block first; no bio on either",
       "write", mkfs_opts(1024), 8 << 20, {file("f", 16 * KiB, {{0, 0}})}, "truncate_wb=on", std::nullopt,
       {drop(), read("f", 0, 16 * KiB)}, {mmap_write("f", 8 * KiB, 8 * KiB), truncate("f", 8 * KiB), drop(),
                                         read("f", 0, 8 * KiB)},
       {bio_count('W', 0, 0), on("6.12", stat("get_block_create", 0, 0)),
        on("6.12", stat("blocks_allocated", 0, 0)), on("6.1", stat("get_block_create", 8, 8)),
        on("6.1", stat("blocks_allocated", 9, 9)), on("6.1", stat("blocks_freed", 9, 9))}});
  // ---- I/O errors at completion: mpage_end_io -------------------------------
  {
    Scenario s{"ra-end-io-error", "a readahead of 12 direct blocks while the disk fails every I/O (dm error table)",
               "mpage_end_io: bio_for_each_segment_all -> page_endio(READ, -EIO): the folios are not up to "
               "date; read() retries with mpage_read_folio, which fails the same way, and gets EIO",
               "read", mkfs_opts(1024), 8 << 20, {file("f", 12 * KiB)}, "", std::nullopt,
               {drop(), read("f", 0, 12 * KiB), drop_pages()}, {read("f", 0, 12 * KiB, EIO)},
               {bios('R', {"data:0-11", "data:0-3"})}};
    s.io_error = true;
    add(std::move(s));
  }
  {
    Scenario s{"wb-end-io-error", "writeback of 12 new blocks while the disk fails every I/O (dm error table)",
               "mpage_end_io: page_endio(WRITE, -EIO) -> mapping_set_error: fsync reports EIO; the image is "
               "consistent once the disk works again",
               "write", mkfs_opts(1024), 8 << 20, {file("f", 0)}, "", std::nullopt,
               {write("f", 0, 12 * KiB)}, {fsync("f", EIO)},
               {bios('W', {"data:0-11"})}};
    s.io_error = true;
    add(std::move(s));
  }
  return v;
}

uint64_t read_end(const Step& st, uint64_t size) { return std::min(st.offset + st.length, size); }

}  // namespace

const std::vector<Scenario>& all() {
  static const std::vector<Scenario> v = make_all();
  return v;
}

const Scenario* find(std::string_view name) {
  for (const auto& s : all())
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

// A file's bytes as the spec defines them.
std::vector<uint8_t> initial_content(const FileSpec& f) {
  std::vector<uint8_t> out(f.size, 0);
  if (f.data.empty()) {
    fill_pattern(f.key, 0, out);
    return out;
  }
  for (const auto& [a, b] : f.data) {
    const uint64_t end = std::min(b, f.size);
    if (a < end) fill_pattern(f.key, a, std::span<uint8_t>(out).subspan(a, end - a));
  }
  return out;
}

}  // namespace

SourceNode source_tree(const Scenario& s) {
  std::vector<SourceNode> children;
  for (const auto& f : s.files) {
    SourceNode n;
    n.type = SourceNode::Type::File;
    n.name = f.name;
    n.size = f.size;
    if (f.data.empty()) {
      if (f.size) n.data.emplace_back(0, f.size);
    } else {
      for (const auto& [a, b] : f.data)
        if (a < std::min(b, f.size)) n.data.emplace_back(a, std::min(b, f.size));
    }
    const uint64_t key = f.key;
    n.read = [key](uint64_t off, std::span<uint8_t> out) { fill_pattern(key, off, out); };
    children.push_back(std::move(n));
  }
  return SourceNode::dir("", std::move(children));
}

std::vector<StepResult> expected_results(const Scenario& s) {
  std::map<std::string, std::vector<uint8_t>> shadow;
  for (const auto& f : s.files) shadow[f.name] = initial_content(f);
  std::vector<StepResult> out;
  auto steps = s.setup;
  steps.insert(steps.end(), s.action.begin(), s.action.end());
  for (const auto& st : steps) {
    StepResult r;
    if (st.expect_errno != 0) {
      r.err = st.expect_errno;
      out.push_back(r);
      continue;
    }
    auto& bytes = shadow[st.file];
    switch (st.op) {
      case Op::Read:
      case Op::ReadPlain: {
        const uint64_t end = read_end(st, bytes.size());
        const uint64_t begin = std::min(st.offset, end);
        r.bytes = end - begin;
        r.sha256 = sha256_hex(std::span<const uint8_t>(bytes).subspan(begin, end - begin));
        break;
      }
      case Op::MmapRead: {
        // A mapping shows the file's bytes and zeros up to the end of the
        // page holding EOF; the runner maps no further.
        const uint64_t page_end = (bytes.size() + kPage - 1) / kPage * kPage;
        const uint64_t end = std::min(st.offset + st.length, page_end);
        std::vector<uint8_t> seen(end > st.offset ? end - st.offset : 0, 0);
        for (uint64_t i = st.offset; i < std::min<uint64_t>(end, bytes.size()); ++i) seen[i - st.offset] = bytes[i];
        r.bytes = seen.size();
        r.sha256 = sha256_hex(seen);
        break;
      }
      case Op::Write: {
        if (bytes.size() < st.offset + st.length) bytes.resize(st.offset + st.length, 0);
        fill_pattern(st.key, st.offset, std::span<uint8_t>(bytes).subspan(st.offset, st.length));
        r.bytes = st.length;
        break;
      }
      case Op::MmapWrite: {
        // Only bytes below EOF belong to the file; the rest of the last page
        // is written into the mapping but never reaches it.
        const uint64_t end = std::min<uint64_t>(st.offset + st.length, bytes.size());
        if (st.offset < end)
          fill_pattern(st.key, st.offset, std::span<uint8_t>(bytes).subspan(st.offset, end - st.offset));
        r.bytes = st.length;
        break;
      }
      case Op::Truncate:
        bytes.resize(st.offset, 0);
        break;
      case Op::Fill:
      case Op::DropPages:
      case Op::EvictEveryOther:
      case Op::Fsync:
      case Op::DropCaches:
      case Op::ReadAheadKb:
        break;
    }
    out.push_back(r);
  }
  return out;
}

std::vector<const explain::ExplainedEvent*> file_bios(const std::vector<explain::ExplainedEvent>& events,
                                                      std::string_view file, char dir) {
  std::vector<const explain::ExplainedEvent*> out;
  const std::string path = explain::normalize_path(file);
  for (const auto& e : events) {
    if (e.event.bytes == 0 || !explain::touches_file(e, path)) continue;
    if (e.event.rwbs().find(dir) == std::string::npos) continue;
    out.push_back(&e);
  }
  return out;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

std::vector<std::string> describe(const std::vector<const explain::ExplainedEvent*>& b) {
  std::vector<std::string> out;
  out.reserve(b.size());
  for (const auto* e : b) out.push_back(check::describe_bio(*e));
  return out;
}

std::string range_text(uint64_t lo, uint64_t hi) {
  if (lo == hi) return "exactly " + std::to_string(lo);
  if (hi == UINT64_MAX) return "at least " + std::to_string(lo);
  return "between " + std::to_string(lo) + " and " + std::to_string(hi);
}

std::string kernels_text(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

Verdict eval_one(const Expectation& x, const Observation& o) {
  const auto b = file_bios(o.events, x.file, x.dir);
  const auto seen = describe(b);
  const std::string where = std::string(1, x.dir) + " /" + x.file;
  switch (x.kind) {
    case ExpectKind::Bios:
      return {"bios " + where, seen == x.bios, "expected " + join(x.bios) + ", saw " + join(seen)};
    case ExpectKind::BiosInclude: {
      const bool ok = std::search(seen.begin(), seen.end(), x.bios.begin(), x.bios.end()) != seen.end();
      return {"bios-include " + where, ok, "expected " + join(x.bios) + " in a row within " + join(seen)};
    }
    case ExpectKind::BioCount: {
      const bool ok = b.size() >= x.min && b.size() <= x.max;
      return {"bio-count " + where, ok,
              "expected " + range_text(x.min, x.max) + " bios, saw " + std::to_string(b.size()) + " " + join(seen)};
    }
    case ExpectKind::ContiguousSplit: {
      for (size_t i = 0; i + 1 < b.size(); ++i) {
        const auto& p = *b[i];
        const auto& n = *b[i + 1];
        const bool data = !p.segments.empty() && !n.segments.empty() &&
                          p.segments.back().kind() == BlockKind::Data && n.segments.front().kind() == BlockKind::Data;
        if (data && p.first_block + p.block_count == n.first_block)
          return {"contiguous-split " + where, true,
                  seen[i] + " (" + std::to_string(p.event.bytes / 1024) + " KiB) then " + seen[i + 1] +
                      ", adjacent on disk"};
      }
      return {"contiguous-split " + where, false, "no two consecutive bios continue each other: " + join(seen)};
    }
    case ExpectKind::NoBioOf: {
      for (size_t i = 0; i < b.size(); ++i)
        for (const auto& seg : b[i]->segments)
          if (seg.kind() == BlockKind::Data && seg.logical_first <= x.min && x.min <= seg.logical_last)
            return {"no-bio-of " + where, false, "bio " + seen[i] + " covers data block " + std::to_string(x.min)};
      return {"no-bio-of " + where, true, "no bio covers data block " + std::to_string(x.min)};
    }
    case ExpectKind::ReadaheadFlag: {
      std::vector<std::string> bad;
      for (size_t i = 0; i < b.size(); ++i) {
        const bool ra = b[i]->event.rwbs().find('A') != std::string::npos;
        if (ra != (x.min == 1)) bad.push_back(seen[i] + " (" + b[i]->event.rwbs() + ")");
      }
      return {"readahead-flag " + where, bad.empty() && !b.empty(),
              std::string(x.min ? "every read bio carries" : "no read bio carries") + " REQ_RAHEAD (A); " +
                  (b.empty() ? "no read bios" : bad.empty() ? "all " + std::to_string(b.size()) + " do" : "not: " + join(bad))};
    }
    case ExpectKind::Stat: {
      const auto it = o.stats_delta.find(x.stat);
      if (it == o.stats_delta.end()) return {"stat " + x.stat, false, "counter not found"};
      const int64_t v = it->second;
      const bool ok = v >= 0 && static_cast<uint64_t>(v) >= x.min && static_cast<uint64_t>(v) <= x.max;
      return {"stat " + x.stat, ok, "expected " + range_text(x.min, x.max) + ", saw " + std::to_string(v)};
    }
  }
  return {"?", false, "unknown expectation"};
}

std::string step_text(const Step& st) {
  std::ostringstream os;
  os << to_string(st.op);
  if (!st.file.empty()) os << ' ' << st.file;
  if (st.op != Op::Fsync && st.op != Op::DropCaches && st.op != Op::DropPages) os << ' ' << st.offset;
  if (st.length) os << '+' << st.length;
  return os.str();
}

}  // namespace

std::vector<Verdict> evaluate(const Scenario& s, const Observation& o) {
  std::vector<Verdict> out;
  for (const auto& x : s.expect) {
    if (x.kernels.empty()) {
      out.push_back(eval_one(x, o));
      continue;
    }
    const bool here = std::find(x.kernels.begin(), x.kernels.end(), o.kernel_series) != x.kernels.end();
    Verdict v = here ? eval_one(x, o) : Verdict{eval_one(x, o).check, true, ""};
    v.check += " (" + kernels_text(x.kernels) + ")";
    if (!here)
      v.message = "holds on " + kernels_text(x.kernels) + " only; not checked on " +
                  (o.kernel_series.empty() ? std::string("an unknown kernel") : o.kernel_series);
    out.push_back(std::move(v));
  }
  const auto want = expected_results(s);
  auto steps = s.setup;
  steps.insert(steps.end(), s.action.begin(), s.action.end());
  if (o.results.size() != want.size()) {
    out.push_back({"steps", false,
                   "expected " + std::to_string(want.size()) + " step results, got " + std::to_string(o.results.size())});
  } else {
    for (size_t i = 0; i < want.size(); ++i) {
      const auto& w = want[i];
      const auto& g = o.results[i];
      const std::string name = "step " + std::to_string(i) + " (" + step_text(steps[i]) + ")";
      if (w.err != 0 || g.err != 0) {
        if (w.err != g.err)
          out.push_back({name, false, "expected " + (w.err ? std::string(std::strerror(w.err)) : "success") +
                                          ", got " + (g.err ? std::string(std::strerror(g.err)) : "success")});
        else
          out.push_back({name, true, std::string("failed with ") + std::strerror(g.err) + " as expected"});
        continue;
      }
      if (!w.sha256.empty()) {
        const bool ok = w.sha256 == g.sha256 && w.bytes == g.bytes;
        out.push_back({name, ok,
                       ok ? std::to_string(g.bytes) + " bytes as expected"
                          : "expected " + std::to_string(w.bytes) + " bytes sha256 " + w.sha256.substr(0, 16) +
                                "..., got " + std::to_string(g.bytes) + " bytes sha256 " + g.sha256.substr(0, 16) + "..."});
      }
    }
  }
  if (s.fsck_after)
    out.push_back({"fsck", o.fsck_findings.empty(),
                   o.fsck_findings.empty() ? "image clean" : "findings: " + join(o.fsck_findings)});
  return out;
}

std::map<std::string, int64_t> counters(const control::Stats& s) {
  std::map<std::string, int64_t> out;
  for (size_t attr = 1; attr <= control::kNumStats; ++attr)
    out[std::string(control::stat_name(attr))] = static_cast<int64_t>(s.get(attr));
  out["get_block_calls"] = static_cast<int64_t>(s.get_block_calls());
  return out;
}

std::string_view to_string(Op op) {
  switch (op) {
    case Op::Read: return "read";
    case Op::ReadPlain: return "read-plain";
    case Op::MmapRead: return "mmap-read";
    case Op::Write: return "write";
    case Op::MmapWrite: return "mmap-write";
    case Op::Truncate: return "truncate";
    case Op::Fsync: return "fsync";
    case Op::DropCaches: return "drop-caches";
    case Op::ReadAheadKb: return "read-ahead-kb";
    case Op::Fill: return "fill";
    case Op::DropPages: return "drop-pages";
    case Op::EvictEveryOther: return "evict-every-other";
  }
  return "?";
}

nlohmann::json to_json(const Scenario& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["summary"] = s.summary;
  j["target"] = s.target;
  j["side"] = s.side;
  j["block_size"] = s.mkfs.block_size;
  j["mount_options"] = s.mount_options;
  auto steps = [](const std::vector<Step>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& st : v) a.push_back(step_text(st));
    return a;
  };
  j["setup"] = steps(s.setup);
  j["action"] = steps(s.action);
  return j;
}

nlohmann::json to_json(const KernelPath& p) {
  return {{"path", p.path}, {"kernels", p.kernels}, {"scenarios", p.scenarios}, {"why", p.why}};
}

const std::vector<KernelPath>& kernel_paths() {
  static const std::vector<KernelPath> v = {
      {"do_mpage_readpage: bdev_read_page() before a new bio for a fully mapped folio",
       {"6.1"},
       {"ra-boundary", "ra-discontig-pages", "read-folio-mmap-random"},
       "tried for every fully mapped folio that starts a bio; virtio-blk has no ->rw_page, so it returns "
       "-EOPNOTSUPP and the bio is built as on 6.12: the traces are the same. Succeeding needs a ->rw_page "
       "driver (brd, zram, pmem); 6.12 has no such hook any more"},
      {"__mpage_writepage: bdev_write_page() before a new bio for a fully mapped page",
       {"6.1"},
       {"wb-boundary", "wb-mmap-nobuffers"},
       "as bdev_read_page: tried and refused by virtio-blk, the bio follows"},
      {"__mpage_writepage: get_block(create=1) for each block of a page wholly beyond EOF",
       {"6.1"},
       {"wb-beyond-eof"},
       "get_block_create 8 and blocks_allocated 9 for two such pages over holes; truncate frees them "
       "again (blocks_freed 9)"},
      {"__mpage_writepage: a folio wholly beyond EOF skips get_block (\"avoid leaking space\")",
       {"6.12"},
       {"wb-beyond-eof"},
       "no get_block call and nothing allocated for the same two pages; block_write_full_folio drops them"},
      {"__mpage_writepage: !buffer_mapped(&map_bh) after get_block(create=1) -> confused",
       {"6.12"},
       {},
       "mpagefs's get_block never answers create=1 with an unmapped buffer (it maps or fails)"},
      {"mpage_end_io -> page_endio(): PG_error and SetPageError on a failed page",
       {"6.1"},
       {"ra-end-io-error", "wb-end-io-error"},
       "6.12 splits completion into mpage_read_end_io (folio_end_read) and mpage_write_end_io; the bios, the "
       "error returned to read()/fsync() and the data are the same on both"},
  };
  return v;
}

std::string kernel_series(std::string_view release) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < release.size() && release[i] >= '0' && release[i] <= '9') ++i;
    return i > from;
  };
  if (!digits() || i >= release.size() || release[i] != '.') return "";
  ++i;
  if (!digits()) return "";
  return std::string(release.substr(0, i));
}

nlohmann::json to_json(const StepResult& r) { return {{"err", r.err}, {"bytes", r.bytes}, {"sha256", r.sha256}}; }

StepResult step_result_from_json(const nlohmann::json& j) {
  return StepResult{j.at("err").get<int>(), j.at("bytes").get<uint64_t>(), j.at("sha256").get<std::string>()};
}

}  // namespace mpagefs::scenario
