// SPDX-License-Identifier: GPL-2.0
/*
 * emulate.c - behaviours of other filesystems that mpagefs can put on, so
 * the lab can drive the paths of fs/mpage.c that only they reach.
 *
 * gb_uptodate=on: some filesystems copy a block's data into the page while
 * they map it (data held inline, in a tail, or decoded from somewhere else)
 * and return an up-to-date buffer from get_block.  do_mpage_readpage() then
 * does not read the block again: map_buffer_to_folio() records the buffer
 * in the folio (or, with one block per page, marks the folio up to date) and
 * the rest of the page goes through block_read_full_folio().
 *
 * truncate_wb=on: a flusher that runs while a truncate is inside
 * truncate_setsize(), after i_size_write() and before truncate_pagecache().
 * Dirty pages wholly beyond the new size then meet __mpage_writepage(): the
 * only way they reach it, and a window too short to hit by chance.  6.12's
 * mpage.c skips get_block for such a folio ("Whole page beyond EOF? Skip
 * allocating blocks to avoid leaking space"); 6.1's calls get_block(create)
 * for each of its blocks first.
 */

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

#include "mpagefs.h"

/*
 * True when @bh is do_mpage_readpage()'s map_bh: a lookup for the locked,
 * not yet up-to-date page @bh->b_page of @inode that has no buffers (a
 * lookup by block_read_full_folio() is for one of the page's own buffers,
 * so the page has buffers; other callers leave b_page NULL).
 */
static bool mpagefs_mpage_read_lookup(struct inode *inode, sector_t iblock,
				      struct buffer_head *bh)
{
	struct page *page = bh->b_page;
	unsigned int bits = PAGE_SHIFT - inode->i_blkbits;
	sector_t first;

	if (!page || page->mapping != inode->i_mapping || !PageLocked(page) ||
	    PageUptodate(page) || page_has_buffers(page))
		return false;
	first = (sector_t)page->index << bits;
	return iblock >= first && iblock < first + (1U << bits);
}

/**
 * mpagefs_emulate_get_block() - apply the emulation options to a lookup
 * @inode: the file
 * @iblock: the logical block that was looked up
 * @bh_result: its mapping, as mpagefs_lab_get_block() made it (mapped)
 *
 * With gb_uptodate=on and a lookup by fs/mpage.c's read path, reads block
 * @iblock straight into its place in the page (a synchronous bio, so no
 * alias of the data is left in the block device's page cache), trims the
 * mapping to that one block and marks @bh_result up to date.
 *
 * Return: 0, or a negative error from the read (the lookup then fails).
 */
int mpagefs_emulate_get_block(struct inode *inode, sector_t iblock,
			      struct buffer_head *bh_result)
{
	struct super_block *sb = inode->i_sb;
	unsigned int blkbits = inode->i_blkbits;
	unsigned int offset;
	struct bio *bio;
	int err;

	if (!READ_ONCE(MPAGEFS_SB(sb)->s_opts.gb_uptodate) ||
	    !buffer_mapped(bh_result) ||
	    !mpagefs_mpage_read_lookup(inode, iblock, bh_result))
		return 0;

	offset = (iblock << blkbits) & ~PAGE_MASK;
	bio = bio_alloc(sb->s_bdev, 1, REQ_OP_READ, GFP_NOFS);
	bio->bi_iter.bi_sector = bh_result->b_blocknr << (blkbits - 9);
	__bio_add_page(bio, bh_result->b_page, 1U << blkbits, offset);
	err = submit_bio_wait(bio);
	bio_put(bio);
	if (err)
		return err;

	bh_result->b_size = 1U << blkbits;
	set_buffer_uptodate(bh_result);
	return 0;
}

/**
 * mpagefs_truncate_setsize() - truncate_setsize(), with truncate_wb=on a
 *	flusher inside its window
 * @inode: the file, i_rwsem held
 * @newsize: its new size
 *
 * With the mount option off, or when @newsize does not shrink the file, this
 * is truncate_setsize().  With it on, the dirty pages past @newsize are
 * written back (WB_SYNC_ALL, so every one is handed to ->writepages) between
 * lowering i_size and truncating the page cache.
 */
void mpagefs_truncate_setsize(struct inode *inode, loff_t newsize)
{
	loff_t oldsize = inode->i_size;

	if (newsize >= oldsize ||
	    !READ_ONCE(MPAGEFS_SB(inode->i_sb)->s_opts.truncate_wb)) {
		truncate_setsize(inode, newsize);
		return;
	}
	i_size_write(inode, newsize);
	filemap_fdatawrite_range(inode->i_mapping,
				 round_up(newsize, PAGE_SIZE), oldsize - 1);
	truncate_pagecache(inode, newsize);
}
