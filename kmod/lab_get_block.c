// SPDX-License-Identifier: GPL-2.0
/*
 * lab_get_block.c - the lab around mpagefs_get_block(): what the address
 * space operations call instead of it.  Everything that makes mpagefs a lab
 * rather than a plain block-mapped filesystem happens here, on the way in
 * and out of the plain get_block (map.c):
 *
 *   - counting: every call per side, for a page's own buffers or not (a
 *     walk of the page's buffer ring), blocks mapped, holes, BH_Boundary
 *     set, indirect blocks read, and the run-length histogram;
 *   - the maxmap=N cap on the run one call maps;
 *   - injected get_block faults (fault.c), which may also shorten the run;
 *   - gb_uptodate=on, a get_block that copies the data itself (emulate.c);
 *   - boundary=off, a get_block that never sets BH_Boundary;
 *   - the mpagefs_get_block tracepoint, with what the caller sees.
 *
 * With all of them off (stats=off, maxmap=0, no armed fault, gb_uptodate=off,
 * boundary=on, the tracepoint disabled) a call costs five well-predicted
 * tests of fields of the mount's in-core superblock and the tracepoint's
 * static key on top of mpagefs_get_block().  Kbuild's MPAGEFS_LAB=0 leaves
 * this file out and makes mpagefs_lab_get_block mpagefs_get_block
 * (mpagefs.h); make bench measures the two builds against each other.
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>

#include "mpagefs.h"
#include "trace.h"

/*
 * Where @bh sits among the buffer heads of its page: 0 for the first, a
 * positive index for another, -1 if it is not one of them (fs/mpage.c's
 * on-stack map_bh, direct I/O's and bmap's, which either have no b_page or a page without buffers).  Callers hold the
 * page lock whenever b_page is set.
 */
static int mpagefs_page_bh_index(const struct buffer_head *bh)
{
	struct page *page = bh->b_page;
	struct buffer_head *head, *p;
	int i = 0;

	if (!page || !page_has_buffers(page))
		return -1;
	head = page_buffers(page);
	p = head;
	do {
		if (p == bh)
			return i;
		i++;
		p = p->b_this_page;
	} while (p && p != head);
	return -1;
}

/* Counts a call in the statistics: which side, and for whose buffer. */
static void mpagefs_count_call(struct super_block *sb,
			       const struct buffer_head *bh_result, int create)
{
	int index;

	if (!READ_ONCE(MPAGEFS_SB(sb)->s_opts.stats))
		return;
	index = mpagefs_page_bh_index(bh_result);
	mpagefs_stat_add(sb, MPAGEFS_STAT_GET_BLOCK_CALLS, 1);
	mpagefs_stat_add(sb, create ? MPAGEFS_STAT_GET_BLOCK_CREATE :
			 MPAGEFS_STAT_GET_BLOCK_READ, 1);
	if (index >= 0) {
		mpagefs_stat_add(sb, MPAGEFS_STAT_BH_GET_BLOCK, 1);
		if (!index)
			mpagefs_stat_add(sb, MPAGEFS_STAT_BH_PAGES, 1);
	}
}

/* Counts a run of @count blocks mapped, in the totals and the histogram. */
static void mpagefs_count_run(struct super_block *sb, int count)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);

	if (!READ_ONCE(sbi->s_opts.stats))
		return;
	mpagefs_stat_add(sb, MPAGEFS_STAT_BLOCKS_MAPPED, count);
	atomic64_inc(&sbi->s_run_hist[min_t(int, fls(count) - 1,
					    MPAGEFS_RUN_HIST_BUCKETS - 1)]);
	if (count > 1)
		mpagefs_stat_add(sb, MPAGEFS_STAT_MULTI_BLOCK, 1);
}

/*
 * True when a lab feature other than the tracepoint is on for the mount.
 * The fields may change under us (remount, netlink): a call that reads a
 * stale value behaves as it would have just before the change.
 */
static __always_inline bool mpagefs_lab_on(struct mpagefs_sb_info *sbi)
{
	const struct mpagefs_mount_opts *o = &sbi->s_opts;

	return READ_ONCE(o->stats) || !READ_ONCE(o->boundary) ||
	       READ_ONCE(o->gb_uptodate) || READ_ONCE(o->maxmap) ||
	       atomic_read(&sbi->s_nr_faults);
}

/* mpagefs_lab_get_block() with a lab feature on: the whole of it. */
static noinline int mpagefs_lab_get_block_slow(struct inode *inode,
					       sector_t iblock,
					       struct buffer_head *bh_result,
					       int create)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	u32 maxmap = READ_ONCE(sbi->s_opts.maxmap);
	struct mpagefs_map map = { .lblk = iblock };
	unsigned int asked;
	int ret;

	mpagefs_count_call(sb, bh_result, create);
	asked = min_t(size_t, bh_result->b_size >> inode->i_blkbits, UINT_MAX);
	map.len = asked;
	if (maxmap && map.len > maxmap)
		map.len = maxmap;

	ret = mpagefs_fault_get_block(inode, iblock, &map.len, create);
	if (ret)
		goto out;
	ret = mpagefs_get_blocks(inode, &map, create);
	if (map.ind_reads)
		mpagefs_stat_add(sb, MPAGEFS_STAT_IND_READS, map.ind_reads);
	if (ret <= 0) {
		if (!ret)
			mpagefs_stat_add(sb, MPAGEFS_STAT_HOLES, 1);
		goto out;
	}

	map_bh(bh_result, sb, map.pblk);
	bh_result->b_size = (size_t)ret << inode->i_blkbits;
	if (map.new)
		set_buffer_new(bh_result);
	mpagefs_count_run(sb, ret);
	if (!create) {
		int err = mpagefs_emulate_get_block(inode, iblock, bh_result);

		if (err) {
			ret = err;
			goto out;
		}
	}
	/*
	 * BH_Boundary only when the answer ends where the run did: a run
	 * that emulate.c trimmed to one block ends before the boundary, and
	 * map_buffer_to_folio() copies b_state into the page's buffer, where
	 * a later writeback would act on a stale flag.
	 */
	if (map.boundary && READ_ONCE(sbi->s_opts.boundary) &&
	    bh_result->b_size >> inode->i_blkbits == ret) {
		set_buffer_boundary(bh_result);
		mpagefs_stat_add(sb, MPAGEFS_STAT_BOUNDARY_SET, 1);
	}
out:
	/* the answer as the caller sees it (emulate.c may trim the run) */
	trace_mpagefs_get_block(inode, iblock, asked, create, min(ret, 0),
				ret > 0 ? map.pblk : 0,
				ret > 0 ? bh_result->b_size >> inode->i_blkbits : 0,
				ret > 0 && buffer_boundary(bh_result), map.new);
	return min(ret, 0);
}

/**
 * mpagefs_lab_get_block() - the get_block_t the address_space operations use
 * @inode: the file
 * @iblock: first logical block to map
 * @bh_result: as for mpagefs_get_block(); b_page must be NULL or a locked
 *	page (set by every kernel caller): it tells a page's own buffer heads
 *	from a caller's scratch one
 * @create: as for mpagefs_get_block()
 *
 * mpagefs_get_block() with the lab around it (the header comment of this
 * file).  The run is capped by the maxmap mount option; BH_Boundary is
 * left clear with boundary=off.  Every call is counted (unless stats=off)
 * and traced (trace_mpagefs_get_block).  An armed injected fault makes the
 * call fail before anything is looked up, @bh_result untouched.
 *
 * Return: 0 (also for holes when !@create), -ENOSPC when full, or a
 * negative error (-EUCLEAN for a corrupt block map, or an injected one).
 */
int mpagefs_lab_get_block(struct inode *inode, sector_t iblock,
			  struct buffer_head *bh_result, int create)
{
	if (likely(!mpagefs_lab_on(MPAGEFS_SB(inode->i_sb))) &&
	    !trace_mpagefs_get_block_enabled())
		return mpagefs_get_block(inode, iblock, bh_result, create);
	return mpagefs_lab_get_block_slow(inode, iblock, bh_result, create);
}
