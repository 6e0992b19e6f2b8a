// SPDX-License-Identifier: GPL-2.0
/*
 * map.c - logical to physical block mapping, the get_block of mpagefs.
 *
 * The block map is ext2's: MPAGEFS_NDIR_BLOCKS direct pointers in the
 * inode, then a single-, a double- and a triple-indirect block.  Like
 * ext2_get_blocks(), one call maps a run of physically contiguous blocks,
 * but never past the last pointer of the pointer block (or of i_data) that
 * holds the first one: the block after that needs another indirect block,
 * and that is what BH_Boundary tells fs/mpage.c.
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
 * negative error.  The caller releases chain[1..3].bh.
 */
static int mpagefs_get_branch(struct inode *inode, int depth,
			      const int *offsets,
			      struct mpagefs_indirect chain[4])
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
			mpagefs_stat_add(sb, MPAGEFS_STAT_IND_READS, 1);
		next->bh = bh;
		next->p = (__le32 *)bh->b_data + offsets[level + 1];
		next->key = le32_to_cpu(*next->p);
	}
}

/**
 * mpagefs_map_blocks() - map a run of blocks starting at a logical block
 * @inode: the file or directory
 * @iblock: first logical block
 * @maxblocks: most blocks to map (0 is taken as 1)
 * @bno: receives the physical block of @iblock
 * @boundary: set when the run ends at the last pointer of its pointer
 *	block, i.e. mapping the next block needs another indirect block
 *
 * Maps @iblock and the blocks after it as long as they are physically
 * contiguous, fewer than @maxblocks, and held in the same pointer block,
 * exactly like ext2_get_blocks() does for a plain lookup.
 *
 * Return: the number of blocks mapped, 0 for a hole, or a negative error
 * (-EUCLEAN for a corrupt block map, -EFBIG beyond the triple-indirect map).
 */
int mpagefs_map_blocks(struct inode *inode, sector_t iblock,
		       unsigned int maxblocks, u32 *bno, bool *boundary)
{
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(inode->i_sb);
	struct mpagefs_indirect chain[4] = {};
	struct mpagefs_indirect *leaf;
	unsigned int to_boundary = 0;
	unsigned int count = 0;
	int offsets[4];
	int depth, found, i;

	*boundary = false;
	if (!maxblocks)
		maxblocks = 1;
	depth = mpagefs_block_to_path(inode, iblock, offsets, &to_boundary);
	if (!depth)
		return -EFBIG;

	found = mpagefs_get_branch(inode, depth, offsets, chain);
	if (found != depth)
		goto out;

	leaf = &chain[depth - 1];
	*bno = leaf->key;
	count = 1;
	while (count < maxblocks && count <= to_boundary) {
		u32 blk = le32_to_cpu(leaf->p[count]);

		if ((u64)blk != (u64)leaf->key + count ||
		    !mpagefs_data_block_valid(sbi, blk))
			break;
		count++;
	}
	if (count > to_boundary)
		*boundary = true;
out:
	for (i = 1; i < ARRAY_SIZE(chain); i++)
		brelse(chain[i].bh);
	return found < 0 ? found : count;
}

/**
 * mpagefs_get_block() - the get_block_t of mpagefs, used by fs/mpage.c
 * @inode: the file
 * @iblock: first logical block to map
 * @bh_result: in: b_size says how many bytes the caller would like mapped;
 *	out: mapped (b_blocknr, b_size of the run) or left unmapped for a hole
 * @create: allocate missing blocks; the write path does not exist yet
 *
 * The run is capped by the maxmap mount option.  BH_Boundary is set when
 * the boundary option is on and the run ends at the last pointer of its
 * pointer block, so that mpage submits the bio it has built before
 * get_block reads the next indirect block.
 *
 * Return: 0 (also for holes), -EROFS if @create, or a negative error.
 */
int mpagefs_get_block(struct inode *inode, sector_t iblock,
		      struct buffer_head *bh_result, int create)
{
	struct super_block *sb = inode->i_sb;
	struct mpagefs_sb_info *sbi = MPAGEFS_SB(sb);
	unsigned int maxblocks;
	u32 maxmap = READ_ONCE(sbi->s_opts.maxmap);
	bool boundary;
	u32 bno = 0;
	int ret;

	mpagefs_stat_add(sb, MPAGEFS_STAT_GET_BLOCK_CALLS, 1);
	if (create)
		return -EROFS;

	maxblocks = min_t(size_t, bh_result->b_size >> inode->i_blkbits,
			  UINT_MAX);
	if (maxmap && maxblocks > maxmap)
		maxblocks = maxmap;

	ret = mpagefs_map_blocks(inode, iblock, maxblocks, &bno, &boundary);
	if (ret < 0)
		return ret;
	if (!ret) {
		mpagefs_stat_add(sb, MPAGEFS_STAT_HOLES, 1);
		return 0;
	}

	map_bh(bh_result, sb, bno);
	bh_result->b_size = (size_t)ret << inode->i_blkbits;
	mpagefs_stat_add(sb, MPAGEFS_STAT_BLOCKS_MAPPED, ret);
	if (ret > 1)
		mpagefs_stat_add(sb, MPAGEFS_STAT_MULTI_BLOCK_CALLS, 1);
	if (boundary && READ_ONCE(sbi->s_opts.boundary)) {
		set_buffer_boundary(bh_result);
		mpagefs_stat_add(sb, MPAGEFS_STAT_BOUNDARY_SET, 1);
	}
	return 0;
}
