// SPDX-License-Identifier: GPL-2.0
/*
 * balloc.c - the block bitmap: allocating and freeing data blocks.
 *
 * mpagefs has one bitmap for the whole device (no block groups, no
 * reservation windows).  An allocation takes the first free block at or
 * after a goal, wrapping around to the start of the data area, which is
 * enough to lay files out like ext2 does when the goal is the block after
 * the file's previous one.  Blocks before s_first_data_block (superblock,
 * bitmaps, inode table) are never handed out, whatever the bitmap says.
 *
 * Block numbers are 32-bit, but the scan works in 64 bits: with
 * s_blocks_count near 2^32 the start of the bitmap block after the last
 * one is 2^32 or more, and a 32-bit cursor would wrap to block 0 (and hand
 * out metadata, or scan forever).
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/sizes.h>

#include "mpagefs.h"
#include "trace.h"

/*
 * Looks for a free block in [@from, @to) and marks it in use.  Called with
 * s_alloc_lock held.  Returns the block, -ENOSPC if there is none in the
 * range, or the error of reading the bitmap.
 */
static s64 mpagefs_take_free_block(struct super_block *sb, u64 from, u64 to)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const u64 per_block = MPAGEFS_BITS_PER_BLOCK(sb);

	while (from < to) {
		u64 first = from - from % per_block;
		unsigned long limit = min(to - first, per_block);
		struct buffer_head *bh;
		unsigned long bit;

		bh = mpagefs_read_meta(sb, sbi->s_block_bitmap + from / per_block,
				       NULL);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		bit = find_next_zero_bit_le(bh->b_data, limit, from - first);
		if (bit < limit) {
			set_bit_le(bit, bh->b_data);
			mark_buffer_dirty(bh);
			brelse(bh);
			return first + bit;
		}
		brelse(bh);
		from = first + per_block;
	}
	return -ENOSPC;
}

/**
 * mpagefs_new_block() - allocate one block for an inode
 * @inode: the inode that will own the block (i_blocks is charged)
 * @goal: the block wanted; the first free block at or after it is taken,
 *	wrapping to the start of the data area
 *
 * Every call is traced (trace_mpagefs_alloc_block).
 *
 * Return: the block number, or a negative error: -ENOSPC when the
 * filesystem is full (or an injected ALLOC_ENOSPC fault for @inode fired),
 * -EUCLEAN, -EIO.
 */
s64 mpagefs_new_block(struct inode *inode, u32 goal)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	s64 blk;

	if (!mpagefs_data_block_valid(sbi, goal))
		goal = sbi->s_first_data_block;
	if (mpagefs_fault_alloc(inode)) {
		trace_mpagefs_alloc_block(inode, goal, 0, -ENOSPC);
		return -ENOSPC;
	}
	mutex_lock(&sbi->s_alloc_lock);
	if (!sbi->s_free_blocks) {
		blk = -ENOSPC;
		goto out;
	}
	blk = mpagefs_take_free_block(sb, goal, sbi->s_blocks_count);
	if (blk == -ENOSPC)
		blk = mpagefs_take_free_block(sb, sbi->s_first_data_block,
					      goal);
	if (blk == -ENOSPC) {
		/* the count said there was one: the bitmap disagrees */
		mpagefs_error(sb, "block bitmap is full but s_free_blocks_count is %u",
			      sbi->s_free_blocks);
		sbi->s_free_blocks = 0;
		goto out;
	}
	if (blk < 0)
		goto out;
	if (!mpagefs_data_block_valid(sbi, blk)) {
		/* cannot happen with the scan above: never use such a block */
		mpagefs_error(sb, "block allocator returned block %lld outside the data area [%u, %u)",
			      blk, sbi->s_first_data_block, sbi->s_blocks_count);
		blk = -EUCLEAN;
		goto out;
	}
	sbi->s_free_blocks--;
	sbi->s_next_goal = blk + 1 + (READ_ONCE(sbi->s_opts.scatter) ? 1 : 0);
out:
	mutex_unlock(&sbi->s_alloc_lock);
	if (blk > 0) {
		inode_add_bytes(inode, sb->s_blocksize);
		mark_inode_dirty(inode);
		mpagefs_stat_add(sb, MPAGEFS_STAT_BLOCKS_ALLOCATED, 1);
	}
	trace_mpagefs_alloc_block(inode, goal, blk > 0 ? blk : 0,
				  blk > 0 ? 0 : blk);
	return blk;
}

/*
 * A new file's first block is looked for at the start of a run of free
 * blocks of this many bytes, so that its next blocks can follow it: the
 * holes that removals leave among a directory's files would cut a new file
 * into pieces.  ext2 reserves windows of 8 blocks and grows a window a
 * writer keeps filling; 128 KiB (one readahead window) is what the churn
 * workload of make bench measured best here (Documentation/bench.rst).
 */
#define MPAGEFS_FIRST_RUN_BYTES	SZ_128K

/*
 * The first block of a run of MPAGEFS_FIRST_RUN_BYTES of free blocks starting in
 * [@from, @to); s_alloc_lock held.  0 if there is none (or an error from
 * reading the bitmap in *@err).
 */
static u64 mpagefs_find_free_run(struct super_block *sb, u64 from, u64 to,
				 int *err)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const u64 per_block = MPAGEFS_BITS_PER_BLOCK(sb);
	const u64 want = MPAGEFS_FIRST_RUN_BYTES >> sb->s_blocksize_bits;
	u64 start = 0, len = 0;

	while (from < to) {
		u64 first = from - from % per_block;
		unsigned long limit = min(to - first, per_block);
		unsigned long bit = from - first;
		struct buffer_head *bh;

		bh = mpagefs_read_meta(sb, sbi->s_block_bitmap + from / per_block,
				       NULL);
		if (IS_ERR(bh)) {
			*err = PTR_ERR(bh);
			return 0;
		}
		while (bit < limit) {
			unsigned long used;

			if (!len) {
				bit = find_next_zero_bit_le(bh->b_data, limit, bit);
				if (bit >= limit)
					break;
				start = first + bit;
			}
			used = find_next_bit_le(bh->b_data, limit, bit);
			len += used - bit;
			if (len >= want) {
				brelse(bh);
				return start;
			}
			if (used < limit)
				len = 0;	/* too short: look further */
			bit = used;
		}
		brelse(bh);
		from = first + per_block;
	}
	return 0;
}

/**
 * mpagefs_first_goal() - where an inode's block map looks for a block that
 *	has no mapped block before it
 * @inode: the inode
 *
 * ext2 starts a new file's blocks in its inode's block group
 * (ext2_find_near()), puts the inode in its directory's group, and
 * allocates from a reservation window of free blocks.  With one group,
 * mpagefs starts at the first block of the directory the inode was
 * created in (i_first_goal, set by mpagefs_new_inode()), so a directory's
 * files lie near it and near each other, and takes the first run of
 * MPAGEFS_FIRST_RUN_BYTES of free blocks from there (wrapping around).  An inode
 * read from disk has no such hint: the search starts after the
 * filesystem's last allocation.
 *
 * Return: the goal block (the hint itself when no such run is free).
 */
u32 mpagefs_first_goal(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	u32 near = READ_ONCE(MPAGEFS_I(inode)->i_first_goal);
	u64 start;
	int err = 0;

	if (!near || !mpagefs_data_block_valid(sbi, near))
		near = READ_ONCE(sbi->s_next_goal);
	if (!mpagefs_data_block_valid(sbi, near))
		near = sbi->s_first_data_block;
	mutex_lock(&sbi->s_alloc_lock);
	start = mpagefs_find_free_run(sb, near, sbi->s_blocks_count, &err);
	if (!start && !err)
		start = mpagefs_find_free_run(sb, sbi->s_first_data_block, near,
					      &err);
	mutex_unlock(&sbi->s_alloc_lock);
	return start ? start : near;
}

/**
 * mpagefs_free_blocks() - give a run of blocks back to the bitmap
 * @inode: the inode that owned them (i_blocks is credited)
 * @block: first block
 * @count: number of blocks
 *
 * A run outside the data area, or a block already free, is corruption:
 * it is logged and skipped, never applied to the bitmap.  A run inside
 * the data area is traced (trace_mpagefs_free_blocks).
 */
void mpagefs_free_blocks(struct inode *inode, u32 block, u32 count)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const u64 per_block = MPAGEFS_BITS_PER_BLOCK(sb);
	u32 freed = 0;

	if (!count)
		return;
	if (!mpagefs_data_block_valid(sbi, block) ||
	    (u64)block + count > sbi->s_blocks_count) {
		mpagefs_inode_error(inode, "freeing blocks %u..%llu outside the data area",
				    block, (u64)block + count - 1);
		return;
	}
	trace_mpagefs_free_blocks(inode, block, count);
	mutex_lock(&sbi->s_alloc_lock);
	while (count) {
		u64 first = block - block % per_block;
		u32 n = min_t(u64, count, first + per_block - block);
		struct buffer_head *bh;
		u32 i;

		bh = mpagefs_read_meta(sb, sbi->s_block_bitmap + block / per_block,
				       NULL);
		if (IS_ERR(bh))
			break;
		for (i = 0; i < n; i++) {
			if (!test_and_clear_bit_le(block - first + i,
						   bh->b_data)) {
				mpagefs_inode_error(inode, "freeing block %u, which is already free",
						    block + i);
				continue;
			}
			freed++;
		}
		mark_buffer_dirty(bh);
		brelse(bh);
		block += n;
		count -= n;
	}
	sbi->s_free_blocks += freed;
	mutex_unlock(&sbi->s_alloc_lock);
	if (freed) {
		inode_sub_bytes(inode, (loff_t)freed << sb->s_blocksize_bits);
		mark_inode_dirty(inode);
		mpagefs_stat_add(sb, MPAGEFS_STAT_BLOCKS_FREED, freed);
	}
}
