// SPDX-License-Identifier: GPL-2.0
/*
 * map.c - logical to physical block mapping: the get_block of mpagefs, and
 * truncation of the block map.
 *
 * The block map is ext2's: MPAGEFS_NDIR_BLOCKS direct pointers in the
 * inode, then a single-, a double- and a triple-indirect block.  Like
 * ext2_get_blocks(), one call maps a run of physically contiguous blocks,
 * but never past the last pointer of the pointer block (or of i_data) that
 * holds the first one: the block after that needs another indirect block,
 * and that is what BH_Boundary tells fs/mpage.c.  Nothing here counts,
 * traces or injects: lab_get_block.c wraps mpagefs_get_block() for that.
 */

#include <linux/buffer_head.h>
#include <linux/fs.h>

#include "mpagefs.h"

/*
 * One step of a walk down the block map: @p points at the pointer that was
 * followed (in i_data or in the indirect block @bh), @key is its value.
 */
struct mpagefs_indirect {
	__le32 *p;
	u32 key;
	struct buffer_head *bh;
};

/*
 * mpagefs_block_to_path - where the pointer to logical block @iblock lives.
 * @offsets receives the index at each level, @to_boundary how many pointers
 * follow the last one in its block (or in i_data for direct blocks).
 * Returns the depth of the path (1..4), or 0 if @iblock is beyond what a
 * triple-indirect map can address.
 */
static int mpagefs_block_to_path(struct inode *inode, sector_t iblock,
				 int offsets[4], unsigned int *to_boundary)
{
	const unsigned int bits = MPAGEFS_SB(inode->i_sb)->s_addr_per_block_bits;
	const u64 ptrs = 1ULL << bits;
	u64 blk = iblock;
	int n = 0;

	if (blk < MPAGEFS_NDIR_BLOCKS) {
		offsets[n++] = blk;
		*to_boundary = MPAGEFS_NDIR_BLOCKS - 1 - blk;
		return n;
	}
	blk -= MPAGEFS_NDIR_BLOCKS;
	if (blk < ptrs) {
		offsets[n++] = MPAGEFS_IND_BLOCK;
	} else if (blk - ptrs < (ptrs << bits)) {
		blk -= ptrs;
		offsets[n++] = MPAGEFS_DIND_BLOCK;
		offsets[n++] = blk >> bits;
	} else if ((blk - ptrs - (ptrs << bits)) >> (2 * bits) < ptrs) {
		blk -= ptrs + (ptrs << bits);
		offsets[n++] = MPAGEFS_TIND_BLOCK;
		offsets[n++] = blk >> (2 * bits);
		offsets[n++] = (blk >> bits) & (ptrs - 1);
	} else {
		return 0;
	}
	offsets[n++] = blk & (ptrs - 1);
	*to_boundary = ptrs - 1 - (blk & (ptrs - 1));
	return n;
}

static const char * const mpagefs_level_names[] = {
	"i_block", "single-indirect", "double-indirect", "triple-indirect",
};

/*
 * mpagefs_get_branch - follow the path @offsets of @depth levels from the
 * inode's i_data.  Every pointer is range-checked before it is used, so a
 * corrupt map can never make us read metadata as an indirect block.
 * Returns the number of levels found present: @depth if the data block is
 * mapped, less if the walk hit a hole (chain[returned].key == 0), or a
 * negative error.  *@ind_reads counts the indirect blocks read from disk.
 * The caller releases chain[1..3].bh, also after an error.
 */
static int mpagefs_get_branch(struct inode *inode, int depth,
			      const int *offsets,
			      struct mpagefs_indirect chain[4],
			      unsigned int *ind_reads)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	int level;

	chain[0].bh = NULL;
	chain[0].p = MPAGEFS_I(inode)->i_data + offsets[0];
	chain[0].key = le32_to_cpu(*chain[0].p);
	for (level = 0; ; level++) {
		struct mpagefs_indirect *next = &chain[level + 1];
		struct buffer_head *bh;
		bool cached;

		if (!chain[level].key)
			return level;
		if (!mpagefs_data_block_valid(sbi, chain[level].key)) {
			if (level == 0)
				mpagefs_inode_error(inode,
						    "i_block[%d] = %u is outside the data area [%u, %u)",
						    offsets[0], chain[0].key,
						    sbi->s_first_data_block,
						    sbi->s_blocks_count);
			else
				mpagefs_inode_error(inode,
						    "entry %d of %s block %u = %u is outside the data area [%u, %u)",
						    offsets[level],
						    mpagefs_level_names[depth - level],
						    chain[level - 1].key,
						    chain[level].key,
						    sbi->s_first_data_block,
						    sbi->s_blocks_count);
			return -EUCLEAN;
		}
		if (level == depth - 1)
			return depth;

		bh = mpagefs_read_meta(sb, chain[level].key, &cached);
		if (IS_ERR(bh))
			return PTR_ERR(bh);
		if (!cached)
			(*ind_reads)++;
		next->bh = bh;
		next->p = (__le32 *)bh->b_data + offsets[level + 1];
		next->key = le32_to_cpu(*next->p);
	}
}

/* Blocks left free after each new one: 1 with alloc=scatter, else 0. */
static u32 mpagefs_alloc_gap(struct super_block *sb)
{
	return READ_ONCE(MPAGEFS_SB(sb)->s_opts.scatter) ? 1 : 0;
}

/*
 * mpagefs_find_goal - where to allocate the blocks for @iblock, whose
 * pointer is the hole at @where (ext2_find_goal).  Sequential writes
 * continue after the previous allocation; otherwise the block after the
 * nearest mapped pointer before ours in the same pointer block, else
 * after that pointer block itself, else mpagefs_first_goal() (near the
 * inode's directory).
 */
static u32 mpagefs_find_goal(struct inode *inode, sector_t iblock,
			     const struct mpagefs_indirect *where)
{
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);
	u32 gap = 1 + mpagefs_alloc_gap(inode->i_sb);
	__le32 *start;
	__le32 *p;

	if (iblock == ei->i_next_alloc_block && ei->i_next_alloc_goal)
		return ei->i_next_alloc_goal;
	start = where->bh ? (__le32 *)where->bh->b_data : ei->i_data;
	for (p = where->p - 1; p >= start; p--)
		if (*p)
			return le32_to_cpu(*p) + gap;
	if (where->bh)
		return where->bh->b_blocknr + gap;
	return mpagefs_first_goal(inode);
}

/*
 * mpagefs_alloc_branch - allocate the missing part of the path to @iblock
 * (ext2_alloc_branch + ext2_splice_branch).  @chain and @found describe
 * the walk that stopped at a hole: chain[found].p is the zero pointer.
 * The missing indirect blocks are allocated first, each right before the
 * block it maps, then the data block, so a file written sequentially
 * comes out as ext2 lays it out: data 0-11, IND, data 12..., DIND, IND...
 * New indirect blocks are zeroed in the buffer cache and attached to the
 * inode's buffer list, so fsync writes them.  Called with i_map_sem held
 * exclusively.  Returns the data block, or a negative error with nothing
 * allocated.
 */
static s64 mpagefs_alloc_branch(struct inode *inode, sector_t iblock,
				int depth, const int *offsets,
				struct mpagefs_indirect *chain, int found)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);
	struct mpagefs_indirect *where = &chain[found];
	struct buffer_head *bhs[4] = {};
	u32 gap = 1 + mpagefs_alloc_gap(sb);
	u32 goal = mpagefs_find_goal(inode, iblock, where);
	u32 blks[4] = {};
	int n = depth - found;
	int err = 0;
	int i;

	for (i = 0; i < n; i++) {
		s64 blk = mpagefs_new_block(inode, goal);

		if (blk < 0) {
			err = blk;
			goto fail;
		}
		blks[i] = blk;
		goal = blks[i] + gap;
	}
	/* blks[0 .. n-2] are indirect blocks, blks[n-1] the data block */
	for (i = 0; i < n - 1; i++) {
		struct buffer_head *bh = sb_getblk(sb, blks[i]);

		if (unlikely(!bh)) {
			err = -ENOMEM;
			goto fail;
		}
		bhs[i] = bh;
		lock_buffer(bh);
		memset(bh->b_data, 0, bh->b_size);
		((__le32 *)bh->b_data)[offsets[found + i + 1]] =
			cpu_to_le32(blks[i + 1]);
		set_buffer_uptodate(bh);
		unlock_buffer(bh);
		mark_buffer_dirty_inode(bh, inode);
	}
	for (i = 0; i < n - 1; i++)
		brelse(bhs[i]);

	/* splice: one store makes the whole branch visible */
	*where->p = cpu_to_le32(blks[0]);
	if (where->bh)
		mark_buffer_dirty_inode(where->bh, inode);
	inode_set_ctime_current(inode);
	mark_inode_dirty(inode);

	ei->i_next_alloc_block = iblock + 1;
	ei->i_next_alloc_goal = blks[n - 1] + gap;
	return blks[n - 1];

fail:
	for (i = 0; i < n; i++) {
		if (bhs[i])
			bforget(bhs[i]);
		if (blks[i])
			mpagefs_free_blocks(inode, blks[i], 1);
	}
	return err;
}

/**
 * mpagefs_get_blocks() - map a run of blocks, allocating a hole if asked
 * @inode: the file, directory or symlink
 * @map: @map->lblk and @map->len in; @map->pblk, ->new, ->boundary and
 *	->ind_reads out
 * @create: allocate @map->lblk (and the indirect blocks on its path) if it
 *	is a hole; a block that is mapped already is mapped as for a lookup
 *
 * ext2_get_blocks() for mpagefs: one walk down the block map under
 * i_map_sem (shared for a lookup, exclusive with @create).  A mapped block
 * starts a run that goes on while the blocks are physically contiguous,
 * fewer than @map->len and held in the same pointer block; @map->boundary
 * is set when the run ends at the last pointer of that block.  A hole
 * allocated with @create is a run of one.
 *
 * Return: the number of blocks mapped (> 0), 0 for a hole when !@create,
 * or a negative error: -EUCLEAN for a corrupt block map, -EFBIG beyond the
 * triple-indirect map, -ENOSPC when full, -EIO.
 */
int mpagefs_get_blocks(struct inode *inode, struct mpagefs_map *map,
		       bool create)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(inode->i_sb);
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);
	struct mpagefs_indirect chain[4] = {};
	unsigned int maxblocks = max(map->len, 1U);
	unsigned int to_boundary = 0;
	struct mpagefs_indirect *leaf;
	unsigned int count;
	int offsets[4];
	int depth, ret, i;
	s64 blk;

	map->new = false;
	map->boundary = false;
	map->ind_reads = 0;
	depth = mpagefs_block_to_path(inode, map->lblk, offsets, &to_boundary);
	if (!depth)
		return -EFBIG;

	if (create)
		down_write(&ei->i_map_sem);
	else
		down_read(&ei->i_map_sem);
	ret = mpagefs_get_branch(inode, depth, offsets, chain, &map->ind_reads);
	if (ret == depth) {
		leaf = &chain[depth - 1];
		map->pblk = leaf->key;
		count = 1;
		while (count < maxblocks && count <= to_boundary) {
			u32 next = le32_to_cpu(leaf->p[count]);

			if ((u64)next != (u64)leaf->key + count ||
			    !mpagefs_data_block_valid(sbi, next))
				break;
			count++;
		}
		map->boundary = count > to_boundary;
		ret = count;
	} else if (ret >= 0 && !create) {
		ret = 0;
	} else if (ret >= 0) {
		blk = mpagefs_alloc_branch(inode, map->lblk, depth, offsets,
					   chain, ret);
		if (blk < 0) {
			ret = blk;
		} else {
			map->pblk = blk;
			map->new = true;
			map->boundary = !to_boundary;
			ret = 1;
		}
	}
	if (create)
		up_write(&ei->i_map_sem);
	else
		up_read(&ei->i_map_sem);
	for (i = 1; i < ARRAY_SIZE(chain); i++)
		brelse(chain[i].bh);
	return ret;
}

/**
 * mpagefs_get_block() - the get_block_t of mpagefs, as ext2_get_block()
 * @inode: the file
 * @iblock: first logical block to map
 * @bh_result: in: b_size says how many bytes the caller would like mapped;
 *	out: mapped (b_blocknr, b_size of the run, BH_New for a block just
 *	allocated, BH_Boundary when the run ends at the last pointer of its
 *	pointer block) or left untouched for a hole
 * @create: allocate @iblock if it is a hole
 *
 * Lookups map runs of physically contiguous blocks; an allocation maps the
 * one new block (fs/mpage.c's write side asks for one block at a time).
 * BH_Boundary makes mpage submit the bio it has built before the next
 * indirect block is read, or on writes, write that indirect block
 * (write_boundary_block()) right after the data before it.
 *
 * Return: 0 (also for holes when !@create), or a negative error as
 * mpagefs_get_blocks().
 */
int mpagefs_get_block(struct inode *inode, sector_t iblock,
		      struct buffer_head *bh_result, int create)
{
	struct mpagefs_map map = {
		.lblk = iblock,
		.len = min_t(size_t, bh_result->b_size >> inode->i_blkbits,
			     UINT_MAX),
	};
	int ret;

	ret = mpagefs_get_blocks(inode, &map, create);
	if (ret <= 0)
		return ret;
	map_bh(bh_result, inode->i_sb, map.pblk);
	bh_result->b_size = (size_t)ret << inode->i_blkbits;
	if (map.new)
		set_buffer_new(bh_result);
	if (map.boundary)
		set_buffer_boundary(bh_result);
	return 0;
}

/**
 * mpagefs_map_blocks() - look up a run of blocks starting at a logical block
 * @inode: the file or directory
 * @iblock: first logical block
 * @maxblocks: most blocks to map (0 is taken as 1)
 * @bno: receives the physical block of @iblock
 * @boundary: set when the run ends at the last pointer of its pointer
 *	block, i.e. mapping the next block needs another indirect block
 *
 * mpagefs_get_blocks() without @create, for callers that want the answer
 * rather than a buffer head.
 *
 * Return: the number of blocks mapped, 0 for a hole, or a negative error
 * (-EUCLEAN for a corrupt block map, -EFBIG beyond the triple-indirect map).
 */
int mpagefs_map_blocks(struct inode *inode, sector_t iblock,
		       unsigned int maxblocks, u32 *bno, bool *boundary)
{
	struct mpagefs_map map = { .lblk = iblock, .len = maxblocks };
	int ret;

	ret = mpagefs_get_blocks(inode, &map, false);
	*boundary = map.boundary;
	if (ret > 0)
		*bno = map.pblk;
	return ret;
}

/* --- truncation ------------------------------------------------------ */

/* A run of data blocks waiting to be freed, so the bitmap is taken once. */
struct mpagefs_free_run {
	u32 start;
	u32 count;
};

static void mpagefs_flush_run(struct inode *inode, struct mpagefs_free_run *run)
{
	if (run->count)
		mpagefs_free_blocks(inode, run->start, run->count);
	run->count = 0;
}

static void mpagefs_queue_free(struct inode *inode,
			       struct mpagefs_free_run *run, u32 blk)
{
	if (run->count && run->start + run->count == blk) {
		run->count++;
		return;
	}
	mpagefs_flush_run(inode, run);
	run->start = blk;
	run->count = 1;
}

/*
 * mpagefs_trunc_tree - free the blocks of the subtree whose root pointer
 * is *@p (in the block @pbh, or in i_data when NULL) from logical block
 * @start of the subtree on.  @level is 0 for a data block, else the
 * number of pointer levels below the indirect block *@p points to.  A
 * subtree freed from its first block is freed entirely, its root pointer
 * cleared; so is an indirect block left with no pointer at all.  Pointers
 * outside the data area are logged and left alone.  Returns true if *@p
 * or anything below changed.
 */
static bool mpagefs_trunc_tree(struct inode *inode, __le32 *p,
			       struct buffer_head *pbh, int level, u64 start,
			       struct mpagefs_free_run *run)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	const unsigned int bits = sbi->s_addr_per_block_bits;
	u32 blk = le32_to_cpu(*p);
	struct buffer_head *bh;
	bool changed = false;
	u64 child_span;
	u32 i;

	if (!blk)
		return false;
	if (!mpagefs_data_block_valid(sbi, blk)) {
		mpagefs_inode_error(inode, "not freeing block %u: outside the data area",
				    blk);
		return false;
	}
	if (!level) {
		mpagefs_queue_free(inode, run, blk);
		*p = 0;
		return true;
	}
	bh = mpagefs_read_meta(sb, blk, NULL);
	if (IS_ERR(bh))
		return false;
	child_span = 1ULL << (bits * (level - 1));
	for (i = start >> (bits * (level - 1)); i < (1U << bits); i++) {
		u64 child_start = 0;

		if (i == start >> (bits * (level - 1)))
			child_start = start & (child_span - 1);
		if (mpagefs_trunc_tree(inode, (__le32 *)bh->b_data + i, bh,
				       level - 1, child_start, run))
			changed = true;
	}
	/*
	 * A pointer block that still maps something stays.  One that maps
	 * nothing any more goes, also when it was cut at @start: the
	 * pointers before @start were holes (ext2_find_shared() and
	 * all_zeroes() come to the same).
	 */
	if (start && memchr_inv(bh->b_data, 0, bh->b_size)) {
		if (changed)
			mark_buffer_dirty_inode(bh, inode);
		brelse(bh);
		return changed;
	}
	bforget(bh);
	mpagefs_queue_free(inode, run, blk);
	*p = 0;
	return true;
}

/**
 * mpagefs_truncate_blocks() - free the blocks of an inode beyond a size
 * @inode: a regular file, directory or slow symlink
 * @size: the new size; blocks wholly at or after it are freed, and
 *	indirect blocks that no longer map anything
 *
 * The page cache beyond @size must have been truncated already.  Takes
 * i_map_sem exclusively, so lookups never see a freed block.
 */
void mpagefs_truncate_blocks(struct inode *inode, loff_t size)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_inode_info *ei = MPAGEFS_I(inode);
	const unsigned int bits = MPAGEFS_SB(sb)->s_addr_per_block_bits;
	u64 first = ((u64)size + sb->s_blocksize - 1) >> sb->s_blocksize_bits;
	struct mpagefs_free_run run = {};
	bool changed = false;
	u64 base = MPAGEFS_NDIR_BLOCKS;
	int level;
	u64 i;

	down_write(&ei->i_map_sem);
	for (i = first; i < MPAGEFS_NDIR_BLOCKS; i++)
		if (mpagefs_trunc_tree(inode, &ei->i_data[i], NULL, 0, 0, &run))
			changed = true;
	for (level = 1; level <= 3; level++) {
		u64 span = 1ULL << (bits * level);

		if (first < base + span &&
		    mpagefs_trunc_tree(inode,
				       &ei->i_data[MPAGEFS_IND_BLOCK + level - 1],
				       NULL, level,
				       first > base ? first - base : 0, &run))
			changed = true;
		base += span;
	}
	mpagefs_flush_run(inode, &run);
	if (ei->i_next_alloc_block > first) {
		ei->i_next_alloc_block = 0;
		ei->i_next_alloc_goal = 0;
	}
	up_write(&ei->i_map_sem);
	if (changed)
		mark_inode_dirty(inode);
}
